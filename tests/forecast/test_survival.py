"""The reference-class survival baseline: covariates read from a scenario, and the penalised
Weibull fit recovering known parameters from censored and interval data."""

import math

import numpy as np
import pytest

from sim.engines.theatre import roads_to_capital
from sim.forecast.survival import Observation, covariates, fit

from tests.conftest import base_doc, merge


def test_covariates(make_scenario):
    s = make_scenario(merge(base_doc(), {"rebels": {"north": {"position_km": 20}}}))
    distance, hop = roads_to_capital(s)
    assert distance[s.node_index("base")] == 150.0 and distance[s.node_index("cap")] == 0.0
    assert hop[s.node_index("cap")] == -1
    # 130 km to go; 6,000 rebels against 2,000 + 8,000 (the triangular's mean is 9,333); the ally is not there yet
    x = covariates(s)
    assert x == pytest.approx([math.log(131), math.log(6001 / (2000 + 28000 / 3 + 1)), 0.0])
    s = make_scenario(merge(base_doc(), {"allies": {"friend": {"committed": 1}}}))
    assert covariates(s)[2] == 1.0


def test_a_latent_axis_is_not_the_nearest(make_scenario):
    s = make_scenario(merge(base_doc(), {"rebels": {"inside": {"route": ["town", "cap"], "strength": 100,
                                                               "rises_below": 0.3}}}))
    assert covariates(s)[0] == pytest.approx(math.log(151))


def test_fit_recovers_a_weibull_with_a_covariate():
    """400 cases, log scale 3 + 0.8 z, shape 1.5, censored at day 60, falls known to the day: the
    estimates' sampling sd is about 0.05 (mu, beta) and 0.07 (shape), the tolerances 4 sd."""
    rng = np.random.default_rng(11)
    z = rng.standard_normal(400)
    t = np.exp(3.0 + 0.8 * z) * rng.weibull(1.5, 400)
    obs = [Observation(np.array([zi, 0.0]), (float(np.floor(ti)) if ti < 60 else 61.0),
                       (float(np.floor(ti)) + 1 if ti < 60 else math.inf)) for zi, ti in zip(z, t)]
    f = fit(obs)
    sd = z.std()
    assert f.mu - f.beta[0] * z.mean() / sd == pytest.approx(3.0, abs=0.2)
    assert f.beta[0] / sd == pytest.approx(0.8, abs=0.2) and f.beta[1] == 0.0
    assert f.shape == pytest.approx(1.5, abs=0.3)
    # a held case only says "not before day 61": the survival curve carries the rest
    assert f.survival(np.array([0.0, 0.0]), 0.0) == 1.0
    falls = sum(not math.isinf(o.high) for o in obs)
    assert f.p_captured == pytest.approx(1 / (falls + 2))   # no captures among the falls: (0 + 1) / (falls + 2)
