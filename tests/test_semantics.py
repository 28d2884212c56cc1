"""Closed-form checks of the model's semantics, run on both engines (a shared contract)."""

import numpy as np
import pytest
from scipy import stats

from sim.engines import ENGINES
from sim.engines.outcomes import CAPTURED, COLLAPSED, HOLDS

from .conftest import QUIET, base_doc, merge

ENGINE_REPS = {"reference": 1500, "vectorised": 20000}


def simulate(engine, scenario, reps=None, seed=3):
    reps = reps or ENGINE_REPS[engine]
    out, _ = ENGINES[engine].simulate(scenario, reps, rng=np.random.default_rng(seed))
    return out


@pytest.fixture(params=sorted(ENGINES))
def engine(request):
    return request.param


def race_doc(flight, handover, horizon=30):
    """No axes, no allies: only the ruler's flight and a hand-over, at constant rates."""
    return merge(base_doc(), {
        **QUIET, "rebels": None, "allies": None,
        "scenario": {"horizon_days": horizon},
        "leadership": {"flight_rate_per_day": flight, "handover_rate_per_day": handover,
                       "threat_sensitivity": 0, "cohesion_sensitivity": 0, "unrest_sensitivity": 0,
                       "flight_cohesion_shock": 1.0},
        "cohesion": {"collapse_below": 0.05},
    })


def test_exponential_race(engine, make_scenario):
    """Two constant hazards: the first event time is Exp(lf + lh) and flight wins with lf / (lf + lh)."""
    lf, lh, horizon = 0.05, 0.03, 30
    out = simulate(engine, make_scenario(race_doc(lf, lh, horizon)))
    n = len(out)
    p_end = 1 - np.exp(-(lf + lh) * horizon)
    collapsed = out.end_state == COLLAPSED
    assert set(np.unique(out.end_state)) <= {COLLAPSED, HOLDS}
    # 4.5 standard errors: deterministic under the fixed seed and still tight.
    assert abs(collapsed.mean() - p_end) < 4.5 * np.sqrt(p_end * (1 - p_end) / n)
    fled = ~np.isnan(out.leader_fled_day)
    share = lf / (lf + lh)
    assert abs(fled[collapsed].mean() - share) < 4.5 * np.sqrt(share * (1 - share) / collapsed.sum())
    # The flight collapses cohesion at once: same day.
    assert np.allclose(out.leader_fled_day[fled], out.end_day[fled])
    days = out.end_day[collapsed]
    truncated = lambda x: (1 - np.exp(-(lf + lh) * x)) / p_end  # noqa: E731
    assert stats.kstest(days, truncated).pvalue > 1e-3


def test_undefended_capital_falls_on_arrival(engine, make_scenario):
    """An axis 150 km out at 25 km/day, momentum 1.5, no opposition: arrival at 150 / 37.5 = 4 days."""
    doc = merge(base_doc(), {**QUIET, "allies": None, "momentum": {"decay_per_day": 0, "jump": 0},
                             "nodes": {"town": {"garrison": 0}, "cap": {"garrison": 0}},
                             "rebels": {"north": {"momentum": 1.5, "speed_km_day": 25}},
                             "cohesion": {"shock": 0}})
    out = simulate(engine, make_scenario(doc), reps=50)
    assert np.all(out.end_state == CAPTURED)
    assert np.allclose(out.end_day, 4.0)
    assert np.allclose(out.node_fall_day[:, 1], 50 / 37.5)


def test_air_support_slows_the_advance(engine, make_scenario):
    doc = merge(base_doc(), {**QUIET, "momentum": {"decay_per_day": 0, "jump": 0},
                             "nodes": {"town": {"garrison": 0}, "cap": {"garrison": 0}},
                             "rebels": {"north": {"momentum": 1.0, "speed_km_day": 30}},
                             "allies": {"friend": {"commit_probability": 1, "decision_day": 0,
                                                   "arrival_delay_days": 0, "air_support": 1.0,
                                                   "ground_forces": 0, "cohesion_support": 0}},
                             "combat": {"air_slowdown": 0.5}, "cohesion": {"shock": 0}})
    out = simulate(engine, make_scenario(doc), reps=20)
    assert np.allclose(out.end_day, 150 / 20)  # 30 km/day / (1 + 0.5 x 1)
    assert np.allclose(out.ally_arrival_day[:, 0], 0.0)


