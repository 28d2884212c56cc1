"""Event effects of the vectorised engine, applied to rows ``r`` of a block at once.

Each effect has the name, the numbered steps and the docs/MODEL.md section of its counterpart in
the reference engine (``sim.engines.reference.Replication``), so the two can be read side by side;
``EFFECTS`` lists them (a test holds the two lists equal). ``b`` is the
:class:`~sim.engines.vectorised.Block`: its parameters ``b.p``, its state ``b.regime``,
``b.nodes``, ``b.axes``, ``b.allies``, ``b.garrisons``, its theatre ``b.th`` and generator ``b.rng``.
"""

from __future__ import annotations

import numpy as np

from ... import rules
from ..outcomes import CAPTURED, COLLAPSED, HOLDS
from .state import ALL, ASSAULTING, DONE, INF, MOVING, cell, entity, flat, put, take

EFFECTS = ("arrive", "move_on", "capture", "combat_round", "ally_arrives", "desert", "flee", "hand_over", "rise",
           "end", "check_collapse")


# ------------------------------------------------------------------ derived quantities

def target(b, r, a: int):
    """Node each row's axis ``a`` is heading for (its last node once the route is done)."""
    return b.th.routes[a, np.minimum(b.axes.leg[a][r] + 1, b.th.route_len[a] - 1)]


def observe_threat(b) -> None:
    """The daily threat snapshot of every row: the capital's threat and each garrison's exposure
    (docs/MODEL.md section 4.5)."""
    th, ax, reg, p = b.th, b.axes, b.regime, b.p
    n, garrisons = len(reg.t), len(b.deserting)
    node_threat = np.zeros((garrisons + 1, n))  # the last row collects threat to other nodes
    flat_threat = flat(node_threat)
    capital_distance = np.full(n, INF)
    scale = p.threat.scale_km
    rows = np.arange(n)
    for a in range(th.n_axes):
        active = ax.status[a] != DONE
        leg = ax.leg[a]
        to_target = ax.leg_length[a] - ax.pos[a]
        slot = b.slot[th.routes[a, np.minimum(leg + 1, th.route_len[a] - 1)]]
        at = cell(np.where(active, slot, garrisons), rows, n)
        flat_threat[at] = np.maximum(flat_threat[at], rules.movement.threat(to_target, scale))
        cap = th.capital_step[a]
        ahead = active & (cap > leg)
        if cap > 0 and ahead.any():
            beyond = p.legs.cum[a, cap] - flat(p.legs.cum[a])[cell(np.minimum(leg + 1, cap), rows, n)]
            capital_distance = np.where(ahead, np.minimum(capital_distance, to_target + beyond), capital_distance)
    reg.capital_threat = rules.movement.threat(capital_distance, scale)
    b.garrisons.exposure = rules.desertion.exposure(node_threat[:garrisons], p.desertion.threat_sensitivity)
    manned(b, ALL)


def moved(b, r) -> None:
    """Speeds (0 unless moving) and mean momentum of rows ``r``, after their momentum, air support
    or axes' status changed: only arrivals (with their captures), allies and the tick change them."""
    ax, p = b.axes, b.p
    momentum, status = take(ax.momentum, r), take(ax.status, r)
    put(ax.speed, r, np.where(status == MOVING, rules.movement.advance_speed(
        take(p.axes.speed_km_day, r), momentum, b.regime.gov_air[r], take(p.combat.air_slowdown, r)), 0.0))
    b.regime.mean_momentum[r] = rules.momentum.mean_active(momentum, status != DONE, axis=0)


def manned(b, r) -> None:
    """Summed exposure of the manned garrisons of rows ``r`` (the desertion hazard's garrison
    factor), after their exposure or a garrison's emptiness changed."""
    gs, garrison = b.garrisons, b.nodes.garrison
    exposed = 0.0
    for g, node in enumerate(b.deserting):
        weight = np.where(garrison[node][r] > 0.0, gs.exposure[g][r], 0.0)
        gs.manned[g][r] = weight
        exposed = exposed + weight
    gs.exposed[r] = exposed


