"""Calibration: the spec boundary, the distance to what was observed, which particles a posterior
keeps and leaving a war out, recovery of a known rate, and `sim calibrate` end to end on a tiny
reference class (the ``reference_class`` fixture of conftest.py)."""

import json
import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from sim.cli import main
from sim.engines.outcomes import CAPTURED, COLLAPSED, HOLDS
from sim.forecast import calibration
from sim.runs import executors
from sim.errors import ScenarioError
from sim.forecast.calibration import (Simulations, distances, emulate, gap, leave_war_out, load_spec,
                                      observables, simulate_particles, validation)
from sim.scenario.load import load_scenario

def test_spec_loads(reference_class):
    spec = load_spec(reference_class)
    assert [c.calibrate for c in spec.cases] == [True, True, False]
    assert [c.war for c in spec.cases] == ["one", "two", "two"] and spec.wars == ["one", "two"]
    assert spec.priors[0][0] == "leadership.handover_below" and spec.tolerance_days == 1 and spec.close_share == 0.2


def test_the_cases_table_says_each_cases_use_and_what_happened(reference_class):
    from sim.forecast.calibration import cases_markdown
    rows = [line for line in cases_markdown(load_spec(reference_class)).splitlines() if line.startswith("| `")]
    assert len(rows) == 3
    assert [r.split(" | ")[3] for r in rows] == ["calibrates", "calibrates", "scored only"]
    assert "2024-12-10" in rows[0] and "2024-12-16" in rows[1]
    assert cases_markdown(load_spec(reference_class)).rstrip().endswith("3 case forecasts of 2 wars; 2 calibrate.")


def test_a_case_without_a_war_is_its_own_war(reference_class):
    reference_class.write_text(reference_class.read_text().replace(', war = "one"', ""))
    assert load_spec(reference_class).cases[0].war == "synthetic"


@pytest.mark.parametrize("priors,key", [
    ('"weather.rain" = { dist = "uniform", low = 0, high = 1 }', "priors.weather.rain"),
    ('"cascade.retreat_share" = 0.1', "priors.cascade.retreat_share"),
    ('"cascade.retreat_share" = { dist = "uniform", low = 0, high = 2 }', "priors.cascade.retreat_share"),
])
def test_bad_priors(reference_class, priors, key):
    text = reference_class.read_text().split("[priors]")[0] + "[priors]\n" + priors + "\n"
    reference_class.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_spec(reference_class)
    assert f": {key}:" in str(info.value)


@pytest.mark.parametrize("line,key", [
    ("close_share = 0", "calibration.close_share"),
    ("close_share = 1", "calibration.close_share"),
    ("accept = 0.02", "calibration.accept"),
    ('shipped_before = "2024"', "calibration.shipped_before"),
    ("particles = 3", "calibration.particles"),
])
def test_bad_heads(reference_class, line, key):
    reference_class.write_text(reference_class.read_text().replace("close_share = 0.2", line))
    with pytest.raises(ScenarioError) as info:
        load_spec(reference_class)
    assert f": {key}:" in str(info.value)


def test_a_proposal_fixes_only_the_named_parameters_through_the_loader(reference_class):
    case = load_spec(reference_class).cases[0]
    s = case.scenario
    t = case.variant.scenario({"cascade.retreat_share": 0.2, "momentum.jump": 0.1}, origin="test")
    assert t.cascade.retreat_share.dist.mean == 0.2 and t.momentum.jump.dist.mean == 0.1
    assert t.belief.initial == s.belief.initial and t.nodes == s.nodes
    with pytest.raises(ScenarioError, match=r"test: cascade\.retreat_share: value must be <= 1"):
        case.variant.scenario({"cascade.retreat_share": 1.5}, origin="test")


def test_gap():
    # a window [3, 4) widened by 1 day each side; the horizon is 60 days
    day = np.array([2.0, 4.9, 7.0, np.nan, 0.0])
    assert gap(day, 3.0, 4.0, 1.0, 60.0) == pytest.approx(
        [0.0, 0.0, math.log(8 / 6), math.log(121 / 6), math.log(3)])
    # held to day 30: only falls before it count
    assert gap(np.array([9.0, 30.0, np.nan]), 30.0, math.inf, 1.0, 60.0) == pytest.approx([math.log(31 / 10), 0, 0])


