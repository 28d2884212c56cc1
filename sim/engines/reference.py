"""The reference engine: one replication at a time as simpy processes.

It is the readable statement of the model's semantics (docs/MODEL.md): a daily clock, one process
per rebel axis, per garrison's desertion hazard, per ally, and for the ruler's flight, a hand-over
and an uprising. Hazard processes wait for an exponential time at the current rate, or for the
state to change, whichever comes first, and then draw again: rates are constant between events,
so this is exact.

Simultaneous events: the daily tick runs before any other event due at the same time (it is
scheduled URGENT); the vectorised engine breaks ties the same way.
"""

from __future__ import annotations

import math

import numpy as np
import simpy
from simpy.events import URGENT

from .. import rules
from .draws import Draws, draw_parameters
from .outcomes import CAPTURED, COLLAPSED, HOLDS, Outcomes
from ..scenario.schema import Scenario
from .theatre import Theatre

MOVING, ASSAULTING, DONE = 0, 1, 2
# The event effects, with the names, numbered steps and docs/MODEL.md sections of their counterparts
# in the vectorised engine (sim/engines/vectorised/effects.py), so the two read side by side.
EFFECTS = ("arrive", "move_on", "capture", "combat_round", "ally_arrives", "desert", "flee", "hand_over", "rise",
           "end", "check_collapse")


class _Tick(simpy.events.Event):
    """A timeout that fires before ordinary events due at the same time (inlined from Timeout)."""

    def __init__(self, env: simpy.Environment, delay: float):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


