"""The vectorised engine: N replications advanced together as numpy arrays.

Time runs day by day, because the daily tick falls at the same time in every replication. Within a
day each replication takes its own events in order: an event calendar gives every row's next
event (an axis reaching its next node, an ally's arrival, a hazard firing), the rows whose next
event comes before the next tick apply it through the same rule functions the reference engine
calls (``sim.rules``), and only those rows are rescheduled, until no row has an event left before
the tick. Then every replication ticks at once, as whole-array operations. Finished replications
leave the working set.

Hazards use the next-reaction method on their sum: each row keeps one unit-exponential residual
that the total rate (all desertion waves, flight, hand-over, uprising) integrates down between
events, and when it fires, which hazard it was is drawn in proportion to the rates. This is exact
for rates that are constant between events, and the rates are (docs/MODEL.md, section 3).

Layout: every array's last axis runs over replications (rows), so ``momentum`` is (axes, rows)
and ``garrison`` (nodes, rows). A row subset is gathered with ``take`` along that axis, and one
entity per row (the node each row's axis is attacking) through flat indices: both are numpy's fast
paths, several times faster than gathering rows of a row-major (rows, entities) array.
"""

from __future__ import annotations

import numpy as np

from ... import rules
from ..draws import Draws, draw_parameters
from ..outcomes import CAPTURED, COLLAPSED, HOLDS, Outcomes
from ...scenario.schema import Scenario
from ..theatre import Theatre

MOVING, ASSAULTING, DONE = 0, 1, 2
DESERTION, FLIGHT, HANDOVER, UPRISING = 0, 1, 2, 3  # the hazards, in the order they are drawn
INF = np.inf
ALL = slice(None)


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
    """A 1-d view of ``a`` (never a copy, so writes reach ``a``) for (entity x rows + row) indices."""
    return np.reshape(a, -1, copy=False)


def entity(a: np.ndarray, i, r) -> np.ndarray:
    """Parameter ``a`` (entities x rows) of entity ``i[k]`` in row ``r[k]``; ``a`` may be a read-only
    view that repeats one column (a parameter fixed for each entity)."""
    return a[i, 0] if a.strides[-1] == 0 else flat(a)[i * a.shape[-1] + r]


def total_rate(rate: np.ndarray) -> np.ndarray:
    """Sum of the hazards' rates, always added in the same order."""
    return ((rate[DESERTION] + rate[FLIGHT]) + rate[HANDOVER]) + rate[UPRISING]


class _Rows:
    """Arrays of the working set, rows on the last axis."""

    def keep(self, mask: np.ndarray) -> None:
        rows = np.count_nonzero(mask)
        for k, v in vars(self).items():
            if not v.ndim:  # a parameter the same in every row
                continue
            if v.strides[-1] == 0:  # a parameter the same in every row for each entity: a view
                setattr(self, k, v[..., :rows])
            else:
                setattr(self, k, v.compress(mask, axis=-1))  # C-contiguous, as flat() needs


