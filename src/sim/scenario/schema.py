"""A scenario as frozen, typed objects: the only form of a scenario the core ever sees.

Field metadata (``spec``) declares each parameter's range, default, unit and meaning once; the
loader validates against it and docs/MODEL.md's parameter tables are generated from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields

import numpy as np

from .distributions import Distribution, Fixed
from .provenance import MODEL_DEFAULT, Period

GOVERNMENT = "government"
REBELS = "rebels"
SIDES = (GOVERNMENT, REBELS)


@dataclass(frozen=True)
class Param:
    """A numeric parameter: a distribution (``Fixed`` for a plain number) and its provenance."""

    dist: Distribution
    source: str | None = None
    date: Period | None = None  # the source's date, to the day, the month or the year
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
    return Param(Fixed(float(value)), source=MODEL_DEFAULT)


@dataclass(frozen=True)
class Node:
    """A city or region of the front graph, with its government garrison in two loyalty classes."""

    name: str
    controller: str
    garrison: Param = spec(0.0, low=0.0, unit="fighters", doc="government fighters holding the node")
    core_share: Param = spec(0.0, low=0.0, high=1.0, unit="fraction",
                             doc="share of the garrison in core units (coup-proofed, in-group); the rest is contingent")
    defense: Param = spec(1.0, low=0.0, positive=True, unit="multiplier",
                          doc="defensive multiplier: divides attackers' and multiplies defenders' kill rate")
    population: Param = spec(0.0, low=0.0, unit="people", doc="population, for control-share summaries")
    importance: Param = spec(1.0, low=0.0, unit="weight", doc="scales the belief shock when the node is lost, opened or retaken")
    reserve: Param = spec(0.0, low=0.0, unit="fighters",
                          doc="loyalist reserve (militia) that joins the core units when the node is threatened")
    reserve_threat: Param = spec(0.5, low=0.0, high=1.0, unit="odds",
                                 doc="local attacker's odds at which the reserve mobilises")


@dataclass(frozen=True)
class Road:
    a: str
    b: str
    km: Param = spec(None, low=0.0, positive=True, unit="km", doc="road distance")


@dataclass(frozen=True)
class Axis:
    """A rebel axis of advance along a route of nodes; route[0] is its base (rebel-held, unless the
    axis is a latent group that rises only when belief falls below ``rises_below``)."""

    name: str
    route: tuple[str, ...]
    strength: Param = spec(None, low=0.0, unit="fighters", doc="fighters on the axis")
    momentum: Param = spec(1.0, low=0.0, positive=True, unit="multiplier", doc="initial momentum M")
    speed_km_day: Param = spec(20.0, low=0.0, unit="km/day", doc="advance speed at momentum 1 with no air opposition")
    position_km: Param = spec(0.0, low=0.0, unit="km", doc="distance already covered on the first leg (clipped to it)")
    assaulting: Param = spec(0.0, low=0.0, high=1.0, unit="0/1",
                             doc="1 if the axis starts (or rises) already assaulting route[1] (a bernoulli for a contested fact)")
    loss_tolerance: Param = spec(0.3, low=0.0, high=1.0, positive=True, unit="fraction",
                                 doc="share of its assault strength the axis loses before breaking off an assault")
    joiners_per_day: Param = spec(0.0, low=0.0, unit="fighters/day",
                                  doc="joiners a day when the regime is given up for lost (times 1 - belief)")
    culmination: Param = spec(0.6, low=0.0, high=1.0, positive=True, unit="fraction",
                              doc="share of all the fighters it has had that the axis loses before it culminates and stops")
    rises_below: Param = spec(1.0, low=0.0, high=1.0, unit="belief",
                              doc="a latent group: the axis rises when belief falls below this (1: active from the start)")


@dataclass(frozen=True)
class Ally:
    """An outside party: escalates (commits) with a hazard that follows the war, arrives after a
    delay, and withdraws on a scheduled day or when its client's cause looks lost."""

    name: str
    side: str
    deploy_to: str | None
    committed: Param = spec(0.0, low=0.0, high=1.0, unit="0/1",
                            doc="1 if its support is already there at as_of (a bernoulli for a contested fact)")
    commit_per_day: Param = spec(0.0, low=0.0, unit="1/day",
                                 doc="escalation hazard when its client's survival is a toss-up (times 4 pi (1 - pi))")
    delay_days: Param = spec(0.0, low=0.0, unit="days", doc="days from commitment to arrival")
    capacity: Param = spec(1.0, low=0.0, high=1.0, unit="fraction",
                           doc="share of its nominal support it can spare (e.g. cut by another war)")
    air_support: Param = spec(0.0, low=0.0, unit="multiplier",
                              doc="added to its side's air factor (kill-rate multiplier 1 + air)")
    ground_forces: Param = spec(0.0, low=0.0, unit="fighters", doc="fighters it sends")
    materiel: Param = spec(0.0, low=0.0, unit="propensity",
                           doc="arms and pay: lowers its client's units' propensity to abandon (government side)")
    belief_support: Param = spec(0.0, low=0.0, high=10.0, unit="log-odds",
                                 doc="moves belief towards its client's survival while it is there (a jump on arrival, a drop on leaving)")
    quit_below: Param = spec(0.0, low=0.0, high=1.0, unit="belief",
                             doc="it withdraws when its client's odds (belief, or 1 - belief for a rebel patron) fall below this")
    withdraw_day: Param = spec(100000.0, low=0.0, unit="days", doc="scheduled withdrawal, days after as_of (100000: none)")


