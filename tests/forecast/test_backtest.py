"""Scoring rules (closed forms), observed timelines, and `sim backtest` end to end."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from sim.forecast import scoring
from sim.errors import ScenarioError
from sim.forecast.observed import load_observed

from tests.conftest import SCENARIOS

OBSERVED = SCENARIOS / "observed" / "syria-2024.toml"
GRID = np.arange(0.0, 10.5, 0.5)  # horizon 10 days


def step_at(day):
    """A certain forecast: the event happens on ``day``."""
    return (GRID >= day).astype(float)


def test_crps_of_a_certain_forecast_is_the_distance():
    assert scoring.crps_interval(GRID, step_at(3), 5, 5) == pytest.approx(2.0)
    assert scoring.crps_interval(GRID, step_at(6), 2.5, 2.5) == pytest.approx(3.5)


def test_crps_charges_nothing_inside_a_window_and_only_before_a_censored_observation():
    assert scoring.crps_interval(GRID, step_at(3), 2, 4) == 0.0
    assert scoring.crps_interval(GRID, step_at(3), 6, math.inf) == pytest.approx(3.0)
    # Mass beyond the horizon is charged only up to the horizon.
    assert scoring.crps_interval(GRID, np.zeros_like(GRID), 4, 4) == pytest.approx(6.0)


def test_crps_matches_the_sample_formula_for_a_point_observation():
    """CRPS = E|X - y| - E|X - X'| / 2 for a forecast wholly inside the horizon."""
    rng = np.random.default_rng(4)
    x = rng.uniform(1, 8, 4000)
    grid = np.arange(0.0, 10.001, 0.001)
    cdf = np.searchsorted(np.sort(x), grid, side="right") / len(x)
    y = 3.7
    sample = np.mean(np.abs(x - y)) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :2000]))
    assert scoring.crps_interval(grid, cdf, y, y) == pytest.approx(sample, abs=0.02)


def test_log_brier_and_pit():
    assert scoring.log_score(0.5) == pytest.approx(math.log(0.5))
    assert scoring.log_score(0.0) == pytest.approx(math.log(scoring.PROBABILITY_FLOOR))
    assert scoring.brier({"a": 0.7, "b": 0.3}, "a") == pytest.approx(0.18)
    cdf = np.clip(GRID / 10, 0, 1)
    assert scoring.pit(GRID, cdf, 5, 5) == (pytest.approx(0.45), pytest.approx(0.5))


def test_observed_file_loads_with_windows():
    o = load_observed(OBSERVED)
    assert o.capital_state == "collapsed"
    import datetime as dt
    assert o.capital.days(dt.date(2024, 12, 7)) == (1.0, 2.0)
    assert o.nodes["homs"].days(dt.date(2024, 12, 7)) == (0.0, 2.0)


@pytest.mark.parametrize("text,key", [
    ("[observed]\nname='x'\nuntil=2024-12-31\n[capital]\nend_state='won'\n", "capital.end_state"),
    ("[observed]\nname='x'\nuntil=2024-12-31\n[capital]\nend_state='collapsed'\ndate=2025-01-05\nsource='s'\n", "capital"),
    ("[observed]\nname='x'\nuntil=2024-12-31\n[capital]\nend_state='collapsed'\ndate=2024-12-08\n", "capital.source"),
    ("[observed]\nname='x'\nuntil=2024-12-31\n[capital]\nend_state='holds'\nsource='s'\n[nodes.a]\n"
     "earliest=2024-12-05\nlatest=2024-12-01\nsource='s'\n", "nodes.a"),
    ("[observed]\nname='x'\n[capital]\nend_state='holds'\n", "observed.until"),
])
def test_bad_observed_files(tmp_path, text, key):
    path = tmp_path / "obs.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_observed(path)
    assert str(info.value).startswith(f"{path}: {key}:")


@pytest.fixture(scope="module")
def flagship_backtest(tmp_path_factory):
    out = tmp_path_factory.mktemp("bt") / "bt"
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "backtest", str(SCENARIOS / "syria-2024-12-07.toml"),
                           "--observed", str(OBSERVED), "--reps", "4000", "--seed", "3", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_backtest_writes_scores_against_baselines(flagship_backtest):
    out, stdout = flagship_backtest
    b = json.loads((out / "backtest.json").read_text())
    assert b["as_of"] == "2024-12-07" and b["reps"] == 4000
    assert set(b["targets"]) == {"capital", "node:homs", "leader_fled"}
    assert b["targets"]["capital"]["observed_days"] == [1.0, 2.0]
    for t in b["targets"].values():
        assert set(t["crps"]) == {"model", "always_holds", "uniform_hazard"}
    # The flagship expects the fall within weeks: it beats the regime-always-holds baseline.
    assert b["targets"]["capital"]["crps"]["model"] < b["targets"]["capital"]["crps"]["always_holds"]
    assert b["end_state"]["observed"] == "collapsed"
    assert b["end_state"]["log"]["model"] > b["end_state"]["log"]["always_holds"]
    assert b["capital_falls_within"]["7"]["observed"] is True
    for name in ("backtest.png", "backtest.svg", "cdfs.npz"):
        assert (out / name).stat().st_size > 1000
    assert "uniform hazard" in stdout and "CRPS" in stdout


