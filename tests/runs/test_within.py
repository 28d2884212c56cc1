"""One definition of "the capital falls within d days" (fall day <= d), the same number everywhere."""

import json

import numpy as np
import pytest

from sim.cli import main
from sim.runs.runner import run
from sim.runs.summary import count_within, daily_bin, fell_within, milestones
from sim.scenario.load import load_scenario

from tests.conftest import SCENARIOS

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
OBSERVED = SCENARIOS / "observed" / "syria-2024.toml"


def test_a_fall_on_day_d_is_within_d_days():
    days = np.array([0.0, 6.99, 7.0, 7.0001, np.nan])
    assert fell_within(days, 7).tolist() == [True, True, True, False, False]
    daily = np.bincount(daily_bin(days[~np.isnan(days)]), minlength=10)
    assert [count_within(daily, d) for d in (0, 6, 7, 8)] == [1, 1, 3, 4]
    with pytest.raises(ValueError, match="whole days"):
        count_within(daily, 7.5)


def test_milestones_are_within_the_horizon():
    assert milestones(180) == [7, 30, 90, 180]
    assert milestones(30) == [7, 30]
    assert milestones(5) == [5]


def test_the_summary_counts_the_outcomes_exactly():
    result = run(load_scenario(FLAGSHIP), 6000, seed=4)
    for d, v in result.summary["capital_falls_within"].items():
        assert v["p"] == np.mean(fell_within(result.outcomes.end_day, int(d))), d


def test_one_number_in_summary_compare_sweep_and_backtest(tmp_path, monkeypatch, capsys):
    """The same flagship run (seed, replications) gives the same P(falls within 7 days) in
    summary.json, sim compare, sim sweep (a point that fixes a parameter to its own value) and
    sim backtest."""
    monkeypatch.chdir(tmp_path)
    common = ["--reps", "4000", "--seed", "9"]
    assert main(["run", str(FLAGSHIP), *common, "--no-plots", "--out", "a", "--quiet"]) == 0
    assert main(["run", str(FLAGSHIP), *common, "--no-plots", "--out", "b", "--quiet"]) == 0
    p = json.loads((tmp_path / "a" / "summary.json").read_text())["capital_falls_within"]["7"]["p"]
    assert 0.0 < p < 1.0  # not a degenerate number that any command would match
    assert main(["compare", "a", "b", "--out", "c"]) == 0
    runs = json.loads((tmp_path / "c" / "compare.json").read_text())["runs"]
    assert [r["capital_falls_within"]["7"]["p"] for r in runs] == [p, p]
    assert main(["sweep", str(FLAGSHIP), "--param", "combat.kill_rate=0.02", *common, "--no-plots", "--out", "s",
                 "--quiet"]) == 0
    assert json.loads((tmp_path / "s" / "sweep.json").read_text())["rows"][0]["falls_by_7d"] == p
    assert main(["backtest", str(FLAGSHIP), "--observed", str(OBSERVED), *common, "--out", "bt", "--quiet"]) == 0
    assert json.loads((tmp_path / "bt" / "backtest.json").read_text())["capital_falls_within"]["7"]["p"] == p


def test_the_wilson_interval_is_scipys_to_the_last_bit():
    """summary.json's intervals are computed without scipy.stats and equal binomtest's Wilson interval."""
    from scipy.stats import binomtest

    from sim.runs.summary import wilson
    rng = np.random.default_rng(2)
    for n in [1, 2, 7, 1000, 123_457, 10**8]:
        for k in {0, n, *rng.integers(0, n + 1, 20).tolist()}:
            ci = binomtest(int(k), n).proportion_ci(confidence_level=0.95, method="wilson")
            low, high = wilson(k, n)
            assert (float(low), float(high)) == (ci.low, ci.high), (k, n)
