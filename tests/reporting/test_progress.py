"""Progress of long work: the tqdm display in a terminal and a log file, what the layers report, and
what --quiet still prints."""

import io

import sim.reporting.progress as progress_module
from sim.cli import main
from sim.reporting.progress import Progress
from sim.runs.runner import run
from sim.scenario.load import load_scenario
from sim.studies.grid import parse_param
from sim.studies.points import Base

from tests.conftest import SCENARIOS

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_a_log_file_gets_whole_lines_with_the_rate_and_time_left():
    log = io.StringIO()
    with Progress("sim run x", stream=log, delay=0, interval=0) as bar:
        assert bar.mode == "log"
        for done in (0, 50, 40, 100):  # 40 after 50: a display never goes back
            bar(done, 100, "replications")
    text = log.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and text.endswith("\n") and len(lines) >= 3
    assert all(line.startswith("sim run x: ") for line in lines)
    assert any("50/100 replications" in line for line in lines)
    assert " 40/100" not in text
    assert "100/100 replications" in lines[-1] and "<" in lines[-1] and "replications/s" in lines[-1]


def test_a_terminal_gets_a_bar_redrawn_in_place():
    tty = Tty()
    with Progress("sim sweep", stream=tty, delay=0, interval=0) as bar:
        assert bar.mode == "terminal"
        bar(3, 10, "points")
        bar(10, 10, "points")
    text = tty.getvalue()
    assert text.count("\r") >= 2 and "10/10" in text and "points/s" in text and text.endswith("\n")


def test_each_stage_gets_its_own_bar_and_disabled_draws_nothing():
    log = io.StringIO()
    with Progress("sim calibrate", stream=log, delay=0, interval=0) as bar:
        bar(10, 10, "particle-cases")
        bar(1, 3, "case likelihoods emulated")
        bar(3, 3, "case likelihoods emulated")
    text = log.getvalue()
    assert "10/10 particle-cases" in text and "3/3 case likelihoods emulated" in text
    quiet = io.StringIO()
    with Progress("sim run", stream=quiet, enabled=False, delay=0, interval=0) as bar:
        bar(5, 10)
    assert quiet.getvalue() == ""


def test_a_run_reports_progress_within_its_block_without_changing_its_numbers():
    scenario = load_scenario(FLAGSHIP)
    calls = []
    seen = run(scenario, 600, seed=3, progress=lambda *a: calls.append(a))
    plain = run(scenario, 600, seed=3)
    assert seen.summary == plain.summary
    done = [c[0] for c in calls]
    assert {c[1:] for c in calls} == {(600, "replications")}
    assert len(calls) > 10 and any(0 < d < 600 for d in done)   # day by day, not only at the end
    assert done == sorted(done) and done[-1] == 600


def test_the_reference_engine_reports_each_replication():
    calls = []
    run(load_scenario(FLAGSHIP), 4, seed=1, engine="reference", progress=lambda *a: calls.append(a))
    assert [round(c[0], 9) for c in calls][:4] == [1, 2, 3, 4] and calls[-1] == (4, 4, "replications")


def test_a_sweep_reports_points_from_zero(tmp_path):
    from sim.api import run_grid

    calls = []
    base = Base.load(FLAGSHIP, reps=50, seed=1)
    run_grid(base, [parse_param("allies.russia.capacity=0.2,0.8")], tmp_path / "g", plots=False,
             progress=lambda *a: calls.append(a))
    assert calls[0] == (0, 2, "points") and calls[-1] == (2, 2, "points")


def test_quiet_prints_only_where_the_results_went(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(FLAGSHIP), "--reps", "200", "--seed", "1", "--no-plots", "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"wrote {out}\n" and captured.err == ""
    sweep = tmp_path / "s"
    assert main(["sweep", str(FLAGSHIP), "--param", "allies.russia.capacity=0.2,0.8", "--reps", "50", "--seed", "1",
                 "--workers", "1", "--no-plots", "--out", str(sweep), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"wrote {sweep}\n" and captured.err == ""


def test_a_command_in_a_log_shows_progress(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(progress_module, "LOG_DELAY", 0.0)
    monkeypatch.setattr(progress_module, "LOG_INTERVAL", 0.0)
    out = tmp_path / "r"
    assert main(["run", str(FLAGSHIP), "--reps", "300", "--seed", "1", "--no-plots", "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err and all(line.startswith("sim run syria-2024-12-07: ") for line in err)
    assert "100% 300/300 replications" in err[-1]