def test_distance_adds_the_end_state_the_cities_and_the_ruler(reference_class, tmp_path):
    case = load_spec(reference_class).cases[0]     # collapsed on 2024-12-10 = day [3, 4); tolerance 1
    out = SimpleNamespace(end_day=np.array([3.5, 3.5, np.nan]), end_state=np.array([COLLAPSED, CAPTURED, HOLDS]),
                          node_fall_day=np.zeros((3, 3)), leader_fled_day=np.full(3, np.nan))
    assert [o.what for o in observables(case)] == ["capital"]
    assert distances(case, out, 1.0) == pytest.approx([0.0, 0.5, math.log(121 / 6)])


def test_weights_resampling_and_leave_war_out(reference_class):
    spec = load_spec(reference_class)
    # 40 particles; case 0 likes particles 0 and 1 (weights 2:1), case 1 only particle 39
    log_l = np.full((3, 40), -np.inf)
    log_l[0, :2] = [math.log(2), 0.0]
    log_l[1, 39] = 0.0
    log_l[2] = 0.0
    sims = Simulations(spec, np.linspace(0.01, 0.4, 40)[:, None], np.zeros((3, 40)), seed=0,
                       log_likelihood=log_l, epsilon=np.zeros(3))
    assert sims.kept([0], rows=6).tolist() == [0, 0, 0, 0, 1, 1] and set(sims.kept([1]).tolist()) == {39}
    assert sims.ess([0]) == pytest.approx(1.8) and sims.ess([]) == pytest.approx(40)
    assert [leave_war_out(spec, c) for c in range(3)] == [[1], [0], [0]]  # the score-only case is war two
    rows = validation(sims)
    assert [r["calibrated_on"] for r in rows] == [[spec.cases[1].name]] + [[spec.cases[0].name]] * 2
    assert [r["ess"] for r in rows] == pytest.approx([1.0, 1.8, 1.8])


def test_emulated_likelihood_follows_the_close_frequency(reference_class):
    """A case whose runs come close (distance within its closest 20%) more often the nearer theta is to
    0.3: the emulated likelihood tracks the close frequency in bins of theta (20,000 particles, 2,000
    a bin: sampling error about 0.01) within 0.04, and peaks near 0.3."""
    spec = load_spec(reference_class)
    rng = np.random.default_rng(8)
    theta = rng.uniform(0, 1, (20000, 1))
    d = np.abs(theta[:, 0] - 0.3) + 0.2 * np.abs(rng.standard_normal(20000))
    log_l, eps = emulate(spec, theta, np.stack([d, d, d]))
    assert np.isnan(eps[2]) and not log_l[2].any()           # a case that only scores is not emulated
    close = d <= eps[0]
    assert close.mean() == pytest.approx(0.2, abs=1e-3)
    bins = np.minimum((theta[:, 0] * 10).astype(int), 9)
    for b in range(10):
        assert np.mean(np.exp(log_l[0][bins == b])) == pytest.approx(np.mean(close[bins == b]), abs=0.04)
    assert abs(theta[np.argmax(log_l[0]), 0] - 0.3) < 0.1


def test_posterior_moves_towards_rates_that_reproduce_the_observations(reference_class):
    """Falls on days 3 and 9 favour a hand-over rate near the maximum of
    (e^{-2l} - e^{-5l}) (e^{-8l} - e^{-11l}), about 0.13 per day: with the rate 0.5 Phi((x - 0.5) / 0.1)
    at belief 0.5, a threshold x near 0.44, against the prior mean of 0.25. With 4,000 particles
    (an effective sample of several hundred), the posterior mean's sampling error is about 0.01."""
    from scipy.special import ndtri
    best = 0.5 + 0.1 * float(ndtri(0.13 / 0.5))
    sims = simulate_particles(load_spec(reference_class), 4000, seed=2)
    post = float(np.sum(sims.weights([0, 1]) * sims.particles[:, 0]))
    assert abs(post - best) < abs(np.mean(sims.particles[:, 0]) - best)
    assert 0.36 < post < 0.5


def test_numbers_do_not_depend_on_the_workers(reference_class):
    spec = load_spec(reference_class)
    one = simulate_particles(spec, 300, seed=5)
    two = simulate_particles(spec, 300, seed=5, workers=2)
    assert np.array_equal(one.distance, two.distance) and np.array_equal(one.particles, two.particles)


