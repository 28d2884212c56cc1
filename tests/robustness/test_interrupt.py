"""Never a half-written result: a run interrupted by Ctrl-C or SIGTERM, while simulating or while
writing, leaves no results folder (or, killed outright, a hidden folder marked incomplete that every
command refuses), and never a traceback. Real ``sim run`` processes are signalled part way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from sim.cli import main
from sim.errors import ResultsError
from sim.scenario.load import load_scenario
from sim.api import write_run
from sim.runs.folder import INCOMPLETE, require_complete
from sim.runs.runner import run

from tests.conftest import ROOT, SCENARIOS

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
SIGNALS = {"SIGINT": (signal.SIGINT, 130, "sim: interrupted"), "SIGTERM": (signal.SIGTERM, 143, "sim: terminated")}
# The child says when its imports are done, then is the ordinary command line.
CHILD = "import sys, sim.cli; print('ready', flush=True); sys.exit(sim.cli.main(sys.argv[1:]))"


def start(args, cwd: Path, **kw) -> subprocess.Popen:
    """A real ``sim`` process, returned once it has imported the package (a Ctrl-C during Python's
    own start-up is Python's business). SIGINT is reset to its default for it, as a terminal would."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kw)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".partial") or p.name == INCOMPLETE)


def assert_one_line(stderr: str, starts: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(starts), stderr


def assert_no_complete_lookalike(out: Path) -> None:
    """The destination is absent, or a complete run (if the signal came after its last rename)."""
    if out.exists():
        require_complete(out)
        json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_a_signal_while_simulating_writes_nothing(tmp_path, name):
    signum, status, words = SIGNALS[name]
    out = tmp_path / "out"
    proc = start(["run", FLAGSHIP, "--reps", 200_000, "--engine", "reference", "--seed", 1, "--out", out, "--quiet"],
                 tmp_path)
    time.sleep(1.5)  # loading done, deep in the replications (which would take minutes)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status, stderr
    assert_one_line(stderr, words)
    assert not out.exists() and leftovers(tmp_path) == []


def wait_for_partial(proc: subprocess.Popen, folder: Path, timeout: float = 60) -> Path | None:
    """The run's temporary folder, as soon as it appears (None if the process ended first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        found = [p for p in folder.iterdir() if p.name.endswith(".partial")]
        if found:
            return found[0]
        time.sleep(0.002)
    return None


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_a_signal_while_writing_leaves_no_folder_that_passes_for_complete(tmp_path, name):
    signum, status, words = SIGNALS[name]
    out = tmp_path / "out"
    # Figures take the writing well past a second: the signal lands inside it.
    proc = start(["run", FLAGSHIP, "--reps", 20_000, "--seed", 1, "--out", out, "--quiet"], tmp_path)
    partial = wait_for_partial(proc, tmp_path)
    assert partial is not None, "the run ended before writing"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    if proc.returncode != 0:  # 0 only if the whole folder was renamed into place before the signal
        assert proc.returncode == status, stderr
        assert_one_line(stderr, words)
    assert_no_complete_lookalike(out)
    assert leftovers(tmp_path) == [], "the temporary folder was not removed"


def test_a_run_killed_outright_leaves_a_folder_every_command_refuses(tmp_path):
    out = tmp_path / "out"
    proc = start(["run", FLAGSHIP, "--reps", 20_000, "--seed", 1, "--out", out, "--quiet"], tmp_path)
    partial = wait_for_partial(proc, tmp_path)
    assert partial is not None, "the run ended before writing"
    time.sleep(0.2)  # let it write a file or two
    proc.kill()
    proc.communicate(timeout=60)
    assert not out.exists()
    assert (partial / INCOMPLETE).is_file(), "a killed run's folder must stay marked incomplete"
    with pytest.raises(ResultsError, match="incomplete"):
        require_complete(partial)
    for command in ("plot", "rerun", "report"):
        proc = subprocess.run([sys.executable, "-m", "sim.cli", command, str(partial)], capture_output=True,
                              text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
        assert proc.returncode == 2, (command, proc.stderr)
        assert_one_line(proc.stderr, "sim: error:")
        assert "incomplete" in proc.stderr, proc.stderr


def test_ctrl_c_with_worker_processes(tmp_path):
    """A terminal's Ctrl-C reaches the whole process group: the workers leave quietly, the parent
    reports one line, and no worker outlives it."""
    out = tmp_path / "out"
    proc = start(["run", FLAGSHIP, "--reps", 200_000, "--engine", "reference", "--workers", 2, "--seed", 1,
                  "--out", out, "--quiet"], tmp_path, start_new_session=True)
    time.sleep(2.0)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert_one_line(stderr, "sim: interrupted")
    assert not out.exists() and leftovers(tmp_path) == []
    deadline = time.monotonic() + 10
    while True:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a worker process outlived the interrupted run"
        time.sleep(0.05)


# ------------------------------------------------------------------------------------ in-process

@pytest.fixture(scope="module")
def small_result():
    return run(load_scenario(FLAGSHIP), 500, seed=4)


@pytest.mark.parametrize("where", ["sim.runs.folder.write_json", "sim.reporting.figures.plot_run"])
def test_an_interruption_inside_write_run_removes_the_temporary_folder(tmp_path, small_result, where):
    with mock.patch(where, side_effect=KeyboardInterrupt), pytest.raises(KeyboardInterrupt):
        write_run(small_result, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_rewrite_keeps_the_old_run(tmp_path, small_result):
    out = write_run(small_result, tmp_path / "out", plots=False)
    before = (out / "summary.json").read_bytes()
    with mock.patch("sim.runs.folder.write_json", side_effect=KeyboardInterrupt), pytest.raises(KeyboardInterrupt):
        write_run(small_result, out, plots=False)
    assert (out / "summary.json").read_bytes() == before
    require_complete(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_without_its_manifest_is_not_complete(tmp_path, small_result, capsys):
    out = write_run(small_result, tmp_path / "out", plots=False)
    (out / "manifest.json").unlink()
    with pytest.raises(ResultsError, match="no manifest.json"):
        require_complete(out)
    assert main(["plot", str(out)]) == 2
    assert "not a finished run folder" in capsys.readouterr().err


def test_write_run_will_not_replace_a_folder_that_is_not_a_run(tmp_path, small_result):
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ResultsError, match="not a run folder"):
        write_run(small_result, precious, plots=False)
    assert (precious / "thesis.tex").read_text() == "years of work"
    with pytest.raises(ResultsError, match="not a folder"):
        write_run(small_result, precious / "thesis.tex", plots=False)
    assert leftovers(tmp_path) == []


def test_plot_redraws_atomically_and_leaves_nothing_behind(tmp_path, small_result):
    out = write_run(small_result, tmp_path / "out", plots=False)
    assert main(["plot", str(out), "--svg"]) == 0
    figures = sorted(p.name for p in out.iterdir() if p.suffix in (".png", ".svg"))
    assert "fall_day.png" in figures and "end_states.svg" in figures
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


WITH_WORKERS = {
    "run": ["run", FLAGSHIP, "--reps", 2_000_000, "--seed", 1, "--workers", 2, "--out", "out", "--quiet", "--no-plots"],
    "sweep": ["sweep", FLAGSHIP, "--param", "allies.russia.capacity=0:1:50", "--reps", 100_000, "--seed", 1,
              "--workers", 2, "--out", "out", "--quiet", "--no-plots"],
}


def start_with_workers(command: str, tmp_path: Path):
    """A real run or sweep on two worker processes, once both have started: (process, workers)."""
    psutil = pytest.importorskip("psutil")
    proc = start(WITH_WORKERS[command], tmp_path)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(parent.children()) < 2:
        time.sleep(0.05)
    workers = parent.children(recursive=True)
    assert len(workers) >= 2, "the workers did not start"
    return proc, workers


@pytest.mark.parametrize("command", sorted(WITH_WORKERS))
def test_workers_exit_when_their_parent_is_killed_outright(tmp_path, command):
    """kill -9 of the main process leaves no worker behind: each notices its parent is gone."""
    import psutil

    proc, workers = start_with_workers(command, tmp_path)
    proc.kill()
    proc.communicate(timeout=60)
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, f"workers outlived their parent: {[p.pid for p in alive]}"


@pytest.mark.parametrize("command", sorted(WITH_WORKERS))
def test_sigterm_to_the_parent_stops_its_workers_at_once(tmp_path, command):
    """One worker initialiser for runs and studies: SIGTERM to the parent alone makes it stop its
    workers (SIGTERM, at its default action in them), report one line and exit 143 within seconds."""
    import psutil

    proc, workers = start_with_workers(command, tmp_path)
    time.sleep(0.5)
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert_one_line(stderr, "sim: terminated")
    assert time.monotonic() - t < 20, "the workers finished their tasks instead of stopping"
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
