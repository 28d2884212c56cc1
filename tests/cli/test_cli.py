"""End to end through the command line: results folders, reproducibility, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sim.cli import main

from tests.conftest import SCENARIOS, base_doc

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"


def sim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def flagship_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "flagship"
    proc = sim("run", FLAGSHIP, "--reps", 2000, "--seed", 7, "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_run_writes_a_complete_results_folder(flagship_run):
    out, proc = flagship_run
    for name in ["summary.json", "manifest.json", "scenario.toml", "outcomes.parquet", "histograms.nc",
                 "end_states.png", "fall_day.png"]:
        assert (out / name).is_file(), name
    assert not list(out.parent.glob(".*partial*"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "syria-2024-12-07" and summary["as_of"] == "2024-12-07"
    assert summary["reps"] == 2000 and summary["seed"] == 7
    ps = [summary["end_states"][k]["p"] for k in ("captured", "collapsed", "holds")]
    assert sum(ps) == pytest.approx(1.0)
    for v in summary["end_states"].values():
        assert v["ci_low"] <= v["p"] <= v["ci_high"]
    f = summary["capital_fall_day"]
    assert f["p10"] <= f["p50"] <= f["p90"] <= summary["horizon_days"]
    assert set(summary["nodes"]) == {"homs", "nabk", "damascus", "damascus_suburbs", "latakia", "tartus"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["reps"] == 2000 and manifest["engine"] == "vectorised"
    assert "version" in manifest and "git_commit" in manifest and manifest["wall_seconds"] > 0
    # The table printed names the end states and calendar dates.
    assert "captured" in proc.stdout and "Dec 2024" in proc.stdout


def test_outcomes_file_agrees_with_the_summary(flagship_run):
    """outcomes.parquet reads in one line into pandas, with end states as labelled categories, a
    replication and block id, "never" as missing, and its units and names in the metadata."""
    import pandas as pd
    import pyarrow.parquet as pq

    out, _ = flagship_run
    summary = json.loads((out / "summary.json").read_text())
    df = pd.read_parquet(out / "outcomes.parquet")
    assert len(df) == 2000 and list(df["replication"]) == list(range(2000)) and set(df["block"]) == {0}
    assert list(df["end_state"].cat.categories) == ["captured", "collapsed", "holds"]
    for name in ("captured", "collapsed", "holds"):
        assert np.mean(df["end_state"] == name) == pytest.approx(summary["end_states"][name]["p"])
    assert df["end_day"].isna().mean() == pytest.approx(summary["end_states"]["holds"]["p"])
    meta = json.loads(pq.read_schema(out / "outcomes.parquet").metadata[b"sim"])
    assert meta["reps"] == 2000 and meta["seed"] == 7 and "damascus" in meta["nodes"]
    assert meta["units"]["fall_day.homs"].startswith("days since as_of")
    assert meta["units"]["param:rebels.north.strength"] == "fighters"


def test_plot_redraws_from_files(flagship_run):
    out, _ = flagship_run
    (out / "fall_day.png").unlink()
    proc = sim("plot", out, "--svg")
    assert proc.returncode == 0 and (out / "fall_day.png").stat().st_size > 10_000
    import xml.etree.ElementTree as ET
    assert ET.parse(out / "fall_day.svg").getroot().tag.endswith("svg")


@pytest.mark.parametrize("args,words", [
    (["run", "nope.toml"], "nope.toml: file not found"),
    (["run", FLAGSHIP, "--set", "rebels.east.momentum=2"], "--set: rebels.east.momentum: unknown parameter path"),
    (["run", FLAGSHIP, "--set", "belief.initial=7"], "belief.initial"),
    (["run", FLAGSHIP, "--reps", "0"], "--reps"),
    (["run", FLAGSHIP, "--reps", "many"], "--reps"),
    (["run", FLAGSHIP, "--seed", "-3"], "--seed"),
    (["run", FLAGSHIP, "--horizon", "-1"], "--horizon"),
    (["run", FLAGSHIP, "--engine", "quantum"], "--engine"),
    (["run", FLAGSHIP, "--frobnicate"], "unrecognized arguments"),
    (["fly"], "invalid choice"),
    (["plot", "/nonexistent"], "not a finished run folder"),
])
def test_bad_input_is_one_line_and_exit_2(args, words):
    proc = sim(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sim: error:") and words in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_broken_scenario_file_exit_2(tmp_path, write_scenario):
    doc = base_doc()
    doc["rebels"]["north"]["route"] = ["base", "atlantis"]
    path = write_scenario(doc)
    proc = sim("run", path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"sim: error: {path}: rebels.north.route: route passes through unknown node 'atlantis'"


def test_horizon_flag_overrides_the_scenario(tmp_path):
    out = tmp_path / "h"
    assert main(["run", str(FLAGSHIP), "--reps", "500", "--seed", "1", "--horizon", "3", "--out", str(out),
                 "--quiet", "--no-plots"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["horizon_days"] == 3
    assert summary["capital_fall_day"]["p90"] is None or summary["capital_fall_day"]["p90"] < 3
