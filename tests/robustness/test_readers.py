"""The reader contract: every kind of input a command reads (a scenario, an observed timeline, a
calibration spec, a run folder's files, a sweep's saved points) refuses every kind of hostile file
(a FIFO, a link to /dev/zero, a folder, a huge file, deep nesting, binary) with exit 2 and one line
naming the file, within seconds: never a hang, a traceback or memory run out."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from sim.cli import main

from tests.conftest import SCENARIOS
from tests.robustness.cli import call_main

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
OBSERVED = SCENARIOS / "observed" / "syria-2024.toml"
SECONDS = 20  # a reader taking longer is a hang


def fifo(path: Path) -> None:
    os.mkfifo(path)


def dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def folder(path: Path) -> None:
    path.mkdir()


def huge(path: Path) -> None:
    with open(path, "wb") as fh:  # 60 MB: more than any reader's limit, and cheap to write
        fh.truncate(60_000_000)


def deep(path: Path) -> None:
    text = "[" * 5000 + "]" * 5000
    path.write_text(f"x = {text}\n" if path.suffix == ".toml" else text + "\n")


def binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 64)


HOSTILE = {"fifo": fifo, "dev_zero": dev_zero, "folder": folder, "huge": huge, "deep": deep, "binary": binary}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run folder, with outcomes, to copy and damage."""
    out = tmp_path_factory.mktemp("readers") / "run"
    assert main(["run", str(FLAGSHIP), "--reps", "300", "--seed", "1", "--no-plots", "--out", str(out), "--quiet"]) == 0
    return out


def damaged(finished: Path, tmp_path: Path, name: str, kind: str) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(finished, copy)
    (copy / name).unlink()
    HOSTILE[kind](copy / name)
    return copy


def assert_refused(status, stderr: str, names: str) -> None:
    assert status == 2, f"exit {status!r}\n{stderr}"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sim: error: "), stderr
    assert names in lines[0] or "child.toml: extends: " in lines[0], stderr  # or the file that names it


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("reader", ["scenario", "extended scenario", "observed timeline", "calibration spec"])
def test_every_input_file_refuses_a_hostile_file(tmp_path, reader, kind):
    bad = tmp_path / "bad.toml"
    HOSTILE[kind](bad)
    if reader == "extended scenario":
        child = tmp_path / "child.toml"
        child.write_text('extends = "bad.toml"\n')
        argv, names = ["run", child, "--reps", "5", "--no-plots", "--out", "out"], "bad.toml"
    elif reader == "scenario":
        argv, names = ["run", bad, "--reps", "5", "--no-plots", "--out", "out"], "bad.toml"
    elif reader == "observed timeline":
        argv, names = ["backtest", FLAGSHIP, "--observed", bad, "--reps", "5", "--out", "out"], "bad.toml"
    else:
        argv, names = ["calibrate", bad, "--particles", "5", "--out", "out"], "bad.toml"
    status, _, stderr = call_main(argv, tmp_path, SECONDS)
    assert_refused(status, stderr, names)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("name,command", [
    ("summary.json", "plot"), ("summary.json", "report"), ("histograms.nc", "compare"),
    ("manifest.json", "rerun"), ("outcomes.parquet", "plot"), ("scenario.toml", "report"),
])
def test_every_run_folder_file_refuses_a_hostile_file(finished, tmp_path, name, command, kind):
    copy = damaged(finished, tmp_path, name, kind)
    argv = {"plot": ["plot", copy], "report": ["report", copy], "rerun": ["rerun", copy],
            "compare": ["compare", copy, finished, "--out", tmp_path / "cmp"]}[command]
    status, _, stderr = call_main(argv, tmp_path, SECONDS)
    assert_refused(status, stderr, "copy")
    assert not (tmp_path / "cmp").exists()


@pytest.mark.parametrize("name", ["points.jsonl", "spec.json"])
@pytest.mark.parametrize("damage", ["fifo", "dev_zero", "folder", "huge", "binary", "empty metrics"])
def test_a_sweeps_saved_files_refuse_a_hostile_file_on_resume(tmp_path, damage, name):
    out = tmp_path / "sweep"
    args = ["sweep", FLAGSHIP, "--param", "allies.russia.capacity=0.2,0.8", "--reps", "50", "--seed", "1",
            "--no-plots", "--out", out, "--quiet"]
    assert call_main(args, tmp_path, 120)[0] == 0
    target = out / name
    if damage == "empty metrics":
        if name == "spec.json":
            pytest.skip("a spec has no metrics")
        records = [json.loads(line) for line in target.read_text().splitlines()]
        target.write_text("".join(json.dumps({**r, "metrics": {}}) + "\n" for r in records))
    else:
        target.unlink()
        HOSTILE[damage](target)
    status, _, stderr = call_main([*args, "--resume"], tmp_path, SECONDS)
    assert_refused(status, stderr, str(out))
