"""The writer contract: every command that writes (run, rerun --out, sweep, sensitivity, backtest,
calibrate, compare, report) writes only where it was told, replaces only an earlier output of its
own kind, refuses any other folder or file with exit 2 and one line, leaving it untouched, and when
interrupted leaves nothing that passes for complete (and no staging folder behind)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.files import INCOMPLETE, PARTIAL, folder_kind, marker

from tests.conftest import SCENARIOS, small_reference_class
from tests.robustness.cli import call_main

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
OBSERVED = SCENARIOS / "observed" / "syria-2024.toml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two finished runs to compare, report and rerun, and a small calibration spec."""
    base = tmp_path_factory.mktemp("writers")
    small_reference_class(base)
    for name in ("a", "b"):
        assert main(["run", str(FLAGSHIP), "--reps", "200", "--seed", "1", "--no-plots", "--out", str(base / name),
                     "--quiet"]) == 0
    return base / "a", base / "b"


def commands(runs) -> dict[str, list]:
    """Each writing command, writing into OUT (a placeholder)."""
    a, b = runs
    return {
        "run": ["run", FLAGSHIP, "--reps", "50", "--seed", "1", "--no-plots", "--out", "OUT", "--quiet"],
        "rerun": ["rerun", a, "--out", "OUT", "--no-plots"],
        "grid": ["sweep", FLAGSHIP, "--param", "allies.russia.capacity=0.2,0.8", "--reps", "30", "--seed", "1",
                 "--no-plots", "--out", "OUT", "--quiet"],
        "sensitivity": ["sensitivity", FLAGSHIP, "--method", "morris", "--samples", "2", "--reps", "20", "--seed", "1",
                        "--params", "allies.russia.capacity,rebels.north.momentum", "--no-plots", "--out", "OUT",
                        "--quiet"],
        "backtest": ["backtest", FLAGSHIP, "--observed", OBSERVED, "--reps", "50", "--out", "OUT", "--quiet"],
        "calibration": ["calibrate", a.parent / "small-reference-class.toml", "--particles", "5", "--out", "OUT", "--quiet"],
        "compare": ["compare", a, b, "--out", "OUT"],
    }


KINDS = ["run", "rerun", "grid", "sensitivity", "backtest", "calibration", "compare"]


def argv_for(runs, kind: str, out: Path) -> list[str]:
    return [str(out) if x == "OUT" else str(x) for x in commands(runs)[kind]]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def staging_left(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.endswith(PARTIAL) or p.name.endswith(".old"))


def assert_one_line(status, stderr: str, words: str) -> None:
    assert status == 2, f"exit {status!r}\n{stderr}"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sim: error: ") and words in lines[0], stderr


@pytest.mark.parametrize("kind", KINDS)
def test_a_folder_that_is_not_ours_is_left_untouched(runs, tmp_path, kind):
    """The webapp of the report: a folder with a manifest.json that sim did not write."""
    out = tmp_path / "webapp"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    (out / "summary.json").write_text("{}")
    (out / "index.html").write_text("x")
    before = snapshot(out)
    status, _, stderr = call_main(argv_for(runs, kind, out), tmp_path)
    assert_one_line(status, stderr, "refusing to replace it")
    assert snapshot(out) == before and staging_left(tmp_path) == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_folder_of_another_kind_is_left_untouched(runs, tmp_path, kind):
    """A finished run is not a sweep's folder, a sweep's is not a run's: each refuses the other."""
    other = "grid" if kind in ("run", "rerun") else "run"
    out = tmp_path / "other"
    assert call_main(argv_for(runs, other, out), tmp_path)[0] == 0
    before = snapshot(out)
    status, _, stderr = call_main(argv_for(runs, kind, out), tmp_path)
    assert_one_line(status, stderr, "refusing to replace it")
    assert snapshot(out) == before and staging_left(tmp_path) == []


@pytest.mark.parametrize("kind", KINDS)
def test_an_earlier_output_of_the_same_kind_is_replaced_whole(runs, tmp_path, kind):
    out = tmp_path / "out"
    assert call_main(argv_for(runs, kind, out), tmp_path)[0] in (0, 1)
    (out / "stale.txt").write_text("from an earlier session")
    if kind in ("grid", "sensitivity"):
        (out / "stale.txt").unlink()  # a study's folder is its working folder: only its own files are replaced
    status, _, stderr = call_main(argv_for(runs, kind, out), tmp_path)
    assert status in (0, 1), stderr  # rerun: 0 MATCH or 1 DIFFERS, both write
    expected = "run" if kind == "rerun" else kind
    assert folder_kind(out) == (expected, True)
    assert not (out / "stale.txt").exists() and staging_left(tmp_path) == []


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("kind", KINDS)
def test_an_interrupted_writer_leaves_nothing_that_passes_for_complete(runs, tmp_path, monkeypatch, kind):
    """Ctrl-C just before the last file (the manifest) is written: no complete-looking folder, and no
    staging folder left behind."""
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("sim.") and hasattr(module, "manifest_base"):
            monkeypatch.setattr(module, "manifest_base", _interrupt)
    out = tmp_path / "out"
    status, _, stderr = call_main(argv_for(runs, kind, out), tmp_path)
    assert status == 130, stderr
    assert staging_left(tmp_path) == []
    if kind in ("grid", "sensitivity"):  # the working folder stays, marked, for --resume
        assert folder_kind(out) == (kind, False)
    else:
        assert not out.exists()


def test_a_killed_writers_staging_folder_is_removed_by_the_next_run_into_the_same_place(tmp_path):
    dead = tmp_path / f".out.abcd1234{PARTIAL}"
    dead.mkdir()
    text = json.loads(marker("run"))
    text["pid"] = 2**22 + 12345  # no such process
    (dead / INCOMPLETE).write_text(json.dumps(text))
    alive = tmp_path / f".out.live5678{PARTIAL}"  # one being written by a live process: kept
    alive.mkdir()
    (alive / INCOMPLETE).write_text(marker("run"))
    mine = tmp_path / ".out.old"  # not ours: kept
    mine.mkdir()
    assert main(["run", str(FLAGSHIP), "--reps", "20", "--no-plots", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert not dead.exists() and alive.exists() and mine.exists()


def test_report_replaces_only_a_report(runs, tmp_path):
    a, _ = runs
    thesis = tmp_path / "thesis.html"
    thesis.write_text("<html>my thesis</html>")
    status, _, stderr = call_main(["report", a, "--out", thesis], tmp_path)
    assert_one_line(status, stderr, "not a report sim wrote")
    assert thesis.read_text() == "<html>my thesis</html>"
    report = tmp_path / "report.html"
    assert call_main(["report", a, "--out", report], tmp_path)[0] == 0
    assert call_main(["report", a, "--out", report], tmp_path)[0] == 0  # its own: replaced
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_library_writes_as_the_cli_does(runs, tmp_path):
    """sim.write_run (the notebook's writer) is the same staged writer: it refuses a stranger too."""
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.csv").write_text("1,2\n")
    result = sim.run(sim.load_scenario(FLAGSHIP), 20, seed=1)
    with pytest.raises(sim.errors.ResultsError, match="refusing to replace it"):
        sim.write_run(result, precious, plots=False)
    assert os.listdir(precious) == ["data.csv"]