def record(b, r) -> None:
    """Copy the outcomes of ended rows ``r`` that :func:`end` did not (their state no longer changes)."""
    reg, o = b.regime, b.out
    rid = reg.rid[r]
    o.node_fall_day[rid] = take(b.nodes.fall_day, r).T
    o.leader_fled_day[rid] = reg.fled_day[r]
    o.uprising_day[rid] = reg.uprising_day[r]
    o.desertions[rid] = reg.deserted[r]
    o.ally_arrival_day[rid] = take(b.allies.arrival_day, r).T


# ------------------------------------------------------------------ effects

def end(b, r, state: int) -> None:
    """Rows ``r`` end in ``state`` now (docs/MODEL.md section 5).

    1. rows already ended are left alone;  2. end state and day recorded (the capital falls with the
    regime);  3. final cohesion recorded now: the tick goes on updating an ended row's cohesion, and
    nothing else of it changes (:func:`record` copies the rest later)."""
    reg, o = b.regime, b.out
    r = r[~reg.ended[r]]
    if not len(r):
        return
    reg.ended[r] = True
    rid = reg.rid[r]
    o.end_state[rid] = state
    if state != HOLDS:
        o.end_day[rid] = reg.t[r]
        b.nodes.fall_day[b.th.capital][r] = reg.t[r]
    o.final_cohesion[rid] = reg.cohesion[r]


def check_collapse(b, r) -> None:
    """The regime collapses where C < collapse_below (docs/MODEL.md section 4.2)."""
    reg = b.regime
    r = r[~reg.ended[r]]
    if len(r):
        end(b, r[rules.cohesion.collapsed(reg.cohesion[r], take(b.p.cohesion.collapse_below, r))], COLLAPSED)


def move_on(b, r, a: int) -> None:
    """Axis ``a`` leaves the node it reached for the next leg of its route, or is done at its end
    (docs/MODEL.md section 3, axis arrivals)."""
    ax, n = b.axes, len(b.regime.t)
    leg = ax.leg[a][r] + 1
    ax.leg[a][r] = leg
    ax.leg_length[a][r] = flat(b.p.legs.km[a])[cell(np.minimum(leg, b.p.legs.km.shape[1] - 1), r, n)]
    ax.pos[a][r] = 0.0
    ax.status[a][r] = np.where(leg + 1 >= b.th.route_len[a], DONE, MOVING)


def arrive(b, r, a: int) -> None:
    """Axis ``a`` reaches its target in rows ``r`` (docs/MODEL.md section 3, axis arrivals).

    1. through a rebel-held node: move on;  2. else an assault begins (its first round at the next
    tick);  3. an empty garrison is captured at once;  4. speeds and mean momentum refreshed."""
    ax, reg, n, rows = b.axes, b.regime, len(b.regime.t), r
    ax.pos[a][r] = ax.leg_length[a][r]
    i = target(b, r, a)
    through = flat(b.nodes.rebel)[cell(i, r, n)]
    move_on(b, r[through], a)
    r, i = r[~through], i[~through]
    ax.status[a][r] = ASSAULTING
    ax.fresh[a][r] = True
    ax.resume_day[a][r] = reg.t[r]
    empty = flat(b.nodes.garrison)[cell(i, r, n)] <= 0.0
    capture(b, r[empty], a, i[empty])
    moved(b, rows)


