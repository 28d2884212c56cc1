"""The vectorised engine's event calendar: each row's next event among its axes' arrivals, its next
ally's arrival and the summed hazard (the next-reaction method), and the firing of that hazard.

Event kinds are integers so that a row's next event is a min/argmin over them: axis ``a`` is kind
``a``; :attr:`Calendar.ally_kind` and :attr:`Calendar.hazard_kind` come after the axes. Ties go to
arrivals in axis order, then allies, then hazards (docs/MODEL.md section 3).
"""

from __future__ import annotations

import numpy as np

from ... import rules
from . import effects
from .state import DESERTION, FLIGHT, HANDOVER, INF, UPRISING, cell, flat, take


class Calendar:
    """The named event kinds of a theatre with ``n_axes`` axes."""

    def __init__(self, n_axes: int):
        self.ally_kind = n_axes
        self.hazard_kind = n_axes + 1


def total_rate(rate: np.ndarray) -> np.ndarray:
    """Sum of the hazards' rates, always added in the same order."""
    return ((rate[DESERTION] + rate[FLIGHT]) + rate[HANDOVER]) + rate[UPRISING]


def refresh(b, r) -> None:
    """Hazard rates of rows ``r`` (an index array or ALL) from their state: constant until their
    next event (docs/MODEL.md section 3, hazard events)."""
    reg, p = b.regime, b.p
    cohesion, unrest, exposed = reg.cohesion[r], reg.unrest[r], b.garrisons.exposed[r]
    pressure = rules.desertion.pressure(
        take(p.desertion.base_rate_per_day, r), cohesion, reg.mean_momentum[r], unrest,
        take(p.desertion.cohesion_sensitivity, r), take(p.desertion.momentum_sensitivity, r),
        take(p.desertion.unrest_sensitivity, r))
    ruler = np.where(np.isnan(reg.fled_day[r]), rules.leadership.pressure(
        reg.capital_threat[r], cohesion, unrest, take(p.leadership.threat_sensitivity, r),
        take(p.leadership.cohesion_sensitivity, r), take(p.leadership.unrest_sensitivity, r)), 0.0)
    rate = b.hazards.rate
    rate[DESERTION][r] = np.where(exposed > 0.0, pressure * exposed, 0.0)
    rate[FLIGHT][r] = take(p.leadership.flight_rate_per_day, r) * ruler
    rate[HANDOVER][r] = take(p.leadership.handover_rate_per_day, r) * ruler
    rate[UPRISING][r] = np.where(np.isnan(reg.uprising_day[r]),
                                 rules.unrest.uprising_hazard(unrest, take(p.unrest.uprising_rate_per_day, r)), 0.0)


def schedule(b, r) -> None:
    """Next event time and kind of rows ``r``; ties go to axes in order, then allies, then hazards."""
    hz, ax, k = b.hazards, b.axes, b.th.n_axes
    t, total = b.regime.t[r], total_rate(take(hz.rate, r))
    hz.rate_sum[r] = total
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 and x / 0 are never chosen
        when = t + np.where(total > 0.0, hz.residual[r] / total, INF)
        ally = b.allies.time[r]
        kind = np.where(ally <= when, b.calendar.ally_kind, b.calendar.hazard_kind)
        np.minimum(when, ally, out=when)
        for a in reversed(range(k)):
            speed = ax.speed[a][r]
            # max(): a rounding error past a leg's end arrives now, not earlier
            remaining = np.maximum(ax.leg_length[a][r] - ax.pos[a][r], 0.0)
            arrival = t + np.where(speed > 0.0, remaining / speed, INF)
            kind[arrival <= when] = a
            np.minimum(when, arrival, out=when)
    hz.next_time[r], hz.next_kind[r] = when, kind


def advance(b, r, until) -> None:
    """Move rows ``r`` on to time ``until``: positions at their speeds, residuals at their rates."""
    reg, ax, hz = b.regime, b.axes, b.hazards
    dt = until - reg.t[r]
    for a in range(b.th.n_axes):
        ax.pos[a][r] += ax.speed[a][r] * dt
    hz.residual[r] -= hz.rate_sum[r] * dt
    reg.t[r] = until


def next_ally(b, r) -> None:
    """Each row's next ally (in its arrival order) arrives."""
    al, n = b.allies, len(b.regime.t)
    j = flat(al.order)[cell(al.next[r], r, n)]
    al.next[r] += 1
    al.time[r] = flat(al.times)[cell(al.next[r], r, n)]
    effects.ally_arrives(b, r, j)


def hazard_fires(b, r) -> None:
    """The summed hazard fires in rows ``r``: which one it was is drawn in proportion to the rates,
    and for a desertion wave which garrison, in proportion to its exposure."""
    hz, gs = b.hazards, b.garrisons
    hz.residual[r] = b.rng.exponential(1.0, len(r))
    rate = take(hz.rate, r)
    total = hz.rate_sum[r]  # as scheduled
    u = b.rng.uniform(0.0, 1.0, len(r)) * total
    below = rate[DESERTION]
    h = (below <= u).astype(np.int64)
    for kind in (FLIGHT, HANDOVER):
        below = below + rate[kind]
        h += below <= u
    if not np.isfinite(total).all():  # an infinite rate fires first
        h = np.where(np.isinf(total), np.argmax(np.isinf(rate), axis=0), h)
    for kind in np.flatnonzero(np.bincount(h)):
        rows = r[h == kind]
        if kind == FLIGHT:
            effects.flee(b, rows)
        elif kind == HANDOVER:
            effects.hand_over(b, rows)
        elif kind == UPRISING:
            effects.rise(b, rows)
        else:  # which garrison: in proportion to its exposure (the pressure is common to them all)
            weight = take(gs.manned, rows)
            u = b.rng.uniform(0.0, 1.0, len(rows)) * gs.exposed[rows]
            below, g = 0.0, np.zeros(len(rows), dtype=np.int64)
            for w in weight[:-1]:
                below = below + w
                g += below <= u
            effects.desert(b, rows, b.deserting[g])
