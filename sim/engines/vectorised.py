"""The vectorised engine: N replications advanced together as numpy arrays.

Each step, every active replication takes its own next event from an event calendar of shape
(N, event kinds), found by argmin; the event kinds' effects are applied to the rows that drew them
through the same rule functions the reference engine calls (``sim.rules``). Finished replications
leave the working set.

Calendar columns, in tie-breaking order (argmin takes the first): the daily tick, each axis's
arrival at its next node, each ally's arrival, then the hazards (a desertion wave
at each node, the ruler's flight, a hand-over, an uprising). Hazards use the next-reaction method:
each keeps a unit-exponential residual that its rate integrates down between events, which is
exact for rates that are constant between events.
"""

from __future__ import annotations

import numpy as np

from .. import rules
from ..draws import Draws, draw_parameters
from ..outcomes import CAPTURED, COLLAPSED, HOLDS, Outcomes
from ..scenario import Scenario
from ..theatre import Theatre

MOVING, ASSAULTING, DONE = 0, 1, 2
INF = np.inf


class _Rows:
    """Per-replication arrays of the working set, all indexed by row first."""

    def keep(self, mask: np.ndarray) -> None:
        for k, v in vars(self).items():
            setattr(self, k, v[mask])


class Block:
    """One block of replications being simulated together."""

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
        for name, arr in vars(p.nodes).items():
            setattr(s, f"node_{name}", arr)
        for name, arr in vars(p.axes).items():
            setattr(s, f"axis_{name}", arr)
        for name, arr in vars(p.allies).items():
            setattr(s, f"ally_{name}", arr)
        for section, ns in p.sections.items():
            for name, arr in vars(ns).items():
                setattr(s, f"{section}_{name}", arr)
        legs = np.where(th.road_of >= 0, 0, np.nan)  # (k, L-1)
        s.leg_km = p.road_km[:, np.maximum(th.road_of, 0)] + legs if k else np.zeros((n, 0, 1))
        s.cum_km = np.concatenate([np.zeros((n, k, 1)), np.nancumsum(s.leg_km, axis=2)], axis=2) \
            if k else np.zeros((n, 0, 2))
        # State.
        s.rebel = np.broadcast_to(th.rebel_at_start, (n, nn)).copy()
        s.garrison = p.nodes.garrison.astype(float)
        s.fall_day = np.full((n, nn), np.nan)
        s.cohesion = p.cohesion.initial.astype(float)
        s.unrest = p.unrest.initial.astype(float)
        s.fled_day = np.full(n, np.nan)
        s.uprising_day = np.full(n, np.nan)
        s.deserted = np.zeros(n)
        s.status = np.full((n, k), MOVING, dtype=np.int8)
        s.leg = np.zeros((n, k), dtype=np.int64)
        s.pos = np.zeros((n, k))
        s.speed = np.zeros((n, k))
        s.strength = p.axes.strength.astype(float)
        s.momentum = p.axes.momentum.astype(float)
        s.start_att = np.zeros((n, k))
        s.start_def = np.zeros((n, k))
        s.fresh = np.ones((n, k), dtype=bool)
        s.resume_day = np.zeros((n, k))
        # An ally's decision depends on nothing in the state, so it is drawn up front and only its
        # arrival is an event: the same distribution as deciding on the day, with one event fewer.
        commits = rules.allies.commits(rng.uniform(0.0, 1.0, (n, na)), p.allies.commit_probability)
        s.ally_time = np.where(commits, p.allies.decision_day + p.allies.arrival_delay_days, INF)
        s.arrived = np.zeros((n, na), dtype=bool)
        s.arrival_day = np.full((n, na), np.nan)
        s.node_threat = np.zeros((n, nn))
        s.capital_threat = np.zeros(n)
        s.gov_air = np.zeros(n)  # support delivered so far, updated at each ally's arrival
        s.rebel_air = np.zeros(n)
        s.gov_cohesion = np.zeros(n)
        s.rebel_cohesion = np.zeros(n)
        # Hazard columns: a desertion wave at each node held by the government at the start (the
        # others never have a garrison to lose), then flight, hand-over and uprising.
        self.deserting = np.nonzero(~th.rebel_at_start)[0]
        self.n_hazards = len(self.deserting) + 3
        s.residual = rng.exponential(1.0, (n, self.n_hazards))
        s.rates = np.zeros((n, self.n_hazards))

    # ------------------------------------------------------------------ derived quantities

    def target(self, r, a):
        """Node each row's axis ``a`` is heading for (its last node once the route is done)."""
        return self.th.routes[a, np.minimum(self.s.leg[r, a] + 1, self.th.route_len[a] - 1)]

    def air(self, r, government: bool):
        """Air support delivered to a side (refreshed each step; it changes only at ally arrivals)."""
        return self.s.gov_air[r] if government else self.s.rebel_air[r]

    def mean_momentum(self, r):
        return rules.momentum.mean_active(self.s.momentum[r], self.s.status[r] != DONE)

    def observe_threat(self, r) -> None:
        s, th = self.s, self.th
        s.node_threat[r] = 0.0
        capital_distance = np.full(len(r), INF)
        scale = s.threat_scale_km[r]
        for a in range(th.n_axes):
            leg = s.leg[r, a]
            active = s.status[r, a] != DONE
            if not active.any():
                continue
            ra, lg = r[active], leg[active]
            to_target = s.leg_km[ra, a, lg] - s.pos[ra, a]
            tgt = th.routes[a, lg + 1]
            s.node_threat[ra, tgt] = np.maximum(s.node_threat[ra, tgt],
                                                rules.movement.threat(to_target, scale[active]))
            cap = th.capital_step[a]
            ahead = cap > lg
            if ahead.any():
                beyond = s.cum_km[ra[ahead], a, cap] - s.cum_km[ra[ahead], a, lg[ahead] + 1]
                idx = np.nonzero(active)[0][ahead]
                capital_distance[idx] = np.minimum(capital_distance[idx], to_target[ahead] + beyond)
        s.capital_threat[r] = rules.movement.threat(capital_distance, scale)

    # ------------------------------------------------------------------ effects (rows r)

    def end(self, r, state: int) -> None:
        s = self.s
        r = r[~s.ended[r]]
        s.ended[r] = True
        rid = s.rid[r]
        self.out.end_state[rid] = state
        if state != HOLDS:
            self.out.end_day[rid] = s.t[r]
            s.fall_day[r, self.th.capital] = s.t[r]

    def check_collapse(self, r) -> None:
        s = self.s
        r = r[~s.ended[r]]
        self.end(r[rules.cohesion.collapsed(s.cohesion[r], s.cohesion_collapse_below[r])], COLLAPSED)

    def move_on(self, r, a: int) -> None:
        s = self.s
        s.leg[r, a] += 1
        s.pos[r, a] = 0.0
        s.status[r, a] = np.where(s.leg[r, a] + 1 >= self.th.route_len[a], DONE, MOVING)

    def arrive(self, r, a: int) -> None:
        s = self.s
        s.pos[r, a] = s.leg_km[r, a, s.leg[r, a]]
        i = self.target(r, a)
        through = s.rebel[r, i]
        self.move_on(r[through], a)
        r, i = r[~through], i[~through]
        s.status[r, a] = ASSAULTING
        s.fresh[r, a] = True
        s.resume_day[r, a] = s.t[r]
        empty = s.garrison[r, i] <= 0.0
        self.capture(r[empty], a, i[empty])

    def capture(self, r, a: int, i) -> None:
        """Nodes ``i`` (one per row) fall to axis ``a``."""
        if len(r) == 0:
            return
        s, th = self.s, self.th
        s.rebel[r, i] = True
        s.fall_day[r, i] = s.t[r]
        survivors = s.garrison[r, i]
        s.garrison[r, i] = 0.0
        step = s.leg[r, a] + 1
        found = np.zeros(len(r), dtype=bool)
        for j in range(1, th.route_len[a]):
            node = th.routes[a, j]
            ok = (j > step) & ~found & ~s.rebel[r, node]
            s.garrison[r[ok], node] += rules.combat.retreating(survivors[ok], s.combat_retreat_fraction[r[ok]])
            found |= ok
        jump = s.momentum_jump[r]
        jumps = np.where(np.arange(th.n_axes) == a, jump[:, None], (s.momentum_spillover[r] * jump)[:, None])
        s.momentum[r] = rules.momentum.after_capture(s.momentum[r], jumps, s.momentum_cap[r][:, None])
        s.cohesion[r] = rules.cohesion.after_loss(s.cohesion[r], s.cohesion_shock[r], s.node_importance[r, i])
        at_capital = i == th.capital
        self.end(r[at_capital], CAPTURED)
        r, i = r[~at_capital], i[~at_capital]
        for b in range(th.n_axes):
            m = (s.status[r, b] == ASSAULTING) & (self.target(r, b) == i)
            self.move_on(r[m], b)
        self.check_collapse(r)

    def combat_round(self, r, a: int) -> None:
        s = self.s
        i = self.target(r, a)
        fresh = s.fresh[r, a]
        s.start_att[r[fresh], a] = s.strength[r[fresh], a]
        s.start_def[r[fresh], a] = s.garrison[r[fresh], i[fresh]]
        s.fresh[r, a] = False
        factor = rules.cohesion.combat_factor(s.cohesion[r], s.cohesion_combat_weight[r])
        mean_d, mean_a = rules.combat.round_means(
            s.strength[r, a], s.garrison[r, i], s.momentum[r, a], s.node_defense[r, i], factor,
            s.combat_kill_rate[r], self.air(r, True), self.air(r, False))
        s.garrison[r, i] -= rules.combat.draw_losses(mean_d, s.garrison[r, i], rng=self.rng)
        s.strength[r, a] -= rules.combat.draw_losses(mean_a, s.strength[r, a], rng=self.rng)
        outcome = rules.combat.resolve(
            rules.combat.broken(s.start_att[r, a], s.strength[r, a], s.axis_loss_tolerance[r, a]),
            rules.combat.broken(s.start_def[r, a], s.garrison[r, i], s.combat_defender_loss_tolerance[r] * factor))
        rep = r[outcome == rules.combat.REPULSED]
        s.momentum[rep, a] = rules.momentum.after_setback(s.momentum[rep, a], s.momentum_setback[rep])
        s.resume_day[rep, a] = s.t[rep] + s.combat_regroup_days[rep]
        s.fresh[rep, a] = True
        falls = outcome == rules.combat.FALLS
        self.capture(r[falls], a, i[falls])

    # ------------------------------------------------------------------ event kinds

    def tick(self, r) -> None:
        s, th = self.s, self.th
        for a in range(th.n_axes):
            live = r[~s.ended[r]]
            fight = live[(s.status[live, a] == ASSAULTING) & (s.t[live] >= s.resume_day[live, a])]
            if len(fight):
                self.combat_round(fight, a)
        r = r[~s.ended[r]]
        if len(r) == 0:
            return
        active = s.status[r] != DONE
        s.momentum[r] = rules.momentum.daily_decay(s.momentum[r], s.momentum_decay_per_day[r][:, None])
        s.strength[r] += np.where(active, s.axis_reinforcement_per_day[r], 0.0)
        self.observe_threat(r)
        s.unrest[r] = rules.unrest.daily(s.unrest[r], s.capital_threat[r], self.mean_momentum(r), s.cohesion[r],
                                         s.unrest_growth_per_day[r], s.unrest_decay_per_day[r])
        target = rules.cohesion.target(s.cohesion_target[r], s.gov_cohesion[r], s.rebel_cohesion[r],
                                       ~np.isnan(s.fled_day[r]))
        s.cohesion[r] = rules.cohesion.daily(s.cohesion[r], target, s.cohesion_recovery_per_day[r], s.unrest[r],
                                             s.cohesion_unrest_drag_per_day[r])
        self.check_collapse(r)

    def ally(self, r, j: int) -> None:
        """Ally ``j``'s support arrives."""
        s, th, c = self.s, self.th, r
        s.ally_time[c, j] = INF
        s.arrived[c, j] = True
        s.arrival_day[c, j] = s.t[c]
        gov = th.ally_government
        arrived, capacity = s.arrived[c], s.ally_capacity[c]
        s.gov_air[c] = rules.allies.side_total(arrived, capacity, s.ally_air_support[c], gov)
        s.rebel_air[c] = rules.allies.side_total(arrived, capacity, s.ally_air_support[c], ~gov)
        s.gov_cohesion[c] = rules.allies.side_total(arrived, capacity, s.ally_cohesion_support[c], gov)
        s.rebel_cohesion[c] = rules.allies.side_total(arrived, capacity, s.ally_cohesion_support[c], ~gov)
        forces = s.ally_capacity[c, j] * s.ally_ground_forces[c, j]
        if th.ally_government[j]:
            node = np.where(s.rebel[c, th.ally_deploy[j]], th.capital, th.ally_deploy[j])
            s.garrison[c, node] += forces
        else:
            active = s.status[c] != DONE
            s.strength[c] += np.where(active, rules.allies.split(forces, active.sum(axis=1))[:, None], 0.0)

    def hazard(self, r, h: int) -> None:
        s, th, nn = self.s, self.th, len(self.deserting)
        if h < nn:
            i = self.deserting[h]
            s.garrison[r, i], deserters = rules.desertion.wave(s.garrison[r, i], s.desertion_wave_fraction[r])
            s.deserted[r] += deserters
            s.unrest[r] = rules.unrest.after_wave(s.unrest[r], s.desertion_unrest_per_wave[r])
        elif h == nn:  # the ruler flees
            s.fled_day[r] = s.t[r]
            s.cohesion[r] = rules.cohesion.after_shock(s.cohesion[r], s.leadership_flight_cohesion_shock[r])
            self.check_collapse(r)
        elif h == nn + 1:  # a negotiated hand-over
            self.end(r, COLLAPSED)
        else:  # an uprising in the capital
            s.uprising_day[r] = s.t[r]
            s.garrison[r, th.capital] *= 1.0 - s.unrest_uprising_garrison_loss[r]
            s.cohesion[r] = rules.cohesion.after_shock(s.cohesion[r], s.unrest_uprising_cohesion_shock[r])
            self.check_collapse(r)

    # ------------------------------------------------------------------ the loop

    def refresh(self) -> None:
        """Speeds and hazard rates from the current state (constant until the next event)."""
        s, th = self.s, self.th
        s.speed = rules.movement.advance_speed(s.axis_speed_km_day, s.momentum, s.gov_air[:, None],
                                               s.combat_air_slowdown[:, None])
        mean_m = rules.momentum.mean_active(s.momentum, s.status != DONE)
        nodes = self.deserting
        live = ~s.rebel[:, nodes] & (s.garrison[:, nodes] > 0.0)
        desert = rules.desertion.hazard(
            s.desertion_base_rate_per_day[:, None], s.cohesion[:, None], mean_m[:, None], s.unrest[:, None],
            s.node_threat[:, nodes], s.desertion_cohesion_sensitivity[:, None],
            s.desertion_momentum_sensitivity[:, None], s.desertion_unrest_sensitivity[:, None],
            s.desertion_threat_sensitivity[:, None])
        present = np.isnan(s.fled_day)
        lead = (s.capital_threat, s.cohesion, s.unrest, s.leadership_threat_sensitivity,
                s.leadership_cohesion_sensitivity, s.leadership_unrest_sensitivity)
        nn = len(nodes)
        s.rates[:, :nn] = np.where(live, desert, 0.0)
        s.rates[:, nn] = np.where(present, rules.leadership.hazard(s.leadership_flight_rate_per_day, *lead), 0.0)
        s.rates[:, nn + 1] = np.where(present, rules.leadership.hazard(s.leadership_handover_rate_per_day, *lead), 0.0)
        s.rates[:, nn + 2] = np.where(np.isnan(s.uprising_day),
                                      rules.unrest.uprising_hazard(s.unrest, s.unrest_uprising_rate_per_day), 0.0)

    def calendar(self) -> np.ndarray:
        """Next time of each event kind, shape (rows, kinds), in tie-breaking column order."""
        s, k, na = self.s, self.th.n_axes, self.th.n_allies
        cal = np.full((len(s.t), 1 + k + na + self.n_hazards), INF)
        np.floor(s.t, out=cal[:, 0])
        cal[:, 0] += 1.0
        leg = np.minimum(s.leg, s.leg_km.shape[2] - 1)  # finished axes point past their last leg
        remaining = np.take_along_axis(s.leg_km, leg[:, :, None], axis=2)[:, :, 0] - s.pos
        np.maximum(remaining, 0.0, out=remaining)  # a rounding error past a leg's end arrives now, not earlier
        np.divide(remaining, s.speed, out=cal[:, 1: 1 + k], where=(s.status == MOVING) & (s.speed > 0.0))
        cal[:, 1 + k: 1 + k + na] = s.ally_time
        np.divide(s.residual, s.rates, out=cal[:, 1 + k + na:], where=s.rates > 0.0)
        cal[:, 1:1 + k] += s.t[:, None]
        cal[:, 1 + k + na:] += s.t[:, None]
        return cal

    def setup(self) -> None:
        s, th = self.s, self.th
        r = np.arange(len(s.t))
        for a in range(th.n_axes):
            leg0 = s.leg_km[:, a, 0]
            s.pos[:, a] = np.minimum(s.axis_position_km[:, a], leg0)
            go = ((s.axis_assaulting[:, a] >= 0.5) | (s.pos[:, a] >= leg0)) & ~s.ended
            self.arrive(r[go], a)
        live = r[~s.ended]
        self.observe_threat(live)
        self.check_collapse(live)

    def record(self, rows: np.ndarray) -> None:
        """Copy the final state of ``rows`` (all ended) into the outcomes."""
        s, o = self.s, self.out
        rid = s.rid[rows]
        o.node_fall_day[rid] = s.fall_day[rows]
        o.leader_fled_day[rid] = s.fled_day[rows]
        o.uprising_day[rid] = s.uprising_day[rows]
        o.desertions[rid] = s.deserted[rows]
        o.ally_arrival_day[rid] = s.arrival_day[rows]
        o.final_cohesion[rid] = s.cohesion[rows]

    def compact(self) -> None:
        """Record the ended rows and drop them from the working set."""
        ended = self.s.ended
        self.record(np.nonzero(ended)[0])
        self.s.keep(~ended)

    def run(self) -> Outcomes:
        s, th = self.s, self.th
        k, na = th.n_axes, th.n_allies
        self.setup()
        if self.horizon <= 0:
            s.ended[:] = True
        # Ended rows stay in the arrays, frozen, until they are half of them: compacting every
        # step would copy the whole state each time.
        while True:
            n_ended = np.count_nonzero(s.ended)
            if n_ended == len(s.t) or 2 * n_ended > len(s.t):
                self.compact()
                if not len(s.t):
                    return self.out
            self.refresh()
            cal = self.calendar()
            kind = np.argmin(cal, axis=1)
            rows = np.arange(len(kind))
            t_next = cal[rows, kind]
            s.ended |= t_next >= self.horizon  # the rest hold at the horizon
            t_next = np.where(s.ended, s.t, t_next)
            dt = t_next - s.t
            s.pos += np.where(s.status == MOVING, s.speed * dt[:, None], 0.0)
            s.residual -= s.rates * dt[:, None]
            s.t = t_next
            live = ~s.ended
            kind, rows = kind[live], rows[live]
            self.events += len(rows)
            for c in np.unique(kind):
                r = rows[kind == c]
                if c == 0:
                    self.tick(r)
                elif c <= k:
                    self.arrive(r, c - 1)
                elif c <= k + na:
                    self.ally(r, c - 1 - k)
                else:
                    h = c - 1 - k - na
                    s.residual[r, h] = self.rng.exponential(1.0, len(r))
                    self.hazard(r, h)


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