@dataclass(frozen=True)
class Belief:
    initial: Param = spec(0.6, low=0.0, high=1.0, positive=True, unit="belief",
                          doc="pi at as_of: the common belief that the regime survives")
    baseline: Param = spec(0.6, low=0.0, high=1.0, positive=True, unit="belief",
                           doc="the anchor at parity of combat power with no allies present")
    force_weight: Param = spec(1.0, low=0.0, high=100.0, unit="log-odds",
                               doc="log-odds of the anchor per unit of log(government power / rebel power)")
    relax_per_day: Param = spec(0.1, low=0.0, unit="1/day", doc="rate at which logit pi relaxes to its anchor")
    loss_shock: Param = spec(0.3, low=0.0, high=100.0, unit="log-odds",
                             doc="drop of logit pi when a node falls (times importance); the same rise when one is retaken")
    abandon_shock: Param = spec(0.5, low=0.0, high=100.0, unit="log-odds",
                                doc="drop of logit pi when a garrison abandons its node without a fight (times importance)")
    repulse_shock: Param = spec(0.3, low=0.0, high=100.0, unit="log-odds",
                                doc="rise of logit pi when an assault is repulsed or an axis culminates")
    flight_shock: Param = spec(2.0, low=0.0, high=100.0, unit="log-odds", doc="drop of logit pi when the ruler flees")
    rally_shock: Param = spec(0.3, low=0.0, high=100.0, unit="log-odds",
                              doc="rise when a loyalist reserve mobilises; drop when a latent group rises")
    case_spread: Param = spec(0.0, low=0.0, high=10.0, unit="log-odds",
                              doc="sd of a case's random shift of logit initial and logit baseline: how far a "
                                  "record's belief may be off, learned across the reference class")


@dataclass(frozen=True)
class Cascade:
    belief_weight: Param = spec(1.0, low=0.0, high=100.0, unit="propensity", doc="propensity to abandon per unit of (1 - belief)")
    peer_weight: Param = spec(1.0, low=0.0, high=100.0, unit="propensity",
                              doc="propensity per unit of the class's share already gone (regime-wide)")
    threat_weight: Param = spec(0.5, low=0.0, high=100.0, unit="propensity", doc="propensity per unit of the local attacker's odds")
    contingent_threshold: Param = spec(0.8, low=-100.0, high=100.0, unit="propensity",
                                       doc="mean abandonment threshold of contingent units")
    core_threshold: Param = spec(1.6, low=-100.0, high=100.0, unit="propensity", doc="mean abandonment threshold of core units")
    spread: Param = spec(0.25, low=0.0, high=100.0, positive=True, unit="propensity",
                         doc="standard deviation of the units' thresholds within a class")
    retreat_share: Param = spec(0.5, low=0.0, high=1.0, unit="fraction",
                                doc="share of abandoning units that fall back to the next node towards the capital (the rest disperse)")
    case_spread: Param = spec(0.0, low=0.0, high=10.0, unit="propensity",
                              doc="sd of a case's random shift of both classes' thresholds, learned across the reference class")


