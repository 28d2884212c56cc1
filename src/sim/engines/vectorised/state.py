"""Declared state of the vectorised engine: named struct-of-arrays whose last axis runs over the
block's live replications (rows).

Parameters keep the scenario's spelling (``p.cohesion.shock``, ``p.nodes.importance``), one field
per parameter, declared from the schema. State is split by what it belongs to: the regime, the
nodes, the axes, the allies, and the hazards' calendar.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, make_dataclass

import numpy as np

from ...scenario.schema import SECTIONS, Ally, Axis, Node, param_fields
from ..draws import Draws

MOVING, ASSAULTING, DONE, DORMANT = 0, 1, 2, 3   # an axis's status
FLIGHT, HANDOVER = 0, 1                          # the hazards, in the order they are drawn
INF = np.inf
ALL = slice(None)


# ------------------------------------------------------------------ rows on the last axis

@dataclass(eq=False, slots=True)
class Rows:
    """Arrays whose last axis runs over the block's rows. A field may be None (dropped: never read
    again) or a 0-d array (the same in every row: held as a scalar, never gathered). Every class of
    rows has slots: an array that is not declared as a field cannot be set."""

    def compact(self, keep: np.ndarray) -> None:
        """Keep only the rows where ``keep`` is True."""
        n = int(np.count_nonzero(keep))
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or not v.ndim:
                continue
            if v.strides[-1] == 0:  # the same in every row for each entity: a broadcast view
                setattr(self, f.name, v[..., :n])
            else:  # C-contiguous, as flat() indexing needs
                setattr(self, f.name, v.compress(keep, axis=-1))

    def extend(self, other: "Rows", n: int, m: int) -> None:
        """Append ``other``'s ``m`` rows after these ``n`` (the same class, from the same theatre)."""
        for f in fields(self):
            v, w = getattr(self, f.name), getattr(other, f.name)
            if v is None or w is None:
                setattr(self, f.name, None if v is None and w is None else _rows(v if w is None else w, n + m))
                continue
            if not v.ndim and not w.ndim and v == w:
                continue  # the same in every row of both
            if v.ndim and w.ndim and v.strides[-1] == 0 and w.strides[-1] == 0 and np.array_equal(v[..., :1],
                                                                                                   w[..., :1]):
                setattr(self, f.name, np.broadcast_to(v[..., :1], v.shape[:-1] + (n + m,)))
                continue
            setattr(self, f.name, np.concatenate([_rows(v, n), _rows(w, m)], axis=-1))

    def gather(self, index: np.ndarray) -> None:
        """Make the rows the rows ``index`` (an index array; repeats allowed)."""
        n = len(index)
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or not v.ndim:
                continue
            if v.strides[-1] == 0:
                setattr(self, f.name, np.broadcast_to(v[..., :1], v.shape[:-1] + (n,)))
            else:
                setattr(self, f.name, v.take(index, axis=-1))


