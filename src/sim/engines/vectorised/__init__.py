"""The vectorised engine: N replications advanced together as numpy arrays.

Time runs day by day, because the daily tick falls at the same time in every replication. Within a
day each replication takes its own events in order: the calendar (:mod:`.calendar`) gives every
row's next event (an axis reaching its next node, the ruler's exit hazard firing), the rows
whose next event comes before the next tick apply it through the effects (:mod:`.effects`), which
call the same rule functions the reference engine calls (``sim.rules``), and only those rows are
rescheduled, until no row has an event left before the tick. Then every replication ticks at once,
as whole-array operations: assault rounds, allies, latent groups, the threat snapshot, reserves,
the cascade, counter-attacks and the belief's relaxation. Finished replications leave the working set.

Hazards use the next-reaction method on their sum: each row keeps one unit-exponential residual
that the total rate (flight and hand-over) integrates down between
events, and when it fires, which hazard it was is drawn in proportion to the rates. This is exact
for rates that are constant between events, and the rates are (docs/MODEL.md, section 3).

Layout (:mod:`.state`): every array's last axis runs over replications (rows), so ``momentum`` is
(axes, rows) and ``contingent`` (nodes, rows). A row subset is gathered with ``take`` along that
axis, and one entity per row (the node each row's axis is attacking) through flat indices: both
are numpy's fast paths, several times faster than gathering rows of a row-major (rows, entities) array.
"""

from __future__ import annotations

import copy
from dataclasses import fields

import numpy as np

from ... import rules
from ...scenario.schema import Scenario
from ..draws import Draws, draw_parameters
from ..outcomes import HOLDS, NOT_FALLEN, Outcomes
from ..theatre import Theatre
from . import calendar, effects
from .calendar import Calendar
from .state import ALL, ASSAULTING, DORMANT, INF, MOVING, Allies, Axes, Hazards, Nodes, Params, Regime

__all__ = ["Block", "simulate"]

STATE = ("regime", "nodes", "axes", "allies", "hazards")  # a block's state, one struct of rows each


