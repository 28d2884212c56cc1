"""A scenario as frozen, typed objects: the only form of a scenario the core ever sees.

Field metadata (``spec``) declares each parameter's range, default, unit and meaning once; the
loader validates against it and docs/MODEL.md's parameter tables are generated from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields

from .distributions import Distribution, Fixed

GOVERNMENT = "government"
REBELS = "rebels"
SIDES = (GOVERNMENT, REBELS)


@dataclass(frozen=True)
class Param:
    """A numeric parameter: a distribution (``Fixed`` for a plain number) and its provenance."""

    dist: Distribution
    source: str | None = None
    date: dt.date | None = None
    note: str | None = None

    @property
    def mean(self) -> float:
        return self.dist.mean


def spec(default=None, *, low=None, high=None, positive=False, unit="", doc=""):
    """Metadata of a numeric parameter field: ``default`` None means required."""
    return field(metadata=dict(default=default, low=low, high=high, positive=positive, unit=unit, doc=doc))


def param_fields(cls) -> list:
    """The dataclass fields of ``cls`` that are numeric parameters (carry a ``spec``)."""
    return [f for f in fields(cls) if "unit" in f.metadata]


def default_param(value: float) -> Param:
    return Param(Fixed(float(value)), source="model default (assumption)")


@dataclass(frozen=True)
class Node:
    """A city or region of the front graph."""

    name: str
    controller: str
    garrison: Param = spec(0.0, low=0.0, unit="fighters", doc="government fighters holding the node")
    defense: Param = spec(1.0, low=0.0, positive=True, unit="multiplier",
                          doc="defensive multiplier: divides attackers' and multiplies defenders' kill rate")
    population: Param = spec(0.0, low=0.0, unit="people", doc="population, for control-share summaries")
    importance: Param = spec(1.0, low=0.0, unit="weight", doc="scales the cohesion shock when the node falls")


@dataclass(frozen=True)
class Road:
    a: str
    b: str
    km: Param = spec(None, low=0.0, positive=True, unit="km", doc="road distance")


@dataclass(frozen=True)
class Axis:
    """A rebel axis of advance along a route of nodes; route[0] is its rebel-held base."""

    name: str
    route: tuple[str, ...]
    strength: Param = spec(None, low=0.0, unit="fighters", doc="fighters on the axis")
    momentum: Param = spec(1.0, low=0.0, positive=True, unit="multiplier", doc="initial momentum M")
    speed_km_day: Param = spec(20.0, low=0.0, unit="km/day", doc="advance speed at momentum 1 with no air opposition")
    position_km: Param = spec(0.0, low=0.0, unit="km", doc="distance already covered on the first leg (clipped to it)")
    assaulting: Param = spec(0.0, low=0.0, high=1.0, unit="0/1",
                             doc="1 if the axis starts already assaulting route[1] (a bernoulli for a contested fact)")
    loss_tolerance: Param = spec(0.3, low=0.0, high=1.0, positive=True, unit="fraction",
                                 doc="share of its assault strength the axis loses before breaking off")
    reinforcement_per_day: Param = spec(0.0, low=0.0, unit="fighters/day", doc="recruits and joiners added daily")


@dataclass(frozen=True)
class Ally:
    """An outside party: decides to commit (or not) on a day, then its support arrives after a delay."""

    name: str
    side: str
    deploy_to: str | None
    commit_probability: Param = spec(0.0, low=0.0, high=1.0, unit="probability", doc="chance it commits at its decision")
    decision_day: Param = spec(0.0, low=0.0, unit="days", doc="day of the decision after as_of")
    arrival_delay_days: Param = spec(0.0, low=0.0, unit="days", doc="days from commitment to arrival")
    capacity: Param = spec(1.0, low=0.0, high=1.0, unit="fraction",
                           doc="share of its nominal support it can spare (e.g. cut by another war)")
    air_support: Param = spec(0.0, low=0.0, unit="multiplier",
                              doc="added to its side's air factor (kill-rate multiplier 1 + air)")
    ground_forces: Param = spec(0.0, low=0.0, unit="fighters", doc="fighters it sends")
    cohesion_support: Param = spec(0.0, low=0.0, high=1.0, unit="cohesion",
                                   doc="raises (government side) or lowers (rebel side) the cohesion target")


@dataclass(frozen=True)
class Momentum:
    jump: Param = spec(0.25, low=0.0, unit="momentum", doc="added to the capturing axis's momentum when a node falls")
    spillover: Param = spec(0.5, low=0.0, high=1.0, unit="fraction", doc="share of the jump the other axes get")
    decay_per_day: Param = spec(0.07, low=0.0, unit="1/day", doc="exponential decay rate of M - 1 towards 0")
    setback: Param = spec(0.3, low=0.0, high=1.0, unit="fraction", doc="fractional loss of M when an assault is repulsed")
    cap: Param = spec(4.0, low=0.0, positive=True, unit="momentum", doc="upper bound of M")


@dataclass(frozen=True)
class Cohesion:
    initial: Param = spec(0.7, low=0.0, high=1.0, unit="cohesion", doc="C at as_of")
    target: Param = spec(0.7, low=0.0, high=1.0, unit="cohesion", doc="level C recovers towards, before allies")
    recovery_per_day: Param = spec(0.02, low=0.0, high=1.0, unit="1/day", doc="daily share of the gap to the target recovered")
    shock: Param = spec(0.08, low=0.0, high=1.0, unit="fraction", doc="fractional loss of C per node lost, times its importance")
    unrest_drag_per_day: Param = spec(0.01, low=0.0, unit="cohesion/day", doc="daily loss of C per unit of unrest")
    collapse_below: Param = spec(0.1, low=0.0, high=1.0, unit="cohesion", doc="the regime collapses when C drops below this")
    combat_weight: Param = spec(0.5, low=0.0, high=1.0, unit="fraction",
                                doc="how far cohesion scales defenders' fighting power: (1 - w) + w C")


@dataclass(frozen=True)
class Desertion:
    base_rate_per_day: Param = spec(0.002, low=0.0, unit="1/day", doc="hazard of a desertion wave at a garrison in calm conditions")
    cohesion_sensitivity: Param = spec(3.0, low=0.0, high=100.0, unit="log-rate", doc="log-hazard added per unit of (1 - C)")
    momentum_sensitivity: Param = spec(1.0, low=0.0, high=100.0, unit="log-rate", doc="log-hazard added per unit of mean momentum above 1")
    unrest_sensitivity: Param = spec(1.5, low=0.0, high=100.0, unit="log-rate", doc="log-hazard added per unit of unrest U")
    threat_sensitivity: Param = spec(1.5, low=0.0, high=100.0, unit="log-rate", doc="log-hazard added per unit of the node's threat")
    wave_fraction: Param = spec(0.1, low=0.0, high=1.0, unit="fraction", doc="share of a garrison a wave removes")
    unrest_per_wave: Param = spec(0.02, low=0.0, unit="unrest", doc="unrest added by each wave")


@dataclass(frozen=True)
class Combat:
    kill_rate: Param = spec(0.02, low=0.0, unit="1/day", doc="enemy fighters put out of action per effective fighter per day")
    defender_loss_tolerance: Param = spec(0.5, low=0.0, high=1.0, positive=True, unit="fraction",
                                          doc="share of its strength a garrison loses before breaking, times its cohesion factor")
    regroup_days: Param = spec(3.0, low=0.0, unit="days", doc="pause after a repulse before the next assault round")
    retreat_fraction: Param = spec(0.5, low=0.0, high=1.0, unit="fraction",
                                   doc="share of a fallen garrison that falls back to the next government node")
    air_slowdown: Param = spec(1.0, low=0.0, unit="multiplier", doc="advance speed is divided by 1 + air_slowdown x government air")


@dataclass(frozen=True)
class Unrest:
    initial: Param = spec(0.0, low=0.0, high=1.0, unit="unrest", doc="U in the capital at as_of")
    growth_per_day: Param = spec(0.02, low=0.0, unit="unrest/day", doc="daily growth at full threat to the capital, times mean momentum")
    decay_per_day: Param = spec(0.1, low=0.0, high=1.0, unit="1/day", doc="daily calming share, times cohesion")
    uprising_rate_per_day: Param = spec(0.02, low=0.0, unit="1/day", doc="uprising hazard per unit of unrest")
    uprising_garrison_loss: Param = spec(0.3, low=0.0, high=1.0, unit="fraction", doc="share of the capital's garrison lost in an uprising")
    uprising_cohesion_shock: Param = spec(0.3, low=0.0, high=1.0, unit="fraction", doc="fractional loss of C in an uprising")


@dataclass(frozen=True)
class Leadership:
    flight_rate_per_day: Param = spec(3e-5, low=0.0, unit="1/day", doc="base hazard that the ruler flees")
    handover_rate_per_day: Param = spec(1e-5, low=0.0, unit="1/day", doc="base hazard of a negotiated hand-over")
    threat_sensitivity: Param = spec(3.0, low=0.0, high=100.0, unit="log-rate", doc="log-hazard added per unit of threat to the capital")
    cohesion_sensitivity: Param = spec(4.0, low=0.0, high=100.0, unit="log-rate", doc="log-hazard added per unit of (1 - C)")
    unrest_sensitivity: Param = spec(2.0, low=0.0, high=100.0, unit="log-rate", doc="log-hazard added per unit of unrest")
    flight_cohesion_shock: Param = spec(0.9, low=0.0, high=1.0, unit="fraction", doc="fractional loss of C when the ruler flees")


@dataclass(frozen=True)
class Threat:
    scale_km: Param = spec(50.0, low=0.0, positive=True, unit="km",
                           doc="threat of an axis d km away is exp(-d / scale_km)")


# The model-wide sections, in the order the loader and MODEL.md present them.
SECTIONS: dict[str, type] = {
    "momentum": Momentum,
    "cohesion": Cohesion,
    "desertion": Desertion,
    "combat": Combat,
    "unrest": Unrest,
    "leadership": Leadership,
    "threat": Threat,
}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Build one with :func:`sim.scenario.load.load_scenario`."""

    name: str
    title: str
    description: str
    as_of: dt.date
    horizon_days: int
    capital: str
    nodes: tuple[Node, ...]
    roads: tuple[Road, ...]
    axes: tuple[Axis, ...]
    allies: tuple[Ally, ...]
    momentum: Momentum
    cohesion: Cohesion
    desertion: Desertion
    combat: Combat
    unrest: Unrest
    leadership: Leadership
    threat: Threat
    source_path: str = ""
    resolved_toml: str = field(default="", repr=False, compare=False)

    def node_index(self, name: str) -> int:
        return [n.name for n in self.nodes].index(name)

    def parameters(self) -> list[tuple[str, Param]]:
        """Every numeric parameter with its dotted path, in a stable order."""
        out: list[tuple[str, Param]] = []
        for node in self.nodes:
            out += [(f"nodes.{node.name}.{f.name}", getattr(node, f.name)) for f in param_fields(Node)]
        for road in self.roads:
            out.append((f"roads.{road.a}-{road.b}", road.km))
        for axis in self.axes:
            out += [(f"rebels.{axis.name}.{f.name}", getattr(axis, f.name)) for f in param_fields(Axis)]
        for ally in self.allies:
            out += [(f"allies.{ally.name}.{f.name}", getattr(ally, f.name)) for f in param_fields(Ally)]
        for section, cls in SECTIONS.items():
            obj = getattr(self, section)
            out += [(f"{section}.{f.name}", getattr(obj, f.name)) for f in param_fields(cls)]
        return out

    def uncertain_parameters(self) -> list[tuple[str, Param]]:
        return [(path, p) for path, p in self.parameters() if p.dist.is_random]


def unit_of(path: str) -> str:
    """The unit of the parameter at a dotted path (``nodes.X.garrison`` -> ``fighters``; '' if unknown)."""
    head, _, rest = path.partition(".")
    cls = {"nodes": Node, "rebels": Axis, "allies": Ally, "roads": Road}.get(head) or SECTIONS.get(head)
    name = "km" if head == "roads" else rest.rpartition(".")[2]
    meta = {f.name: f.metadata for f in param_fields(cls)} if cls else {}
    return meta.get(name, {}).get("unit", "")
