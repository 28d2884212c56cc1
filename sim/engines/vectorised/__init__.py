"""The vectorised engine: N replications advanced together as numpy arrays.

Time runs day by day, because the daily tick falls at the same time in every replication. Within a
day each replication takes its own events in order: the calendar (:mod:`.calendar`) gives every
row's next event (an axis reaching its next node, an ally's arrival, a hazard firing), the rows
whose next event comes before the next tick apply it through the effects (:mod:`.effects`), which
call the same rule functions the reference engine calls (``sim.rules``), and only those rows are
rescheduled, until no row has an event left before the tick. Then every replication ticks at once,
as whole-array operations. Finished replications leave the working set.

Hazards use the next-reaction method on their sum: each row keeps one unit-exponential residual
that the total rate (all desertion waves, flight, hand-over, uprising) integrates down between
events, and when it fires, which hazard it was is drawn in proportion to the rates. This is exact
for rates that are constant between events, and the rates are (docs/MODEL.md, section 3).

Layout (:mod:`.state`): every array's last axis runs over replications (rows), so ``momentum`` is
(axes, rows) and ``garrison`` (nodes, rows). A row subset is gathered with ``take`` along that
axis, and one entity per row (the node each row's axis is attacking) through flat indices: both
are numpy's fast paths, several times faster than gathering rows of a row-major (rows, entities) array.
"""

from __future__ import annotations

import numpy as np

from ... import rules
from ...scenario.schema import Scenario
from ..draws import Draws, draw_parameters
from ..outcomes import HOLDS, Outcomes
from ..theatre import Theatre
from . import calendar, effects
from .calendar import Calendar
from .state import (
    ALL, ASSAULTING, DONE, INF, MOVING, Allies, Axes, Garrisons, Hazards, Nodes, Params, Regime,
)

__all__ = ["Block", "simulate"]