def test_capital_under_assault_with_no_garrison_falls_at_once(engine, make_scenario):
    doc = merge(base_doc(), {"rebels": {"north": {"route": ["base", "town"], "assaulting": 1}},
                             "nodes": {"town": {"garrison": 0}}, "roads": {"base-town": 10},
                             "scenario": {"capital": "town"}})
    doc["nodes"]["cap"]["controller"] = "government"
    out = simulate(engine, make_scenario(doc), reps=30)
    assert np.all(out.end_state == CAPTURED) and np.all(out.end_day == 0.0)


def test_horizon_zero_holds(engine, make_scenario):
    out = simulate(engine, make_scenario(merge(base_doc(), {"scenario": {"horizon_days": 0}})), reps=30)
    assert np.all(out.end_state == HOLDS) and np.all(np.isnan(out.end_day))


def lanchester_break_day(att, dfn, kill, tol_a, tol_d):
    """Deterministic daily square-law recursion: the first day a side reaches its breakpoint."""
    a, d, day = att, dfn, 0
    while True:
        day += 1
        a, d = a - kill * d, d - kill * a
        if att - a >= tol_a * att:
            return day, "repulsed"
        if dfn - d >= tol_d * dfn:
            return day, "falls"


def test_assault_follows_the_lanchester_square_law(engine, make_scenario):
    """Large forces make Poisson attrition nearly deterministic: the capital falls on the day the
    square-law recursion says the defenders break."""
    att, dfn, kill = 40_000.0, 20_000.0, 0.05
    doc = merge(base_doc(), {**QUIET, "allies": None,
                             "rebels": {"north": {"route": ["base", "town"], "assaulting": 1, "strength": att,
                                                  "momentum": 1.0, "loss_tolerance": 0.5}},
                             "nodes": {"town": {"garrison": dfn, "defense": 1.0}},
                             "scenario": {"capital": "town"},
                             "combat": {"kill_rate": kill, "defender_loss_tolerance": 0.43},
                             "cohesion": {"combat_weight": 0.0}, "momentum": {"decay_per_day": 0}})
    day, result = lanchester_break_day(att, dfn, kill, 0.5, 0.43)
    assert (day, result) == (5, "falls")  # day 4 ends 4.4 points short of the breakpoint, day 5 4.7 past it
    out = simulate(engine, make_scenario(doc), reps=200)
    assert np.all(out.end_state == CAPTURED)
    assert np.all(out.end_day == day)


def test_desertion_waves_at_a_constant_rate(engine, make_scenario):
    """One garrison, a constant wave rate, nothing else: waves are Poisson, each takes 10%."""
    rate, horizon = 0.2, 20
    doc = merge(base_doc(), {**QUIET, "allies": None, "rebels": None,
                             "scenario": {"horizon_days": horizon},
                             "nodes": {"town": {"garrison": 0}, "cap": {"garrison": 1000}},
                             "desertion": {"base_rate_per_day": rate, "cohesion_sensitivity": 0,
                                           "momentum_sensitivity": 0, "unrest_sensitivity": 0,
                                           "threat_sensitivity": 0, "wave_fraction": 0.1,
                                           "unrest_per_wave": 0}})
    out = simulate(engine, make_scenario(doc))
    waves = np.round(np.log(1 - out.desertions / 1000) / np.log(0.9)).astype(int)
    assert abs(waves.mean() - rate * horizon) < 4.5 * np.sqrt(rate * horizon / len(out))
    assert abs(waves.var() - rate * horizon) < 0.15 * rate * horizon


def test_an_axis_whose_route_ends_short_of_the_capital_stops_there(engine, make_scenario):
    doc = merge(base_doc(), {**QUIET, "allies": None,
                             "rebels": {"north": {"route": ["base", "town"], "strength": 5000}},
                             "nodes": {"town": {"garrison": 100}}})
    out = simulate(engine, make_scenario(doc), reps=200)
    assert np.all(out.end_state == HOLDS)
    assert np.all(out.node_fall_day[:, 1] >= 2.0)  # 50 km at up to 36 km/day, then a round at the next tick
    assert np.all(np.isnan(out.node_fall_day[:, 2]))
