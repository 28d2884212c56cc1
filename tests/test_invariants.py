"""Invariants of every replication, on both engines, as properties over generated theatres (graphs
with cycles, routes that share nodes, allies on both sides) and at the extremes of valid parameters.

In every replication: the end state is one of three and the summary's probabilities sum to 1; the
capital's fall day lies within the horizon and equals the end day; a replication that holds has no
capital fall day; a node falls at most once (counted at the capture itself), never if it started
rebel-held, and only after every node its assault needs: an axis assaults the k-th node of its
route only after passing the nodes before it, each rebel-held by then, so some axis whose route
holds the node has every earlier node on it rebel-held at start or fallen no later. The capital
falls to an assault (captured) only in that way; a collapse may end it from anywhere. Every number
is finite where it is defined.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.engines import ENGINES, reference, vectorised
from sim.errors import ScenarioError
from sim.scenario.load import scenario_from_document
from sim.engines.outcomes import CAPTURED, COLLAPSED, HOLDS
from sim.runs.runner import run
from sim.engines.theatre import Theatre

from .conftest import QUIET, base_doc, merge

# An invalid operation (a NaN made from numbers) or an overflow outside the engines is a wrong number.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

PROPERTY = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------------------------ recording captures

@contextlib.contextmanager
def recording_captures():
    """Every capture either engine makes, as (engine, replication, node) in order."""
    seen: list[tuple] = []
    ids = itertools.count()
    ref_capture, vec_capture = reference.Replication.capture, vectorised.Block.capture

    def tag(obj) -> int:  # id() may be reused once a replication is freed
        if not hasattr(obj, "_test_tag"):
            obj._test_tag = next(ids)
        return obj._test_tag

    def ref(self, a, i):
        seen.append(("reference", tag(self), int(i)))
        return ref_capture(self, a, i)

    def vec(self, r, a, i):
        for row, node in zip(np.atleast_1d(self.s.rid[r]), np.broadcast_to(i, np.shape(r))):
            seen.append(("vectorised", tag(self), int(row), int(node)))
        return vec_capture(self, r, a, i)

    with mock.patch.object(reference.Replication, "capture", ref), mock.patch.object(vectorised.Block, "capture", vec):
        yield seen


# ------------------------------------------------------------------------------------ the invariants

def check(scenario, result, captures) -> None:
    th = Theatre.from_scenario(scenario)
    o = result.outcomes
    n, horizon, cap = len(o), scenario.horizon_days, th.capital
    assert n == result.reps

    ps = [result.summary["end_states"][k]["p"] for k in ("captured", "collapsed", "holds")]
    assert math.isclose(sum(ps), 1.0, abs_tol=1e-12)
    assert set(np.unique(o.end_state)) <= {CAPTURED, COLLAPSED, HOLDS}

    holds = o.end_state == HOLDS
    assert np.isnan(o.end_day[holds]).all() and np.isnan(o.node_fall_day[holds, cap]).all()
    ended = ~holds
    end = o.end_day[ended]
    assert np.isfinite(end).all() and (end >= 0).all() and (end <= horizon).all()
    if horizon > 0:
        assert (end < horizon).all()  # events at or past the horizon are not processed
    assert np.array_equal(o.node_fall_day[ended, cap], end)

    fall = o.node_fall_day
    limit = np.where(ended, o.end_day, horizon)[:, None]
    fell = ~np.isnan(fall)
    assert (fall[fell] >= 0).all() and (np.broadcast_to(limit, fall.shape)[fell] >= fall[fell]).all()
    assert not fell[:, th.rebel_at_start].any(), "a node rebel-held from the start fell"

    routes = [list(th.routes[a, : th.route_len[a]]) for a in range(th.n_axes)]
    for r in range(n):
        for i in np.flatnonzero(fell[r]):
            if i == cap and o.end_state[r] == COLLAPSED:
                continue  # the regime ended: no assault needed
            t = fall[r, i]
            needs_met = any(
                i in route and all(th.rebel_at_start[j] or fall[r, j] <= t for j in route[1: route.index(i)])
                for route in routes)
            assert needs_met, f"replication {r}: node {th.node_names[i]} fell on day {t} without an axis that " \
                              f"had passed every earlier node of its route (falls {fall[r]})"

    # A node falls at most once: no capture of the same node twice in one replication.
    keys = [c[1:] for c in captures]
    assert len(keys) == len(set(keys)), "a node was captured twice in one replication"

    for col in (o.leader_fled_day, o.uprising_day):
        d = col[~np.isnan(col)]
        assert np.isfinite(d).all() and (d >= 0).all() and (d <= horizon).all()
    fled = ~np.isnan(o.leader_fled_day) & ended
    assert (o.leader_fled_day[fled] <= o.end_day[fled]).all()
    assert np.isfinite(o.desertions).all() and (o.desertions >= 0).all()
    assert np.isfinite(o.final_cohesion).all() and (o.final_cohesion >= 0).all() and (o.final_cohesion <= 1).all()
    arr = o.ally_arrival_day[~np.isnan(o.ally_arrival_day)]
    assert np.isfinite(arr).all() and (arr >= 0).all() and (arr <= horizon).all()

    s = result.summary
    f = s["capital_fall_day"]
    assert f["n"] == int(ended.sum())
    qs = [f[k] for k in ("p10", "p50", "p90") if f[k] is not None]
    assert qs == sorted(qs) and all(0 <= q <= horizon for q in qs)
    for v in s["end_states"].values():
        assert 0 <= v["ci_low"] <= v["p"] <= v["ci_high"] <= 1


def simulate_and_check(scenario, engine: str, reps: int, seed: int = 1):
    with recording_captures() as captures:
        result = run(scenario, reps, seed=seed, engine=engine)
    # Every fall is a capture, but the capital's in a collapse.
    fell = int(np.count_nonzero(~np.isnan(result.outcomes.node_fall_day)))
    collapsed = int(np.count_nonzero(result.outcomes.end_state == COLLAPSED))
    assert len(captures) == fell - collapsed, (len(captures), fell, collapsed)
    check(scenario, result, captures)
    return result


# ------------------------------------------------------------------------------------ generated theatres

@st.composite
def theatres(draw) -> dict:
    """A small theatre: a connected graph with extra roads (cycles), 0-3 axes on simple paths that
    start at rebel-held nodes, 0-2 allies, and parameters drawn from their extremes."""
    n = draw(st.integers(2, 6), label="nodes")
    names = [f"n{i}" for i in range(n)]
    capital = draw(st.sampled_from(names[1:]), label="capital")
    rebel = {names[0]} | {m for m in names[1:] if m != capital and draw(st.booleans())}
    edges = {frozenset((names[i], names[draw(st.integers(0, i - 1))])) for i in range(1, n)}  # a spanning tree
    for _ in range(draw(st.integers(0, n))):  # extra roads close cycles
        a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        if a != b:
            edges.add(frozenset((a, b)))
    neighbours = {m: sorted(x for e in edges if m in e for x in e if x != m) for m in names}

    def fighters(label):
        return draw(st.one_of(st.sampled_from([0, 1, 50, 2000, 1e6]),
                              st.builds(lambda lo, w: {"dist": "uniform", "low": lo, "high": lo + w},
                                        st.sampled_from([0, 100]), st.sampled_from([1, 5000])),
                              st.just({"dist": "lognormal", "median": 3000, "sigma": 1.0})), label=label)

    nodes = {}
    for m in names:
        body = {"controller": "rebels" if m in rebel else "government"}
        if m not in rebel:
            body |= {"garrison": fighters(f"garrison {m}"),
                     "defense": draw(st.sampled_from([1e-6, 0.5, 1, 3, 1e3]), label="defense"),
                     "importance": draw(st.sampled_from([0, 1, 5]), label="importance")}
        nodes[m] = body
    axes = {}
    for k in range(draw(st.integers(0, 3), label="axes")):
        route = [draw(st.sampled_from(sorted(rebel)), label="base")]
        for _ in range(draw(st.integers(1, n - 1), label="steps")):
            options = [x for x in neighbours[route[-1]] if x not in route]
            if not options:
                break
            route.append(draw(st.sampled_from(options)))
        axes[f"a{k}"] = {
            "route": route,
            "strength": fighters("strength"),
            "momentum": draw(st.sampled_from([1e-9, 0.5, 1, 4, {"dist": "lognormal", "median": 1.2, "sigma": 0.2}])),
            "speed_km_day": draw(st.sampled_from([0, 20, 1e4])),
            "position_km": draw(st.sampled_from([0, 10, 1e6])),
            "assaulting": draw(st.sampled_from([0, 1, {"dist": "bernoulli", "p": 0.5}])),
            "loss_tolerance": draw(st.sampled_from([1e-6, 0.3, 1])),
            "reinforcement_per_day": draw(st.sampled_from([0, 100])),
        }
    allies = {}
    for j in range(draw(st.integers(0, 2), label="allies")):
        allies[f"x{j}"] = {
            "side": draw(st.sampled_from(["government", "rebels"])),
            "commit_probability": draw(st.sampled_from([0, 0.5, 1])),
            "decision_day": draw(st.sampled_from([0, 1, 5])),
            "arrival_delay_days": draw(st.sampled_from([0, 2])),
            "capacity": draw(st.sampled_from([0, 1])),
            "air_support": draw(st.sampled_from([0, 1, 5])),
            "ground_forces": draw(st.sampled_from([0, 1000])),
            "cohesion_support": draw(st.sampled_from([0, 0.5, 1])),
            **({"deploy_to": draw(st.sampled_from(names))} if draw(st.booleans()) else {}),
        }
    pick = lambda label, options: draw(st.sampled_from(options), label=label)  # noqa: E731
    return {
        "scenario": {"name": "generated", "as_of": dt.date(2024, 12, 7), "capital": capital,
                     "horizon_days": pick("horizon", [0, 1, 2, 7, 30, 60])},
        "nodes": nodes,
        "roads": {"-".join(sorted(e)): pick("km", [1e-6, 5, 50, 1e4]) for e in sorted(edges, key=sorted)},
        "rebels": axes,
        "allies": allies,
        "momentum": {"jump": pick("jump", [0, 0.25, 1]), "cap": pick("cap", [1e-9, 1, 4]),
                     "setback": pick("setback", [0, 0.3, 1]), "decay_per_day": pick("decay", [0, 0.07, 50]),
                     "spillover": pick("spillover", [0, 1])},
        # Weighted (repeated) towards values that let assaults happen before a collapse.
        "cohesion": {"initial": pick("cohesion", [0, 0.7, 0.7, 0.7, 1]),
                     "collapse_below": pick("collapse", [0, 0, 0.1, 0.1, 1]),
                     "shock": pick("shock", [0, 0.08, 0.08, 1]), "combat_weight": pick("weight", [0, 1])},
        "desertion": {"base_rate_per_day": pick("desertion", [0, 0.002, 0.02]),
                      "wave_fraction": pick("wave", [0, 0.1, 1])},
        "combat": {"kill_rate": pick("kill", [0, 0.02, 1]), "regroup_days": pick("regroup", [0, 3]),
                   "retreat_fraction": pick("retreat", [0, 1]), "air_slowdown": pick("slowdown", [0, 1])},
        "unrest": {"initial": pick("unrest", [0, 0, 1]), "uprising_rate_per_day": pick("uprising", [0, 0.02, 0.02, 5]),
                   "uprising_garrison_loss": pick("uprising loss", [0, 1])},
        "leadership": {"flight_rate_per_day": pick("flight", [0, 3e-5, 3e-5, 1]),
                       "handover_rate_per_day": pick("handover", [0, 1e-5, 1e-5, 1])},
        "threat": {"scale_km": pick("scale", [1e-6, 50, 1e6])},
    }


def scenario_of(doc: dict):
    try:
        return scenario_from_document(doc, {}, "<generated>")
    except ScenarioError as exc:  # the generator keeps to valid values: a rejection is a loader bug
        raise AssertionError(f"a valid generated theatre was rejected: {exc}\n{doc}") from None


@PROPERTY
@given(theatres(), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_invariants_hold_in_every_replication_of_generated_theatres(doc, reps, seed):
    scenario = scenario_of(doc)
    for engine in sorted(ENGINES):
        result = simulate_and_check(scenario, engine, reps, seed)
        o = result.outcomes
        event(f"{engine}: " + ", ".join(name for k, name in enumerate(("captured", "collapsed", "holds"))
                                        if (o.end_state == k).any()))
        event(f"{engine}: {'some' if np.isfinite(o.node_fall_day).any() else 'no'} node fell")


# ------------------------------------------------------------------------------------ named extremes

EXTREMES = {
    "zero garrisons": {"nodes": {"town": {"garrison": 0}, "cap": {"garrison": 0}}},
    "zero rebel strength": {"rebels": {"north": {"strength": 0}}},
    "zero strength, zero garrisons": {"rebels": {"north": {"strength": 0}},
                                      "nodes": {"town": {"garrison": 0}, "cap": {"garrison": 0}}},
    "momentum at the cap": {"rebels": {"north": {"momentum": 4}}, "momentum": {"cap": 4, "decay_per_day": 0}},
    "momentum a hair above zero": {"rebels": {"north": {"momentum": 1e-12}}, "momentum": {"jump": 0}},
    "momentum cap a hair above zero": {"momentum": {"cap": 1e-12}},
    "every ally at full capacity": {"allies": {
        "friend": {"capacity": 1, "commit_probability": 1, "air_support": 1e6, "ground_forces": 1e6,
                   "cohesion_support": 1},
        "backer": {"side": "rebels", "capacity": 1, "commit_probability": 1, "air_support": 1e6,
                   "ground_forces": 1e6, "cohesion_support": 1}}},
    "largest numbers": {"rebels": {"north": {"strength": 1e12, "reinforcement_per_day": 1e12}},
                        "nodes": {"cap": {"garrison": 1e12, "defense": 1e12}}, "combat": {"kill_rate": 1e12}},
    "vanishing defense and threat scale": {"nodes": {"town": {"defense": 5e-324}}, "threat": {"scale_km": 5e-324}},
    "horizon 0": {"scenario": {"horizon_days": 0}},
    "horizon 1": {"scenario": {"horizon_days": 1}},
    "everything certain to happen at once": {"leadership": {"flight_rate_per_day": 1e12, "handover_rate_per_day": 1e12},
                                             "unrest": {"initial": 1, "uprising_rate_per_day": 1e12}},
}


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("name", sorted(EXTREMES))
@pytest.mark.parametrize("reps", [1, 25])
def test_extreme_but_valid_parameters(make_scenario, engine, name, reps):
    scenario = make_scenario(merge(base_doc(), EXTREMES[name]))
    simulate_and_check(scenario, engine, reps)


@pytest.mark.parametrize("engine,reps", [("vectorised", 20), ("reference", 2)])
def test_a_horizon_of_ten_thousand_days(make_scenario, engine, reps):
    """Nothing happens but the daily clock (no hazard, an axis that never moves): 10,000 ticks."""
    doc = merge(base_doc(), {**QUIET, "scenario": {"horizon_days": 10_000}, "rebels": {"north": {"speed_km_day": 0}}})
    result = simulate_and_check(make_scenario(doc), engine, reps)
    assert (result.outcomes.end_state == HOLDS).all()


def test_a_horizon_of_ten_thousand_days_with_everything_on(make_scenario):
    """The flagship's mechanisms at 10,000 days: every replication ends, within the horizon."""
    doc = merge(base_doc(), {"scenario": {"horizon_days": 10_000}})
    result = simulate_and_check(make_scenario(doc), "vectorised", 200)
    assert result.summary["end_states"]["holds"]["p"] < 1


def test_one_replication_gives_a_complete_summary(make_scenario):
    result = simulate_and_check(make_scenario(base_doc()), "vectorised", 1)
    assert result.summary["reps"] == 1 and sum(v["p"] for v in result.summary["end_states"].values()) == 1