class Block:
    """One block of replications being simulated together: its theatre ``th``, parameters ``p``,
    state (``regime``, ``nodes``, ``axes``, ``allies``, ``garrisons``, ``hazards``), generator
    ``rng`` and the outcomes ``out`` being filled in."""

    def __init__(self, th: Theatre, d: Draws, horizon: int, rng: np.random.Generator):
        self.th, self.horizon, self.rng = th, horizon, rng
        self.events = 0  # events applied, summed over replications (for benchmarks)
        n, k, nn, na = d.n, th.n_axes, th.n_nodes, th.n_allies
        self.out = Outcomes.empty(n, nn, na)
        p = self.p = Params(th, d)
        self.calendar = Calendar(k)
        self.regime = Regime(
            rid=np.arange(n), t=np.zeros(n), ended=np.zeros(n, dtype=bool), cohesion=p.cohesion.initial.copy(),
            unrest=p.unrest.initial.copy(), fled_day=np.full(n, np.nan), uprising_day=np.full(n, np.nan),
            deserted=np.zeros(n), mean_momentum=np.ones(n), capital_threat=np.zeros(n), gov_air=np.zeros(n),
            rebel_air=np.zeros(n), gov_cohesion=np.zeros(n), rebel_cohesion=np.zeros(n))
        self.nodes = Nodes(rebel=np.repeat(th.rebel_at_start[:, None], n, axis=1), garrison=p.nodes.garrison.copy(),
                           fall_day=np.full((nn, n), np.nan))
        self.axes = Axes(
            status=np.full((k, n), MOVING, dtype=np.int8), leg=np.zeros((k, n), dtype=np.int64),
            leg_length=p.legs.km[:, 0, :].copy(), pos=np.zeros((k, n)), speed=np.zeros((k, n)),
            strength=p.axes.strength.copy(), momentum=p.axes.momentum.copy(), start_att=np.zeros((k, n)),
            start_def=np.zeros((k, n)), fresh=np.ones((k, n), dtype=bool), resume_day=np.zeros((k, n)))
        # An ally's decision depends on nothing in the state, so it is drawn up front and only its
        # arrival is an event: the same distribution, with one event fewer.
        commits = rules.allies.commits(rng.uniform(0.0, 1.0, (na, n)), p.allies.commit_probability)
        ally_time = np.where(commits, p.allies.decision_day + p.allies.arrival_delay_days, INF)
        order = np.argsort(ally_time, axis=0, kind="stable")
        times = np.concatenate([np.take_along_axis(ally_time, order, axis=0), np.full((1, n), INF)], axis=0)
        self.allies = Allies(order=order, times=times, next=np.zeros(n, dtype=np.int64), time=times[0].copy(),
                             arrived=np.zeros((na, n), dtype=bool), arrival_day=np.full((na, n), np.nan))
        # Desertion can strike only nodes held by the government at the start.
        self.deserting = np.nonzero(~th.rebel_at_start)[0]
        self.slot = np.full(nn, len(self.deserting))  # each node's row in the garrisons' arrays (past the end: none)
        self.slot[self.deserting] = np.arange(len(self.deserting))
        g = len(self.deserting)
        self.garrisons = Garrisons(exposure=np.zeros((g, n)), manned=np.zeros((g, n)), exposed=np.zeros(n))
        self.hazards = Hazards(residual=rng.exponential(1.0, n), rate=np.zeros((4, n)), rate_sum=np.zeros(n),
                               next_time=np.full(n, INF), next_kind=np.zeros(n, dtype=np.int64))

    def compact(self, keep: np.ndarray) -> None:
        """Keep only the rows where ``keep`` is True, in every array of the working set."""
        for rows in (self.regime, self.nodes, self.axes, self.allies, self.garrisons, self.hazards, *self.p.groups()):
            rows.compact(keep)

    # ------------------------------------------------------------------ the day

    def setup(self) -> None:
        """The state at t = 0 (docs/MODEL.md section 3, setup)."""
        ax, reg, p = self.axes, self.regime, self.p
        for a in range(self.th.n_axes):
            leg0 = p.legs.km[a, 0]
            ax.pos[a] = np.minimum(p.axes.position_km[a], leg0)
            effects.arrive(self, np.flatnonzero(((p.axes.assaulting[a] >= 0.5) | (ax.pos[a] >= leg0)) & ~reg.ended), a)
        effects.moved(self, ALL)
        effects.observe_threat(self)
        effects.check_collapse(self, np.arange(len(reg.t)))
        p.drop_initial()

    def tick(self) -> None:
        """The daily tick in every row (docs/MODEL.md section 3): assault rounds, then momentum,
        reinforcements, threat, unrest, cohesion. Rows that have ended are carried along but never
        read again (see :func:`effects.end`)."""
        ax, reg, p = self.axes, self.regime, self.p
        for a in range(self.th.n_axes):
            fight = np.flatnonzero(~reg.ended & (ax.status[a] == ASSAULTING) & (reg.t >= ax.resume_day[a]))
            if len(fight):
                effects.combat_round(self, fight, a)
        live = np.flatnonzero(~reg.ended)
        self.events += len(live)
        ax.momentum = rules.momentum.daily_decay(ax.momentum, p.momentum.decay_per_day)
        ax.strength += np.where(ax.status != DONE, p.axes.reinforcement_per_day, 0.0)
        effects.moved(self, ALL)
        effects.observe_threat(self)
        reg.unrest = rules.unrest.daily(reg.unrest, reg.capital_threat, reg.mean_momentum, reg.cohesion,
                                        p.unrest.growth_per_day, p.unrest.decay_per_day)
        target = rules.cohesion.target(p.cohesion.target, reg.gov_cohesion, reg.rebel_cohesion, ~np.isnan(reg.fled_day))
        reg.cohesion = rules.cohesion.daily(reg.cohesion, target, p.cohesion.recovery_per_day, reg.unrest,
                                            p.cohesion.unrest_drag_per_day)
        effects.check_collapse(self, live)

    def day(self, until: float) -> None:
        """Every row's events before ``until`` (the next tick), in each row's own order."""
        reg, hz, cal = self.regime, self.hazards, self.calendar
        calendar.refresh(self, ALL)
        calendar.schedule(self, ALL)
        due = np.flatnonzero((hz.next_time < until) & ~reg.ended)
        while len(due):
            self.events += len(due)
            kind = hz.next_kind[due]
            calendar.advance(self, due, hz.next_time[due])
            for c in np.flatnonzero(np.bincount(kind)):
                r = due[kind == c]
                if c == cal.ally_kind:
                    calendar.next_ally(self, r)
                elif c == cal.hazard_kind:
                    calendar.hazard_fires(self, r)
                else:
                    effects.arrive(self, r, int(c))
            due = due[~reg.ended[due]]
            calendar.refresh(self, due)
            calendar.schedule(self, due)
            due = due[hz.next_time[due] < until]

    def run(self) -> Outcomes:
        reg = self.regime
        self.setup()
        for d in range(max(self.horizon, 0)):
            # Ended rows stay in the arrays, unread, until they are a quarter of them: compacting
            # every day would copy the whole state each time.
            ended = np.count_nonzero(reg.ended)
            if ended == len(reg.t):
                break
            if 4 * ended > len(reg.t):
                effects.record(self, np.flatnonzero(reg.ended))
                self.compact(~reg.ended)
            self.day(d + 1.0)
            if d + 1 >= self.horizon:
                break
            calendar.advance(self, ALL, d + 1.0)
            self.tick()
        effects.end(self, np.flatnonzero(~reg.ended), HOLDS)
        effects.record(self, ALL)
        return self.out


def simulate(scenario: Scenario, reps: int, *, rng: np.random.Generator,
             draws: Draws | None = None) -> tuple[Outcomes, Draws]:
    """Run ``reps`` replications together; parameters are drawn first from ``rng`` (or given)."""
    th = Theatre.from_scenario(scenario)
    draws = draw_parameters(scenario, reps, rng=rng) if draws is None else draws
    # Overflow to infinity is the right limit wherever it can happen (a kill rate divided by a vanishing
    # defense: an instant rout; a distance divided by a vanishing speed: never there); NaN never is,
    # and still warns.
    with np.errstate(over="ignore"):
        return Block(th, draws, scenario.horizon_days, rng).run(), draws