def test_backtest_curves_match_the_scores(flagship_backtest):
    out, _ = flagship_backtest
    b = json.loads((out / "backtest.json").read_text())
    with np.load(out / "cdfs.npz") as z:
        low, high = b["targets"]["capital"]["observed_days"]
        assert scoring.crps_interval(z["grid"], z["cdf:capital"], low, high) == \
            pytest.approx(b["targets"]["capital"]["crps"]["model"])


def test_a_ruler_gone_before_as_of_is_skipped_not_scored_on_negative_days():
    """A later origin of a case whose ruler had already fled: his exit is no longer a forecast."""
    import dataclasses
    import datetime as dt

    from sim.forecast.backtest import score
    from sim.forecast.observed import Window
    from sim.runs.runner import run
    from sim.scenario.load import load_scenario

    result = run(load_scenario(SCENARIOS / "syria-2024-12-07.toml", ["scenario.horizon_days=10"]), 200, seed=1,
                 engine="vectorised")
    o = load_observed(OBSERVED)
    gone = dataclasses.replace(o, fled=Window(dt.date(2024, 12, 5), dt.date(2024, 12, 6), "s"))
    b = score(result, gone)
    assert "leader_fled" not in b["targets"] and "leader_fled: before as_of" in b["not_scored"]
    assert score(result, o)["targets"]["leader_fled"]["observed_days"] == [0.0, 2.0]


def test_what_happened_is_scored_as_the_validation_scores_it_with_no_floor():
    """P(what happened) is the share of runs with the observed end state and the fall in its window
    (Syria as of 5 Dec: collapsed on day 3), its log has no floor, and with a reference class the
    survival baseline is fitted on the shipped posterior's cases, with those ended after as_of named."""
    import datetime as dt

    from sim.engines.outcomes import COLLAPSED
    from sim.forecast.backtest import backtest
    from sim.forecast.calibration import load_spec, shipped_cases, survival_baseline, survival_forecast
    from sim.scenario.load import load_scenario

    spec = load_spec(SCENARIOS / "calibration" / "reference-class.toml")
    s = load_scenario(SCENARIOS / "syria-2024-12-05.toml")
    survival, later = survival_baseline(spec, s.as_of)
    assert later == []
    b, result = backtest(s, load_observed(OBSERVED), 3000, seed=2, survival=survival)
    w, out = b["what_happened"], result.outcomes
    assert w["observed_days"] == [3.0, 4.0]
    direct = np.mean((out.end_state == COLLAPSED) & (out.end_day >= 3) & (out.end_day < 4))
    assert w["p"]["model"] == pytest.approx(direct) and w["p"]["always_holds"] == 0.0
    assert w["log"]["always_holds"] == -math.inf
    c = next(i for i, case in enumerate(spec.cases) if case.name == "syria-2024-12-05")
    grid = np.arange(0.0, 181.0)
    assert w["p"]["survival"] == pytest.approx(survival_forecast(spec, c, shipped_cases(spec), grid)["p"])
    assert "survival" in b["targets"]["capital"]["crps"]
    _, later = survival_baseline(spec, dt.date(2006, 1, 1))
    assert "kabul-2021-08-06" in later and "havana-1958-12-20" not in later


def test_backtest_bad_observed_file_exit_2(tmp_path):
    bad = tmp_path / "obs.toml"
    bad.write_text("[observed]\nname = 'x'\n")
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "backtest", str(SCENARIOS / "syria-2024-12-07.toml"),
                           "--observed", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "observed.until" in proc.stderr


def test_backtest_never_replaces_a_folder_that_is_not_a_backtest(tmp_path):
    keep = tmp_path / "documents"
    keep.mkdir()
    (keep / "thesis.txt").write_text("precious")
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "backtest", str(SCENARIOS / "syria-2024-12-07.toml"),
                           "--observed", str(OBSERVED), "--reps", "200", "--out", str(keep)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not a backtest folder" in proc.stderr
    assert (keep / "thesis.txt").read_text() == "precious"


def test_the_backtest_figure_has_a_panel_per_target_cut_to_what_happened(flagship_backtest):
    import datetime as dt

    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from sim.reporting.backtest_figures import MARGIN_DAYS, MARGIN_SHARE, backtest_figure

    out, _ = flagship_backtest
    b = json.loads((out / "backtest.json").read_text())
    with np.load(out / "cdfs.npz") as z:
        fig = backtest_figure(b, z["grid"], {k[4:]: z[k] for k in z.files if k.startswith("cdf:")})
    axes = fig.axes
    assert len(axes) == len(b["targets"]) == 3
    last = max(t["observed_days"][1] for t in b["targets"].values())  # every target happened: day 2
    for ax, (name, t) in zip(axes, b["targets"].items()):
        left, right = (mdates.num2date(x).date() for x in ax.get_xlim())
        assert right == dt.date(2024, 12, 7) + dt.timedelta(days=last + max(MARGIN_DAYS, MARGIN_SHARE * last))
        assert left <= dt.date(2024, 12, 7)
        title = ax.get_title()
        assert "forecast P(by then)" in title and "model CRPS" in title and "always holds" in title
        assert f"{t['crps']['model']:,.1f} d" in title
        assert ax.yaxis.get_major_formatter()(0.5, 0).endswith("%")
    footer = fig.texts[-1].get_text()
    assert "end state observed: collapsed" in footer and "capital falls within 7 days: yes" in footer
    plt.close(fig)