def capture(b, r, a: int, i) -> None:
    """Nodes ``i`` (one per row) fall to axis ``a`` (docs/MODEL.md section 4.9).

    1. i rebel-held, its fall day recorded;  2. the survivors leave, a share retreating to the next
    government-held node on a's route;  3. momentum jumps;  4. cohesion takes the loss shock;
    5. the capital: captured, stop;  6. the axes assaulting i move on; collapse checked."""
    if len(r) == 0:
        return
    th, nd, ax, reg, p = b.th, b.nodes, b.axes, b.regime, b.p
    at = cell(i, r, len(reg.t))
    flat(nd.rebel)[at] = True
    flat(nd.fall_day)[at] = reg.t[r]
    garrison = flat(nd.garrison)
    survivors = garrison[at]
    garrison[at] = 0.0
    step = ax.leg[a][r] + 1
    found = np.zeros(len(r), dtype=bool)
    for j in range(1, th.route_len[a]):
        node = th.routes[a, j]
        ok = (j > step) & ~found & ~nd.rebel[node][r]
        nd.garrison[node][r[ok]] += rules.combat.retreating(survivors[ok], take(p.combat.retreat_fraction, r[ok]))
        found |= ok
    jump, cap = take(p.momentum.jump, r), take(p.momentum.cap, r)
    for other in range(th.n_axes):
        step_up = jump if other == a else take(p.momentum.spillover, r) * jump
        ax.momentum[other][r] = rules.momentum.after_capture(ax.momentum[other][r], step_up, cap)
    reg.cohesion[r] = rules.cohesion.after_loss(reg.cohesion[r], take(p.cohesion.shock, r),
                                                entity(p.nodes.importance, i, r))
    manned(b, r)
    at_capital = i == th.capital
    end(b, r[at_capital], CAPTURED)
    r, i = r[~at_capital], i[~at_capital]
    for other in range(th.n_axes):
        m = (ax.status[other][r] == ASSAULTING) & (target(b, r, other) == i)
        move_on(b, r[m], other)
    check_collapse(b, r)


def combat_round(b, r, a: int) -> None:
    """One day's round of axis ``a``'s assault in rows ``r`` (docs/MODEL.md section 4.4).

    1. a fresh assault notes both sides' strength;  2. Poisson losses on both sides;  3. a side past
    its breakpoint breaks: repulsed (momentum setback, regroup) or the node falls."""
    ax, reg, p = b.axes, b.regime, b.p
    i = target(b, r, a)
    at = cell(i, r, len(reg.t))
    garrison, strength = flat(b.nodes.garrison)[at], ax.strength[a][r]
    fresh = ax.fresh[a][r]
    ax.start_att[a][r[fresh]] = strength[fresh]
    ax.start_def[a][r[fresh]] = garrison[fresh]
    ax.fresh[a][r] = False
    factor = rules.cohesion.combat_factor(reg.cohesion[r], take(p.cohesion.combat_weight, r))
    mean_d, mean_a = rules.combat.round_means(
        strength, garrison, ax.momentum[a][r], entity(p.nodes.defense, i, r), factor,
        take(p.combat.kill_rate, r), reg.gov_air[r], reg.rebel_air[r])
    garrison = garrison - rules.combat.draw_losses(mean_d, garrison, rng=b.rng)
    strength = strength - rules.combat.draw_losses(mean_a, strength, rng=b.rng)
    flat(b.nodes.garrison)[at], ax.strength[a][r] = garrison, strength
    outcome = rules.combat.resolve(
        rules.combat.broken(ax.start_att[a][r], strength, p.axes.loss_tolerance[a][r]),
        rules.combat.broken(ax.start_def[a][r], garrison, take(p.combat.defender_loss_tolerance, r) * factor))
    rep = r[outcome == rules.combat.REPULSED]
    ax.momentum[a][rep] = rules.momentum.after_setback(ax.momentum[a][rep], take(p.momentum.setback, rep))
    ax.resume_day[a][rep] = reg.t[rep] + take(p.combat.regroup_days, rep)
    ax.fresh[a][rep] = True
    falls = outcome == rules.combat.FALLS
    capture(b, r[falls], a, i[falls])


