"""Model v2's mechanisms on synthetic theatres (docs/MODEL.md section 4): behaviour that no case was
tuned to, each asserted against its sampling error under fixed seeds."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engines import vectorised
from sim.engines.outcomes import HOLDS
from sim.runs.summary import fell_within
from sim.scenario.load import scenario_from_document

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
        # rulers who flee rather than negotiate, whose flight is a modest shock: the cascade decides
        "leadership": {"handover_below": 0.0, "spread": 0.02}, "belief": {"initial": belief, "flight_shock": 0.5},
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
    # the ruler's exit (the flight that tips the contingent units) is on; some successors hand over
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


@st.composite
def supported_theatres(draw) -> dict:
    """A random theatre at the model's defaults: 3-6 nodes on a tree of roads, 1-3 axes whose routes
    run from rebel-held nodes to the capital, garrisons, classes and belief drawn, and a committed
    patron on each side with a drawn mix of support (capacity is what the test varies). Patrons here
    stay: a patron's departure is news of its own (docs/MODEL.md section 4.8), not support."""
    n = draw(st.integers(3, 6), label="nodes")
    names = [f"n{i}" for i in range(n)]
    capital = names[-1]
    parent = {i: draw(st.integers(0, i - 1), label="road") for i in range(1, n)}
    rebel = {names[0]} | {names[i] for i in range(1, n - 1) if draw(st.booleans(), label="rebel-held")}

    def path_to_capital(i: int) -> list[str]:
        up = lambda k: [k] + (up(parent[k]) if k else [])  # noqa: E731
        a, b = up(i), up(n - 1)
        meet = next(k for k in a if k in b)
        return [names[k] for k in a[:a.index(meet)] + b[:b.index(meet) + 1][::-1]]

    nodes = {}
    for m in names:
        nodes[m] = {"controller": "rebels"} if m in rebel else {
            "controller": "government",
            "garrison": draw(st.sampled_from([500, 3000, 10000, 30000]), label="garrison"),
            "core_share": draw(st.sampled_from([0.0, 0.3, 0.7]), label="core share"),
            "defense": draw(st.sampled_from([1.0, 2.0]), label="defense")}
    bases = sorted(rebel)
    axes = {}
    for k in range(draw(st.integers(1, 3), label="axes")):
        route = path_to_capital(names.index(draw(st.sampled_from(bases), label="base")))
        axes[f"a{k}"] = {"route": route, "strength": draw(st.sampled_from([2000, 8000, 20000]), label="strength"),
                         "momentum": draw(st.sampled_from([1.0, 1.5]), label="momentum"),
                         "speed_km_day": draw(st.sampled_from([10, 30]), label="speed")}
    kinds = lambda: {"air_support": draw(st.sampled_from([0.0, 1.0]), label="air"),  # noqa: E731
                     "ground_forces": draw(st.sampled_from([0, 3000]), label="ground"),
                     "belief_support": draw(st.sampled_from([0.0, 0.5]), label="belief support")}
    return {
        "scenario": {"name": "supported", "as_of": dt.date(2024, 12, 7), "capital": capital, "horizon_days": 90},
        "nodes": nodes,
        "roads": {f"{names[parent[i]]}-{names[i]}": draw(st.sampled_from([20, 60, 150]), label="km")
                  for i in range(1, n)},
        "rebels": axes,
        "allies": {"patron": {"side": "government", "committed": 1, "deploy_to": capital,
                              "materiel": draw(st.sampled_from([0.0, 0.2]), label="materiel"), **kinds()},
                   "backer": {"side": "rebels", "committed": 1, **kinds()}},
        "belief": {"initial": draw(st.sampled_from([0.3, 0.5, 0.7]), label="belief")},
    }


SUPPORT_REPS = 2000


@settings(max_examples=20, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(supported_theatres())
def test_more_support_never_helps_the_other_side_on_random_theatres(doc):
    """Over random theatres, raising the government patron's capacity from 0 to 1 never raises
    P(fall within 7, 30 or 90 days), and raising the rebel backer's never lowers it, beyond
    3 standard errors of a difference of two proportions (one seed for both: common random numbers)."""
    def fell(patron, backer):
        changed = merge(doc, {"allies": {"patron": {"capacity": patron}, "backer": {"capacity": backer}}})
        scenario = scenario_from_document(changed, {}, "<generated>")
        end_day = vectorised.simulate(scenario, SUPPORT_REPS, rng=np.random.default_rng(5))[0].end_day
        return np.array([fell_within(end_day, h).mean() for h in (7, 30, 90)])

    def margin(a, b):
        return 3 * np.sqrt((a * (1 - a) + b * (1 - b)) / SUPPORT_REPS + 1e-6)

    low, high = fell(0.0, 0.5), fell(1.0, 0.5)
    assert np.all(high <= low + margin(low, high)), f"government support raised P(fall): {low} -> {high}"
    low, high = fell(0.5, 0.0), fell(0.5, 1.0)
    assert np.all(high >= low - margin(low, high)), f"rebel support lowered P(fall): {low} -> {high}"
