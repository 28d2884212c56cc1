"""Calibration: the spec boundary, the likelihood of what was observed, importance weights and
leave-one-out, and `sim calibrate` end to end on a tiny reference class."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from sim.forecast.calibration import (Simulations, load_spec, observed_hits, simulate_proposals, validation,
                             weighted_quantile)
from sim.errors import ScenarioError
from sim.engines.outcomes import CAPTURED, COLLAPSED, HOLDS

from tests.conftest import QUIET, base_doc, merge

OBSERVED = """[observed]
name = "{name}"
until = 2025-01-31
[capital]
end_state = "collapsed"
date = {date}
source = "synthetic"
"""


@pytest.fixture
def reference_class(tmp_path, write_scenario):
    """Two synthetic cases where only a hand-over can end the regime, observed on day 3 and day 9."""
    doc = merge(base_doc(), {**QUIET, "rebels": None, "allies": None,
                             "belief": {"initial": 0.5, "baseline": 0.5, "force_weight": 0},
                             "leadership": {"exit_below": 0, "haven": 0, "spread": 0.1, "max_exit_per_day": 0.5}})
    write_scenario(doc, "case.toml")
    (tmp_path / "a.toml").write_text(OBSERVED.format(name="a", date="2024-12-10"))
    (tmp_path / "b.toml").write_text(OBSERVED.format(name="b", date="2024-12-16"))
    spec = tmp_path / "calibration.toml"
    spec.write_text("""[calibration]
tolerance_days = 1
cases = [ { scenario = "case.toml", observed = "a.toml" }, { scenario = "case.toml", observed = "b.toml" },
          { scenario = "case.toml", observed = "b.toml", use = "score" } ]
[priors]
"leadership.handover_below" = { dist = "uniform", low = 0.001, high = 0.5 }
""")
    return spec


def test_spec_loads(reference_class):
    spec = load_spec(reference_class)
    assert [c.calibrate for c in spec.cases] == [True, True, False]
    assert spec.priors[0][0] == "leadership.handover_below" and spec.tolerance_days == 1


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


def test_a_proposal_fixes_only_the_named_parameters_through_the_loader(reference_class):
    case = load_spec(reference_class).cases[0]
    s = case.scenario
    t = case.variant.scenario({"cascade.retreat_share": 0.2, "momentum.jump": 0.1}, origin="test")
    assert t.cascade.retreat_share.dist.mean == 0.2 and t.momentum.jump.dist.mean == 0.1
    assert t.belief.initial == s.belief.initial and t.nodes == s.nodes
    assert "retreat_share = 0.2" in t.resolved_toml  # the resolved scenario is true to the proposal
    with pytest.raises(ScenarioError, match=r"test: cascade\.retreat_share: value must be <= 1"):
        case.variant.scenario({"cascade.retreat_share": 1.5}, origin="test")


def test_observed_hits(reference_class):
    case = load_spec(reference_class).cases[0]  # collapsed on 2024-12-10 = day [3, 4); tolerance 1
    state = np.array([COLLAPSED, COLLAPSED, COLLAPSED, CAPTURED, HOLDS])
    day = np.array([2.0, 4.9, 5.0, 3.5, np.nan])
    assert observed_hits(case, state, day, 1.0).tolist() == [True, True, False, False, False]


def test_weights_multiply_likelihoods_and_leave_one_out(reference_class):
    spec = load_spec(reference_class)
    loglik = np.log(np.array([[0.5, 0.25], [0.1, 0.4], [0.9, 0.9]]))
    days = np.full((3, 2, 4), 3.5)
    sims = Simulations(spec, np.array([[0.1], [0.3]]), loglik, days, np.full((3, 2, 4), COLLAPSED, np.int8))
    w = sims.weights([0, 1])
    assert w == pytest.approx(np.array([0.05, 0.1]) / 0.15)
    rows = validation(sims)
    names = [c.name for c in spec.cases]
    assert [r["calibrated_on"] for r in rows] == [[names[1]], [names[0]], names[:2]]
    assert rows[0]["ess"] == pytest.approx(1 / ((0.1 / 0.5) ** 2 + (0.4 / 0.5) ** 2))


def test_weighted_quantile():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert weighted_quantile(x, np.array([0.1, 0.1, 0.1, 0.7]), 0.5) == 4.0
    assert weighted_quantile(x, np.full(4, 0.25), 0.5) == 2.0


def test_posterior_moves_towards_rates_that_reproduce_the_observations(reference_class):
    """Falls on days 3 and 9 favour a hand-over rate near the maximum of
    (e^{-2l} - e^{-5l}) (e^{-8l} - e^{-11l}), about 0.13 per day: with the rate 0.5 Phi((x - 0.5) / 0.1)
    at belief 0.5, a threshold x near 0.44, against the prior mean of 0.25."""
    from scipy.special import ndtri
    best = 0.5 + 0.1 * float(ndtri(0.13 / 0.5))
    sims = simulate_proposals(load_spec(reference_class), 60, 300, seed=2)
    w = sims.weights([0, 1])
    post = float(np.sum(w * sims.proposals[:, 0]))
    assert abs(post - best) < abs(np.mean(sims.proposals[:, 0]) - best)
    assert 0.35 < post < 0.5


def test_calibrate_command(reference_class, tmp_path):
    out = tmp_path / "cal"
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "calibrate", str(reference_class), "--proposals", "8",
                           "--reps", "100", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    posterior = json.loads((out / "posterior.json").read_text())
    assert posterior["proposals"] == 8 and "leadership.handover_below" in posterior["parameters"]
    assert "handover_below = { dist = \"triangular\"" in (out / "posterior.toml").read_text()
    assert (out / "validation.md").read_text().count("\n") == 5
    assert math.isfinite(json.loads((out / "validation.json").read_text())[0]["crps"]["model"])


