"""The reference engine: one replication at a time as simpy processes.

It is the readable statement of the model's semantics (docs/MODEL.md): a daily clock (assault
rounds, allies, latent groups, the threat snapshot, reserves, the cascade, counter-attacks, the
belief's relaxation), one process per rebel axis, and one each for the ruler's flight and a
negotiated hand-over. Hazard processes wait for an exponential time at the current rate, or for
the state to change, whichever comes first, and then draw again: rates are constant between
events, so this is exact.

Simultaneous events: the daily tick runs before any other event due at the same time (it is
scheduled URGENT); the vectorised engine breaks ties the same way.
"""

from __future__ import annotations

import math

import numpy as np
import simpy
from simpy.events import URGENT

from .. import rules
from ..rules.cascade import CONTINGENT, CORE
from .draws import Draws, draw_parameters
from .outcomes import ABANDONED, ASSAULT, CAPTURED, COLLAPSE, COLLAPSED, HOLDS, NOT_FALLEN, RISING, Outcomes
from ..scenario.schema import Scenario
from .theatre import Theatre

MOVING, ASSAULTING, DONE, DORMANT = 0, 1, 2, 3
# The event effects and tick steps, with the names, numbered steps and docs/MODEL.md sections of
# their counterparts in the vectorised engine (sim/engines/vectorised/effects.py), so the two read
# side by side.
EFFECTS = ("arrive", "move_on", "capture", "combat_round", "culminate", "allies_act", "rise", "mobilise",
           "cascade", "counterattack", "relax", "flee", "hand_over", "end")


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

        n = th.n_nodes
        self.rebel = th.rebel_at_start.copy()
        garrison = np.where(self.rebel, 0.0, np.asarray(p.nodes.garrison, dtype=float))
        self.core_share = np.asarray(p.nodes.core_share, dtype=float)
        self.fighters = np.stack([garrison * (1.0 - self.core_share), garrison * self.core_share])  # (class, node)
        self.gone = np.zeros((2, n))            # share of each class's units at each node whose threshold was crossed
        self.raised = self.fighters.sum(axis=1)  # fighters each class has had, regime-wide
        self.dispersed = np.zeros(2)             # fighters of each class who abandoned and dispersed
        # a government node whose garrison is gone (shock applied); one unmanned at as_of is open without a shock
        self.opened = ~self.rebel & rules.cascade.is_open(garrison)
        self.mobilised = np.zeros(n, dtype=bool)
        self.fall_day = np.full(n, math.nan)
        self.fall_how = np.full(n, NOT_FALLEN, dtype=np.int8)  # how each node first fell (FALL_MODES)
        self.retaken_day = np.full(n, math.nan)
        self.log_odds = float(rules.belief.clip(rules.belief.logit(p.belief.initial)))
        self.fled_day = math.nan
        self.handover_day = math.nan

        k = th.n_axes
        self.status = np.full(k, MOVING)
        self.leg = np.zeros(k, dtype=int)
        self.pos = np.zeros(k)
        self.pos_time = np.zeros(k)
        self.speed = np.zeros(k)
        self.strength = np.array(p.axes.strength, dtype=float)
        self.raised_axis = self.strength.copy()
        self.lost_axis = np.zeros(k)
        self.momentum = np.array(p.axes.momentum, dtype=float)
        self.assault_start = np.zeros((k, 2))  # attackers, defenders when the current assault began
        self.fresh = np.ones(k, dtype=bool)
        self.resume_day = np.zeros(k)

        m = th.n_allies
        self.committed = np.zeros(m, dtype=bool)
        self.arrive_at = np.full(m, math.inf)
        self.arrived = np.zeros(m, dtype=bool)
        self.withdrawn = np.zeros(m, dtype=bool)
        self.arrival_day = np.full(m, math.nan)
        self.withdrawal_day = np.full(m, math.nan)
        self.supports: dict[tuple[str, bool], float] = {}  # support present, by (kind, side); see support()

        self.node_threat = np.zeros(n)
        self.capital_threat = 0.0

    # ------------------------------------------------------------------ derived quantities

    @property
    def log_odds(self) -> float:
        """The belief's log-odds L; setting it sets ``belief``, pi = probability(L), too."""
        return self._log_odds

    @log_odds.setter
    def log_odds(self, value: float) -> None:
        self._log_odds = value
        self.belief = float(rules.belief.probability(value))

    def garrison(self, i: int) -> float:
        return float(self.fighters[CONTINGENT, i] + self.fighters[CORE, i])

    def leg_km(self, a: int, j: int) -> float:
        return float(self.p.road_km[self.th.road_of[a, j]])

    def target(self, a: int) -> int:
        return int(self.th.routes[a, self.leg[a] + 1])

    def active(self) -> np.ndarray:
        return (self.status == MOVING) | (self.status == ASSAULTING)

    def position(self, a: int) -> float:
        """km covered on the current leg, now."""
        if self.status[a] == MOVING:
            return self.pos[a] + self.speed[a] * (self.env.now - self.pos_time[a])
        return self.pos[a]

    def support(self, kind: str, government: bool) -> float:
        """Support of one kind (an ally field: air_support, materiel, ...) present for one side: the
        sum over present allies of capacity x amount. Kept until an ally arrives or withdraws."""
        key = (kind, government)
        if key not in self.supports:
            on_side = self.th.ally_government if government else ~self.th.ally_government
            present = self.arrived & ~self.withdrawn & on_side
            amount = getattr(self.p.allies, kind)
            self.supports[key] = float(np.sum(np.where(present, rules.allies.support(self.p.allies.capacity, amount), 0.0)))
        return self.supports[key]

    def air(self, government: bool) -> float:
        return self.support("air_support", government)

    def advance_speed(self, a: int) -> float:
        return float(rules.movement.advance_speed(
            self.p.axes.speed_km_day[a], self.momentum[a], self.air(True), self.p.combat.air_slowdown))

    def capital_standing(self) -> float:
        """Share of the capital's garrison units whose thresholds have not been crossed."""
        c, share = self.th.capital, self.core_share[self.th.capital]
        return 1.0 - ((1.0 - share) * self.gone[CONTINGENT, c] + share * self.gone[CORE, c])

    def observe_threat(self) -> None:
        """The daily snapshot of every government node's local attacker's odds (docs/MODEL.md section 4.4)."""
        p, th = self.p, self.th
        attack = np.zeros(th.n_nodes)
        rebel_air = self.air(False)
        active = self.active()
        for a in range(th.n_axes):
            if not active[a]:
                continue
            power = float(rules.threat.power(self.strength[a], self.momentum[a], rebel_air))
            distance = self.leg_km(a, self.leg[a]) - self.position(a)
            for j in range(self.leg[a] + 1, th.route_len[a]):
                if j > self.leg[a] + 1:
                    distance += self.leg_km(a, j - 1)
                i = th.routes[a, j]
                if not self.rebel[i]:
                    attack[i] += power * float(rules.threat.reach(distance, p.threat.scale_km))
        defence = rules.threat.power(self.fighters.sum(axis=0), np.asarray(p.nodes.defense), self.air(True))
        self.node_threat = np.where(self.rebel, 0.0, rules.threat.odds(attack, defence, p.threat.sharpness))
        self.capital_threat = float(self.node_threat[th.capital])

    def anchor(self) -> float:
        """The belief's anchor from the balance of combat power and the allies present (4.1)."""
        p = self.p
        gov = float(np.sum(np.where(self.rebel, 0.0, rules.threat.power(
            self.fighters.sum(axis=0), np.asarray(p.nodes.defense), self.air(True)))))
        risen = self.status != DORMANT  # an axis that culminated or finished its route is still a force
        reb = float(np.sum(np.where(risen, rules.threat.power(self.strength, self.momentum, self.air(False)), 0.0)))
        return float(rules.belief.anchor(p.belief.baseline, p.belief.force_weight, gov, reb,
                                         self.support("belief_support", True),
                                         self.support("belief_support", False)))

    def shock(self, size: float) -> None:
        self.log_odds = float(rules.belief.shock(self.log_odds, size))

    # ------------------------------------------------------------------ effects

    def notify(self) -> None:
        """Wake every process waiting on a change of state."""
        old, self.changed = self.changed, self.env.event()
        old.succeed()

    def end(self, state: int) -> None:
        """The replication ends in ``state`` now (docs/MODEL.md section 5).

        1. an ended replication is left alone;  2. end state and day recorded (the capital falls with
        the regime, by collapse if it collapsed);  3. the waiting processes are woken, to stop."""
        if self.ended:
            return
        self.ended = True
        self.end_state, self.end_day = state, self.env.now
        if state != HOLDS:
            self.fall_day[self.th.capital] = self.env.now
        if state == COLLAPSED:
            self.fall_how[self.th.capital] = COLLAPSE
        self.notify()

    def sync(self, a: int) -> None:
        """Bring axis ``a``'s position up to now at the speed in force, then take the new speed."""
        self.pos[a] = self.position(a)
        self.pos_time[a] = self.env.now
        self.speed[a] = self.advance_speed(a) if self.status[a] == MOVING else 0.0

    def move_on(self, a: int) -> None:
        """Axis ``a`` leaves the node it reached for the next leg of its route, or is done at its end
        (docs/MODEL.md section 3, axis arrivals)."""
        self.leg[a] += 1
        self.pos[a], self.pos_time[a] = 0.0, self.env.now
        self.status[a] = DONE if self.leg[a] + 1 >= self.th.route_len[a] else MOVING

    def arrive(self, a: int) -> None:
        """Axis ``a`` reaches its target (docs/MODEL.md section 3, axis arrivals).

        1. through a rebel-held node: move on;  2. else an assault begins (its first round at the next
        tick);  3. an open node (its garrison gone) is taken at once;  4. speeds follow from the new
        state (the axis process syncs them)."""
        self.pos[a] = self.leg_km(a, self.leg[a])
        i = self.target(a)
        if self.rebel[i]:
            self.move_on(a)
            return
        self.status[a] = ASSAULTING
        self.fresh[a] = True
        self.resume_day[a] = self.env.now
        if rules.cascade.is_open(self.garrison(i)):
            self.capture(a, i, ABANDONED)

    def fall_back(self, i: int, fighters: np.ndarray) -> None:
        """``fighters`` (by class) leave node ``i`` for the next node towards the capital, if the
        government holds it; else they disperse (docs/MODEL.md section 4.2)."""
        j = self.th.fallback[i]
        if j >= 0 and not self.rebel[j]:
            self.fighters[:, j] += fighters
        else:
            self.dispersed += fighters

    def capture(self, a: int, i: int, how: int) -> None:
        """Node ``i`` falls to axis ``a``, ``how``: ASSAULT (a combat round) or ABANDONED (without a
        fight) (docs/MODEL.md section 4.6).

        1. i rebel-held, its first fall day recorded and how it fell (RISING if a is a latent
        group);  2. the survivors leave, a share falling back towards the capital;  3. momentum
        jumps;  4. belief takes the loss shock;  5. the capital: captured, stop;  6. the axes
        assaulting i move on."""
        p, th = self.p, self.th
        self.rebel[i] = True
        if math.isnan(self.fall_day[i]):
            self.fall_day[i] = self.env.now
            self.fall_how[i] = RISING if p.axes.rises_below[a] < 1.0 else how
        survivors = self.fighters[:, i].copy()
        self.fighters[:, i] = 0.0
        self.gone[:, i] = 0.0
        self.fall_back(i, rules.combat.retreating(survivors, p.combat.retreat_fraction))
        for b in range(th.n_axes):
            jump = p.momentum.jump if b == a else p.momentum.spillover * p.momentum.jump
            self.momentum[b] = rules.momentum.after_capture(self.momentum[b], jump, p.momentum.cap)
        self.shock(-p.belief.loss_shock * p.nodes.importance[i])
        if i == th.capital:
            self.end(CAPTURED)
            return
        for b in range(th.n_axes):
            if self.status[b] == ASSAULTING and self.target(b) == i:
                self.move_on(b)

    def combat_round(self, a: int) -> None:
        """One day's round of axis ``a``'s assault (docs/MODEL.md section 4.5).

        1. a fresh assault notes both sides' strength;  2. Poisson losses on both sides, the
        defenders' shared between the classes;  3. a side past its breakpoint breaks: the node falls,
        or the assault is repulsed (momentum setback, regroup, belief rises);  4. an axis that has
        lost its culmination share culminates."""
        p, i = self.p, self.target(a)
        garrison = self.garrison(i)
        if self.fresh[a]:
            self.assault_start[a] = (self.strength[a], garrison)
            self.fresh[a] = False
        mean_d, mean_a = rules.combat.round_means(
            self.strength[a], garrison, self.momentum[a], p.nodes.defense[i], p.combat.kill_rate,
            self.air(True), self.air(False))
        lost_d = float(rules.combat.draw_losses(mean_d, garrison, rng=self.rng))
        lost_a = float(rules.combat.draw_losses(mean_a, self.strength[a], rng=self.rng))
        lost_c, lost_k = rules.combat.split_losses(lost_d, self.fighters[CONTINGENT, i], self.fighters[CORE, i])
        self.fighters[:, i] = np.maximum(self.fighters[:, i] - np.array([lost_c, lost_k]), 0.0)
        self.strength[a] -= lost_a
        self.lost_axis[a] += lost_a
        a0, d0 = self.assault_start[a]
        outcome = rules.combat.resolve(
            rules.combat.broken(a0, self.strength[a], p.axes.loss_tolerance[a]),
            rules.combat.broken(d0, self.garrison(i), p.combat.defender_loss_tolerance))
        if outcome == rules.combat.FALLS:
            self.capture(a, i, ASSAULT)
            return
        if outcome == rules.combat.REPULSED:
            self.momentum[a] = rules.momentum.after_setback(self.momentum[a], p.momentum.setback)
            self.resume_day[a] = self.env.now + p.combat.regroup_days
            self.fresh[a] = True
            self.shock(p.belief.repulse_shock)
        if rules.combat.culminated(self.lost_axis[a], self.raised_axis[a], p.axes.culmination[a]):
            self.culminate(a)

    def culminate(self, a: int) -> None:
        """Axis ``a`` culminates (docs/MODEL.md section 4.5): 1. it stops for good;  2. belief rises."""
        self.status[a] = DONE
        self.shock(self.p.belief.repulse_shock)

    def allies_act(self) -> None:
        """The allies' daily step (docs/MODEL.md section 4.8): 1. present allies whose client's odds fell
        below their quitting point, or whose date has come, withdraw;  2. the others not yet
        committed escalate at their hazard;  3. committed allies whose delay has passed arrive:
        their fighters join, their support counts and belief jumps towards their client."""
        p, th, now = self.p.allies, self.th, self.env.now
        for j in range(th.n_allies):
            if self.withdrawn[j]:
                continue
            if not self.committed[j] and now >= p.withdraw_day[j]:
                self.withdrawn[j] = True  # its date came before it ever committed
                continue
            belief = self.belief
            gov = bool(th.ally_government[j])
            odds = float(rules.allies.client_odds(belief, gov))
            sign = 1.0 if gov else -1.0
            if self.committed[j] and rules.allies.quits(odds, p.quit_below[j], now, p.withdraw_day[j]):
                self.withdrawn[j] = True
                self.withdrawal_day[j] = now
                self.supports.clear()
                if self.arrived[j]:
                    self.shock(-sign * float(rules.allies.support(p.capacity[j], p.belief_support[j])))
                continue
            if not self.committed[j]:
                hazard = rules.allies.escalation_hazard(p.commit_per_day[j], odds)
                if rules.allies.commits(self.rng.uniform(), hazard):
                    self.committed[j] = True
                    self.arrive_at[j] = now + p.delay_days[j]
            if self.committed[j] and not self.arrived[j] and now >= self.arrive_at[j]:
                self.ally_arrives(j)
                self.shock(sign * float(rules.allies.support(p.capacity[j], p.belief_support[j])))

    def ally_arrives(self, j: int) -> None:
        """Ally ``j``'s support arrives: a government ally's fighters join the core units of its node
        (the capital if that has fallen), a rebel ally's are split among the active axes."""
        p = self.p.allies
        self.arrived[j] = True
        self.arrival_day[j] = self.env.now
        self.supports.clear()
        forces = float(rules.allies.support(p.capacity[j], p.ground_forces[j]))
        if self.th.ally_government[j]:
            node = self.th.ally_deploy[j]
            node = node if not self.rebel[node] else self.th.capital
            self.fighters[CORE, node] += forces
            self.raised[CORE] += forces
        else:
            active = self.active()
            share = np.where(active, rules.allies.split(forces, active.sum()), 0.0)
            self.strength += share
            self.raised_axis += share

    def rise(self) -> None:
        """Latent groups rise (docs/MODEL.md section 4.7): each dormant axis whose threshold belief has
        passed 1. becomes active, 2. makes belief drop, 3. arrives at once if it starts at its target."""
        for a in range(self.th.n_axes):
            if self.status[a] == DORMANT and self.belief < self.p.axes.rises_below[a]:
                self.status[a] = MOVING
                self.shock(-self.p.belief.rally_shock)
                self.place(a)
                if self.ended:
                    return

    def place(self, a: int) -> None:
        """An axis becoming active takes its place on its first leg (and may arrive at once)."""
        self.pos_time[a] = self.env.now
        if self.p.axes.assaulting[a] >= 0.5 or self.pos[a] >= self.leg_km(a, 0):
            self.arrive(a)

    def mobilise(self) -> None:
        """Loyalist reserves (docs/MODEL.md section 4.7): a government node's reserve joins its core units
        once its local attacker's odds reach the reserve's threshold, and belief rises."""
        p = self.p
        for i in range(self.th.n_nodes):
            if self.rebel[i] or self.mobilised[i] or p.nodes.reserve[i] <= 0.0:
                continue
            if rules.recruitment.mobilises(self.node_threat[i], p.nodes.reserve_threat[i]):
                self.mobilised[i] = True
                self.fighters[CORE, i] += p.nodes.reserve[i]
                self.raised[CORE] += p.nodes.reserve[i]
                self.shock(p.belief.rally_shock)

    def cascade(self) -> None:
        """The threshold cascade (docs/MODEL.md section 4.2).

        1. every government node's classes: the share gone rises to Phi((z - mu) / sigma), and the
        newly gone units leave their post, a share falling back towards the capital, the rest
        dispersing;  2. a node left with no garrison is open: belief takes the abandonment shock;
        the open capital ends the regime (collapsed);  3. an open node under assault is taken."""
        p, th = self.p, self.th
        c = p.cascade
        held = ~self.rebel
        aid = self.support("materiel", True)
        peers = np.where(self.raised > 0.0, self.dispersed / np.where(self.raised > 0.0, self.raised, 1.0), 0.0)
        thresholds = np.array([c.contingent_threshold, c.core_threshold])[:, None]
        z = rules.cascade.propensity(self.belief, peers[:, None], self.node_threat[None, :], aid,
                                     c.belief_weight, c.peer_weight, c.threat_weight)
        now = np.where(held, rules.cascade.share_gone(z, thresholds, c.spread), self.gone)  # (class, node)
        self.fighters, leaving = rules.cascade.abandon(self.fighters, self.gone, now)
        self.gone = np.maximum(self.gone, now)
        for i in np.flatnonzero(leaving.any(axis=0)):
            back = leaving[:, i] * c.retreat_share
            self.dispersed += leaving[:, i] - back
            self.fall_back(i, back)
        open_now = rules.cascade.is_open(self.fighters[CONTINGENT] + self.fighters[CORE])
        self.opened[held & ~open_now] = False
        for i in np.flatnonzero(held & open_now):
            self.fighters[:, i] = 0.0
            if not self.opened[i]:
                self.opened[i] = True
                self.shock(-p.belief.abandon_shock * p.nodes.importance[i])
            if i == th.capital:
                self.end(COLLAPSED)
                return
        for a in range(th.n_axes):
            i = self.target(a) if self.status[a] == ASSAULTING else -1
            if i >= 0 and not self.rebel[i] and self.opened[i]:
                self.capture(a, i, ABANDONED)
                if self.ended:
                    return

    def counterattack(self) -> None:
        """Counter-attacks (docs/MODEL.md section 4.6): each node lost during the run (never the capital, at
        most once) is retaken at its hazard; it gets a garrison of contingent units and belief
        rises as much as it fell at the loss."""
        p, th = self.p, self.th
        hazard = float(rules.combat.counterattack_hazard(p.combat.counterattack_per_day, self.belief))
        for i in range(th.n_nodes):
            if not self.rebel[i] or th.rebel_at_start[i] or not math.isnan(self.retaken_day[i]):
                continue
            if self.rng.uniform() < -math.expm1(-hazard):
                self.rebel[i] = False
                self.retaken_day[i] = self.env.now
                fighters = p.combat.retake_share * p.nodes.garrison[i]
                self.fighters[:, i] = (fighters, 0.0)
                self.gone[:, i] = 0.0
                self.raised[CONTINGENT] += fighters
                self.shock(p.belief.loss_shock * p.nodes.importance[i])

    def relax(self) -> None:
        """Belief relaxes for a day towards its anchor (docs/MODEL.md section 4.1)."""
        self.log_odds = float(rules.belief.relax(self.log_odds, self.anchor(), self.p.belief.relax_per_day))

    # ------------------------------------------------------------------ processes

    def clock(self):
        """The daily tick (docs/MODEL.md section 3)."""
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
            self.momentum = rules.momentum.daily_decay(self.momentum, p.momentum.decay_per_day)
            recruits = np.where(self.active(), rules.recruitment.joiners(p.axes.joiners_per_day, self.belief), 0.0)
            self.strength += recruits
            self.raised_axis += recruits
            self.allies_act()
            self.rise()
            if self.ended:
                return
            self.observe_threat()
            self.mobilise()
            self.cascade()
            if self.ended:
                return
            self.counterattack()
            self.relax()
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

    def exit_rate(self, threshold) -> float:
        """The hazard of an exit decided at ``threshold`` on the ruler's reading (docs/MODEL.md section 4.3)."""
        p = self.p.leadership
        odds = rules.leadership.reading(self.belief, self.capital_threat, self.capital_standing(), p.threat_gate)
        return float(rules.leadership.hazard(odds, threshold, p.spread, p.max_exit_per_day))

    def flight_rate(self) -> float:
        """The ruler's flight hazard; 0 once he has fled."""
        if not math.isnan(self.fled_day):
            return 0.0
        p = self.p.leadership
        return self.exit_rate(float(rules.leadership.flight_threshold(p.exit_below, p.haven, p.haven_weight)))

    def handover_rate(self) -> float:
        """The hazard of a negotiated hand-over, by the ruler or, once he has fled, his successor."""
        return self.exit_rate(float(self.p.leadership.handover_below))

    def flee(self) -> None:
        """The ruler flees (docs/MODEL.md section 4.3).

        1. the day recorded; a successor takes over, who may still hand over (his regime's fate
        is otherwise the cascade's);  2. belief takes the flight shock."""
        self.fled_day = self.env.now
        self.shock(-self.p.belief.flight_shock)

    def hand_over(self) -> None:
        """A negotiated hand-over ends the regime (docs/MODEL.md section 4.3).

        1. the day recorded;  2. the replication ends collapsed."""
        self.handover_day = self.env.now
        self.end(COLLAPSED)

    # ------------------------------------------------------------------ run

    def setup(self) -> None:
        """The state at as_of (docs/MODEL.md section 3): allies already there, latent groups
        dormant, axes placed on their first leg (or already assaulting), threat observed."""
        p = self.p
        belief = self.belief
        for a in range(self.th.n_axes):
            self.pos[a] = min(float(p.axes.position_km[a]), self.leg_km(a, 0))
            if not belief < p.axes.rises_below[a]:
                self.status[a] = DORMANT
        for j in range(self.th.n_allies):
            if p.allies.committed[j] >= 0.5:
                self.committed[j] = True
                self.ally_arrives(j)
        for a in range(self.th.n_axes):
            if self.status[a] == MOVING:
                self.place(a)
            if self.ended:
                return
        for a in range(self.th.n_axes):
            self.sync(a)
        self.observe_threat()

    def run(self) -> None:
        self.setup()
        if not self.ended and self.horizon > 0:
            env = self.env
            env.process(self.clock())
            for a in range(self.th.n_axes):
                env.process(self.axis(a))
            env.process(self.hazard(self.flight_rate, self.flee))
            env.process(self.hazard(self.handover_rate, self.hand_over))
            env.run(until=self.horizon)

    def record(self, out: Outcomes, r: int) -> None:
        out.end_state[r] = self.end_state
        out.end_day[r] = self.end_day
        out.node_fall_day[r] = self.fall_day
        out.node_fall_how[r] = self.fall_how
        out.node_retaken_day[r] = self.retaken_day
        out.leader_fled_day[r] = self.fled_day
        out.handover_day[r] = self.handover_day
        out.dispersed[r] = float(self.dispersed.sum())
        out.ally_arrival_day[r] = self.arrival_day
        out.ally_withdrawal_day[r] = self.withdrawal_day
        out.final_belief[r] = self.belief


def simulate(scenario: Scenario, reps: int, *, rng: np.random.Generator,
             draws: Draws | None = None, progress=None) -> tuple[Outcomes, Draws]:
    """Run ``reps`` replications one at a time; parameters are drawn first from ``rng`` (or given);
    ``progress(share)`` after each."""
    th = Theatre.from_scenario(scenario)
    draws = draw_parameters(scenario, reps, rng=rng) if draws is None else draws
    out = Outcomes.empty(reps, th.n_nodes, th.n_allies)
    # Overflow to infinity is the right limit wherever it can happen (see the vectorised engine).
    with np.errstate(over="ignore", divide="ignore"):
        for r in range(reps):
            rep = Replication(th, draws.row(r), scenario.horizon_days, rng)
            rep.run()
            rep.record(out, r)
            if progress:
                progress((r + 1) / reps)
    return out, draws
