"""The engine contract: what every engine promises (docs/MODEL.md section 7), as a mixin that each
engine's test class inherits, in the manner of scipy's ``QMCEngineTests``. A new engine is one
subclass away from the whole suite: set ``engine`` (the module or object), ``name`` (its key in
``sim.engines.ENGINES``), ``reps`` (replications for the statistical checks) and ``long_reps``,
and give :meth:`EngineContract.recording_captures`.

Three parts: the API (signature, parameters drawn first, given draws used and left unchanged,
outcome shapes and dtypes, determinism); closed forms of the model's semantics (an exponential race
of the ruler's exits, arrival times, the air slowdown, the square-law break day, the cascade's
threshold recursion, an exit near-certain within a day); and invariants
of every replication, as properties over generated theatres and at the extremes of valid
parameters. Tolerances are several standard errors under fixed seeds, so the tests never flake.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import inspect
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.engines import ENGINES
from sim.engines.draws import draw_parameters
from sim.engines.outcomes import (
    ABANDONED, ASSAULT, CAPTURED, COLLAPSE, COLLAPSED, HOLDS, NOT_FALLEN, RISING, Outcomes,
)
from sim.engines.theatre import Theatre
from sim.errors import ScenarioError
from sim.runs.runner import run
from sim.runs.summary import fell_within
from sim.scenario.load import scenario_from_document

from tests.conftest import QUIET, base_doc, merge

PROPERTY = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------------------------ closed forms

def steady(doc: dict, belief: float) -> dict:
    """Belief held constant at ``belief``: the anchor is the baseline (no weight on the force
    balance, no allies) and it starts there."""
    return merge(doc, {"belief": {"initial": belief, "baseline": belief, "force_weight": 0.0}})


def race_doc(flight, handover, horizon=30, belief=0.5, spread=0.1, most=0.1):
    """No axes, no allies, belief constant (a flight does not move it), no cascade: the ruler's
    flight and a hand-over run at constant rates h_max Phi((threshold - pi) / s); the thresholds are
    solved for ``flight`` and ``handover`` per day."""
    from scipy.special import ndtri
    return steady(merge(base_doc(), {
        **QUIET, "rebels": None, "allies": None, "belief": {"flight_shock": 0.0},
        "scenario": {"horizon_days": horizon},
        "leadership": {"exit_below": belief + spread * float(ndtri(flight / most)), "haven": 0.0,
                       "handover_below": belief + spread * float(ndtri(handover / most)),
                       "spread": spread, "max_exit_per_day": most},
    }), belief)


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


# ------------------------------------------------------------------------------------ invariants
#
# In every replication: the end state is one of three and the summary's probabilities sum to 1; the
# capital's fall day lies within the horizon and equals the end day; a replication that holds has no
# capital fall day; a node falls at most once (counted at the capture itself), never if it started
# rebel-held, and only after every node its assault needs (a node retaken and lost again keeps its
# first fall day): an axis assaults the k-th node of its
# route only after passing the nodes before it, each rebel-held by then, so some axis whose route
# holds the node has every earlier node on it rebel-held at start or fallen no later. The capital
# falls to an assault (captured) only in that way; a collapse may end it from anywhere. Every number
# is finite where it is defined. How a node fell is recorded exactly where its fall day is: by
# collapse the capital alone, exactly when the regime collapsed; by assault only on a whole day (the
# rounds are fought at the tick); by a rising only where some axis can be a latent group.

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

    how = o.node_fall_how
    assert how.dtype == np.int8 and how.shape == fall.shape
    assert set(np.unique(how)) <= {NOT_FALLEN, ASSAULT, ABANDONED, RISING, COLLAPSE}
    assert np.array_equal(how != NOT_FALLEN, fell), "a fall without its mode, or a mode without a fall"
    assert np.array_equal(how[:, cap] == COLLAPSE, o.end_state == COLLAPSED)
    assert not (np.delete(how, cap, axis=1) == COLLAPSE).any(), "a node other than the capital fell by collapse"
    assert (fall[how == ASSAULT] == np.floor(fall[how == ASSAULT])).all(), "an assault's fall between ticks"
    if not any(axis.rises_below.dist.support[0] < 1 for axis in scenario.axes):
        assert not (how == RISING).any(), "a rising without a latent group"

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

    # A node is captured twice in one replication only if it was retaken in between.
    retaken = ~np.isnan(o.node_retaken_day)
    assert not retaken[:, th.rebel_at_start].any() and not retaken[:, cap].any()
    assert (o.node_retaken_day[retaken] >= fall[retaken]).all(), "a node retaken before it fell"
    keys = list(captures)
    twice = {k for k in keys if keys.count(k) > 1}
    assert all(retaken[k[-2], k[-1]] for k in twice), "a node was captured twice without being retaken"

    for col in (o.leader_fled_day, o.handover_day):
        d = col[~np.isnan(col)]
        assert np.isfinite(d).all() and (d >= 0).all() and (d <= horizon).all()
    fled = ~np.isnan(o.leader_fled_day) & ended
    assert (o.leader_fled_day[fled] <= o.end_day[fled]).all()
    handed = ~np.isnan(o.handover_day)
    assert (o.end_state[handed] == COLLAPSED).all() and np.array_equal(o.handover_day[handed], o.end_day[handed])
    after = handed & ~np.isnan(o.leader_fled_day)  # a successor handed over
    assert (o.handover_day[after] >= o.leader_fled_day[after]).all(), "a hand-over came before the flight"
    assert np.isfinite(o.dispersed).all() and (o.dispersed >= 0).all()
    assert np.isfinite(o.final_belief).all() and (o.final_belief > 0).all() and (o.final_belief < 1).all()
    for col in (o.ally_arrival_day, o.ally_withdrawal_day):
        d = col[~np.isnan(col)]
        assert np.isfinite(d).all() and (d >= 0).all() and (d <= horizon).all()
    both = ~np.isnan(o.ally_arrival_day) & ~np.isnan(o.ally_withdrawal_day)
    assert (o.ally_withdrawal_day[both] >= o.ally_arrival_day[both]).all()

    s = result.summary
    f = s["capital_fall_day"]
    assert f["n"] == int(ended.sum())
    qs = [f[k] for k in ("p10", "p50", "p90") if f[k] is not None]
    assert qs == sorted(qs) and all(0 <= q <= horizon for q in qs)
    for v in s["end_states"].values():
        assert 0 <= v["ci_low"] <= v["p"] <= v["ci_high"] <= 1


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
                     "core_share": draw(st.sampled_from([0, 0.5, 1]), label="core"),
                     "defense": draw(st.sampled_from([1e-6, 0.5, 1, 3, 1e3]), label="defense"),
                     "importance": draw(st.sampled_from([0, 1, 5]), label="importance"),
                     "reserve": draw(st.sampled_from([0, 0, 1000]), label="reserve"),
                     "reserve_threat": draw(st.sampled_from([0, 0.5, 1]), label="reserve threat")}
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
            "joiners_per_day": draw(st.sampled_from([0, 100])),
            "culmination": draw(st.sampled_from([1e-6, 0.6, 1])),
            "rises_below": draw(st.sampled_from([1, 1, 0.5, 0])),
        }
    allies = {}
    for j in range(draw(st.integers(0, 2), label="allies")):
        allies[f"x{j}"] = {
            "side": draw(st.sampled_from(["government", "rebels"])),
            "committed": draw(st.sampled_from([0, 1, {"dist": "bernoulli", "p": 0.5}])),
            "commit_per_day": draw(st.sampled_from([0, 0.5, 1e6])),
            "delay_days": draw(st.sampled_from([0, 2])),
            "capacity": draw(st.sampled_from([0, 1])),
            "air_support": draw(st.sampled_from([0, 1, 5])),
            "ground_forces": draw(st.sampled_from([0, 1000])),
            "belief_support": draw(st.sampled_from([0, 0.5, 10])),
            "quit_below": draw(st.sampled_from([0, 0.3, 1])),
            "withdraw_day": draw(st.sampled_from([0, 3, 1e5])),
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
        "belief": {"initial": pick("belief", [1e-9, 0.7, 0.7, 0.7, 1 - 1e-9]),
                   "baseline": pick("baseline", [1e-9, 0.6, 0.6, 1 - 1e-9]),
                   "force_weight": pick("force weight", [0, 1, 100]), "relax_per_day": pick("relax", [0, 0.1, 50]),
                   "loss_shock": pick("loss shock", [0, 0.3, 100]), "flight_shock": pick("flight shock", [0, 2, 100])},
        "cascade": {"contingent_threshold": pick("contingent", [-100, 0.8, 0.8, 100]),
                    "core_threshold": pick("core", [1.6, 100]), "spread": pick("spread", [1e-9, 0.25, 100]),
                    "peer_weight": pick("peers", [0, 1, 100]), "retreat_share": pick("retreat share", [0, 1])},
        "combat": {"kill_rate": pick("kill", [0, 0.02, 1]), "regroup_days": pick("regroup", [0, 3]),
                   "retreat_fraction": pick("retreat", [0, 1]), "air_slowdown": pick("slowdown", [0, 1]),
                   "counterattack_per_day": pick("counter-attack", [0, 0.01, 1e6]),
                   "retake_share": pick("retake", [0, 1])},
        "leadership": {"exit_below": pick("exit below", [0, 0.15, 0.15, 1]), "spread": pick("exit spread", [1e-9, 0.05]),
                       "max_exit_per_day": pick("max exit", [0, 3, 3, 1e6]),
                       "handover_below": pick("handover", [0, 0.05, 1])},
        "threat": {"scale_km": pick("scale", [1e-6, 50, 1e6]), "sharpness": pick("sharpness", [0, 1, 100])},
    }


def scenario_of(doc: dict):
    try:
        return scenario_from_document(doc, {}, "<generated>")
    except ScenarioError as exc:  # the generator keeps to valid values: a rejection is a loader bug
        raise AssertionError(f"a valid generated theatre was rejected: {exc}\n{doc}") from None


EXTREMES = {
    "zero garrisons": {"nodes": {"town": {"garrison": 0}, "cap": {"garrison": 0}}},
    "zero rebel strength": {"rebels": {"north": {"strength": 0}}},
    "zero strength, zero garrisons": {"rebels": {"north": {"strength": 0}},
                                      "nodes": {"town": {"garrison": 0}, "cap": {"garrison": 0}}},
    "momentum at the cap": {"rebels": {"north": {"momentum": 4}}, "momentum": {"cap": 4, "decay_per_day": 0}},
    "momentum a hair above zero": {"rebels": {"north": {"momentum": 1e-12}}, "momentum": {"jump": 0}},
    "momentum cap a hair above zero": {"momentum": {"cap": 1e-12}},
    "every ally at full capacity": {"allies": {
        "friend": {"capacity": 1, "committed": 1, "air_support": 1e6, "ground_forces": 1e6, "belief_support": 10,
                   "materiel": 1e6},
        "backer": {"side": "rebels", "capacity": 1, "committed": 1, "air_support": 1e6,
                   "ground_forces": 1e6, "belief_support": 10}}},
    "allies come and go every day": {"allies": {
        "friend": {"commit_per_day": 1e12, "quit_below": 1, "delay_days": 0},
        "backer": {"side": "rebels", "commit_per_day": 1e12, "withdraw_day": 2, "ground_forces": 500}}},
    "largest numbers": {"rebels": {"north": {"strength": 1e12, "joiners_per_day": 1e12}},
                        "nodes": {"cap": {"garrison": 1e12, "defense": 1e12}}, "combat": {"kill_rate": 1e12}},
    "vanishing defense and threat scale": {"nodes": {"town": {"defense": 5e-324}}, "threat": {"scale_km": 5e-324}},
    "horizon 0": {"scenario": {"horizon_days": 0}},
    "horizon 1": {"scenario": {"horizon_days": 1}},
    "everything certain to happen at once": {"leadership": {"max_exit_per_day": 1e12, "exit_below": 1,
                                                            "handover_below": 1},
                                             "combat": {"counterattack_per_day": 1e12},
                                             "cascade": {"contingent_threshold": -100, "core_threshold": -100}},
    "belief at its extremes": {"belief": {"initial": 1e-300, "baseline": 1 - 1e-16, "force_weight": 100,
                                          "loss_shock": 100, "abandon_shock": 100, "repulse_shock": 100}},
    "a latent group at the gates": {"nodes": {"town": {"controller": "government"}},
                                    "rebels": {"rising": {"route": ["town", "cap"], "strength": 3000,
                                                          "position_km": 100, "rises_below": 0.7}}},
    "reserves at every threat": {"nodes": {"town": {"reserve": 5000, "reserve_threat": 0},
                                           "cap": {"reserve": 5000, "reserve_threat": 0}}},
}


class EngineContract:
    """What every engine promises. Subclass and set ``engine``, ``name``, ``reps`` and ``long_reps``."""

    engine = NotImplemented
    name = NotImplemented
    reps = NotImplemented        # replications for the statistical checks
    long_reps = NotImplemented   # replications for a 10,000-day horizon

    @contextlib.contextmanager
    def recording_captures(self):
        """Yield a list that receives ``(replication, node)`` for every capture the engine makes."""
        raise NotImplementedError

    def simulate(self, scenario, reps=None, seed=3, **kw):
        return self.engine.simulate(scenario, reps or self.reps, rng=np.random.default_rng(seed), **kw)

    def outcomes(self, scenario, reps=None, seed=3) -> Outcomes:
        return self.simulate(scenario, reps, seed)[0]

    # ------------------------------------------------------------------ the API

    def test_signature(self):
        sig = inspect.signature(self.engine.simulate)
        assert list(sig.parameters) == ["scenario", "reps", "rng", "draws", "progress"]
        assert sig.parameters["rng"].kind is inspect.Parameter.KEYWORD_ONLY
        for name in ("draws", "progress"):
            assert sig.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
            assert sig.parameters[name].default is None
        assert ENGINES[self.name] is self.engine

    def test_progress_is_reported_and_changes_nothing(self, make_scenario):
        s = make_scenario(base_doc())
        shares = []
        told = self.simulate(s, 20, progress=shares.append)[0]
        plain = self.outcomes(s, 20)
        np.testing.assert_array_equal(told.end_day, plain.end_day)
        np.testing.assert_array_equal(told.end_state, plain.end_state)
        assert shares and shares == sorted(shares) and 0 < shares[0] and shares[-1] <= 1

    def test_parameters_are_drawn_first(self, make_scenario):
        s = make_scenario(base_doc())
        _, draws = self.simulate(s, 40, seed=9)
        expected = draw_parameters(s, 40, rng=np.random.default_rng(9))
        assert draws.by_path.keys() == expected.by_path.keys()
        for path, column in expected.by_path.items():
            np.testing.assert_array_equal(draws.by_path[path], column, err_msg=path)

    def test_given_draws_are_used_and_left_unchanged(self, make_scenario):
        """Draws given are what the replications run on (those of a variant with an empty capital make
        the original scenario behave as the variant does), and they are not modified."""
        s = make_scenario(base_doc())
        empty = make_scenario(merge(base_doc(), {"nodes": {"cap": {"garrison": 0}}}))
        given = draw_parameters(empty, 40, rng=np.random.default_rng(1))
        before = {k: np.array(v) for k, v in given.by_path.items()}
        out, used = self.simulate(s, 40, seed=2, draws=given)
        assert used is given
        for path, column in before.items():
            np.testing.assert_array_equal(given.by_path[path], column, err_msg=path)
        as_variant, _ = self.simulate(empty, 40, seed=2, draws=given)
        for f in dataclasses.fields(Outcomes):
            np.testing.assert_array_equal(getattr(out, f.name), getattr(as_variant, f.name), err_msg=f.name)
        own, _ = self.simulate(s, 40, seed=2)
        assert not np.array_equal(own.end_day, out.end_day, equal_nan=True)

    def test_outcome_dtypes_and_shapes(self, make_scenario):
        s = make_scenario(base_doc())
        out, draws = self.simulate(s, 25)
        th = Theatre.from_scenario(s)
        assert len(out) == 25 and draws.n == 25
        assert out.end_state.dtype == np.int8 and out.end_state.shape == (25,)
        for name in ("end_day", "leader_fled_day", "handover_day", "dispersed", "final_belief"):
            col = getattr(out, name)
            assert col.dtype == np.float64 and col.shape == (25,), name
        assert out.node_fall_day.shape == (25, th.n_nodes) and out.node_fall_day.dtype == np.float64
        assert out.node_retaken_day.shape == (25, th.n_nodes) and out.node_retaken_day.dtype == np.float64
        assert out.node_fall_how.shape == (25, th.n_nodes) and out.node_fall_how.dtype == np.int8
        for name in ("ally_arrival_day", "ally_withdrawal_day"):
            col = getattr(out, name)
            assert col.shape == (25, th.n_allies) and col.dtype == np.float64, name
        assert all(draws.by_path[p].shape == (25,) for p, _ in s.parameters())

    def test_same_state_same_outcomes_and_the_generator_is_consumed(self, make_scenario):
        s = make_scenario(base_doc())
        rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
        a, _ = self.engine.simulate(s, 60, rng=rng_a)
        b, _ = self.engine.simulate(s, 60, rng=rng_b)
        for f in dataclasses.fields(Outcomes):
            np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)
        assert rng_a.bit_generator.state == rng_b.bit_generator.state
        assert rng_a.bit_generator.state != np.random.default_rng(5).bit_generator.state
        c, _ = self.engine.simulate(s, 60, rng=rng_a)  # the generator moved on: other draws
        assert not np.array_equal(a.end_day, c.end_day, equal_nan=True)

    # ------------------------------------------------------------------ closed forms

    def test_exponential_race(self, make_scenario):
        """Two constant hazards: the first exit comes at Exp(lf + lh), and it is a flight with
        probability lf / (lf + lh). A hand-over ends the regime; a flight does not (no cascade here):
        a successor holds, and may still hand over, at the same rate, so the hand-over comes at
        Exp(lh) whether or not the ruler fled first."""
        lf, lh, horizon = 0.05, 0.03, 30
        out = self.outcomes(make_scenario(race_doc(lf, lh, horizon)))
        n = len(out)
        fled, handed = ~np.isnan(out.leader_fled_day), ~np.isnan(out.handover_day)
        first = np.fmin(out.leader_fled_day, out.handover_day)
        exited = ~np.isnan(first)
        p_exit = 1 - np.exp(-(lf + lh) * horizon)
        # 4.5 standard errors: deterministic under the fixed seed and still tight.
        assert abs(exited.mean() - p_exit) < 4.5 * np.sqrt(p_exit * (1 - p_exit) / n)
        share = lf / (lf + lh)
        assert abs(fled[exited].mean() - share) < 4.5 * np.sqrt(share * (1 - share) / exited.sum())
        truncated = lambda x: (1 - np.exp(-(lf + lh) * x)) / p_exit  # noqa: E731
        assert stats.kstest(first[exited], truncated).pvalue > 1e-3
        p_hand = 1 - np.exp(-lh * horizon)
        assert abs(handed.mean() - p_hand) < 4.5 * np.sqrt(p_hand * (1 - p_hand) / n)
        # a flight at t, then a successor's hand-over before the horizon
        p_both = share * p_exit - np.exp(-lh * horizon) * (1 - np.exp(-lf * horizon))
        assert abs((fled & handed).mean() - p_both) < 4.5 * np.sqrt(p_both * (1 - p_both) / n)
        assert stats.kstest(out.handover_day[handed], lambda x: (1 - np.exp(-lh * x)) / p_hand).pvalue > 1e-3
        assert np.array_equal(out.end_state == COLLAPSED, handed) and (out.end_state[fled & ~handed] == HOLDS).all()

    def test_an_exit_is_near_certain_within_a_day_when_the_rulers_odds_collapse(self, make_scenario):
        """Belief 0.02 against a flight threshold of 0.25 (spread 0.05): the flight hazard is at its
        ceiling, 3 a day, and a hand-over (threshold 0.01) races it; an exit within a day has
        probability 1 - exp(-(h_F + h_H)) > 0.95."""
        from scipy.special import ndtr
        doc = steady(merge(base_doc(), {**QUIET, "rebels": None, "allies": None,
                                        "leadership": {"max_exit_per_day": 3.0, "handover_below": 0.01}}), 0.02)
        out = self.outcomes(make_scenario(doc))
        rate = 3.0 * (ndtr((0.25 - 0.02) / 0.05) + ndtr((0.01 - 0.02) / 0.05))
        p = 1 - np.exp(-rate)
        assert p > 0.95
        first = np.fmin(out.leader_fled_day, out.handover_day)
        assert abs(fell_within(first, 1.0).mean() - p) < 4.5 * np.sqrt(p * (1 - p) / len(out))

    def test_a_gated_ruler_stays_while_no_enemy_threatens_the_capital(self, make_scenario):
        """The same collapsed odds with a threat gate and no axis (theta_cap = 0): his reading is 1,
        so neither he nor a successor ever exits."""
        doc = steady(merge(base_doc(), {**QUIET, "rebels": None, "allies": None, "scenario": {"horizon_days": 10},
                                        "leadership": {"max_exit_per_day": 3.0, "handover_below": 0.01,
                                                       "threat_gate": 0.5}}), 0.02)
        out = self.outcomes(make_scenario(doc))
        assert np.isnan(out.leader_fled_day).all() and np.isnan(out.handover_day).all()

    def test_undefended_town_falls_on_arrival(self, make_scenario):
        """An axis 50 km from an empty town at 25 km/day, momentum 1.5, no opposition: arrival at
        50 / 37.5 days, and the town is taken without a fight."""
        doc = merge(base_doc(), {**QUIET, "allies": None, "momentum": {"decay_per_day": 0, "jump": 0},
                                 "nodes": {"town": {"garrison": 0}},
                                 "rebels": {"north": {"momentum": 1.5, "speed_km_day": 25}}})
        out = self.outcomes(make_scenario(doc), reps=50)
        assert np.allclose(out.node_fall_day[:, 1], 50 / 37.5)
        assert np.all(out.node_fall_how[:, 1] == ABANDONED)

    def test_an_open_capital_is_the_end_of_the_regime(self, make_scenario):
        """A capital with no garrison: taken if an axis reaches it before the first tick (day 0.5
        here), else the regime dissolves at the first tick (collapsed on day 1)."""
        doc = merge(base_doc(), {**QUIET, "allies": None, "momentum": {"decay_per_day": 0, "jump": 0},
                                 "nodes": {"town": {"garrison": 0}, "cap": {"garrison": 0}},
                                 "rebels": {"north": {"momentum": 1.0, "speed_km_day": 200, "position_km": 50}}})
        out = self.outcomes(make_scenario(doc), reps=20)
        assert np.all(out.end_state == CAPTURED) and np.allclose(out.end_day, 0.5)
        assert np.all(out.node_fall_how[:, 2] == ABANDONED)  # walked into, without a fight
        slow = self.outcomes(make_scenario(merge(doc, {"rebels": {"north": {"speed_km_day": 10}}})), reps=20)
        assert np.all(slow.end_state == COLLAPSED) and np.all(slow.end_day == 1.0)
        assert np.all(slow.node_fall_how[:, 2] == COLLAPSE)

    def test_air_support_slows_the_advance(self, make_scenario):
        doc = merge(base_doc(), {**QUIET, "momentum": {"decay_per_day": 0, "jump": 0},
                                 "nodes": {"town": {"garrison": 0}},
                                 "rebels": {"north": {"momentum": 1.0, "speed_km_day": 30}},
                                 "allies": {"friend": {"committed": 1, "air_support": 1.0, "ground_forces": 0,
                                                       "belief_support": 0}},
                                 "combat": {"air_slowdown": 0.5}})
        out = self.outcomes(make_scenario(doc), reps=20)
        assert np.allclose(out.node_fall_day[:, 1], 50 / 20)  # 30 km/day / (1 + 0.5 x 1)
        assert np.allclose(out.ally_arrival_day[:, 0], 0.0)

    def test_capital_under_assault_with_no_garrison_falls_at_once(self, make_scenario):
        doc = merge(base_doc(), {"rebels": {"north": {"route": ["base", "town"], "assaulting": 1}},
                                 "nodes": {"town": {"garrison": 0}}, "roads": {"base-town": 10},
                                 "scenario": {"capital": "town"}})
        doc["nodes"]["cap"]["controller"] = "government"
        out = self.outcomes(make_scenario(doc), reps=30)
        assert np.all(out.end_state == CAPTURED) and np.all(out.end_day == 0.0)

    def test_horizon_zero_holds(self, make_scenario):
        out = self.outcomes(make_scenario(merge(base_doc(), {"scenario": {"horizon_days": 0}})), reps=30)
        assert np.all(out.end_state == HOLDS) and np.all(np.isnan(out.end_day))

    def test_assault_follows_the_lanchester_square_law(self, make_scenario):
        """Large forces make Poisson attrition nearly deterministic: the capital falls on the day the
        square-law recursion says the defenders break."""
        att, dfn, kill = 40_000.0, 20_000.0, 0.05
        doc = merge(base_doc(), {**QUIET, "allies": None,
                                 "rebels": {"north": {"route": ["base", "town"], "assaulting": 1, "strength": att,
                                                      "momentum": 1.0, "loss_tolerance": 0.5, "culmination": 1}},
                                 "nodes": {"town": {"garrison": dfn, "defense": 1.0}},
                                 "scenario": {"capital": "town"},
                                 "combat": {"kill_rate": kill, "defender_loss_tolerance": 0.43},
                                 "momentum": {"decay_per_day": 0}})
        day, result = lanchester_break_day(att, dfn, kill, 0.5, 0.43)
        assert (day, result) == (5, "falls")  # day 4 ends 4.4 points short of the breakpoint, day 5 4.7 past it
        out = self.outcomes(make_scenario(doc), reps=200)
        assert np.all(out.end_state == CAPTURED)
        assert np.all(out.end_day == day)
        assert np.all(out.node_fall_how[:, 1] == ASSAULT)

    def test_a_garrison_that_dissolves_under_assault_abandons_its_town(self, make_scenario):
        """An assault that kills no one (kill rate 0) on a town of contingent units only, whose
        threshold every unit has passed: the garrison leaves at the first tick's cascade and the
        assaulting axis takes the town that day, abandoned; the capital, all core units, holds."""
        doc = merge(base_doc(), {**QUIET, "allies": None,
                                 "cascade": {"contingent_threshold": -100.0, "core_threshold": 100.0},
                                 "nodes": {"town": {"core_share": 0.0}, "cap": {"core_share": 1.0}},
                                 "rebels": {"north": {"assaulting": 1}}, "combat": {"kill_rate": 0.0}})
        out = self.outcomes(make_scenario(doc), reps=30)
        assert np.all(out.node_fall_day[:, 1] == 1.0) and np.all(out.node_fall_how[:, 1] == ABANDONED)
        assert np.all(out.end_state == HOLDS) and np.all(out.node_fall_how[:, 2] == NOT_FALLEN)

    def test_a_latent_group_takes_what_it_takes_by_a_rising(self, make_scenario):
        """A latent group (rises_below 0.7) dormant at belief 0.8, which relaxes to 0.3 at the first
        tick: it rises at the second and, already at the gates, walks into the unmanned town at once,
        a rising. The same axis that is no latent group (rises_below 1) takes it on arrival at setup,
        abandoned; a latent group active from the start (belief 0.6) that fights for the town takes it
        by a rising too, where an ordinary axis takes it by assault."""
        rising = merge(base_doc(), {**QUIET, "allies": None, "nodes": {"town": {"garrison": 0}},
                                    "belief": {"initial": 0.8, "baseline": 0.3, "force_weight": 0.0,
                                               "relax_per_day": 50.0},
                                    "rebels": {"north": {"assaulting": 1, "rises_below": 0.7}}})
        out = self.outcomes(make_scenario(rising), reps=30)
        assert np.all(out.node_fall_day[:, 1] == 2.0) and np.all(out.node_fall_how[:, 1] == RISING)
        plain = self.outcomes(make_scenario(merge(rising, {"rebels": {"north": {"rises_below": 1.0}}})), reps=30)
        assert np.all(plain.node_fall_day[:, 1] == 0.0) and np.all(plain.node_fall_how[:, 1] == ABANDONED)
        fight = merge(base_doc(), {**QUIET, "allies": None, "rebels": {"north": {"strength": 20000,
                                                                               "rises_below": 0.7}}})
        out = self.outcomes(make_scenario(fight), reps=50)
        fell = ~np.isnan(out.node_fall_day[:, 1])
        assert fell.mean() > 0.9 and np.all(out.node_fall_how[fell, 1] == RISING)
        plain = self.outcomes(make_scenario(merge(fight, {"rebels": {"north": {"rises_below": 1.0}}})), reps=50)
        fell = ~np.isnan(plain.node_fall_day[:, 1])
        assert fell.mean() > 0.9 and np.all(plain.node_fall_how[fell, 1] == ASSAULT)

    @pytest.mark.parametrize("retreat_share", [0.0, 1.0])
    def test_the_cascade_follows_its_threshold_recursion(self, make_scenario, retreat_share):
        """One garrison, no axis, belief constant: each tick the share of contingent units gone is
        D_k = Phi((b1 (1 - pi) + b2 D_{k-1} - mu) / sigma), with D_{k-1} the share dispersed so far
        (Granovetter's recursion). Every unit that goes disperses: none falls back (retreat_share
        0), or all try to but the garrison is the capital's, with nowhere to fall back to (1)."""
        from scipy.special import ndtr
        pi, b1, b2, mu, sigma, garrison, horizon = 0.5, 1.0, 1.2, 0.9, 0.3, 10_000.0, 6
        doc = steady(merge(base_doc(), {**QUIET, "allies": None, "rebels": None,
                                        "scenario": {"horizon_days": horizon},
                                        "nodes": {"town": {"controller": "rebels"}, "cap": {"garrison": garrison}},
                                        "cascade": {"belief_weight": b1, "peer_weight": b2, "contingent_threshold": mu,
                                                    "spread": sigma, "threat_weight": 0,
                                                    "retreat_share": retreat_share}}), pi)
        d = 0.0
        for _ in range(horizon - 1):  # ticks on days 1 .. horizon - 1
            d = max(d, float(ndtr((b1 * (1 - pi) + b2 * d - mu) / sigma)))
        out = self.outcomes(make_scenario(doc), reps=5)
        assert 0.3 < d < 0.99  # a real cascade, short of emptying the garrison
        np.testing.assert_allclose(out.dispersed, garrison * d, rtol=1e-9)
        assert np.all(out.end_state == HOLDS)

    def test_a_post_unmanned_at_as_of_is_open_without_a_shock(self, make_scenario):
        """A government town with no garrison at as_of was not abandoned during the run: belief, held
        at its anchor, takes no abandonment shock; a town manned at as_of whose garrison all goes
        (core and contingent alike past their thresholds) does."""
        doc = steady(merge(base_doc(), {**QUIET, "allies": None, "rebels": None, "scenario": {"horizon_days": 3},
                                        "nodes": {"town": {"garrison": 0}},
                                        "belief": {"abandon_shock": 2.0, "relax_per_day": 0.1}}), 0.6)
        out = self.outcomes(make_scenario(doc), reps=5)
        np.testing.assert_allclose(out.final_belief, 0.6, rtol=1e-12)
        manned = merge(doc, {"nodes": {"town": {"garrison": 100}},
                             "cascade": {"contingent_threshold": -100.0, "core_threshold": -100.0}})
        out = self.outcomes(make_scenario(manned), reps=5)
        assert np.all(out.end_state == COLLAPSED)  # the capital's garrison went too
        assert np.all(out.final_belief < 0.6 - 0.2)

    def test_an_axis_whose_route_ends_short_of_the_capital_stops_there(self, make_scenario):
        doc = merge(base_doc(), {**QUIET, "allies": None,
                                 "rebels": {"north": {"route": ["base", "town"], "strength": 5000}},
                                 "nodes": {"town": {"garrison": 100}}})
        out = self.outcomes(make_scenario(doc), reps=200)
        assert np.all(out.end_state == HOLDS)
        assert np.all(out.node_fall_day[:, 1] >= 2.0)  # 50 km at up to 36 km/day, then a round at the next tick
        assert np.all(np.isnan(out.node_fall_day[:, 2]))


    # ------------------------------------------------------------------ invariants

    def simulate_and_check(self, scenario, reps: int, seed: int = 1):
        with self.recording_captures() as captures:
            result = run(scenario, reps, seed=seed, engine=self.name)
        # Every fall is a capture, but the capital's in a collapse.
        fell = int(np.count_nonzero(~np.isnan(result.outcomes.node_fall_day)))
        collapsed = int(np.count_nonzero(result.outcomes.end_state == COLLAPSED))
        assert len(captures) == fell - collapsed, (len(captures), fell, collapsed)
        check(scenario, result, captures)
        return result

    @pytest.mark.filterwarnings("error::RuntimeWarning")
    @PROPERTY
    @given(doc=theatres(), reps=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
    def test_invariants_hold_in_every_replication_of_generated_theatres(self, doc, reps, seed):
        o = self.simulate_and_check(scenario_of(doc), reps, seed).outcomes
        event(", ".join(name for k, name in enumerate(("captured", "collapsed", "holds")) if (o.end_state == k).any()))
        event(f"{'some' if np.isfinite(o.node_fall_day).any() else 'no'} node fell")

    @pytest.mark.filterwarnings("error::RuntimeWarning")
    @pytest.mark.parametrize("name", sorted(EXTREMES))
    @pytest.mark.parametrize("reps", [1, 25])
    def test_extreme_but_valid_parameters(self, make_scenario, name, reps):
        self.simulate_and_check(make_scenario(merge(base_doc(), EXTREMES[name])), reps)

    @pytest.mark.filterwarnings("error::RuntimeWarning")
    def test_a_horizon_of_ten_thousand_days(self, make_scenario):
        """Nothing happens but the daily clock (no hazard, an axis that never moves): 10,000 ticks."""
        doc = merge(base_doc(), {**QUIET, "scenario": {"horizon_days": 10_000}, "rebels": {"north": {"speed_km_day": 0}}})
        result = self.simulate_and_check(make_scenario(doc), self.long_reps)
        assert (result.outcomes.end_state == HOLDS).all()