@dataclass(frozen=True)
class Momentum:
    jump: Param = spec(0.25, low=0.0, unit="momentum", doc="added to the capturing axis's momentum when a node falls")
    spillover: Param = spec(0.5, low=0.0, high=1.0, unit="fraction", doc="share of the jump the other axes get")
    decay_per_day: Param = spec(0.07, low=0.0, unit="1/day", doc="exponential decay rate of M - 1 towards 0")
    setback: Param = spec(0.3, low=0.0, high=1.0, unit="fraction", doc="fractional loss of M when an assault is repulsed")
    cap: Param = spec(4.0, low=0.0, positive=True, unit="momentum", doc="upper bound of M")
    # at most 2, the top of the reference class's prior: exp(2 z) is already a factor of 55 at |z| = 2
    case_spread: Param = spec(0.0, low=0.0, high=2.0, unit="log",
                              doc="sd of a case's random tempo: every axis's advance speed is multiplied, and the "
                                  "pause after a repulse divided, by exp(spread x z), learned across the reference class")


@dataclass(frozen=True)
class Combat:
    kill_rate: Param = spec(0.02, low=0.0, unit="1/day", doc="enemy fighters put out of action per effective fighter per day")
    defender_loss_tolerance: Param = spec(0.5, low=0.0, high=1.0, positive=True, unit="fraction",
                                          doc="share of its strength a garrison loses in an assault before breaking")
    regroup_days: Param = spec(3.0, low=0.0, unit="days", doc="pause after a repulse before the next assault round")
    retreat_fraction: Param = spec(0.5, low=0.0, high=1.0, unit="fraction",
                                   doc="share of a garrison broken in an assault that falls back to the next node towards the capital")
    air_slowdown: Param = spec(1.0, low=0.0, unit="multiplier", doc="advance speed is divided by 1 + air_slowdown x government air")
    counterattack_per_day: Param = spec(0.01, low=0.0, unit="1/day",
                                        doc="hazard that a lost node is retaken when belief is certain (times max(0, 2 pi - 1))")
    retake_share: Param = spec(0.5, low=0.0, high=1.0, unit="fraction",
                               doc="a retaken node's garrison, as a share of its garrison at as_of")


@dataclass(frozen=True)
class Leadership:
    exit_below: Param = spec(0.15, low=0.0, high=1.0, unit="belief",
                             doc="the ruler's odds below which he flees, before his exit option")
    haven: Param = spec(0.5, low=0.0, high=1.0, unit="fraction",
                        doc="quality of his exit option (a haven, a patron able to extract him)")
    haven_weight: Param = spec(0.2, low=0.0, high=1.0, unit="belief", doc="how far a full exit option raises his flight threshold")
    handover_below: Param = spec(0.05, low=0.0, high=1.0, unit="belief",
                                 doc="the odds below which the ruler, or his successor once he has fled, negotiates a hand-over")
    spread: Param = spec(0.05, low=0.0, high=1.0, positive=True, unit="belief",
                         doc="how sharply the exit hazards switch on around their thresholds")
    max_exit_per_day: Param = spec(3.0, low=0.0, unit="1/day", doc="the exit hazards' ceiling, reached far below the threshold")
    threat_gate: Param = spec(0.0, low=0.0, high=10.0, unit="exponent",
                              doc="g: his doubt 1 - pi_R is weighted by theta_cap^g, so with g > 0 it counts only as the "
                                  "enemy reaches the capital (0: not gated)")
    case_spread: Param = spec(0.0, low=0.0, high=10.0, unit="log-odds",
                              doc="sd of a case's random shift of logit exit_below and logit handover_below: how far "
                                  "one ruler's nerve may sit from another's, learned across the reference class")


@dataclass(frozen=True)
class Threat:
    scale_km: Param = spec(50.0, low=0.0, positive=True, unit="km",
                           doc="an axis d km away weighs exp(-d / scale_km) of its power")
    sharpness: Param = spec(1.0, low=0.0, high=100.0, unit="exponent",
                            doc="lambda: the local odds are r^lambda / (1 + r^lambda), r the power ratio")