class Block:
    """One block of replications being simulated together: its theatre ``th``, parameters ``p``,
    state (``regime``, ``nodes``, ``axes``, ``allies``, ``hazards``), generator ``rng`` and the
    outcomes ``out`` being filled in."""

    def __init__(self, th: Theatre, d: Draws, horizon: int, rng: np.random.Generator):
        self.th, self.horizon, self.rng = th, horizon, rng
        self.events = 0  # events applied, summed over replications (for benchmarks)
        n, k, nn, na = d.n, th.n_axes, th.n_nodes, th.n_allies
        self.out = Outcomes.empty(n, nn, na)
        p = self.p = Params(th, d)
        self.calendar = Calendar(k)
        held = ~th.rebel_at_start[:, None]
        garrison = np.where(held, p.nodes.garrison, 0.0)
        core = garrison * p.nodes.core_share
        contingent = garrison - core
        zeros, nan = (lambda *shape: np.zeros(shape)), (lambda *shape: np.full(shape, np.nan))
        self.regime = Regime(
            rid=np.arange(n), t=zeros(n), ended=np.zeros(n, dtype=bool),
            log_odds=rules.belief.clip(rules.belief.logit(p.belief.initial)) + zeros(n),
            fled_day=nan(n), handover_day=nan(n), raised=np.stack([contingent.sum(axis=0), core.sum(axis=0)]),
            dispersed=zeros(2, n), capital_threat=zeros(n), capital_core=p.nodes.core_share[th.capital] + zeros(n),
            gov_air=zeros(n), rebel_air=zeros(n), gov_belief=zeros(n), rebel_belief=zeros(n), aid=zeros(n))
        self.nodes = Nodes(
            rebel=np.repeat(th.rebel_at_start[:, None], n, axis=1), contingent=np.ascontiguousarray(contingent),
            core=np.ascontiguousarray(core), gone_contingent=zeros(nn, n), gone_core=zeros(nn, n),
            opened=held & rules.cascade.is_open(garrison), mobilised=np.zeros((nn, n), dtype=bool), threat=zeros(nn, n),
            fall_day=nan(nn, n), fall_how=np.full((nn, n), NOT_FALLEN, dtype=np.int8), retaken_day=nan(nn, n))
        self.axes = Axes(
            status=np.full((k, n), MOVING, dtype=np.int8), leg=np.zeros((k, n), dtype=np.int64),
            leg_length=p.legs.km[:, 0, :].copy(), pos=zeros(k, n), speed=zeros(k, n),
            strength=p.axes.strength.copy(), raised=p.axes.strength.copy(), lost=zeros(k, n),
            momentum=p.axes.momentum.copy(), start_att=zeros(k, n), start_def=zeros(k, n),
            fresh=np.ones((k, n), dtype=bool), resume_day=zeros(k, n))
        self.allies = Allies(
            committed=np.zeros((na, n), dtype=bool), arrive_at=np.full((na, n), INF),
            arrived=np.zeros((na, n), dtype=bool), withdrawn=np.zeros((na, n), dtype=bool),
            arrival_day=nan(na, n), withdrawal_day=nan(na, n))
        self.hazards = Hazards(residual=rng.exponential(1.0, n), rate=zeros(2, n), rate_sum=zeros(n),
                               next_time=np.full(n, INF), next_kind=np.zeros(n, dtype=np.int64))

    def groups(self) -> list:
        """Every struct of rows in the working set: the state (STATE), then the parameters."""
        return [getattr(self, name) for name in STATE] + self.p.groups()

    def compact(self, keep: np.ndarray) -> None:
        """Keep only the rows where ``keep`` is True, in every array of the working set."""
        for rows in self.groups():
            rows.compact(keep)

    # ------------------------------------------------------------------ the day

    def setup(self) -> None:
        """The state at t = 0 (docs/MODEL.md section 3, setup): allies already there, latent groups
        dormant, axes placed on their first leg (or already assaulting), threat observed."""
        ax, p = self.axes, self.p
        rows = np.arange(len(self.regime.t))
        pi = rules.belief.probability(self.regime.log_odds)
        for a in range(self.th.n_axes):
            ax.pos[a] = np.minimum(p.axes.position_km[a], p.legs.km[a, 0])
            ax.status[a][~(pi < p.axes.rises_below[a])] = DORMANT
        for j in range(self.th.n_allies):
            there = rows[p.allies.committed[j] >= 0.5]
            self.allies.committed[j][there] = True
            effects.ally_arrives(self, there, j)
        for a in range(self.th.n_axes):
            effects.place(self, rows[(ax.status[a] == MOVING) & ~self.regime.ended], a)
        effects.moved(self, ALL)
        effects.observe_threat(self, rows[~self.regime.ended])
        p.drop_initial()

    def tick(self) -> None:
        """The daily tick in every row that has not ended (docs/MODEL.md section 3)."""
        ax, reg, p = self.axes, self.regime, self.p
        for a in range(self.th.n_axes):
            fight = np.flatnonzero(~reg.ended & (ax.status[a] == ASSAULTING) & (reg.t >= ax.resume_day[a]))
            if len(fight):
                effects.combat_round(self, fight, a)
        live = np.flatnonzero(~reg.ended)
        self.events += len(live)
        ax.momentum = rules.momentum.daily_decay(ax.momentum, p.momentum.decay_per_day)
        recruits = np.where(effects.active(self, ALL), rules.recruitment.joiners(
            p.axes.joiners_per_day, rules.belief.probability(reg.log_odds)), 0.0)
        ax.strength += recruits
        ax.raised += recruits
        for step in (effects.allies_act, effects.rise, effects.observe_threat, effects.mobilise, effects.cascade,
                     effects.counterattack, effects.relax):
            live = live[~reg.ended[live]]
            step(self, live)
        effects.moved(self, ALL)

    def day(self, until: float) -> None:
        """Every row's events before ``until`` (the next tick), in each row's own order."""
        reg, hz, cal = self.regime, self.hazards, self.calendar
        live = np.flatnonzero(~reg.ended)
        calendar.refresh(self, live)
        calendar.schedule(self, live)
        due = live[hz.next_time[live] < until]
        while len(due):
            self.events += len(due)
            kind = hz.next_kind[due]
            calendar.advance(self, due, hz.next_time[due])
            for c in np.flatnonzero(np.bincount(kind)):
                r = due[kind == c]
                if c == cal.hazard_kind:
                    calendar.hazard_fires(self, r)
                else:
                    effects.arrive(self, r, int(c))
            due = due[~reg.ended[due]]
            calendar.refresh(self, due)
            calendar.schedule(self, due)
            due = due[hz.next_time[due] < until]

    def run(self, progress=None) -> Outcomes:
        """Set up, then every day to the horizon; the outcomes of every row."""
        self.setup()
        return self.run_days(0, progress)

    def run_days(self, first: int, progress=None) -> Outcomes:
        """Days ``first`` to the horizon, from a state whose next step is day ``first``'s events
        (right after :meth:`setup` for ``first`` = 0, or after :meth:`tick` at ``first``)."""
        for d in range(first, max(self.horizon, 0)):
            if not self.events_until(d + 1.0):
                break
            if progress:
                progress((d + 1) / self.horizon)
            if d + 1 >= self.horizon:
                break
            self.advance(d + 1.0)
            self.tick()
        return self.finish()

    def events_until(self, until: float) -> bool:
        """The day's events before the tick at ``until``; False (doing nothing) if every row has ended."""
        reg = self.regime
        # Ended rows stay in the arrays, unread, until they are a quarter of them: compacting
        # every day would copy the whole state each time.
        ended = np.count_nonzero(reg.ended)
        if ended == len(reg.t):
            return False
        if 4 * ended > len(reg.t):
            effects.record(self, np.flatnonzero(reg.ended))
            self.compact(~reg.ended)
        self.day(until)
        return True

    def advance(self, t: float) -> None:
        """Every live row on to time ``t`` (the next tick), its positions and residuals with it."""
        calendar.advance(self, np.flatnonzero(~self.regime.ended), t)

    def finish(self) -> Outcomes:
        """The rows still live hold at the horizon; the outcomes of every row."""
        effects.end(self, np.flatnonzero(~self.regime.ended), HOLDS)
        effects.record(self, ALL)
        return self.out

    # ------------------------------------------------------------------ a population of particles

    def copy(self, rng: np.random.Generator) -> "Block":
        """An independent copy of the block's state going on with ``rng`` (parameters are shared:
        they are never written, only gathered)."""
        new = copy.copy(self)
        new.rng = rng
        new.out = Outcomes(**{f.name: getattr(self.out, f.name).copy() for f in fields(Outcomes)})
        for name in STATE:
            rows = getattr(self, name)
            setattr(new, name, type(rows)(**{f.name: _copied(getattr(rows, f.name)) for f in fields(rows)}))
        new.p = copy.copy(self.p)
        for name, group in vars(self.p).items():
            setattr(new.p, name, copy.copy(group))
        return new

    def extend(self, other: "Block") -> None:
        """Append ``other``'s rows (a block of the same theatre and horizon, its rows numbered 0..m-1
        and all live, as :meth:`resample` leaves them) after these, numbered on."""
        n, m = len(self.regime.rid), len(other.regime.rid)
        if len(self.out) != n or len(other.out) != m:
            raise ValueError("extend needs both blocks' rows numbered afresh (resample them first)")
        self.out = Outcomes(**{f.name: np.concatenate([getattr(self.out, f.name), getattr(other.out, f.name)])
                               for f in fields(Outcomes)})
        for mine, theirs in zip(self.groups(), other.groups()):
            mine.extend(theirs, n, m)
        self.regime.rid = np.arange(n + m)
        self.events += other.events

    def resample(self, index: np.ndarray) -> None:
        """Replace the rows by rows ``index`` (repeats allowed), numbered afresh; each copy's
        hazard residual is drawn anew, which is exact at a tick (the residual of a hazard that has
        not fired is a fresh unit exponential, whatever its past) and lets copies part."""
        index = np.asarray(index, dtype=np.int64)
        rid = self.regime.rid[index]
        self.out = Outcomes(**{f.name: getattr(self.out, f.name)[rid] for f in fields(Outcomes)})
        for rows in self.groups():
            rows.gather(index)
        self.regime.rid = np.arange(len(index))
        self.hazards.residual = self.rng.exponential(1.0, len(index))


def _copied(a):
    return a if a is None or not a.ndim else a.copy()


def simulate(scenario: Scenario, reps: int, *, rng: np.random.Generator,
             draws: Draws | None = None, progress=None) -> tuple[Outcomes, Draws]:
    """Run ``reps`` replications together; parameters are drawn first from ``rng`` (or given);
    ``progress(share)`` after each simulated day (the share of the horizon)."""
    th = Theatre.from_scenario(scenario)
    draws = draw_parameters(scenario, reps, rng=rng) if draws is None else draws
    # Overflow to infinity is the right limit wherever it can happen (a kill rate divided by a vanishing
    # defense: an instant rout; a distance divided by a vanishing speed: never there); NaN never is,
    # and still warns.
    with np.errstate(over="ignore", divide="ignore"):
        return Block(th, draws, scenario.horizon_days, rng).run(progress), draws
