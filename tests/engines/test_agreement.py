"""The reference (simpy) and vectorised (numpy) engines agree in distribution.

On each scenario both engines run with fixed seeds; end states are compared with a chi-square test
of homogeneity, the capital's and each node's fall day with two-sample Kolmogorov–Smirnov tests,
and each node's chance of falling with a chi-square test. With fixed seeds the suite is
deterministic; ALPHA is set so that agreeing engines pass with room to spare while a real semantic
difference (a wrong rate, a day's delay, a missed effect) fails: see the fault-injection tests below.
"""

import re

import numpy as np
import pytest
from scipy import stats

from sim.engines import reference, vectorised
from sim.engines.vectorised import calendar, effects
from sim.engines.vectorised.state import ASSAULTING, DESERTION
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
    days["leader_fled"] = (ref.leader_fled_day, vec.leader_fled_day)
    for name, (a, b) in days.items():
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        if len(a) >= MIN_EVENTS and len(b) >= MIN_EVENTS:
            p[f"{name}.day"] = float(stats.ks_2samp(a, b).pvalue)
    p["desertions"] = float(stats.ks_2samp(ref.desertions, vec.desertions).pvalue)
    return p


def assert_agree(p: dict[str, float]) -> None:
    worst = min(p, key=p.get)
    assert p[worst] > ALPHA, f"engines disagree on {worst}: p = {p[worst]:.2g} ({p})"


SHIPPED = sorted(SCENARIOS.glob("syria-2024-12-07*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_engines_agree_on_shipped_scenarios(path):
    assert_agree(compare(load_scenario(path)))


def test_engines_agree_on_the_first_day_of_the_offensive():
    # The whole 180 days is slow in the reference engine; 60 days covers the advance on the cities.
    s = load_scenario(SCENARIOS / "syria-2024-11-27.toml", ["scenario.horizon_days=60"])
    assert_agree(compare(s, ref_reps=400))


SYNTHETIC = {
    "base": {},
    "no_allies": {"allies": None},
    "one_axis_no_hazards": {**QUIET, "allies": None},
    "capital_without_garrison": {"nodes": {"cap": {"garrison": 0}}},
    "horizon_one_day": {"scenario": {"horizon_days": 1},
                        "rebels": {"north": {"assaulting": {"dist": "bernoulli", "p": 0.5}}}},
    "rebel_side_ally": {"allies": {"friend": {"side": "rebels", "commit_probability": 0.8,
                                              "ground_forces": 3000}}},
    "desertion_cascade": {"desertion": {"base_rate_per_day": 0.05}, "cohesion": {"initial": 0.35}},
    "leadership_and_uprising": {"leadership": {"flight_rate_per_day": 0.002, "handover_rate_per_day": 0.001},
                                "unrest": {"initial": 0.6, "uprising_rate_per_day": 0.2}},
    "repulse_and_regroup": {"rebels": {"north": {"strength": 1500, "reinforcement_per_day": 150}},
                            "combat": {"regroup_days": 2}},
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
    original_arrive(b, r, a)
    ax, t = b.axes, b.regime.t
    ax.resume_day[a][r] = np.where(ax.status[a][r] == ASSAULTING, t[r] + 1.0, ax.resume_day[a][r])


def faster_desertion(b, r):
    """Fault: desertion waves 30% more frequent than the rule says."""
    original_refresh(b, r)
    b.hazards.rate[DESERTION][r] *= 1.3


def uprising_without_effect(b, r):
    """Fault: an uprising is recorded but its effects on the garrison and cohesion are missed."""
    b.regime.uprising_day[r] = b.regime.t[r]


original_arrive, original_refresh = effects.arrive, calendar.refresh

FAULTS = [
    (effects, "arrive", late_first_round, "base"),
    (calendar, "refresh", faster_desertion, "desertion_cascade"),
    (effects, "rise", uprising_without_effect, "leadership_and_uprising"),
]


@pytest.mark.parametrize("module,name,fault,theatre", FAULTS, ids=[f[2].__name__ for f in FAULTS])
def test_the_check_catches_a_deliberate_fault(monkeypatch, make_scenario, module, name, fault, theatre):
    scenario = make_scenario(merge(base_doc(), SYNTHETIC[theatre]))
    monkeypatch.setattr(module, name, fault)
    p = compare(scenario)
    assert min(p.values()) < ALPHA, p


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
