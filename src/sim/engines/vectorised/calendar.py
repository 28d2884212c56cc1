"""The vectorised engine's event calendar: each row's next event among its axes' arrivals and the
summed hazard of the ruler's exits (the next-reaction method), and the firing of that hazard.

Event kinds are integers so that a row's next event is a min/argmin over them: axis ``a`` is kind
``a``; :attr:`Calendar.hazard_kind` comes after the axes. Ties go to arrivals in axis order, then
the hazards (docs/MODEL.md section 3).
"""

from __future__ import annotations

import numpy as np

from ... import rules
from . import effects
from .state import FLIGHT, HANDOVER, INF, take


class Calendar:
    """The named event kinds of a theatre with ``n_axes`` axes."""

    def __init__(self, n_axes: int):
        self.hazard_kind = n_axes


def refresh(b, r) -> None:
    """Hazard rates of rows ``r`` (an index array or ALL) from their state: constant until their
    next event (docs/MODEL.md section 3, hazard events)."""
    reg, p = b.regime, b.p
    lead = p.leadership
    odds = rules.leadership.reading(rules.belief.probability(reg.log_odds[r]), reg.capital_threat[r],
                                    effects.capital_standing(b, r), take(lead.threat_gate, r))
    here = np.isnan(reg.fled_day[r])
    spread, most = take(lead.spread, r), take(lead.max_exit_per_day, r)
    flight = rules.leadership.flight_threshold(take(lead.exit_below, r), take(lead.haven, r), take(lead.haven_weight, r))
    rate = b.hazards.rate
    rate[FLIGHT][r] = np.where(here, rules.leadership.hazard(odds, flight, spread, most), 0.0)
    rate[HANDOVER][r] = rules.leadership.hazard(odds, take(lead.handover_below, r), spread, most)  # a successor too


def schedule(b, r) -> None:
    """Next event time and kind of rows ``r``; ties go to axes in order, then the hazards."""
    hz, ax, k = b.hazards, b.axes, b.th.n_axes
    rate = take(hz.rate, r)
    t, total = b.regime.t[r], rate[FLIGHT] + rate[HANDOVER]
    hz.rate_sum[r] = total
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 and x / 0 are never chosen
        when = t + np.where(total > 0.0, hz.residual[r] / total, INF)
        kind = np.full(len(when), b.calendar.hazard_kind)
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


def hazard_fires(b, r) -> None:
    """The summed hazard fires in rows ``r``: flight or hand-over, drawn in proportion to the rates."""
    hz = b.hazards
    hz.residual[r] = b.rng.exponential(1.0, len(r))
    rate = take(hz.rate, r)
    u = b.rng.uniform(0.0, 1.0, len(r)) * hz.rate_sum[r]
    flight = u < rate[FLIGHT]
    effects.flee(b, r[flight])
    effects.hand_over(b, r[~flight])
