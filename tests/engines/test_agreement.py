"""The reference (simpy) and vectorised (numpy) engines agree in distribution.

On each scenario both engines run with fixed seeds; end states are compared with a chi-square test
of homogeneity, the capital's and each node's fall day with two-sample Kolmogorov–Smirnov tests,
each node's chance of falling with a chi-square test, and its chance of falling each way (assault,
abandoned, rising, collapse) that either engine saw with Fisher's exact test (a chi-square test over
the ways would pool a way one engine never takes into another). With fixed seeds the suite is
deterministic. A scenario's comparisons are judged together (Bonferroni: the smallest p-value times
their number against ALPHA), so agreeing engines fail a scenario with probability at most ALPHA
whatever the number of outcomes compared, while a real semantic difference (a wrong rate, a day's
delay, a missed effect) still fails: see the fault-injection tests below.
"""

import re

import numpy as np
import pytest
from scipy import stats

from sim.engines import reference, vectorised
from sim.engines.outcomes import ASSAULT, FALL_MODES
from sim.engines.vectorised import calendar, effects
from sim.engines.vectorised.state import ASSAULTING, FLIGHT
from sim.scenario.load import load_scenario

from tests.conftest import QUIET, SCENARIOS, base_doc, merge

ALPHA = 1e-3
REF_REPS, VEC_REPS = 800, 20_000
MIN_EVENTS = 40  # fewer falls than this in the reference run give a KS test too little power to mean anything


def chi2_p(a: np.ndarray, b: np.ndarray, categories) -> float:
    """Homogeneity of two samples over categories: chi-square, with rare categories pooled so that
    every expected count in the smaller sample is at least 5, and Fisher's exact test for 2 x 2."""
    table = np.array([[np.sum(a == c) for c in categories], [np.sum(b == c) for c in categories]], float)
    table = table[:, table.sum(axis=0) > 0]
    expected = table.sum(axis=0) * table.sum(axis=1).min() / table.sum()
    while table.shape[1] > 2 and expected.min() < 5:
        i, j = np.argsort(expected)[:2]  # pool the two rarest categories
        table[:, j] += table[:, i]
        table = np.delete(table, i, axis=1)
        expected = table.sum(axis=0) * table.sum(axis=1).min() / table.sum()
    if table.shape[1] < 2:
        return 1.0
    if table.shape[1] == 2:
        return float(stats.fisher_exact(table.astype(int)).pvalue)
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def compare(scenario, seed=1, ref_reps=REF_REPS, vec_reps=VEC_REPS) -> dict[str, float]:
    """p-values of every comparison between the engines on ``scenario``."""
    ref, _ = reference.simulate(scenario, ref_reps, rng=np.random.default_rng(seed))
    vec, _ = vectorised.simulate(scenario, vec_reps, rng=np.random.default_rng(seed + 1000))
    p = {"end_state": chi2_p(ref.end_state, vec.end_state, (0, 1, 2))}
    days = {"capital": (ref.end_day, vec.end_day)}
    for i, node in enumerate(scenario.nodes):
        if node.controller == "government":
            days[node.name] = (ref.node_fall_day[:, i], vec.node_fall_day[:, i])
            p[f"{node.name}.fell"] = chi2_p(np.isnan(ref.node_fall_day[:, i]), np.isnan(vec.node_fall_day[:, i]),
                                             (False, True))
            for mode, label in enumerate(FALL_MODES):
                a, b = ref.node_fall_how[:, i] == mode, vec.node_fall_how[:, i] == mode
                if a.any() or b.any():
                    p[f"{node.name}.{label}"] = chi2_p(a, b, (False, True))
    days["leader_fled"] = (ref.leader_fled_day, vec.leader_fled_day)
    days["handover"] = (ref.handover_day, vec.handover_day)
    for i, node in enumerate(scenario.nodes):
        days[f"{node.name}.retaken"] = (ref.node_retaken_day[:, i], vec.node_retaken_day[:, i])
    for j, ally in enumerate(scenario.allies):
        days[f"{ally.name}.arrival"] = (ref.ally_arrival_day[:, j], vec.ally_arrival_day[:, j])
        days[f"{ally.name}.withdrawal"] = (ref.ally_withdrawal_day[:, j], vec.ally_withdrawal_day[:, j])
    for name, (a, b) in days.items():
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        if len(a) >= MIN_EVENTS and len(b) >= MIN_EVENTS:
            p[f"{name}.day"] = float(stats.ks_2samp(a, b).pvalue)
    p["dispersed"] = float(stats.ks_2samp(ref.dispersed, vec.dispersed).pvalue)
    p["final_belief"] = float(stats.ks_2samp(ref.final_belief, vec.final_belief).pvalue)
    return p