class Replication:
    """The state of one replication and the processes that change it."""

    def __init__(self, th: Theatre, p: Draws, horizon: int, rng: np.random.Generator):
        self.th, self.p, self.horizon, self.rng = th, p, horizon, rng
        self.env = simpy.Environment()
        self.changed = self.env.event()
        self.events = 0  # model events applied (for benchmarks)
        self.ended = False
        self.end_state, self.end_day = HOLDS, math.nan

        self.rebel = th.rebel_at_start.copy()
        self.garrison = np.array(p.nodes.garrison, dtype=float)
        self.fall_day = np.full(th.n_nodes, math.nan)
        self.cohesion = float(p.cohesion.initial)
        self.unrest = float(p.unrest.initial)
        self.fled_day = math.nan
        self.uprising_day = math.nan
        self.deserted = 0.0

        k = th.n_axes
        self.status = np.full(k, MOVING)
        self.leg = np.zeros(k, dtype=int)
        self.pos = np.zeros(k)
        self.pos_time = np.zeros(k)
        self.speed = np.zeros(k)
        self.strength = np.array(p.axes.strength, dtype=float)
        self.momentum = np.array(p.axes.momentum, dtype=float)
        self.assault_start = np.zeros((k, 2))  # attackers, defenders when the current assault began
        self.fresh = np.ones(k, dtype=bool)
        self.resume_day = np.zeros(k)

        self.arrived = np.zeros(th.n_allies, dtype=bool)
        self.arrival_day = np.full(th.n_allies, math.nan)

        self.node_threat = np.zeros(th.n_nodes)
        self.capital_threat = 0.0

    # ------------------------------------------------------------------ derived quantities

    def leg_km(self, a: int, j: int) -> float:
        return float(self.p.road_km[self.th.road_of[a, j]])

    def target(self, a: int) -> int:
        return int(self.th.routes[a, self.leg[a] + 1])

    def position(self, a: int) -> float:
        """km covered on the current leg, now."""
        if self.status[a] == MOVING:
            return self.pos[a] + self.speed[a] * (self.env.now - self.pos_time[a])
        return self.pos[a]

    def air(self, government: bool) -> float:
        on_side = self.th.ally_government if government else ~self.th.ally_government
        return float(rules.allies.side_total(self.arrived, self.p.allies.capacity, self.p.allies.air_support, on_side))

    def advance_speed(self, a: int) -> float:
        return float(rules.movement.advance_speed(
            self.p.axes.speed_km_day[a], self.momentum[a], self.air(True), self.p.combat.air_slowdown))

    def mean_momentum(self) -> float:
        return float(rules.momentum.mean_active(self.momentum, self.status != DONE))

    def observe_threat(self) -> None:
        """The daily snapshot of threat that hazards use until the next tick."""
        self.node_threat[:] = 0.0
        capital_distance = math.inf
        scale = self.p.threat.scale_km
        for a in range(self.th.n_axes):
            if self.status[a] == DONE:
                continue
            to_target = self.leg_km(a, self.leg[a]) - self.position(a)
            t = self.target(a)
            self.node_threat[t] = max(self.node_threat[t], float(rules.movement.threat(to_target, scale)))
            cap_step = self.th.capital_step[a]
            if cap_step > self.leg[a]:
                beyond = sum(self.leg_km(a, j) for j in range(self.leg[a] + 1, cap_step))
                capital_distance = min(capital_distance, to_target + beyond)
        self.capital_threat = float(rules.movement.threat(capital_distance, scale))

    # ------------------------------------------------------------------ effects

    def notify(self) -> None:
        """Wake every process waiting on a change of state."""
        old, self.changed = self.changed, self.env.event()
        old.succeed()

    def end(self, state: int) -> None:
        """The replication ends in ``state`` now (docs/MODEL.md section 5).

        1. an ended replication is left alone;  2. end state and day recorded (the capital falls with
        the regime);  3. the waiting processes are woken, to stop."""
        if self.ended:
            return
        self.ended = True
        self.end_state, self.end_day = state, self.env.now
        if state != HOLDS:
            self.fall_day[self.th.capital] = self.env.now
        self.notify()

    def check_collapse(self) -> None:
        """The regime collapses if C < collapse_below (docs/MODEL.md section 4.2)."""
        if not self.ended and rules.cohesion.collapsed(self.cohesion, self.p.cohesion.collapse_below):
            self.end(COLLAPSED)

    def sync(self, a: int) -> None:
        """Bring axis ``a``'s position up to now at the speed in force, then take the new speed."""
        self.pos[a] = self.position(a)
        self.pos_time[a] = self.env.now
        self.speed[a] = self.advance_speed(a)

    def move_on(self, a: int) -> None:
        """Axis ``a`` leaves the node it reached for the next leg of its route, or is done at its end
        (docs/MODEL.md section 3, axis arrivals)."""
        self.leg[a] += 1
        self.pos[a], self.pos_time[a] = 0.0, self.env.now
        self.status[a] = DONE if self.leg[a] + 1 >= self.th.route_len[a] else MOVING

    def arrive(self, a: int) -> None:
        """Axis ``a`` reaches its target (docs/MODEL.md section 3, axis arrivals).

        1. through a rebel-held node: move on;  2. else an assault begins (its first round at the next
        tick);  3. an empty garrison is captured at once;  4. speeds follow from the new state (the
        axis process syncs them)."""
        self.pos[a] = self.leg_km(a, self.leg[a])
        i = self.target(a)
        if self.rebel[i]:
            self.move_on(a)
            return
        self.status[a] = ASSAULTING
        self.fresh[a] = True
        self.resume_day[a] = self.env.now
        if self.garrison[i] <= 0.0:
            self.capture(a, i)

    def capture(self, a: int, i: int) -> None:
        """Node ``i`` falls to axis ``a`` (docs/MODEL.md section 4.9).

        1. i rebel-held, its fall day recorded;  2. the survivors leave, a share retreating to the next
        government-held node on a's route;  3. momentum jumps;  4. cohesion takes the loss shock;
        5. the capital: captured, stop;  6. the axes assaulting i move on; collapse checked."""
        p, th = self.p, self.th
        self.rebel[i] = True
        self.fall_day[i] = self.env.now
        survivors, self.garrison[i] = self.garrison[i], 0.0
        route = th.routes[a, : th.route_len[a]]
        after = list(route).index(i) + 1
        for r in route[after:]:
            if not self.rebel[r]:
                self.garrison[r] += float(rules.combat.retreating(survivors, p.combat.retreat_fraction))
                break
        for b in range(th.n_axes):
            jump = p.momentum.jump if b == a else p.momentum.spillover * p.momentum.jump
            self.momentum[b] = rules.momentum.after_capture(self.momentum[b], jump, p.momentum.cap)
        self.cohesion = float(rules.cohesion.after_loss(self.cohesion, p.cohesion.shock, p.nodes.importance[i]))
        if i == th.capital:
            self.end(CAPTURED)
            return
        for b in range(th.n_axes):
            if self.status[b] == ASSAULTING and self.target(b) == i:
                self.move_on(b)
        self.check_collapse()

    def combat_round(self, a: int) -> None:
        """One day's round of axis ``a``'s assault (docs/MODEL.md section 4.4).

        1. a fresh assault notes both sides' strength;  2. Poisson losses on both sides;  3. a side past
        its breakpoint breaks: repulsed (momentum setback, regroup) or the node falls."""
        p, i = self.p, self.target(a)
        if self.fresh[a]:
            self.assault_start[a] = (self.strength[a], self.garrison[i])
            self.fresh[a] = False
        factor = rules.cohesion.combat_factor(self.cohesion, p.cohesion.combat_weight)
        mean_d, mean_a = rules.combat.round_means(
            self.strength[a], self.garrison[i], self.momentum[a], p.nodes.defense[i], factor,
            p.combat.kill_rate, self.air(True), self.air(False))
        self.garrison[i] -= rules.combat.draw_losses(mean_d, self.garrison[i], rng=self.rng)
        self.strength[a] -= rules.combat.draw_losses(mean_a, self.strength[a], rng=self.rng)
        a0, d0 = self.assault_start[a]
        outcome = rules.combat.resolve(
            rules.combat.broken(a0, self.strength[a], p.axes.loss_tolerance[a]),
            rules.combat.broken(d0, self.garrison[i], p.combat.defender_loss_tolerance * factor))
        if outcome == rules.combat.REPULSED:
            self.momentum[a] = rules.momentum.after_setback(self.momentum[a], p.momentum.setback)
            self.resume_day[a] = self.env.now + p.combat.regroup_days
            self.fresh[a] = True
        elif outcome == rules.combat.FALLS:
            self.capture(a, i)

    # ------------------------------------------------------------------ processes

    def clock(self):
        """The daily tick: assault rounds, then momentum, reinforcements, threat, unrest, cohesion."""
        p = self.p
        while not self.ended:
            yield _Tick(self.env, 1.0)
            if self.ended:
                return
            self.events += 1
            for a in range(self.th.n_axes):
                if self.status[a] == ASSAULTING and self.env.now >= self.resume_day[a]:
                    self.combat_round(a)
                    if self.ended:
                        return
            active = self.status != DONE
            self.momentum = rules.momentum.daily_decay(self.momentum, p.momentum.decay_per_day)
            self.strength += np.where(active, p.axes.reinforcement_per_day, 0.0)
            self.observe_threat()
            self.unrest = float(rules.unrest.daily(
                self.unrest, self.capital_threat, self.mean_momentum(), self.cohesion,
                p.unrest.growth_per_day, p.unrest.decay_per_day))
            target = rules.cohesion.target(
                p.cohesion.target,
                rules.allies.side_total(self.arrived, p.allies.capacity, p.allies.cohesion_support, self.th.ally_government),
                rules.allies.side_total(self.arrived, p.allies.capacity, p.allies.cohesion_support, ~self.th.ally_government),
                not math.isnan(self.fled_day))
            self.cohesion = float(rules.cohesion.daily(
                self.cohesion, target, p.cohesion.recovery_per_day, self.unrest, p.cohesion.unrest_drag_per_day))
            self.check_collapse()
            self.notify()

    def axis(self, a: int):
        """Movement of axis ``a`` along its route; its assaults are fought in the daily tick."""
        while not self.ended:
            if self.status[a] != MOVING:
                yield self.changed
                continue
            self.sync(a)
            remaining = self.leg_km(a, self.leg[a]) - self.pos[a]
            changed = self.changed
            if self.speed[a] <= 0.0:
                yield changed
                continue
            # max(): an axis a rounding error past its leg's end arrives now, not in the past
            arrival = self.env.timeout(max(remaining, 0.0) / self.speed[a])
            yield arrival | changed
            if self.ended:
                return
            if arrival.processed:
                self.events += 1
                self.sync(a)
                self.arrive(a)
                self.notify()
            # otherwise the state changed: loop, sync, and re-plan at the new speed

    def hazard(self, rate, effect):
        """A Poisson event with state-dependent ``rate()``: wait Exp(rate) or a change, then redraw."""
        while not self.ended:
            r = rate()
            changed = self.changed
            if r <= 0.0:
                yield changed
                continue
            fire = self.env.timeout(self.rng.exponential(1.0 / r))
            yield fire | changed
            if self.ended:
                return
            if fire.processed:
                self.events += 1
                effect()
                self.notify()

    def ally(self, j: int):
        """Ally ``j``'s decision on its day, then, if it commits, its arrival after its delay
        (docs/MODEL.md section 3, allies)."""
        p = self.p.allies
        yield self.env.timeout(float(p.decision_day[j]))
        self.events += not self.ended
        if self.ended or not rules.allies.commits(self.rng.uniform(), p.commit_probability[j]):
            return
        yield self.env.timeout(float(p.arrival_delay_days[j]))
        if self.ended:
            return
        self.events += 1
        self.ally_arrives(j)
        self.notify()

    def ally_arrives(self, j: int) -> None:
        """Ally ``j`` arrives (docs/MODEL.md section 4.8).

        1. its arrival recorded;  2. its support (capacity x amount) counts for its side's air and
        cohesion from now on;  3. a government ally's fighters join its node (the capital if that has
        fallen), a rebel ally's are split among the active axes."""
        p = self.p.allies
        self.arrived[j] = True
        self.arrival_day[j] = self.env.now
        forces = float(rules.allies.support(p.capacity[j], p.ground_forces[j]))
        if self.th.ally_government[j]:
            node = self.th.ally_deploy[j]
            node = node if not self.rebel[node] else self.th.capital
            self.garrison[node] += forces
        else:
            active = self.status != DONE
            self.strength += np.where(active, rules.allies.split(forces, active.sum()), 0.0)

    # ------------------------------------------------------------------ hazards and their effects

    def desertion_rate(self, i: int):
        p = self.p.desertion
        if self.rebel[i] or self.garrison[i] <= 0.0:
            return 0.0
        return float(rules.desertion.hazard(
            p.base_rate_per_day, self.cohesion, self.mean_momentum(), self.unrest, self.node_threat[i],
            p.cohesion_sensitivity, p.momentum_sensitivity, p.unrest_sensitivity, p.threat_sensitivity))

    def desert(self, i: int) -> None:
        """A desertion wave at node ``i`` (docs/MODEL.md section 4.3).

        1. the garrison loses its wave share;  2. the deserters are counted and add to unrest;
        3. an empty garrison's hazard stops (its rate is 0)."""
        self.garrison[i], deserters = rules.desertion.wave(self.garrison[i], self.p.desertion.wave_fraction)
        self.deserted += float(deserters)
        self.unrest = float(rules.unrest.after_wave(self.unrest, self.p.desertion.unrest_per_wave))

    def leadership_rate(self, base) -> float:
        if not math.isnan(self.fled_day):
            return 0.0
        p = self.p.leadership
        return float(rules.leadership.hazard(
            base, self.capital_threat, self.cohesion, self.unrest,
            p.threat_sensitivity, p.cohesion_sensitivity, p.unrest_sensitivity))

    def flee(self) -> None:
        """The ruler flees (docs/MODEL.md section 4.7).

        1. the day recorded;  2. cohesion takes the flight shock;  3. collapse checked."""
        self.fled_day = self.env.now
        self.cohesion = float(rules.cohesion.after_shock(self.cohesion, self.p.leadership.flight_cohesion_shock))
        self.check_collapse()

    def uprising_rate(self) -> float:
        if not math.isnan(self.uprising_day):
            return 0.0
        return float(rules.unrest.uprising_hazard(self.unrest, self.p.unrest.uprising_rate_per_day))

    def hand_over(self) -> None:
        """A negotiated hand-over ends the regime (docs/MODEL.md section 4.7).

        1. the replication ends collapsed."""
        self.end(COLLAPSED)

    def rise(self) -> None:
        """The capital rises (docs/MODEL.md section 4.6).

        1. the day recorded;  2. the capital's garrison takes its loss;  3. cohesion takes the uprising
        shock;  4. collapse checked."""
        p = self.p.unrest
        self.uprising_day = self.env.now
        self.garrison[self.th.capital] *= 1.0 - p.uprising_garrison_loss
        self.cohesion = float(rules.cohesion.after_shock(self.cohesion, p.uprising_cohesion_shock))
        self.check_collapse()

    # ------------------------------------------------------------------ run

    def setup(self) -> None:
        """The state at as_of: axes placed on their first leg (or already assaulting), threat observed."""
        for a in range(self.th.n_axes):
            leg_km = self.leg_km(a, 0)
            self.pos[a] = min(float(self.p.axes.position_km[a]), leg_km)
            if self.p.axes.assaulting[a] >= 0.5 or self.pos[a] >= leg_km:
                self.arrive(a)
            if self.ended:
                return
        for a in range(self.th.n_axes):
            self.speed[a] = self.advance_speed(a)
        self.observe_threat()
        self.check_collapse()

    def run(self) -> None:
        self.setup()
        if not self.ended and self.horizon > 0:
            env, p = self.env, self.p
            env.process(self.clock())
            for a in range(self.th.n_axes):
                env.process(self.axis(a))
            for i in range(self.th.n_nodes):
                if not self.rebel[i]:
                    env.process(self.hazard(lambda i=i: self.desertion_rate(i), lambda i=i: self.desert(i)))
            env.process(self.hazard(lambda: self.leadership_rate(p.leadership.flight_rate_per_day), self.flee))
            env.process(self.hazard(lambda: self.leadership_rate(p.leadership.handover_rate_per_day),
                                    self.hand_over))
            env.process(self.hazard(self.uprising_rate, self.rise))
            for j in range(self.th.n_allies):
                env.process(self.ally(j))
            env.run(until=self.horizon)

    def record(self, out: Outcomes, r: int) -> None:
        out.end_state[r] = self.end_state
        out.end_day[r] = self.end_day
        out.node_fall_day[r] = self.fall_day
        out.leader_fled_day[r] = self.fled_day
        out.uprising_day[r] = self.uprising_day
        out.desertions[r] = self.deserted
        out.ally_arrival_day[r] = self.arrival_day
        out.final_cohesion[r] = self.cohesion


def simulate(scenario: Scenario, reps: int, *, rng: np.random.Generator,
             draws: Draws | None = None) -> tuple[Outcomes, Draws]:
    """Run ``reps`` replications one at a time; parameters are drawn first from ``rng`` (or given)."""
    th = Theatre.from_scenario(scenario)
    draws = draw_parameters(scenario, reps, rng=rng) if draws is None else draws
    out = Outcomes.empty(reps, th.n_nodes, th.n_allies)
    # Overflow to infinity is the right limit wherever it can happen (see the vectorised engine).
    with np.errstate(over="ignore"):
        for r in range(reps):
            rep = Replication(th, draws.row(r), scenario.horizon_days, rng)
            rep.run()
            rep.record(out, r)
    return out, draws