# The model-wide sections, in the order the loader and MODEL.md present them.
SECTIONS: dict[str, type] = {
    "belief": Belief,
    "cascade": Cascade,
    "momentum": Momentum,
    "combat": Combat,
    "leadership": Leadership,
    "threat": Threat,
}


@dataclass(frozen=True)
class JointSample:
    """Rows of model-wide parameter values drawn together (a calibration's posterior): each
    replication takes one row, chosen uniformly, so the parameters' correlations are kept."""

    paths: tuple[str, ...]
    rows: np.ndarray = field(compare=False)   # (rows, len(paths)), read-only
    source: str = ""

    def __repr__(self) -> str:
        return f"JointSample({len(self.rows)} rows of {', '.join(self.paths)}; {self.source})"


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
    belief: Belief
    cascade: Cascade
    momentum: Momentum
    combat: Combat
    leadership: Leadership
    threat: Threat
    posterior: JointSample | None = None
    source_path: str = ""
    resolved_toml: str = field(default="", repr=False, compare=False)
    # Citations dated after as_of, one line each, in a scenario loaded with allow_lookahead (else empty).
    lookahead: tuple[str, ...] = field(default=(), repr=False, compare=False)

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

    def headline(self) -> list[tuple[str, str]]:
        """The scenario in a few labelled lines (its notebook repr)."""
        held = sum(n.controller == GOVERNMENT for n in self.nodes)
        drawn = f"{len(self.uncertain_parameters())} uncertain parameters"
        if self.posterior is not None:
            drawn += f", a posterior of {len(self.posterior.rows):,} rows over {len(self.posterior.paths)}"
        return [("scenario", f"{self.name}: {self.title}"),
                ("as of", f"{self.as_of.isoformat()}, horizon {self.horizon_days} days"),
                ("theatre", f"capital {self.capital}; {len(self.nodes)} nodes ({held} government-held), "
                            f"{len(self.axes)} axes, {len(self.allies)} allies"),
                ("drawn", drawn),
                ("file", self.source_path or "(none)")]

    def __repr__(self) -> str:
        return "\n".join(["Scenario", *(f"  {label:<10}{text}" for label, text in self.headline())])

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(f"<tr><th style='text-align:left'>{escape(label)}</th><td style='text-align:left'>"
                       f"{escape(text)}</td></tr>" for label, text in self.headline())
        return f"<div><strong>Scenario</strong><table>{rows}</table></div>"


def unit_of(path: str) -> str:
    """The unit of the parameter at a dotted path (``nodes.X.garrison`` -> ``fighters``; '' if unknown)."""
    head, _, rest = path.partition(".")
    cls = {"nodes": Node, "rebels": Axis, "allies": Ally, "roads": Road}.get(head) or SECTIONS.get(head)
    name = "km" if head == "roads" else rest.rpartition(".")[2]
    meta = {f.name: f.metadata for f in param_fields(cls)} if cls else {}
    return meta.get(name, {}).get("unit", "")


def parameter_rows(scenario: Scenario) -> list[dict]:
    """Every parameter of ``scenario`` as plain data (``sim params``), in :meth:`Scenario.parameters`'
    order: ``path``, ``value`` (a fixed one's, else None), ``mean``, ``distribution`` (as a file writes
    it: ``{"dist": "triangular", "low": ...}``), ``unit``, ``source``, ``date`` (ISO, to the day, month
    or year), ``note``, and ``posterior``: true where each replication draws the value from the
    scenario's posterior rows instead (``mean`` is then the rows' mean, ``source`` the posterior's;
    ``distribution`` is what the file falls back to with no posterior)."""
    posterior = scenario.posterior
    drawn = {path: j for j, path in enumerate(posterior.paths)} if posterior is not None else {}
    rows = []
    for path, p in scenario.parameters():
        d = p.dist
        spec = {"dist": d.name, **{f.name.rstrip("_"): float(getattr(d, f.name)) for f in fields(d)}}
        mean = float(posterior.rows[:, drawn[path]].mean()) if path in drawn else p.mean
        source = posterior.source if path in drawn else p.source
        rows.append({"path": path, "value": None if d.is_random or path in drawn else float(d.mean), "mean": mean,
                     "distribution": spec, "unit": unit_of(path), "source": source,
                     "date": p.date.isoformat() if p.date else None, "note": p.note, "posterior": path in drawn})
    return rows
