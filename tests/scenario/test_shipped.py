"""The shipped scenarios: valid, fully sourced, honest about dates, and their variants tell their story."""

import re
from pathlib import Path

import numpy as np
import pytest

from sim.scenario.load import load_scenario
from sim.scenario.provenance import MODEL_DEFAULT, PROVENANCE_HINT, unsourced
from sim.runs.runner import run

from tests.conftest import SCENARIOS

FILES = sorted(SCENARIOS.glob("*.toml"))
FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
VARIANTS = sorted(SCENARIOS.glob("syria-2024-12-07-*.toml"))


def test_the_shipped_set_is_complete():
    names = {f.stem for f in FILES}
    assert {"syria-2024-12-07", "syria-2024-11-27", "syria-2024-12-07-russia-commits",
            "syria-2024-12-07-iran-hezbollah-surge", "syria-2024-12-07-army-holds",
            "syria-2024-12-07-us-intervenes", "syria-2024-12-07-homs-holds"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_value_has_provenance(path):
    s = load_scenario(path)
    assert s.name == path.stem
    assert not unsourced(s.parameters()), f"{path.name}: {', '.join(unsourced(s.parameters()))}: {PROVENANCE_HINT}"
    government = {n.name for n in s.nodes if n.controller == "government"}
    case_data = {"belief.initial", "belief.baseline", "leadership.haven"} | {
        f"nodes.{n}.{f}" for n in government for f in ("garrison", "core_share")}
    for key, p in s.parameters():
        # Structural parameters are shared across wars (docs/MODEL.md): a case may leave them to the
        # model's documented defaults, but not the facts of its own war.
        if key in case_data:
            assert p.source != MODEL_DEFAULT, f"{path.name}: {key} is left to the model default"
        if p.source.strip().lower() == "assumption":
            assert p.note, f"{path.name}: {key} is an assumption without a note"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_no_value_cites_a_source_dated_after_as_of(path):
    """The look-ahead rule (sim/scenario/provenance.py), which the loader enforces on every scenario:
    loaded with it relaxed, a shipped scenario has nothing it would have refused."""
    assert load_scenario(path, allow_lookahead=True).lookahead == ()


@pytest.mark.parametrize("path", VARIANTS, ids=lambda p: p.stem)
def test_variants_extend_the_flagship(path):
    assert path.read_text().startswith(f'extends = "{FLAGSHIP.name}"') or \
        'extends = "syria-2024-12-07.toml"' in path.read_text().split("[")[0]


@pytest.fixture(scope="module")
def fall_within():
    """P(the capital falls within d days) for a scenario, 20,000 replications, one seed (common random numbers)."""
    cache = {}

    def p(path: Path, days: float):
        if path not in cache:
            r = run(load_scenario(path), 20_000, seed=2024, engine="vectorised")
            cache[path] = r.outcomes.end_day
        d = cache[path]
        return float(np.mean(d <= days)), len(d)
    return p


@pytest.mark.parametrize("path", VARIANTS, ids=lambda p: p.stem)
def test_each_variant_slows_the_fall(path, fall_within):
    """Every shipped variant helps the government: the capital falls within a week less often."""
    base, n = fall_within(FLAGSHIP, 7)
    var, _ = fall_within(path, 7)
    se = np.sqrt(base * (1 - base) / n + var * (1 - var) / n)
    assert base - var > 3 * se, f"{path.stem}: {var:.3f} vs flagship {base:.3f}"


def test_the_first_day_of_the_offensive_is_further_from_the_end(fall_within):
    early, n = fall_within(SCENARIOS / "syria-2024-11-27.toml", 30)
    late, _ = fall_within(FLAGSHIP, 30)
    assert late - early > 0.3


CASES = [p for p in FILES if re.fullmatch(r".*-\d{4}-\d{2}-\d{2}", p.stem)]


def _observed_of_each_case() -> dict[str, Path]:
    """The reference class's cases: scenario stem -> its observed timeline."""
    import tomllib
    spec = SCENARIOS / "calibration" / "reference-class.toml"
    cases = tomllib.loads(spec.read_text(encoding="utf-8"))["calibration"]["cases"]
    return {Path(c["scenario"]).stem: (spec.parent / c["observed"]).resolve() for c in cases}


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_case_is_in_the_reference_class_with_an_observed_timeline_that_fits_it(path):
    """A case as of a date (name-YYYY-MM-DD) is a case of the reference class, scored against its
    observed timeline: the timeline loads, starts no earlier than the case, and names only the case's
    nodes."""
    from sim.forecast.observed import check_against, load_observed
    observed = _observed_of_each_case().get(path.stem)
    assert observed is not None, f"{path.name} is not a case of scenarios/calibration/reference-class.toml"
    assert observed.is_file(), f"{path.name} has no observed timeline {observed.name}"
    o, s = load_observed(observed), load_scenario(path)
    check_against(o, s)
    names = {n.name for n in s.nodes}
    assert set(o.nodes) <= names, f"{observed.name} names nodes {sorted(set(o.nodes) - names)} not in {path.name}"
