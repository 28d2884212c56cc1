"""Parameter uncertainty: every scenario parameter drawn once per replication, as arrays.

Both engines draw a block's parameters with :func:`draw_parameters` from the block's generator
before any process randomness, so the same seed gives the same parameters whichever engine runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from ..rules import belief
from ..scenario.schema import SECTIONS, Ally, Axis, Node, Scenario, param_fields


@dataclass(frozen=True)
class Draws:
    """Drawn parameters of ``n`` replications, the replication on the last axis.

    ``nodes.garrison`` has shape (nodes, n), ``axes.strength`` (axes, n), ``allies.capacity``
    (allies, n), ``road_km`` (roads, n), and each model section's field, e.g. ``cohesion.shock``,
    shape (n,). ``by_path`` maps every parameter path to its (n,) column.
    """

    n: int
    nodes: SimpleNamespace
    axes: SimpleNamespace
    allies: SimpleNamespace
    road_km: np.ndarray
    sections: dict[str, SimpleNamespace]
    by_path: dict[str, np.ndarray]

    def __getattr__(self, name):
        sections = object.__getattribute__(self, "sections")
        if name in sections:
            return sections[name]
        raise AttributeError(name)

    def row(self, i: int) -> "Draws":
        """Replication ``i`` alone, with scalars in place of (n,) columns (vectors for per-entity fields)."""
        def pick(ns: SimpleNamespace) -> SimpleNamespace:
            return SimpleNamespace(**{k: v[i] if v.ndim == 1 else v[:, i] for k, v in vars(ns).items()})
        return Draws(
            n=1, nodes=pick(self.nodes), axes=pick(self.axes), allies=pick(self.allies),
            road_km=self.road_km[:, i], sections={k: pick(v) for k, v in self.sections.items()},
            by_path={k: v[i] for k, v in self.by_path.items()},
        )


def draw_parameters(scenario: Scenario, n: int, *, rng: np.random.Generator,
                    columns: dict[str, np.ndarray] | None = None) -> Draws:
    """Draw every parameter of ``scenario`` for ``n`` replications, in the fixed order of
    ``scenario.parameters()`` (fixed values draw nothing); then each replication takes a row of the
    scenario's posterior, if it has one; then ``columns`` (path -> (n,) values, as a calibration
    gives each replication its own proposal) replace what was drawn; last, the case effects."""
    by_path: dict[str, np.ndarray] = {}
    for path, p in scenario.parameters():
        # a fixed value is one number seen n times (a read-only view): no memory, nothing to copy
        by_path[path] = p.dist.sample(n, rng=rng) if p.dist.is_random \
            else np.broadcast_to(np.float64(p.dist.mean), (n,))
    if scenario.posterior is not None:
        pick = rng.integers(len(scenario.posterior.rows), size=n)
        for j, path in enumerate(scenario.posterior.paths):
            by_path[path] = scenario.posterior.rows[pick, j]
    for path, values in (columns or {}).items():
        if path not in by_path or np.shape(values) != (n,):
            raise ValueError(f"column {path!r}: not a parameter of the scenario, or not {n} values")
        by_path[path] = np.asarray(values, dtype=float)
    case_effects(by_path, n, rng)

    def entity(prefix: str, cls, names) -> SimpleNamespace:
        cols = {}
        for f in param_fields(cls):
            columns = [by_path[f"{prefix}.{x}.{f.name}"] for x in names]
            if names and all(c.strides == (0,) for c in columns):  # fixed for every entity: a view too
                cols[f.name] = np.broadcast_to(np.array([c[0] for c in columns])[:, None], (len(names), n))
            elif names:
                cols[f.name] = np.stack(columns)
            else:
                cols[f.name] = np.zeros((0, n))
        return SimpleNamespace(**cols)

    road_km = np.stack([by_path[f"roads.{r.a}-{r.b}"] for r in scenario.roads]) \
        if scenario.roads else np.zeros((0, n))
    sections = {
        name: SimpleNamespace(**{f.name: by_path[f"{name}.{f.name}"] for f in param_fields(cls)})
        for name, cls in SECTIONS.items()
    }
    return Draws(
        n=n,
        nodes=entity("nodes", Node, [x.name for x in scenario.nodes]),
        axes=entity("rebels", Axis, [x.name for x in scenario.axes]),
        allies=entity("allies", Ally, [x.name for x in scenario.allies]),
        road_km=road_km,
        sections=sections,
        by_path=by_path,
    )


def case_effects(by_path: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> None:
    """Random effects of a case, drawn per replication (so a forecast integrates over them):
    logit(belief.initial) and logit(belief.baseline) shift together by ``belief.case_spread`` x z,
    both classes' abandonment thresholds by ``cascade.case_spread`` x z', and the war's tempo by
    exp(``momentum.case_spread`` x z''): every axis's advance speed times it, the pause after a
    repulse divided by it; and the ruler's nerve: logit(leadership.exit_below) and
    logit(leadership.handover_below) shift together by ``leadership.case_spread`` x z'''
    (z, z', z'', z''' standard normal, in that order).
    A spread that is zero in every replication draws nothing, so scenarios without case effects
    keep their numbers."""
    spread = by_path["belief.case_spread"]
    if np.any(spread > 0):
        shift = spread * rng.standard_normal(n)
        for path in ("belief.initial", "belief.baseline"):
            with np.errstate(divide="ignore"):  # a belief of exactly 1 stays (within 1e-13 of) 1
                by_path[path] = belief.probability(belief.clip(belief.logit(by_path[path])) + shift)
    spread = by_path["cascade.case_spread"]
    if np.any(spread > 0):
        shift = spread * rng.standard_normal(n)
        for path in ("cascade.contingent_threshold", "cascade.core_threshold"):
            by_path[path] = by_path[path] + shift
    spread = by_path["momentum.case_spread"]
    if np.any(spread > 0):
        tempo = np.exp(spread * rng.standard_normal(n))
        for path in [p for p in by_path if p.startswith("rebels.") and p.endswith(".speed_km_day")]:
            by_path[path] = by_path[path] * tempo
        by_path["combat.regroup_days"] = by_path["combat.regroup_days"] / tempo
    spread = by_path["leadership.case_spread"]
    if np.any(spread > 0):
        shift = spread * rng.standard_normal(n)
        for path in ("leadership.exit_below", "leadership.handover_below"):
            with np.errstate(divide="ignore"):  # a threshold of 0 or 1 stays within 1e-13 of it
                by_path[path] = belief.probability(belief.clip(belief.logit(by_path[path])) + shift)