def _rows(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` with ``n`` rows on its last axis (a 0-d array, the same in every row, repeated)."""
    return np.full(n, a[()]) if not a.ndim else a


def take(a: np.ndarray, r) -> np.ndarray:
    """Rows ``r`` (an index array, or ALL) of an array whose last axis runs over rows; a parameter
    held as a 0-d array (the same in every row) is itself."""
    return a if isinstance(r, slice) or a.ndim == 0 else a.take(r, axis=-1)


def put(a: np.ndarray, r, v) -> None:
    """Set rows ``r`` of ``a`` (rows on its last axis) to ``v``."""
    if isinstance(r, slice) or a.ndim == 1:
        a[..., r] = v
    else:
        v = np.broadcast_to(v, a.shape[:-1] + (len(r),))
        for e in range(a.shape[0]):
            a[e][r] = v[e]


def flat(a: np.ndarray) -> np.ndarray:
    """A 1-d view of ``a`` (never a copy, so writes reach ``a``) for :func:`cell` indices."""
    return np.reshape(a, -1, copy=False)


def cell(i: np.ndarray, r: np.ndarray, n: int) -> np.ndarray:
    """Flat index of (entity ``i[k]``, row ``r[k]``) in a C-contiguous (entities, n) array."""
    return i * n + r


def entity(a: np.ndarray, i, r) -> np.ndarray:
    """Parameter ``a`` (entities x rows) of entity ``i[k]`` in row ``r[k]``; ``a`` may be a read-only
    view that repeats one column (a parameter fixed for each entity)."""
    return a[i, 0] if a.strides[-1] == 0 else flat(a)[cell(i, r, a.shape[-1])]


# ------------------------------------------------------------------ parameters, named as in the scenario

def _rows_class(name: str, schema: type) -> type:
    return make_dataclass(name, [(f.name, np.ndarray) for f in param_fields(schema)], bases=(Rows,), eq=False,
                          slots=True)


NodeParams = _rows_class("NodeParams", Node)       # (nodes, rows)
AxisParams = _rows_class("AxisParams", Axis)       # (axes, rows)
AllyParams = _rows_class("AllyParams", Ally)       # (allies, rows)
SectionParams = {name: _rows_class(f"{cls.__name__}Params", cls) for name, cls in SECTIONS.items()}  # (rows,)

# Read only to set up the state at t = 0, then dropped from the working set (population is not read
# at all: it weighs the control share, from the outcomes).
INITIAL = {"nodes": ("core_share", "population"), "axes": ("strength", "momentum"),
           "allies": ("committed",), "belief": ("initial",)}


@dataclass(eq=False, slots=True)
class Legs(Rows):
    """The road legs of each axis's route, drawn per row: km of leg j and km covered by step j."""

    km: np.ndarray    # (axes, legs, rows); NaN past a route's end
    cum: np.ndarray   # (axes, legs + 1, rows)


class Params:
    """A block's parameters (read-only): ``nodes``, ``axes``, ``allies``, ``legs`` and one
    :class:`Rows` per model section, e.g. ``p.cohesion.shock``."""

    def __init__(self, th, d: Draws):
        n, k = d.n, th.n_axes
        self.nodes = NodeParams(**{name: _entity(a) for name, a in vars(d.nodes).items()})
        self.axes = AxisParams(**{name: _entity(a) for name, a in vars(d.axes).items()})
        self.allies = AllyParams(**{name: _entity(a) for name, a in vars(d.allies).items()})
        for section, ns in d.sections.items():
            initial = INITIAL.get(section, ())
            setattr(self, section, SectionParams[section](**{
                name: (np.array(a[0], dtype=float) if n and name not in initial and (a == a[0]).all() else a)
                for name, a in vars(ns).items()}))  # fixed: read as a scalar, never gathered
        legs = np.where(th.road_of >= 0, 0, np.nan)[:, :, None]  # (k, L-1, 1): NaN past a route's end
        km = d.road_km[np.maximum(th.road_of, 0)] + legs if k else np.zeros((0, 1, n))
        cum = np.concatenate([np.zeros((k, 1, n)), np.nancumsum(km, axis=1)], axis=1) if k else np.zeros((0, 2, n))
        self.legs = Legs(km, cum)

    def groups(self) -> list[Rows]:
        return [self.nodes, self.axes, self.allies, self.legs, *(getattr(self, s) for s in SECTIONS)]

    def drop_initial(self) -> None:
        """Forget the parameters read only at t = 0 (they would be compacted for nothing)."""
        for group, names in INITIAL.items():
            for name in names:
                setattr(getattr(self, group), name, None)


def _entity(a: np.ndarray) -> np.ndarray:
    """An entity parameter (entities, rows): a read-only view if it is fixed for each entity, else
    a C-contiguous float array."""
    fixed = a.ndim == 2 and a.shape[1] > 0 and a.strides[-1] == 0
    return a if fixed else np.ascontiguousarray(a, dtype=float)


# ------------------------------------------------------------------ state

@dataclass(eq=False, slots=True)
class Regime(Rows):
    """(rows,) unless noted: each row's replication id, clock, and regime-wide state."""

    rid: np.ndarray             # the replication each row is
    t: np.ndarray               # days since as_of
    ended: np.ndarray           # bool
    log_odds: np.ndarray        # L = logit pi
    fled_day: np.ndarray        # NaN until the ruler flees
    handover_day: np.ndarray    # NaN until a hand-over
    raised: np.ndarray          # (2, rows): fighters each class has had
    dispersed: np.ndarray       # (2, rows): fighters of each class who abandoned and dispersed
    capital_threat: np.ndarray  # the daily snapshot
    capital_core: np.ndarray    # the capital's core share at as_of (weighs its standing share)
    gov_air: np.ndarray         # support present, kept up to date at arrivals and withdrawals
    rebel_air: np.ndarray
    gov_belief: np.ndarray      # A_gov: log-odds of the allies present
    rebel_belief: np.ndarray
    aid: np.ndarray             # materiel present


@dataclass(eq=False, slots=True)
class Nodes(Rows):
    """(nodes, rows)."""

    rebel: np.ndarray        # bool: rebel-held
    contingent: np.ndarray   # fighters of each class standing
    core: np.ndarray
    gone_contingent: np.ndarray  # share of each class's units whose thresholds were crossed
    gone_core: np.ndarray
    opened: np.ndarray       # bool: the garrison is gone (its shock applied)
    mobilised: np.ndarray    # bool: the reserve has joined
    threat: np.ndarray       # the daily snapshot of the local attacker's odds
    fall_day: np.ndarray     # NaN until it first falls
    fall_how: np.ndarray     # int8: how it first fell (sim.engines.outcomes.FALL_MODES), NOT_FALLEN until then
    retaken_day: np.ndarray  # NaN until it is retaken


@dataclass(eq=False, slots=True)
class Axes(Rows):
    """(axes, rows)."""

    status: np.ndarray       # int8: MOVING, ASSAULTING, DONE, DORMANT
    leg: np.ndarray          # int64: the leg being travelled (route step -> step + 1)
    leg_length: np.ndarray   # km of that leg
    pos: np.ndarray          # km covered on it
    speed: np.ndarray        # km/day; 0 unless MOVING
    strength: np.ndarray     # fighters
    raised: np.ndarray       # fighters it has had
    lost: np.ndarray         # fighters it has lost in assaults
    momentum: np.ndarray     # M
    start_att: np.ndarray    # fighters on each side when the current assault began
    start_def: np.ndarray
    fresh: np.ndarray        # bool: the next round opens a new assault
    resume_day: np.ndarray   # first day the next round may be fought


@dataclass(eq=False, slots=True)
class Allies(Rows):
    """(allies, rows)."""

    committed: np.ndarray       # bool
    arrive_at: np.ndarray       # day its support arrives once committed
    arrived: np.ndarray         # bool
    withdrawn: np.ndarray       # bool
    arrival_day: np.ndarray
    withdrawal_day: np.ndarray


@dataclass(eq=False, slots=True)
class Hazards(Rows):
    """The summed hazard (next-reaction method) and each row's next event."""

    residual: np.ndarray     # unit-exponential residual the total rate integrates down
    rate: np.ndarray         # (2, rows): FLIGHT, HANDOVER
    rate_sum: np.ndarray     # the total, as scheduled
    next_time: np.ndarray
    next_kind: np.ndarray    # int64: an axis index, or Calendar.hazard_kind
