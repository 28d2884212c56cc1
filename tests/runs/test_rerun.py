"""Reproducible to the bit: the same scenario, seed and replication count give byte-identical
summary.json across runs, worker counts, executors and how many blocks are in flight; the manifest
records what a rerun needs, and ``sim rerun RUN_DIR`` reproduces a run and says whether it matches."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from sim.cli import main
from sim.scenario.load import load_scenario
from sim.api import write_run
from sim.runs.folder import TIMING_FIELDS
from sim.runs.rerun import first_difference, rerun
from sim.runs import runner
from sim.runs.runner import BLOCK_SIZE, run

from tests.conftest import ROOT, SCENARIOS

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
SMALL_BLOCK = 10_000  # blocks made small here so that a quick run has several
REPS = 2 * SMALL_BLOCK + 3_000  # three blocks, the last one short


@pytest.fixture(scope="module")
def flagship():
    # 60 days: the runs that hold (about half, drawing the posterior) need not run all 180
    return load_scenario(FLAGSHIP, ["scenario.horizon_days=60"])


def summary_bytes(result, folder) -> bytes:
    out = write_run(result, folder, plots=False)
    return (out / "summary.json").read_bytes()


def test_summary_is_byte_identical_whatever_runs_it(flagship, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "BLOCK_SIZE", SMALL_BLOCK)
    reference = summary_bytes(run(flagship, REPS, seed=11), tmp_path / "base")
    variants = {
        "again": dict(),
        "two workers": dict(workers=2),
        "three workers": dict(workers=3),
        "threads": dict(executor=ThreadPoolExecutor(2)),
        "processes": dict(executor=ProcessPoolExecutor(2)),
        "one block in flight": dict(in_flight=1),
        "seven blocks in flight, threads": dict(executor=ThreadPoolExecutor(3), in_flight=7),
        "outcomes not kept": dict(keep_outcomes=False),
    }
    for name, kw in variants.items():
        executor = kw.get("executor")
        try:
            got = summary_bytes(run(flagship, REPS, seed=11, **kw), tmp_path / name.replace(" ", "-"))
        finally:
            if executor is not None:
                executor.shutdown()
        assert got == reference, f"{name}: {first_difference(json.loads(reference), json.loads(got))}"


def test_reference_engine_is_reproducible_too(flagship, tmp_path):
    one = summary_bytes(run(flagship, 300, seed=5, engine="reference"), tmp_path / "a")
    with ThreadPoolExecutor(2) as pool:
        two = summary_bytes(run(flagship, 300, seed=5, engine="reference", executor=pool), tmp_path / "b")
    assert one == two


def timing_keys(value, path=""):
    """Keys anywhere in a JSON value that look like wall-clock time."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in TIMING_FIELDS or any(w in k for w in ("second", "elapsed", "created", "time", "wall")):
                yield f"{path}{k}"
            yield from timing_keys(v, f"{path}{k}.")


def test_summary_has_no_timing_field_and_the_manifest_records_what_a_rerun_needs(tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(FLAGSHIP), "--reps", "400", "--seed", "9", "--out", str(out), "--quiet", "--no-plots",
                 "--set", "belief.initial=0.5", "--horizon", "90"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert list(timing_keys(summary)) == []
    m = json.loads((out / "manifest.json").read_text())
    assert {"seed": 9, "reps": 400, "engine": "vectorised", "block_size": BLOCK_SIZE, "horizon_days": 90,
            "resolved_scenario": "scenario.toml", "save_outcomes": True}.items() <= m.items()
    for key in ("version", "git_commit", "python", "numpy", "scipy", "simpy", "overrides", "command",
                "scenario_file", *TIMING_FIELDS):
        assert key in m, key
    assert m["overrides"] == ["belief.initial=0.5", "scenario.horizon_days=90"]
    assert m["summary_sha256"] == hashlib.sha256((out / "summary.json").read_bytes()).hexdigest()
    # The resolved scenario carries the overrides: on its own it is the run's scenario.
    s = load_scenario(out / "scenario.toml")
    assert s.horizon_days == 90 and s.belief.initial.dist.value == 0.5


def sim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run with overrides, a horizon and no seed given (fresh entropy, recorded)."""
    out = tmp_path_factory.mktemp("rerun") / "run"
    assert main(["run", str(FLAGSHIP), "--reps", "12000", "--out", str(out), "--quiet", "--no-plots",
                 "--set", "rebels.north.momentum=1.3", "--horizon", "60"]) == 0
    return out


def test_rerun_matches_byte_for_byte(finished, tmp_path):
    proc = sim("rerun", finished, "--out", tmp_path / "again", "--workers", "2", "--no-plots")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("MATCH:") and "byte for byte" in proc.stdout and proc.stderr == ""
    assert (tmp_path / "again" / "summary.json").read_bytes() == (finished / "summary.json").read_bytes()
    seed = json.loads((finished / "manifest.json").read_text())["seed"]
    assert f"seed {seed}" in proc.stdout and seed > 2**32  # the fresh entropy was recorded, in full


def test_rerun_of_a_process_run_in_process(finished):
    again = rerun(finished)
    assert again.matches and again.identical and again.difference is None


def test_rerun_reports_the_first_difference(finished, tmp_path, capsys):
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in finished.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    summary = json.loads((copy / "summary.json").read_text())
    summary["end_states"]["captured"]["p"] += 0.01
    (copy / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    assert main(["rerun", str(copy)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("DIFFERS: end_states.captured.p: "), out


def test_rerun_with_the_reference_engine(tmp_path, capsys):
    out = tmp_path / "ref"
    assert main(["run", str(FLAGSHIP), "--reps", "150", "--seed", "2", "--engine", "reference", "--out", str(out),
                 "--quiet", "--no-plots"]) == 0
    assert main(["rerun", str(out)]) == 0
    assert "MATCH" in capsys.readouterr().out


@pytest.mark.parametrize("damage,words", [
    (lambda d: (d / "manifest.json").write_text("{not json"), "not valid JSON"),
    (lambda d: (d / "manifest.json").write_text('{"seed": -1, "reps": 5, "engine": "vectorised"}'), "seed"),
    (lambda d: (d / "manifest.json").write_text('{"seed": 1, "reps": 5, "engine": ["x"]}'), "engine"),
    (lambda d: (d / "manifest.json").write_text('[1, 2]'), "JSON object"),
    (lambda d: (d / "scenario.toml").write_text("[scenario\n"), "invalid TOML"),
    (lambda d: (d / "INCOMPLETE").write_text(""), "incomplete"),
    (lambda d: (d / "summary.json").unlink(), "not a finished run folder"),
])
def test_rerun_of_a_damaged_folder_is_one_line_and_exit_2(finished, tmp_path, damage, words):
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in finished.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    damage(copy)
    proc = sim("rerun", copy)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sim: error:") and words in lines[0], proc.stderr


def test_first_difference():
    assert first_difference({"a": {"b": [1, 2]}}, {"a": {"b": [1, 2]}}) is None
    assert first_difference({"a": {"b": [1, 2]}}, {"a": {"b": [1, 3]}}) == "a.b.1: 2 in the original, 3 in the rerun"
    assert first_difference({"a": 1}, {"a": 1, "z": 2}) == "z: only in the rerun"
    assert first_difference({"a": 1.0}, {"a": 1}) is not None  # 1.0 and 1 are different bytes


def test_runs_in_separate_processes_give_identical_bytes(tmp_path):
    for name in ("a", "b"):
        proc = sim("run", FLAGSHIP, "--reps", "3000", "--seed", "21", "--out", tmp_path / name, "--quiet",
                   "--no-plots", cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a" / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()