def family_p(p: dict[str, float]) -> float:
    """The Bonferroni p-value of a scenario's comparisons taken together: the smallest times their
    number, so that engines that agree fail a scenario's check with probability at most ALPHA
    however many outcomes it compares."""
    return min(1.0, min(p.values()) * len(p))


def assert_agree(p: dict[str, float]) -> None:
    worst = min(p, key=p.get)
    assert family_p(p) > ALPHA, f"engines disagree on {worst}: p = {p[worst]:.2g} of {len(p)} comparisons ({p})"


SHIPPED = sorted(SCENARIOS.glob("syria-2024-12-07*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_engines_agree_on_shipped_scenarios(path):
    # Drawing the posterior, about half the runs hold: the reference engine would run all 180 days
    # of them. 45 days covers the falls (the flagship's median is day 7, its 90% quantile day 23).
    assert_agree(compare(load_scenario(path, ["scenario.horizon_days=45"])))


def test_engines_agree_on_the_first_day_of_the_offensive():
    # The whole 180 days is slow in the reference engine; 60 days covers the advance on the cities.
    s = load_scenario(SCENARIOS / "syria-2024-11-27.toml", ["scenario.horizon_days=60"])
    assert_agree(compare(s, ref_reps=400))


SYNTHETIC = {
    "base": {},
    "no_allies": {"allies": None},
    "one_axis_quiet": {**QUIET, "allies": None},
    "capital_without_garrison": {"nodes": {"cap": {"garrison": 0}}},
    "horizon_one_day": {"scenario": {"horizon_days": 1},
                        "rebels": {"north": {"assaulting": {"dist": "bernoulli", "p": 0.5}}}},
    "rebel_side_ally": {"allies": {"friend": {"side": "rebels", "commit_per_day": 0.5, "ground_forces": 3000}}},
    "cascade": {"belief": {"initial": 0.3}, "nodes": {"cap": {"core_share": 0.4}}},
    "exit_and_handover": {"belief": {"initial": 0.35}, "leadership": {"exit_below": 0.3, "handover_below": 0.25,
                                                                       "spread": 0.1, "max_exit_per_day": 0.5},
                          "nodes": {"cap": {"core_share": 0.8}}},
    "repulse_and_culminate": {"rebels": {"north": {"strength": 1500, "joiners_per_day": 300, "culmination": 0.5}},
                              "combat": {"regroup_days": 2}},
    "counterattack": {"belief": {"initial": 0.8, "baseline": 0.9}, "combat": {"counterattack_per_day": 0.2},
                      "rebels": {"north": {"strength": 3000, "culmination": 0.3}}},
    "ally_withdraws": {"allies": {"friend": {"committed": 1, "quit_below": 0.5, "withdraw_day": 20}},
                       "belief": {"initial": 0.55}},
    "latent_group_and_reserve": {"nodes": {"hills": {"controller": "government", "garrison": 500},
                                           "cap": {"reserve": 4000, "reserve_threat": 0.3}},
                                 "roads": {"hills-cap": 20},
                                 "rebels": {"hills": {"route": ["hills", "cap"], "strength": 2500, "position_km": 10,
                                                      "rises_below": 0.5}},
                                 "belief": {"initial": 0.55}},
    "latent_group_takes_the_town": {
        "nodes": {"south": {"controller": "rebels"}},
        "roads": {"south-town": 30},
        "rebels": {"south": {"route": ["south", "town", "cap"], "strength": 4000, "position_km": 30,
                             "rises_below": {"dist": "uniform", "low": 0.4, "high": 0.7}}}},
    "two_axes_converge": {
        "nodes": {"south": {"controller": "rebels"}},
        "roads": {"south-town": 30},
        "rebels": {"south": {"route": ["south", "town", "cap"], "strength": 3000,
                             "assaulting": {"dist": "bernoulli", "p": 0.5}}}},
}


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_engines_agree_on_synthetic_theatres(name, make_scenario):
    assert_agree(compare(make_scenario(merge(base_doc(), SYNTHETIC[name]))))


# ---------------------------------------------------------------------------------- fault injection

def late_first_round(b, r, a):
    """Fault: the first assault round a day late (an off-by-one in scheduling)."""
    original["arrive"](b, r, a)
    ax, t = b.axes, b.regime.t
    ax.resume_day[a][r] = np.where(ax.status[a][r] == ASSAULTING, t[r] + 1.0, ax.resume_day[a][r])


def faster_flight(b, r):
    """Fault: the ruler's flight hazard 30% higher than the rule says."""
    original["refresh"](b, r)
    b.hazards.rate[FLIGHT][r] *= 1.3


def weaker_cascade(b, r):
    """Fault: the cascade ignores the peers (units leave as if none had gone before them)."""
    dispersed = b.regime.dispersed[:, r].copy()
    b.regime.dispersed[:, r] = 0.0
    original["cascade"](b, r)
    b.regime.dispersed[:, r] += dispersed


def culmination_ignored(b, r, a):
    """Fault: a culminating axis raises belief but does not stop."""
    effects.shock(b, r, effects.take(b.p.belief.repulse_shock, r))


def slower_counterattack(b, r):
    """Fault: counter-attacks fire on odd days only."""
    if len(r) and int(b.regime.t[r[0]]) % 2 == 1:  # every row ticks on the same day
        original["counterattack"](b, r)


def allies_never_quit(b, r):
    """Fault: allies ignore their quitting point (they leave only on their date)."""
    saved = b.p.allies.quit_below
    b.p.allies.quit_below = np.zeros_like(saved)
    original["allies_act"](b, r)
    b.p.allies.quit_below = saved


def abandonment_as_assault(b, r, a, i, how):
    """Fault: a node taken without a fight recorded as taken by assault."""
    original["capture"](b, r, a, i, ASSAULT)


def rising_ignored(b, r, a, i, how):
    """Fault: a latent group's captures recorded as if it were an ordinary axis's."""
    saved = b.p.axes.rises_below
    b.p.axes.rises_below = np.ones_like(saved)
    original["capture"](b, r, a, i, how)
    b.p.axes.rises_below = saved


def reserve_without_shock(b, r):
    """Fault: a reserve mobilises but belief does not rise (and latent groups see a higher belief)."""
    before = b.regime.log_odds[r].copy()
    original["mobilise"](b, r)
    b.regime.log_odds[r] = np.minimum(b.regime.log_odds[r], before)


original = {name: getattr(effects, name) for name in ("arrive", "capture", "cascade", "counterattack", "allies_act",
                                                       "mobilise")}
original["refresh"] = calendar.refresh

FAULTS = [
    (effects, "arrive", late_first_round, "base"),
    (calendar, "refresh", faster_flight, "exit_and_handover"),
    (effects, "cascade", weaker_cascade, "cascade"),
    (effects, "culminate", culmination_ignored, "repulse_and_culminate"),
    (effects, "counterattack", slower_counterattack, "counterattack"),
    (effects, "allies_act", allies_never_quit, "ally_withdraws"),
    (effects, "mobilise", reserve_without_shock, "latent_group_and_reserve"),
    (effects, "capture", abandonment_as_assault, "cascade"),
    (effects, "capture", rising_ignored, "latent_group_takes_the_town"),
]


@pytest.mark.parametrize("module,name,fault,theatre", FAULTS, ids=[f[2].__name__ for f in FAULTS])
def test_the_check_catches_a_deliberate_fault(monkeypatch, make_scenario, module, name, fault, theatre):
    scenario = make_scenario(merge(base_doc(), SYNTHETIC[theatre]))
    monkeypatch.setattr(module, name, fault)
    p = compare(scenario)
    assert family_p(p) < ALPHA, p


# ---------------------------------------------------------------------------------- parallel effects

SECTION = re.compile(r"docs/MODEL\.md section [0-9.]+")


def steps(doc: str) -> list[str]:
    """The numbers of an effect's docstring steps ("1. ...;  2. ...")."""
    return re.findall(r"(?:^|\s)(\d)\. ", doc)


def test_the_engines_apply_the_same_effects_step_by_step():
    """Each engine lists its event effects; the names, the docs/MODEL.md section each cites and the
    numbered steps of each match, so a reviewer can diff the two implementations effect by effect."""
    assert reference.EFFECTS == effects.EFFECTS
    for name in effects.EFFECTS:
        ref, vec = getattr(reference.Replication, name).__doc__, getattr(effects, name).__doc__
        assert SECTION.search(ref) and SECTION.search(ref).group(0) == SECTION.search(vec).group(0), name
        assert steps(ref) == steps(vec), name
