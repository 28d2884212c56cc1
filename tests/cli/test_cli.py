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
    for name in ["summary.json", "manifest.json", "scenario.toml", "outcomes.npz", "histograms.npz",
                 "end_states.png", "end_states.svg", "fall_day.png", "fall_day.svg"]:
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
    out, _ = flagship_run
    summary = json.loads((out / "summary.json").read_text())
    with np.load(out / "outcomes.npz") as z:
        states = z["end_state"]
        assert len(states) == 2000
        for k, name in enumerate(("captured", "collapsed", "holds")):
            assert np.mean(states == k) == pytest.approx(summary["end_states"][name]["p"])
        assert "param:rebels.north.assaulting" in z.files


def test_same_seed_same_numbers(flagship_run, tmp_path):
    out, _ = flagship_run
    again = tmp_path / "again"
    assert sim("run", FLAGSHIP, "--reps", 2000, "--seed", 7, "--out", again, "--quiet").returncode == 0
    assert json.loads((again / "summary.json").read_text()) == json.loads((out / "summary.json").read_text())


def test_rerun_into_the_same_folder_replaces_it(tmp_path):
    out = tmp_path / "r"
    for seed in (1, 2):
        assert main(["run", str(FLAGSHIP), "--reps", "300", "--seed", str(seed), "--out", str(out),
                     "--quiet", "--no-plots"]) == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 2


def test_default_results_folder(tmp_path):
    proc = sim("run", FLAGSHIP, "--reps", 200, "--seed", 1, "--quiet", "--no-plots", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = list((tmp_path / "results" / "syria-2024-12-07").iterdir())
    assert len(runs) == 1 and (runs[0] / "summary.json").is_file()


def test_plot_redraws_from_files(flagship_run):
    out, _ = flagship_run
    (out / "fall_day.png").unlink()
    proc = sim("plot", out)
    assert proc.returncode == 0 and (out / "fall_day.png").stat().st_size > 10_000


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
    ([], "required"),
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
