"""Model v2's mechanisms on synthetic theatres (docs/MODEL.md section 4): behaviour that no case was
tuned to, each asserted against its sampling error under fixed seeds."""

import numpy as np
import pytest

from sim.engines import vectorised
from sim.engines.outcomes import HOLDS

from tests.conftest import base_doc, merge

REPS = 4000


def outcomes(make_scenario, doc, reps=REPS, seed=11):
    return vectorised.simulate(make_scenario(doc), reps, rng=np.random.default_rng(seed))[0]


def se(p, n):
    return np.sqrt(max(p * (1 - p), 1e-4) / n)


def regimes_doc(belief, core):
    """A periphery of three towns and a capital, one parameter set; only the initial belief and the
    capital's core share vary. The rebels are too weak to take the capital by assault."""
    return merge(base_doc(), {
        "allies": None, "scenario": {"horizon_days": 60},
        "nodes": {"town": {"garrison": 3000}, "east": {"garrison": 3000}, "west": {"garrison": 3000},
                  "cap": {"garrison": 20000, "core_share": core, "defense": 2}},
        "roads": {"town-east": 40, "town-west": 40},
        "rebels": {"north": {"strength": 2000, "speed_km_day": 0}},
        "belief": {"initial": belief},
        "leadership": {"handover_below": 0.0},  # a ruler who flees rather than negotiates
    })


def test_one_parameter_set_gives_three_regimes(make_scenario):
    """A shock absorbed (belief high: the periphery holds), a total cascade (belief very low, no core:
    the capital's garrison dissolves), the periphery lost while the core holds (belief low, a large
    core)."""
    absorbed = outcomes(make_scenario, regimes_doc(0.8, 0.2))
    total = outcomes(make_scenario, regimes_doc(0.05, 0.0))
    core_holds = outcomes(make_scenario, regimes_doc(0.05, 0.9))
    assert (absorbed.end_state == HOLDS).mean() > 0.95 and absorbed.dispersed.mean() < 0.1 * 29000
    assert (total.end_state != HOLDS).mean() > 0.95
    # the ruler's exit (the flight that tips the contingent units) is on; some rulers hand over instead
    assert (core_holds.end_state == HOLDS).mean() > 0.8
    assert core_holds.dispersed.mean() > 0.5 * 9000  # most of the periphery's garrisons went


def raid_doc():
    """A raid of 3,000 on a capital of 20,000 behind a town: it is beaten back and culminates."""
    return merge(base_doc(), {
        "allies": None, "scenario": {"horizon_days": 730},
        "nodes": {"town": {"garrison": 500}, "cap": {"garrison": 20000, "core_share": 0.3}},
        "rebels": {"north": {"strength": 3000, "momentum": 1.5}},
        "belief": {"initial": 0.55, "baseline": 0.6},
    })


def test_a_repulsed_raid_does_not_leave_a_steady_decay(make_scenario):
    """P(holds at 730 days) >= 0.8 P(holds at 120 days): once the threat is beaten back, belief
    recovers towards its anchor and nothing wears the regime down."""
    out = outcomes(make_scenario, raid_doc())
    holds_120 = 1 - np.mean(out.end_day <= 120)
    holds_730 = 1 - np.mean(out.end_day <= 730)
    assert holds_120 > 0.5
    assert holds_730 >= 0.8 * holds_120 - 3 * se(holds_730, REPS)


def test_a_small_axis_at_the_gates_of_a_large_loyal_garrison_is_no_threat(make_scenario):
    """1,000 fighters assaulting a capital of 23,000 (half of them core) change P(fall) by no more
    than the sampling error from the same theatre with no axis."""
    doc = merge(base_doc(), {"allies": None, "scenario": {"horizon_days": 180, "capital": "cap"},
                             "nodes": {"cap": {"garrison": 23000, "core_share": 0.5}},
                             "belief": {"initial": 0.6}})
    with_axis = merge(doc, {"rebels": {"north": {"route": ["base", "town", "cap"], "strength": 1000,
                                                 "position_km": 50, "speed_km_day": 200}},
                            "nodes": {"town": {"controller": "rebels"}}})
    without = merge(doc, {"rebels": None})
    p_with = np.mean(outcomes(make_scenario, with_axis).end_state != HOLDS)
    p_without = np.mean(outcomes(make_scenario, without).end_state != HOLDS)
    assert abs(p_with - p_without) < 0.02 + 3 * se(p_with, REPS)


@pytest.mark.parametrize("belief", [0.3, 0.5, 0.7])
@pytest.mark.parametrize("horizon", [7, 30, 90])
def test_more_support_for_a_side_moves_the_odds_its_way(make_scenario, belief, horizon):
    """More government-side support (capacity of a committed patron) never raises P(fall within the
    horizon); more rebel-side support never lowers it. Common random numbers (one seed)."""
    def p_fall(gov, reb):
        doc = merge(base_doc(), {
            "scenario": {"horizon_days": horizon}, "belief": {"initial": belief},
            "allies": {"friend": {"committed": 1, "capacity": gov, "air_support": 1, "ground_forces": 3000,
                                  "belief_support": 0.5, "materiel": 0.2, "commit_per_day": 0},
                       "backer": {"side": "rebels", "committed": 1, "capacity": reb, "air_support": 1,
                                  "ground_forces": 3000, "belief_support": 0.5}}})
        return np.mean(outcomes(make_scenario, doc, reps=3000).end_state != HOLDS)
    low, high = p_fall(0.0, 0.5), p_fall(1.0, 0.5)
    assert high <= low + 3 * se(low, 3000)
    low, high = p_fall(0.5, 0.0), p_fall(0.5, 1.0)
    assert high >= low - 3 * se(low, 3000)