class Block:
    """One block of replications being simulated together."""

    # parameters read only to set up the state at t = 0, dropped from the working set after that
    # (population is not read at all: it weighs the control share, from the outcomes)
    INITIAL = ("node_garrison", "axis_strength", "axis_momentum", "axis_position_km", "axis_assaulting",
               "cohesion_initial", "unrest_initial", "ally_decision_day", "ally_arrival_delay_days",
               "ally_commit_probability", "node_population")

    def __init__(self, th: Theatre, p: Draws, horizon: int, rng: np.random.Generator):
        self.th, self.horizon, self.rng = th, horizon, rng
        self.events = 0  # events applied, summed over replications (for benchmarks)
        n, k, nn, na = p.n, th.n_axes, th.n_nodes, th.n_allies
        self.out = Outcomes.empty(n, nn, na)
        s = self.s = _Rows()
        s.rid = np.arange(n)
        s.t = np.zeros(n)
        s.ended = np.zeros(n, dtype=bool)
        # Parameters (read-only here; held per row so that they shrink with the working set).
        for prefix, ns in (("node", p.nodes), ("axis", p.axes), ("ally", p.allies)):
            for name, arr in vars(ns).items():
                fixed = arr.ndim == 2 and arr.shape[1] > 0 and arr.strides[-1] == 0
                setattr(s, f"{prefix}_{name}", arr if fixed else np.ascontiguousarray(arr, dtype=float))
        for section, ns in p.sections.items():
            for name, arr in vars(ns).items():
                if n and f"{section}_{name}" not in self.INITIAL and (arr == arr[0]).all():
                    arr = np.array(arr[0], dtype=float)  # fixed: read as a scalar, never gathered
                setattr(s, f"{section}_{name}", arr)
        legs = np.where(th.road_of >= 0, 0, np.nan)[:, :, None]  # (k, L-1, 1): NaN past a route's end
        s.leg_km = p.road_km[np.maximum(th.road_of, 0)] + legs if k else np.zeros((0, 1, n))
        s.cum_km = np.concatenate([np.zeros((k, 1, n)), np.nancumsum(s.leg_km, axis=1)], axis=1) \
            if k else np.zeros((0, 2, n))
        # State.
        s.rebel = np.repeat(th.rebel_at_start[:, None], n, axis=1)
        s.garrison = s.node_garrison.copy()
        s.fall_day = np.full((nn, n), np.nan)
        s.cohesion = s.cohesion_initial.copy()
        s.unrest = s.unrest_initial.copy()
        s.fled_day = np.full(n, np.nan)
        s.uprising_day = np.full(n, np.nan)
        s.deserted = np.zeros(n)
        s.status = np.full((k, n), MOVING, dtype=np.int8)
        s.leg = np.zeros((k, n), dtype=np.int64)
        s.leg_length = s.leg_km[:, 0, :].copy()  # km of the current leg
        s.pos = np.zeros((k, n))
        s.speed = np.zeros((k, n))
        s.mean_momentum = np.ones(n)  # over active axes
        s.strength = s.axis_strength.copy()
        s.momentum = s.axis_momentum.copy()
        s.start_att = np.zeros((k, n))
        s.start_def = np.zeros((k, n))
        s.fresh = np.ones((k, n), dtype=bool)
        s.resume_day = np.zeros((k, n))
        # An ally's decision depends on nothing in the state, so it is drawn up front and only its
        # arrival is an event: the same distribution, with one event fewer. Each row takes its
        # allies' arrivals in time order (ties in ally order), one calendar column for them all.
        commits = rules.allies.commits(rng.uniform(0.0, 1.0, (na, n)), s.ally_commit_probability)
        ally_time = np.where(commits, s.ally_decision_day + s.ally_arrival_delay_days, INF)
        s.ally_order = np.argsort(ally_time, axis=0, kind="stable")
        s.ally_times = np.concatenate([np.take_along_axis(ally_time, s.ally_order, axis=0),
                                       np.full((1, n), INF)], axis=0)
        s.ally_next = np.zeros(n, dtype=np.int64)  # how many of the row's allies have arrived
        s.ally_time = s.ally_times[0].copy()       # when the next one arrives
        s.arrived = np.zeros((na, n), dtype=bool)
        s.arrival_day = np.full((na, n), np.nan)
        s.capital_threat = np.zeros(n)
        s.gov_air = np.zeros(n)  # support delivered so far, added to at each ally's arrival
        s.rebel_air = np.zeros(n)
        s.gov_cohesion = np.zeros(n)
        s.rebel_cohesion = np.zeros(n)
        # Desertion can strike only nodes held by the government at the start (the others never
        # have a garrison to lose); each one's exposure to the daily threat snapshot is kept.
        self.deserting = np.nonzero(~th.rebel_at_start)[0]
        self.slot = np.full(nn, len(self.deserting))  # each node's row in ``exposure`` (past the end: none)
        self.slot[self.deserting] = np.arange(len(self.deserting))
        s.exposure = np.zeros((len(self.deserting), n))
        s.manned_exposure = np.zeros((len(self.deserting), n))  # 0 where the garrison is empty
        s.exposed = np.zeros(n)  # summed over the garrisons
        s.residual = rng.exponential(1.0, n)
        s.rate = np.zeros((4, n))  # DESERTION (all garrisons together), FLIGHT, HANDOVER, UPRISING
        s.rate_sum = np.zeros(n)
        s.next_time = np.full(n, INF)
        s.next_kind = np.zeros(n, dtype=np.int64)  # axis a is a; k an ally; k + 1 a hazard

    # ------------------------------------------------------------------ derived quantities

    def target(self, r, a: int):
        """Node each row's axis ``a`` is heading for (its last node once the route is done)."""
        return self.th.routes[a, np.minimum(self.s.leg[a][r] + 1, self.th.route_len[a] - 1)]

    def observe_threat(self) -> None:
        """The daily threat snapshot of every row: the capital's threat and each garrison's exposure."""
        s, th = self.s, self.th
        n, garrisons = len(s.t), len(self.deserting)
        node_threat = np.zeros((garrisons + 1, n))  # the last row collects threat to other nodes
        flat_threat = flat(node_threat)
        capital_distance = np.full(n, INF)
        scale = s.threat_scale_km
        rows = np.arange(n)
        for a in range(th.n_axes):
            active = s.status[a] != DONE
            leg = s.leg[a]
            to_target = s.leg_length[a] - s.pos[a]
            slot = self.slot[th.routes[a, np.minimum(leg + 1, th.route_len[a] - 1)]]
            at = np.where(active, slot, garrisons) * n + rows
            flat_threat[at] = np.maximum(flat_threat[at], rules.movement.threat(to_target, scale))
            cap = th.capital_step[a]
            ahead = active & (cap > leg)
            if cap > 0 and ahead.any():
                beyond = s.cum_km[a, cap] - flat(s.cum_km[a])[np.minimum(leg + 1, cap) * n + rows]
                capital_distance = np.where(ahead, np.minimum(capital_distance, to_target + beyond),
                                            capital_distance)
        s.capital_threat = rules.movement.threat(capital_distance, scale)
        s.exposure = rules.desertion.exposure(node_threat[:garrisons], s.desertion_threat_sensitivity)
        self.manned(ALL)

    def moved(self, r) -> None:
        """Speeds (0 unless moving) and mean momentum of rows ``r``, after their momentum, air support
        or axes' status changed: only arrivals (with their captures), allies and the tick change them."""
        s = self.s
        momentum, status = take(s.momentum, r), take(s.status, r)
        put(s.speed, r, np.where(status == MOVING, rules.movement.advance_speed(
            take(s.axis_speed_km_day, r), momentum, s.gov_air[r], take(s.combat_air_slowdown, r)), 0.0))
        s.mean_momentum[r] = rules.momentum.mean_active(momentum, status != DONE, axis=0)

    def manned(self, r) -> None:
        """Summed exposure of the manned garrisons of rows ``r`` (the desertion hazard's garrison
        factor), after their exposure or a garrison's emptiness changed."""
        s = self.s
        exposed = 0.0
        for g, node in enumerate(self.deserting):
            weight = np.where(s.garrison[node][r] > 0.0, s.exposure[g][r], 0.0)
            s.manned_exposure[g][r] = weight
            exposed = exposed + weight
        s.exposed[r] = exposed

    # ------------------------------------------------------------------ effects (rows r)

    def end(self, r, state: int) -> None:
        """Rows ``r`` end in ``state`` now. The tick goes on updating an ended row's cohesion, so it
        is recorded now; nothing else of an ended row changes, and :meth:`record` copies it later."""
        s, o = self.s, self.out
        r = r[~s.ended[r]]
        if not len(r):
            return
        s.ended[r] = True
        rid = s.rid[r]
        o.end_state[rid] = state
        if state != HOLDS:
            o.end_day[rid] = s.t[r]
            s.fall_day[self.th.capital][r] = s.t[r]
        o.final_cohesion[rid] = s.cohesion[r]

    def record(self, r) -> None:
        """Copy the rest of the outcomes of ended rows ``r``."""
        s, o = self.s, self.out
        rid = s.rid[r]
        o.node_fall_day[rid] = take(s.fall_day, r).T
        o.leader_fled_day[rid] = s.fled_day[r]
        o.uprising_day[rid] = s.uprising_day[r]
        o.desertions[rid] = s.deserted[r]
        o.ally_arrival_day[rid] = take(s.arrival_day, r).T

    def check_collapse(self, r) -> None:
        s = self.s
        r = r[~s.ended[r]]
        if len(r):
            self.end(r[rules.cohesion.collapsed(s.cohesion[r], take(s.cohesion_collapse_below, r))], COLLAPSED)

    def move_on(self, r, a: int) -> None:
        s = self.s
        leg = s.leg[a][r] + 1
        s.leg[a][r] = leg
        s.leg_length[a][r] = flat(s.leg_km[a])[np.minimum(leg, s.leg_km.shape[1] - 1) * len(s.t) + r]
        s.pos[a][r] = 0.0
        s.status[a][r] = np.where(leg + 1 >= self.th.route_len[a], DONE, MOVING)

    def arrive(self, r, a: int) -> None:
        s, rows = self.s, r
        s.pos[a][r] = s.leg_length[a][r]
        i = self.target(r, a)
        through = flat(s.rebel)[i * len(s.t) + r]
        self.move_on(r[through], a)
        r, i = r[~through], i[~through]
        s.status[a][r] = ASSAULTING
        s.fresh[a][r] = True
        s.resume_day[a][r] = s.t[r]
        empty = flat(s.garrison)[i * len(s.t) + r] <= 0.0
        self.capture(r[empty], a, i[empty])
        self.moved(rows)

    def capture(self, r, a: int, i) -> None:
        """Nodes ``i`` (one per row) fall to axis ``a``."""
        if len(r) == 0:
            return
        s, th = self.s, self.th
        at = i * len(s.t) + r
        flat(s.rebel)[at] = True
        flat(s.fall_day)[at] = s.t[r]
        garrison = flat(s.garrison)
        survivors = garrison[at]
        garrison[at] = 0.0
        step = s.leg[a][r] + 1
        found = np.zeros(len(r), dtype=bool)
        for j in range(1, th.route_len[a]):
            node = th.routes[a, j]
            ok = (j > step) & ~found & ~s.rebel[node][r]
            s.garrison[node][r[ok]] += rules.combat.retreating(survivors[ok], take(s.combat_retreat_fraction, r[ok]))
            found |= ok
        jump, cap = take(s.momentum_jump, r), take(s.momentum_cap, r)
        for b in range(th.n_axes):
            step_up = jump if b == a else take(s.momentum_spillover, r) * jump
            s.momentum[b][r] = rules.momentum.after_capture(s.momentum[b][r], step_up, cap)
        s.cohesion[r] = rules.cohesion.after_loss(s.cohesion[r], take(s.cohesion_shock, r), entity(s.node_importance, i, r))
        self.manned(r)
        at_capital = i == th.capital
        self.end(r[at_capital], CAPTURED)
        r, i = r[~at_capital], i[~at_capital]
        for b in range(th.n_axes):
            m = (s.status[b][r] == ASSAULTING) & (self.target(r, b) == i)
            self.move_on(r[m], b)
        self.check_collapse(r)

    def combat_round(self, r, a: int) -> None:
        s = self.s
        i = self.target(r, a)
        at = i * len(s.t) + r
        garrison, strength = flat(s.garrison)[at], s.strength[a][r]
        fresh = s.fresh[a][r]
        s.start_att[a][r[fresh]] = strength[fresh]
        s.start_def[a][r[fresh]] = garrison[fresh]
        s.fresh[a][r] = False
        factor = rules.cohesion.combat_factor(s.cohesion[r], take(s.cohesion_combat_weight, r))
        mean_d, mean_a = rules.combat.round_means(
            strength, garrison, s.momentum[a][r], entity(s.node_defense, i, r), factor,
            take(s.combat_kill_rate, r), s.gov_air[r], s.rebel_air[r])
        garrison = garrison - rules.combat.draw_losses(mean_d, garrison, rng=self.rng)
        strength = strength - rules.combat.draw_losses(mean_a, strength, rng=self.rng)
        flat(s.garrison)[at], s.strength[a][r] = garrison, strength
        outcome = rules.combat.resolve(
            rules.combat.broken(s.start_att[a][r], strength, s.axis_loss_tolerance[a][r]),
            rules.combat.broken(s.start_def[a][r], garrison, take(s.combat_defender_loss_tolerance, r) * factor))
        rep = r[outcome == rules.combat.REPULSED]
        s.momentum[a][rep] = rules.momentum.after_setback(s.momentum[a][rep], take(s.momentum_setback, rep))
        s.resume_day[a][rep] = s.t[rep] + take(s.combat_regroup_days, rep)
        s.fresh[a][rep] = True
        falls = outcome == rules.combat.FALLS
        self.capture(r[falls], a, i[falls])

    def ally(self, r, j) -> None:
        """Ally ``j`` (one per row) arrives in rows ``r``: its side's totals grow by its share."""
        s, th, n = self.s, self.th, len(self.s.t)
        at = j * n + r
        flat(s.arrived)[at] = True
        flat(s.arrival_day)[at] = s.t[r]
        capacity = entity(s.ally_capacity, j, r)
        air = rules.allies.support(capacity, entity(s.ally_air_support, j, r))
        cohesion = rules.allies.support(capacity, entity(s.ally_cohesion_support, j, r))
        forces = rules.allies.support(capacity, entity(s.ally_ground_forces, j, r))
        gov = th.ally_government[j]
        reb = ~gov
        if gov.any():
            g, deploy = r[gov], th.ally_deploy[j[gov]]
            s.gov_air[g] += air[gov]
            s.gov_cohesion[g] += cohesion[gov]
            at = np.where(flat(s.rebel)[deploy * n + g], th.capital, deploy) * n + g
            garrison = flat(s.garrison)
            empty = garrison[at] <= 0.0
            garrison[at] += forces[gov]
            self.moved(g)  # the government's air slows the advance
            self.manned(g[empty])
        if reb.any():
            b = r[reb]
            s.rebel_air[b] += air[reb]
            s.rebel_cohesion[b] += cohesion[reb]
            active = take(s.status, b) != DONE
            put(s.strength, b, take(s.strength, b)
                + np.where(active, rules.allies.split(forces[reb], active.sum(axis=0)), 0.0))

    def hazard(self, r, h: int, node=None) -> None:
        """Hazard ``h`` fires in rows ``r`` (a desertion wave at ``node``, one per row)."""
        s, th = self.s, self.th
        if h == DESERTION:
            at = node * len(s.t) + r
            garrison = flat(s.garrison)
            garrison[at], deserters = rules.desertion.wave(garrison[at], take(s.desertion_wave_fraction, r))
            s.deserted[r] += deserters
            s.unrest[r] = rules.unrest.after_wave(s.unrest[r], take(s.desertion_unrest_per_wave, r))
            self.manned(r[garrison[at] <= 0.0])
        elif h == FLIGHT:
            s.fled_day[r] = s.t[r]
            s.cohesion[r] = rules.cohesion.after_shock(s.cohesion[r], take(s.leadership_flight_cohesion_shock, r))
            self.check_collapse(r)
        elif h == HANDOVER:
            self.end(r, COLLAPSED)
        else:
            s.uprising_day[r] = s.t[r]
            s.garrison[th.capital][r] *= 1.0 - take(s.unrest_uprising_garrison_loss, r)
            self.manned(r[s.garrison[th.capital][r] <= 0.0])
            s.cohesion[r] = rules.cohesion.after_shock(s.cohesion[r], take(s.unrest_uprising_cohesion_shock, r))
            self.check_collapse(r)

    # ------------------------------------------------------------------ event kinds

    def tick(self) -> None:
        """The daily tick in every row: assault rounds, then momentum, reinforcements, threat, unrest,
        cohesion. Rows that have ended are carried along but never read again (see :meth:`end`)."""
        s, th = self.s, self.th
        for a in range(th.n_axes):
            fight = np.flatnonzero(~s.ended & (s.status[a] == ASSAULTING) & (s.t >= s.resume_day[a]))
            if len(fight):
                self.combat_round(fight, a)
        live = np.flatnonzero(~s.ended)
        self.events += len(live)
        s.momentum = rules.momentum.daily_decay(s.momentum, s.momentum_decay_per_day)
        s.strength += np.where(s.status != DONE, s.axis_reinforcement_per_day, 0.0)
        self.moved(ALL)
        self.observe_threat()
        s.unrest = rules.unrest.daily(s.unrest, s.capital_threat, s.mean_momentum, s.cohesion,
                                      s.unrest_growth_per_day, s.unrest_decay_per_day)
        target = rules.cohesion.target(s.cohesion_target, s.gov_cohesion, s.rebel_cohesion, ~np.isnan(s.fled_day))
        s.cohesion = rules.cohesion.daily(s.cohesion, target, s.cohesion_recovery_per_day, s.unrest,
                                          s.cohesion_unrest_drag_per_day)
        self.check_collapse(live)

    def ally_arrives(self, r) -> None:
        """Each row's next ally (in its arrival order) arrives."""
        s, n = self.s, len(self.s.t)
        j = flat(s.ally_order)[s.ally_next[r] * n + r]
        s.ally_next[r] += 1
        s.ally_time[r] = flat(s.ally_times)[s.ally_next[r] * n + r]
        self.ally(r, j)

    def hazard_fires(self, r) -> None:
        """The summed hazard fires in rows ``r``: which one it was is drawn in proportion to the rates."""
        s = self.s
        s.residual[r] = self.rng.exponential(1.0, len(r))
        rate = take(s.rate, r)
        total = s.rate_sum[r]  # as scheduled
        u = self.rng.uniform(0.0, 1.0, len(r)) * total
        below = rate[DESERTION]
        h = (below <= u).astype(np.int64)
        for kind in (FLIGHT, HANDOVER):
            below = below + rate[kind]
            h += below <= u
        if not np.isfinite(total).all():  # an infinite rate fires first
            h = np.where(np.isinf(total), np.argmax(np.isinf(rate), axis=0), h)
        for kind in np.flatnonzero(np.bincount(h)):
            rows = r[h == kind]
            if kind != DESERTION:
                self.hazard(rows, int(kind))
                continue
            # which garrison: in proportion to its exposure (the pressure is common to them all)
            weight = take(s.manned_exposure, rows)
            u = self.rng.uniform(0.0, 1.0, len(rows)) * s.exposed[rows]
            below, g = 0.0, np.zeros(len(rows), dtype=np.int64)
            for w in weight[:-1]:
                below = below + w
                g += below <= u
            self.hazard(rows, DESERTION, self.deserting[g])

    # ------------------------------------------------------------------ the calendar

    def refresh(self, r) -> None:
        """Hazard rates of rows ``r`` (an index array or ALL) from their state: constant until their
        next event."""
        s = self.s
        cohesion, unrest, exposed = s.cohesion[r], s.unrest[r], s.exposed[r]
        pressure = rules.desertion.pressure(
            take(s.desertion_base_rate_per_day, r), cohesion, s.mean_momentum[r], unrest,
            take(s.desertion_cohesion_sensitivity, r), take(s.desertion_momentum_sensitivity, r),
            take(s.desertion_unrest_sensitivity, r))
        ruler = np.where(np.isnan(s.fled_day[r]), rules.leadership.pressure(
            s.capital_threat[r], cohesion, unrest, take(s.leadership_threat_sensitivity, r),
            take(s.leadership_cohesion_sensitivity, r), take(s.leadership_unrest_sensitivity, r)), 0.0)
        rate = s.rate
        rate[DESERTION][r] = np.where(exposed > 0.0, pressure * exposed, 0.0)
        rate[FLIGHT][r] = take(s.leadership_flight_rate_per_day, r) * ruler
        rate[HANDOVER][r] = take(s.leadership_handover_rate_per_day, r) * ruler
        rate[UPRISING][r] = np.where(np.isnan(s.uprising_day[r]),
                                     rules.unrest.uprising_hazard(unrest, take(s.unrest_uprising_rate_per_day, r)), 0.0)

    def schedule(self, r) -> None:
        """Next event time and kind of rows ``r``; ties go to axes in order, then allies, then hazards."""
        s, k = self.s, self.th.n_axes
        t, total = s.t[r], total_rate(take(s.rate, r))
        s.rate_sum[r] = total
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 and x / 0 are never chosen
            when = t + np.where(total > 0.0, s.residual[r] / total, INF)
            ally = s.ally_time[r]
            kind = np.where(ally <= when, k, k + 1)
            np.minimum(when, ally, out=when)
            for a in reversed(range(k)):
                speed = s.speed[a][r]
                # max(): a rounding error past a leg's end arrives now, not earlier
                remaining = np.maximum(s.leg_length[a][r] - s.pos[a][r], 0.0)
                arrival = t + np.where(speed > 0.0, remaining / speed, INF)
                kind[arrival <= when] = a
                np.minimum(when, arrival, out=when)
        s.next_time[r], s.next_kind[r] = when, kind

    def advance(self, r, until) -> None:
        """Move rows ``r`` on to time ``until``: positions at their speeds, residuals at their rates."""
        s = self.s
        dt = until - s.t[r]
        for a in range(self.th.n_axes):
            s.pos[a][r] += s.speed[a][r] * dt
        s.residual[r] -= s.rate_sum[r] * dt
        s.t[r] = until

    # ------------------------------------------------------------------ the loop

    def setup(self) -> None:
        s, th = self.s, self.th
        for a in range(th.n_axes):
            leg0 = s.leg_km[a, 0]
            s.pos[a] = np.minimum(s.axis_position_km[a], leg0)
            self.arrive(np.flatnonzero(((s.axis_assaulting[a] >= 0.5) | (s.pos[a] >= leg0)) & ~s.ended), a)
        self.moved(ALL)
        self.observe_threat()
        self.check_collapse(np.arange(len(s.t)))
        for name in self.INITIAL:
            delattr(s, name)

    def day(self, until: float) -> None:
        """Every row's events before ``until`` (the next tick), in each row's own order."""
        s, k = self.s, self.th.n_axes
        self.refresh(ALL)
        self.schedule(ALL)
        due = np.flatnonzero((s.next_time < until) & ~s.ended)
        while len(due):
            self.events += len(due)
            kind = s.next_kind[due]
            self.advance(due, s.next_time[due])
            for c in np.flatnonzero(np.bincount(kind)):
                r = due[kind == c]
                if c < k:
                    self.arrive(r, int(c))
                elif c == k:
                    self.ally_arrives(r)
                else:
                    self.hazard_fires(r)
            due = due[~s.ended[due]]
            self.refresh(due)
            self.schedule(due)
            due = due[s.next_time[due] < until]

    def run(self) -> Outcomes:
        s = self.s
        self.setup()
        for d in range(max(self.horizon, 0)):
            # Ended rows stay in the arrays, unread, until they are a quarter of them: compacting
            # every day would copy the whole state each time.
            ended = np.count_nonzero(s.ended)
            if ended == len(s.t):
                break
            if 4 * ended > len(s.t):
                self.record(np.flatnonzero(s.ended))
                s.keep(~s.ended)
            self.day(d + 1.0)
            if d + 1 >= self.horizon:
                break
            self.advance(ALL, d + 1.0)
            self.tick()
        self.end(np.flatnonzero(~s.ended), HOLDS)
        self.record(ALL)
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