def test_a_dask_cluster_gives_the_numbers_of_a_process_pool(reference_class, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(calibration, "CHUNK", 100)  # three chunks a case, planned here
    spec = load_spec(reference_class)
    pool = simulate_particles(spec, 300, seed=5, workers=2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        dask = simulate_particles(spec, 300, seed=5, scheduler=cluster.scheduler_address)
    assert np.array_equal(dask.distance, pool.distance) and np.array_equal(dask.particles, pool.particles)
    assert np.array_equal(dask.log_likelihood, pool.log_likelihood)


def test_calibrate_with_an_unreachable_scheduler_is_one_line(reference_class, tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed")
    monkeypatch.setattr(executors, "SCHEDULER_TIMEOUT", 1)
    out = tmp_path / "cal"
    assert main(["calibrate", str(reference_class), "--particles", "50", "--scheduler", "tcp://127.0.0.1:9",
                 "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sim: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert not out.exists()


def test_calibrate_command_ships_a_posterior_a_scenario_can_draw(reference_class, tmp_path):
    out = tmp_path / "cal"
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "calibrate", str(reference_class), "--particles", "400",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    posterior = json.loads((out / "posterior.json").read_text())
    assert posterior["particles"] == 400 and posterior["rows"] == 2000 and posterior["ess"] < 200
    assert "sim: warning: posterior: effective sample size" in proc.stderr   # the degenerate-posterior warning
    rows = json.loads((out / "validation.json").read_text())["rows"]
    assert [r["war"] for r in rows] == ["one", "two", "two"]
    s = load_scenario(tmp_path / "case.toml", posterior=out / "posterior.toml")
    assert s.posterior.paths == ("leadership.handover_below",) and s.posterior.rows.shape == (2000, 1)
    assert "| model against |" in (out / "validation.md").read_text()
    assert (out / "validation.png").stat().st_size > 10_000 and (out / "validation.svg").is_file()


def _row(within: float, low: float, high, pit=(0.5, 0.5)):
    return {"within": {"7": within, "30": within, "90": within}, "survival_within": {"7": 0.5, "30": 0.5, "90": 0.5},
            "observed_days": [low, high], "horizon_days": 180, "pit": {"model": list(pit), "survival": [0.0, 1.0]}}


def test_reliability_pools_the_settled_milestones():
    from sim.forecast.calibration import reliability
    # 10 holds forecast at 0.1 (30 settled "no"s); 10 falls on day 3 forecast at 0.9 (30 settled "yes"es);
    # a window straddling day 7 settles only 30 and 90
    rows = [_row(0.1, 200.0, None) for _ in range(10)] + [_row(0.9, 3.0, 4.0) for _ in range(10)] + [_row(0.5, 5, 9)]
    bins = {b["bin"][0]: b for b in reliability(rows, "model")}
    assert bins[0.0]["n"] == 30 and bins[0.0]["observed"] == 0.0 and bins[0.0]["forecast"] == pytest.approx(0.1)
    assert bins[0.8]["n"] == 30 and bins[0.8]["observed"] == 1.0
    assert bins[0.4]["n"] == 2 and bins[0.4]["observed"] == 1.0
    # if reliable, 30 forecasts of 0.1 give Binomial(30, 0.1) / 30: its 5% and 95% quantiles are 1 and 6
    # (P(X = 0) = 0.042 and P(X <= 6) = 0.974, far from the edges of 4,000 draws' error), so no event in
    # 30 lies outside the bar
    assert bins[0.0]["consistent_low"] == pytest.approx(1 / 30) and bins[0.0]["consistent_high"] == pytest.approx(0.2)


def test_coverage_counts_pit_midpoints_inside_the_central_interval():
    from sim.forecast.calibration import coverage
    rows = [_row(0.5, 1, 2, pit=(p, p)) for p in (0.01, 0.3, 0.5, 0.7, 0.97)] + [_row(0.5, 1, 2, pit=(0.9, 1.0))]
    assert coverage(rows, "model", 0.5) == pytest.approx(3 / 6)     # 0.3, 0.5, 0.7
    assert coverage(rows, "model", 0.9) == pytest.approx(4 / 6)     # and the range [0.9, 1] (midpoint 0.95)
