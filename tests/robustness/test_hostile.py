"""Reproductions of an adversarial trial (issue: nothing lost, nothing escapes), each of which
failed before: names that become paths, unbounded designs, bad input that was an internal error,
hostile strings, contradictory observations, more workers than tasks, a Dask scheduler lost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.runs.executors import executor_for

from tests.conftest import SCENARIOS
from tests.robustness.cli import call_main

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
OBSERVED = SCENARIOS / "observed" / "syria-2024.toml"


def assert_one_line(status, stderr: str, *words: str) -> None:
    assert status == 2, f"exit {status!r}\n{stderr}"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sim: error: "), stderr
    for w in words:
        assert w in lines[0], stderr


def observed_with(tmp_path: Path, replace: dict[str, str], add: str = "") -> Path:
    text = OBSERVED.read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "observed.toml"
    path.write_text(text + add)
    return path


def test_an_observed_name_cannot_lead_a_backtest_out_of_its_folder(tmp_path):
    bad = observed_with(tmp_path, {'name = "syria-2024"': 'name = "x/../../../../escaped_bt"'})
    status, _, stderr = call_main(["backtest", FLAGSHIP, "--observed", bad, "--reps", "10"], tmp_path)
    assert_one_line(status, stderr, "observed.name", "names the backtest folder")
    assert not (tmp_path.parent / "escaped_bt").exists() and not (tmp_path / "results").exists()


def test_an_observed_name_with_an_escape_sequence_never_reaches_the_terminal(tmp_path):
    bad = observed_with(tmp_path, {'name = "syria-2024"': 'name = "a\\u001b[2Jb"'})
    status, out, stderr = call_main(["backtest", FLAGSHIP, "--observed", bad, "--reps", "10"], tmp_path)
    assert_one_line(status, stderr, "observed.name")
    assert "\x1b" not in out + stderr


@pytest.mark.parametrize("argv,words", [
    (["sweep", FLAGSHIP, "--param", "allies.russia.capacity=0:1:1000000000000"], ("more than a grid may have",)),
    (["sweep", FLAGSHIP, "--param", "allies.russia.capacity=0:1:1001", "--param", "rebels.north.momentum=1:2:1000"],
     ("1,001,000 points",)),
    (["sensitivity", FLAGSHIP, "--method", "sobol", "--samples", "1048576"], ("--samples", "at most 1,000,000")),
    (["sensitivity", FLAGSHIP, "--method", "morris", "--samples", "1000000"], ("--samples", "at most 1,000,000")),
])
def test_an_unbounded_design_is_refused_before_it_is_made(tmp_path, argv, words):
    t = time.monotonic()
    status, _, stderr = call_main([*argv, "--reps", "10", "--out", "out"], tmp_path, seconds=30)
    assert_one_line(status, stderr, *words)
    assert time.monotonic() - t < 10 and not (tmp_path / "out").exists()


def test_a_large_legal_grid_starts_at_once(tmp_path, monkeypatch):
    """A grid of many values is checked at its ends before it runs, and each point as it runs: the
    first point starts without loading the scenario once per value."""
    from sim.scenario import vary

    loads = []
    original = vary.Variant.scenario
    monkeypatch.setattr(vary.Variant, "scenario", lambda self, *a, **k: loads.append(1) or original(self, *a, **k))
    from sim.api import run_grid
    from sim.studies.grid import parse_param
    from sim.studies.points import Base

    base = Base.load(FLAGSHIP, reps=5, seed=1)
    starts = []

    def started(description, resumed):
        starts.append(len(loads))
        raise KeyboardInterrupt  # enough: we know when the points began

    with pytest.raises(KeyboardInterrupt):
        run_grid(base, [parse_param("allies.russia.capacity=0:1:20000")], tmp_path / "g", plots=False,
                 on_start=started)
    assert starts and starts[0] < 10, f"{starts} scenario loads before the first point"


@pytest.mark.parametrize("where", ["scenario", "--set"])
def test_a_five_thousand_digit_integer_is_bad_input(tmp_path, where):
    digits = "9" * 5000
    if where == "scenario":
        path = tmp_path / "s.toml"
        path.write_text(FLAGSHIP.read_text().replace("horizon_days = 180", f"horizon_days = {digits}"))
        argv = ["run", path]
    else:
        argv = ["run", FLAGSHIP, "--set", f"scenario.horizon_days={digits}"]
    status, _, stderr = call_main([*argv, "--reps", "5", "--no-plots", "--out", "out"], tmp_path)
    assert_one_line(status, stderr, "more digits")


@pytest.mark.parametrize("spec,words", [
    ('[calibration]\ncases = [ { scenario = 5, observed = "o.toml" } ]\n[priors]\n'
     '"cascade.retreat_share" = { dist = "uniform", low = 0, high = 0.1 }\n', "calibration.cases[0]"),
    ('priors = "x"\n[calibration]\ncases = [ { scenario = "S", observed = "O" } ]\n', "priors"),
])
def test_a_malformed_calibration_spec_is_bad_input(tmp_path, spec, words):
    path = tmp_path / "spec.toml"
    path.write_text(spec.replace('"S"', json.dumps(str(FLAGSHIP))).replace('"O"', json.dumps(str(OBSERVED))))
    status, _, stderr = call_main(["calibrate", path, "--particles", "5", "--out", "out"], tmp_path)
    assert_one_line(status, stderr, words)


def test_a_record_ending_before_the_scenario_starts_is_refused():
    import dataclasses
    import datetime as dt

    from sim.errors import ScenarioError
    from sim.forecast.observed import check_against, load_observed
    from sim.scenario.load import load_scenario

    early = dataclasses.replace(load_observed(OBSERVED), until=dt.date(2024, 12, 1), capital=None,
                                capital_state="holds", nodes={})
    with pytest.raises(ScenarioError, match=r"observed.until: the record ends \(2024-12-01\) before"):
        check_against(early, load_scenario(FLAGSHIP))


@pytest.mark.parametrize("replace,add,words", [
    ({"date = 2024-12-08": "date = 2024-12-06"}, "", ("capital", "before the scenario's as_of")),
    ({}, '\n[nodes.damascus]\nfell = 2024-12-20\nsource = "x"\n', ("nodes.damascus", "contradicts [capital]")),
])
def test_contradictory_observations_are_refused(tmp_path, replace, add, words):
    bad = observed_with(tmp_path, replace, add)
    status, _, stderr = call_main(["backtest", FLAGSHIP, "--observed", bad, "--reps", "10", "--out", "out"], tmp_path)
    assert_one_line(status, stderr, "observed.toml", *words)


def test_a_report_escapes_what_it_read(tmp_path):
    assert call_main(["run", FLAGSHIP, "--reps", "30", "--no-plots", "--out", "r", "--quiet"], tmp_path)[0] == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    summary["seed"] = "<script>alert(1)</script>"
    (tmp_path / "r" / "summary.json").write_text(json.dumps(summary))
    status, _, stderr = call_main(["report", "r"], tmp_path)
    assert status == 2 or "<script>" not in (tmp_path / "r" / "report.html").read_text(), stderr


def test_no_more_workers_than_tasks():
    with executor_for(32, tasks=2) as (_, _, description):
        assert description == "2 processes"
    with executor_for(32, tasks=1) as (_, _, description):
        assert description == "in-process"


def test_a_lost_dask_scheduler_is_one_line_and_the_saved_points_resume(tmp_path):
    pytest.importorskip("distributed")
    dask = Path(sys.executable).with_name("dask")
    port = 8700 + (abs(hash(str(tmp_path))) % 200)
    scheduler = subprocess.Popen([dask, "scheduler", "--port", str(port), "--no-dashboard"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([dask, "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # blocks of 1,000 (batches of two points, planned in the command; the workers run what they are given)
        small_blocks = "import sys, sim.runs.runner as r; r.BLOCK_SIZE = 1000; from sim.cli import main; sys.exit(main())"
        args = [sys.executable, "-c", small_blocks, "sweep", str(FLAGSHIP), "--param", "allies.russia.capacity=0:1:60",
                "--reps", "500", "--horizon", "30", "--seed", "1", "--no-plots", "--out", "s", "--quiet"]
        sweep = subprocess.Popen([*args, "--scheduler", f"tcp://127.0.0.1:{port}"], cwd=tmp_path, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 90
        points = tmp_path / "s" / "points.jsonl"
        while time.monotonic() < deadline and (not points.exists() or len(points.read_text().splitlines()) < 3):
            time.sleep(0.1)
        assert sweep.poll() is None, sweep.communicate()
        scheduler.kill()
        _, stderr = sweep.communicate(timeout=120)
        assert_one_line(sweep.returncode, stderr, "Dask cluster", "--resume")
        saved = len(points.read_text().splitlines())
        assert saved >= 3
    finally:
        for p in (scheduler, worker):
            p.kill()
            p.wait(timeout=30)
    done = subprocess.run([*args, "--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(json.loads((tmp_path / "s" / "sweep.json").read_text())["rows"]) == 60