def ally_arrives(b, r, j) -> None:
    """Ally ``j`` (one per row) arrives in rows ``r`` (docs/MODEL.md section 4.8).

    1. its arrival recorded;  2. its support (capacity x amount) added to its side's air and
    cohesion totals;  3. a government ally's fighters join its node (the capital if that has fallen),
    a rebel ally's are split among the active axes."""
    th, reg, nd, ax, p, n = b.th, b.regime, b.nodes, b.axes, b.p, len(b.regime.t)
    at = cell(j, r, n)
    flat(b.allies.arrived)[at] = True
    flat(b.allies.arrival_day)[at] = reg.t[r]
    capacity = entity(p.allies.capacity, j, r)
    air = rules.allies.support(capacity, entity(p.allies.air_support, j, r))
    cohesion = rules.allies.support(capacity, entity(p.allies.cohesion_support, j, r))
    forces = rules.allies.support(capacity, entity(p.allies.ground_forces, j, r))
    gov = th.ally_government[j]
    reb = ~gov
    if gov.any():
        g, deploy = r[gov], th.ally_deploy[j[gov]]
        reg.gov_air[g] += air[gov]
        reg.gov_cohesion[g] += cohesion[gov]
        at = cell(np.where(flat(nd.rebel)[cell(deploy, g, n)], th.capital, deploy), g, n)
        garrison = flat(nd.garrison)
        empty = garrison[at] <= 0.0
        garrison[at] += forces[gov]
        moved(b, g)  # the government's air slows the advance
        manned(b, g[empty])
    if reb.any():
        rb = r[reb]
        reg.rebel_air[rb] += air[reb]
        reg.rebel_cohesion[rb] += cohesion[reb]
        active = take(ax.status, rb) != DONE
        put(ax.strength, rb, take(ax.strength, rb)
            + np.where(active, rules.allies.split(forces[reb], active.sum(axis=0)), 0.0))


def desert(b, r, node) -> None:
    """A desertion wave at ``node`` (one per row) in rows ``r`` (docs/MODEL.md section 4.3).

    1. the garrison loses its wave share;  2. the deserters are counted and add to unrest;
    3. a garrison left empty stops counting towards the desertion hazard."""
    reg, p = b.regime, b.p
    at = cell(node, r, len(reg.t))
    garrison = flat(b.nodes.garrison)
    garrison[at], deserters = rules.desertion.wave(garrison[at], take(p.desertion.wave_fraction, r))
    reg.deserted[r] += deserters
    reg.unrest[r] = rules.unrest.after_wave(reg.unrest[r], take(p.desertion.unrest_per_wave, r))
    manned(b, r[garrison[at] <= 0.0])


def flee(b, r) -> None:
    """The ruler flees in rows ``r`` (docs/MODEL.md section 4.7).

    1. the day recorded;  2. cohesion takes the flight shock;  3. collapse checked."""
    reg = b.regime
    reg.fled_day[r] = reg.t[r]
    reg.cohesion[r] = rules.cohesion.after_shock(reg.cohesion[r], take(b.p.leadership.flight_cohesion_shock, r))
    check_collapse(b, r)


def hand_over(b, r) -> None:
    """A negotiated hand-over ends the regime in rows ``r`` (docs/MODEL.md section 4.7).

    1. the replication ends collapsed."""
    end(b, r, COLLAPSED)


def rise(b, r) -> None:
    """The capital rises in rows ``r`` (docs/MODEL.md section 4.6).

    1. the day recorded;  2. the capital's garrison takes its loss;  3. cohesion takes the uprising
    shock;  4. collapse checked."""
    th, reg, p = b.th, b.regime, b.p
    reg.uprising_day[r] = reg.t[r]
    b.nodes.garrison[th.capital][r] *= 1.0 - take(p.unrest.uprising_garrison_loss, r)
    manned(b, r[b.nodes.garrison[th.capital][r] <= 0.0])
    reg.cohesion[r] = rules.cohesion.after_shock(reg.cohesion[r], take(p.unrest.uprising_cohesion_shock, r))
    check_collapse(b, r)
