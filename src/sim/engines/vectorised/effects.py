"""Event effects and tick steps of the vectorised engine, applied to rows ``r`` of a block at once.

Each has the name, the numbered steps and the docs/MODEL.md section of its counterpart in the
reference engine (``sim.engines.reference.Replication``), so the two can be read side by side;
``EFFECTS`` lists them (a test holds the two lists equal). ``b`` is the
:class:`~sim.engines.vectorised.Block`: its parameters ``b.p``, its state ``b.regime``,
``b.nodes``, ``b.axes``, ``b.allies``, its theatre ``b.th`` and generator ``b.rng``. ``r`` is an
index array of rows that have not ended.
"""

from __future__ import annotations

import numpy as np

from ... import rules
from ..outcomes import ABANDONED, ASSAULT, CAPTURED, COLLAPSE, COLLAPSED, HOLDS, RISING
from .state import ALL, ASSAULTING, DONE, DORMANT, MOVING, cell, entity, flat, put, take

EFFECTS = ("arrive", "move_on", "capture", "combat_round", "culminate", "allies_act", "rise", "mobilise",
           "cascade", "counterattack", "relax", "flee", "hand_over", "end")


# ------------------------------------------------------------------ derived quantities

def target(b, r, a: int):
    """Node each row's axis ``a`` is heading for (its last node once the route is done)."""
    return b.th.routes[a, np.minimum(b.axes.leg[a][r] + 1, b.th.route_len[a] - 1)]


def belief(b, r):
    return rules.belief.probability(b.regime.log_odds[r])


def shock(b, r, size) -> None:
    reg = b.regime
    reg.log_odds[r] = rules.belief.shock(reg.log_odds[r], size)


def garrison(b, r, i):
    """Fighters at node ``i`` (one per row) of rows ``r``."""
    at = cell(i, r, len(b.regime.t))
    return flat(b.nodes.contingent)[at] + flat(b.nodes.core)[at]


def active(b, r):
    """(axes, rows) whether each axis of rows ``r`` is moving or assaulting."""
    status = take(b.axes.status, r)
    return (status == MOVING) | (status == ASSAULTING)


def capital_standing(b, r):
    """Share of the capital's garrison units whose thresholds have not been crossed."""
    c, nd, share = b.th.capital, b.nodes, b.regime.capital_core[r]
    return 1.0 - ((1.0 - share) * nd.gone_contingent[c][r] + share * nd.gone_core[c][r])


def observe_threat(b, r) -> None:
    """The daily snapshot of every government node's local attacker's odds in rows ``r``
    (docs/MODEL.md section 4.4)."""
    th, ax, nd, reg, p = b.th, b.axes, b.nodes, b.regime, b.p
    n = len(reg.t)
    attack = np.zeros((th.n_nodes, len(r)))
    scale = take(p.threat.scale_km, r)
    is_active = active(b, r)
    rebel = take(nd.rebel, r)
    for a in range(th.n_axes):
        on = is_active[a]
        if not on.any():
            continue
        power = rules.threat.power(ax.strength[a][r], ax.momentum[a][r], reg.rebel_air[r])
        leg = ax.leg[a][r]
        here = ax.pos[a][r] + flat(p.legs.cum[a])[cell(leg, r, n)]  # km along the route
        for j in range(1, th.route_len[a]):
            i = th.routes[a, j]
            ahead = on & (j > leg) & ~rebel[i]
            if not ahead.any():
                continue
            distance = p.legs.cum[a, j][r] - here
            attack[i] += np.where(ahead, power * rules.threat.reach(np.where(ahead, distance, 0.0), scale), 0.0)
    defence = rules.threat.power(take(nd.contingent, r) + take(nd.core, r), take(p.nodes.defense, r), reg.gov_air[r])
    odds = np.where(rebel, 0.0, rules.threat.odds(attack, defence, take(p.threat.sharpness, r)))
    put(nd.threat, r, odds)
    reg.capital_threat[r] = odds[th.capital]


def anchor(b, r):
    """The belief's anchor in rows ``r`` (docs/MODEL.md section 4.1)."""
    nd, ax, reg, p = b.nodes, b.axes, b.regime, b.p
    gov = np.where(take(nd.rebel, r), 0.0, rules.threat.power(
        take(nd.contingent, r) + take(nd.core, r), take(p.nodes.defense, r), reg.gov_air[r])).sum(axis=0)
    risen = take(ax.status, r) != DORMANT  # an axis that culminated or finished its route is still a force
    reb = np.where(risen, rules.threat.power(take(ax.strength, r), take(ax.momentum, r), reg.rebel_air[r]),
                   0.0).sum(axis=0)
    return rules.belief.anchor(take(p.belief.baseline, r), take(p.belief.force_weight, r), gov, reb,
                               reg.gov_belief[r], reg.rebel_belief[r])


def moved(b, r) -> None:
    """Speeds (0 unless moving) of rows ``r``, after their momentum, air support or axes' status
    changed: only arrivals (with their captures), allies, risings and the tick change them."""
    ax, p = b.axes, b.p
    put(ax.speed, r, np.where(take(ax.status, r) == MOVING, rules.movement.advance_speed(
        take(p.axes.speed_km_day, r), take(ax.momentum, r), b.regime.gov_air[r], take(p.combat.air_slowdown, r)),
        0.0))


def record(b, r) -> None:
    """Copy the outcomes of ended rows ``r`` that :func:`end` did not (their state no longer changes)."""
    reg, o = b.regime, b.out
    rid = reg.rid[r]
    o.node_fall_day[rid] = take(b.nodes.fall_day, r).T
    o.node_fall_how[rid] = take(b.nodes.fall_how, r).T
    o.node_retaken_day[rid] = take(b.nodes.retaken_day, r).T
    o.leader_fled_day[rid] = reg.fled_day[r]
    o.handover_day[rid] = reg.handover_day[r]
    o.dispersed[rid] = take(reg.dispersed, r).sum(axis=0)
    o.ally_arrival_day[rid] = take(b.allies.arrival_day, r).T
    o.ally_withdrawal_day[rid] = take(b.allies.withdrawal_day, r).T


# ------------------------------------------------------------------ effects

def end(b, r, state: int) -> None:
    """Rows ``r`` end in ``state`` now (docs/MODEL.md section 5).

    1. rows already ended are left alone;  2. end state and day recorded (the capital falls with the
    regime, by collapse if it collapsed);  3. final belief recorded now (:func:`record` copies the
    rest later)."""
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
    if state == COLLAPSED:
        b.nodes.fall_how[b.th.capital][r] = COLLAPSE
    o.final_belief[rid] = belief(b, r)


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
    tick);  3. an open node (its garrison gone) is taken at once;  4. speeds follow from the new
    state."""
    ax, reg, n, rows = b.axes, b.regime, len(b.regime.t), r
    ax.pos[a][r] = ax.leg_length[a][r]
    i = target(b, r, a)
    through = flat(b.nodes.rebel)[cell(i, r, n)]
    move_on(b, r[through], a)
    r, i = r[~through], i[~through]
    ax.status[a][r] = ASSAULTING
    ax.fresh[a][r] = True
    ax.resume_day[a][r] = reg.t[r]
    empty = rules.cascade.is_open(garrison(b, r, i))
    capture(b, r[empty], a, i[empty], ABANDONED)
    moved(b, rows[~reg.ended[rows]])


def fall_back(b, r, i, contingent, core) -> None:
    """Fighters (by class) leave nodes ``i`` (one per row) for the next node towards the capital,
    if the government holds it; else they disperse (docs/MODEL.md section 4.2)."""
    nd, n = b.nodes, len(b.regime.t)
    j = b.th.fallback[i]
    ok = j >= 0
    ok[ok] = ~flat(nd.rebel)[cell(j[ok], r[ok], n)]
    at = cell(j[ok], r[ok], n)
    np.add.at(flat(nd.contingent), at, contingent[ok])
    np.add.at(flat(nd.core), at, core[ok])
    np.add.at(b.regime.dispersed[0], r[~ok], contingent[~ok])
    np.add.at(b.regime.dispersed[1], r[~ok], core[~ok])


def capture(b, r, a: int, i, how: int) -> None:
    """Nodes ``i`` (one per row) fall to axis ``a``, ``how``: ASSAULT (a combat round) or ABANDONED
    (without a fight) (docs/MODEL.md section 4.6).

    1. i rebel-held, its first fall day recorded and how it fell (RISING if a is a latent group);
    2. the survivors leave, a share falling back towards the capital;  3. momentum jumps;  4. belief
    takes the loss shock;  5. the capital: captured, stop;  6. the axes assaulting i move on."""
    if len(r) == 0:
        return
    th, nd, ax, reg, p = b.th, b.nodes, b.axes, b.regime, b.p
    at = cell(i, r, len(reg.t))
    flat(nd.rebel)[at] = True
    first = np.isnan(flat(nd.fall_day)[at])
    flat(nd.fall_day)[at[first]] = reg.t[r[first]]
    flat(nd.fall_how)[at[first]] = np.where(p.axes.rises_below[a][r[first]] < 1.0, RISING, how)
    contingent, core = flat(nd.contingent)[at], flat(nd.core)[at]
    for name in ("contingent", "core", "gone_contingent", "gone_core"):
        flat(getattr(nd, name))[at] = 0.0
    share = take(p.combat.retreat_fraction, r)
    fall_back(b, r, i, rules.combat.retreating(contingent, share), rules.combat.retreating(core, share))
    jump, cap = take(p.momentum.jump, r), take(p.momentum.cap, r)
    for other in range(th.n_axes):
        step_up = jump if other == a else take(p.momentum.spillover, r) * jump
        ax.momentum[other][r] = rules.momentum.after_capture(ax.momentum[other][r], step_up, cap)
    shock(b, r, -take(p.belief.loss_shock, r) * entity(p.nodes.importance, i, r))
    at_capital = i == th.capital
    end(b, r[at_capital], CAPTURED)
    r, i = r[~at_capital], i[~at_capital]
    for other in range(th.n_axes):
        m = (ax.status[other][r] == ASSAULTING) & (target(b, r, other) == i)
        move_on(b, r[m], other)


def combat_round(b, r, a: int) -> None:
    """One day's round of axis ``a``'s assault in rows ``r`` (docs/MODEL.md section 4.5).

    1. a fresh assault notes both sides' strength;  2. Poisson losses on both sides, the
    defenders' shared between the classes;  3. a side past its breakpoint breaks: the node falls,
    or the assault is repulsed (momentum setback, regroup, belief rises);  4. an axis that has
    lost its culmination share culminates."""
    ax, nd, reg, p = b.axes, b.nodes, b.regime, b.p
    i = target(b, r, a)
    at = cell(i, r, len(reg.t))
    contingent, core = flat(nd.contingent)[at], flat(nd.core)[at]
    defenders, strength = contingent + core, ax.strength[a][r]
    fresh = ax.fresh[a][r]
    ax.start_att[a][r[fresh]] = strength[fresh]
    ax.start_def[a][r[fresh]] = defenders[fresh]
    ax.fresh[a][r] = False
    mean_d, mean_a = rules.combat.round_means(
        strength, defenders, ax.momentum[a][r], entity(p.nodes.defense, i, r), take(p.combat.kill_rate, r),
        reg.gov_air[r], reg.rebel_air[r])
    lost_d = rules.combat.draw_losses(mean_d, defenders, rng=b.rng)
    lost_a = rules.combat.draw_losses(mean_a, strength, rng=b.rng)
    lost_c, lost_k = rules.combat.split_losses(lost_d, contingent, core)
    contingent, core = np.maximum(contingent - lost_c, 0.0), np.maximum(core - lost_k, 0.0)
    flat(nd.contingent)[at], flat(nd.core)[at] = contingent, core
    strength = strength - lost_a
    ax.strength[a][r] = strength
    ax.lost[a][r] += lost_a
    outcome = rules.combat.resolve(
        rules.combat.broken(ax.start_att[a][r], strength, p.axes.loss_tolerance[a][r]),
        rules.combat.broken(ax.start_def[a][r], contingent + core, take(p.combat.defender_loss_tolerance, r)))
    falls = outcome == rules.combat.FALLS
    capture(b, r[falls], a, i[falls], ASSAULT)
    r, outcome = r[~falls], outcome[~falls]
    rep = r[outcome == rules.combat.REPULSED]
    ax.momentum[a][rep] = rules.momentum.after_setback(ax.momentum[a][rep], take(p.momentum.setback, rep))
    ax.resume_day[a][rep] = reg.t[rep] + take(p.combat.regroup_days, rep)
    ax.fresh[a][rep] = True
    shock(b, rep, take(p.belief.repulse_shock, rep))
    culminate(b, r[rules.combat.culminated(ax.lost[a][r], ax.raised[a][r], p.axes.culmination[a][r])], a)


def culminate(b, r, a: int) -> None:
    """Axis ``a`` culminates in rows ``r`` (docs/MODEL.md section 4.5): 1. it stops for good;  2. belief rises."""
    b.axes.status[a][r] = DONE
    shock(b, r, take(b.p.belief.repulse_shock, r))


def allies_act(b, r) -> None:
    """The allies' daily step in rows ``r`` (docs/MODEL.md section 4.8): 1. present allies whose client's
    odds fell below their quitting point, or whose date has come, withdraw (one whose date comes
    before it commits never will);  2. the others not yet
    committed escalate at their hazard;  3. committed allies whose delay has passed arrive: their
    fighters join, their support counts and belief jumps towards their client."""
    th, al, reg, p = b.th, b.allies, b.regime, b.p
    now = reg.t[r]
    for j in range(th.n_allies):
        gov = bool(th.ally_government[j])
        sign = 1.0 if gov else -1.0
        odds = rules.allies.client_odds(belief(b, r), gov)
        capacity = p.allies.capacity[j][r]
        signal = rules.allies.support(capacity, p.allies.belief_support[j][r])
        present = al.committed[j][r] & ~al.withdrawn[j][r]
        quits = present & rules.allies.quits(odds, p.allies.quit_below[j][r], now, p.allies.withdraw_day[j][r])
        q = r[quits]
        al.withdrawn[j][q] = True
        al.withdrawal_day[j][q] = now[quits]
        left = quits & al.arrived[j][r]
        _support(b, r[left], j, -1.0)
        shock(b, r[left], -sign * signal[left])
        late = ~al.committed[j][r] & ~al.withdrawn[j][r] & (now >= p.allies.withdraw_day[j][r])
        al.withdrawn[j][r[late]] = True
        open_ = ~al.committed[j][r] & ~al.withdrawn[j][r]
        hazard = rules.allies.escalation_hazard(p.allies.commit_per_day[j][r], odds)
        u = np.ones(len(r))
        u[open_] = b.rng.uniform(0.0, 1.0, int(np.count_nonzero(open_)))
        commits = open_ & rules.allies.commits(u, hazard)
        c = r[commits]
        al.committed[j][c] = True
        al.arrive_at[j][c] = now[commits] + p.allies.delay_days[j][c]
        due = al.committed[j][r] & ~al.arrived[j][r] & ~al.withdrawn[j][r] & (now >= al.arrive_at[j][r])
        ally_arrives(b, r[due], j)
        shock(b, r[due], sign * signal[due])


def _support(b, r, j: int, sign: float) -> None:
    """Add (sign 1) or remove (-1) ally ``j``'s air, belief and materiel support in rows ``r``."""
    reg, p = b.regime, b.p
    capacity = p.allies.capacity[j][r]
    air = rules.allies.support(capacity, p.allies.air_support[j][r])
    signal = rules.allies.support(capacity, p.allies.belief_support[j][r])
    if b.th.ally_government[j]:
        reg.gov_air[r] += sign * air
        reg.gov_belief[r] += sign * signal
        reg.aid[r] += sign * rules.allies.support(capacity, p.allies.materiel[j][r])
    else:
        reg.rebel_air[r] += sign * air
        reg.rebel_belief[r] += sign * signal


def ally_arrives(b, r, j: int) -> None:
    """Ally ``j``'s support arrives in rows ``r``: a government ally's fighters join the core units of
    its node (the capital if that has fallen), a rebel ally's are split among the active axes."""
    if not len(r):
        return
    th, reg, nd, ax, p, n = b.th, b.regime, b.nodes, b.axes, b.p, len(b.regime.t)
    b.allies.arrived[j][r] = True
    b.allies.arrival_day[j][r] = reg.t[r]
    _support(b, r, j, 1.0)
    forces = rules.allies.support(p.allies.capacity[j][r], p.allies.ground_forces[j][r])
    if th.ally_government[j]:
        deploy = np.full(len(r), th.ally_deploy[j])
        node = np.where(flat(nd.rebel)[cell(deploy, r, n)], th.capital, deploy)
        flat(nd.core)[cell(node, r, n)] += forces
        reg.raised[1][r] += forces
    else:
        on = active(b, r)
        share = np.where(on, rules.allies.split(forces, on.sum(axis=0)), 0.0)
        put(ax.strength, r, take(ax.strength, r) + share)
        put(ax.raised, r, take(ax.raised, r) + share)
    moved(b, r)  # the government's air slows the advance


def rise(b, r) -> None:
    """Latent groups rise in rows ``r`` (docs/MODEL.md section 4.7): each dormant axis whose threshold
    belief has passed 1. becomes active, 2. makes belief drop, 3. arrives at once if it starts at
    its target."""
    ax, p = b.axes, b.p
    for a in range(b.th.n_axes):
        r = r[~b.regime.ended[r]]
        up = r[(ax.status[a][r] == DORMANT) & (belief(b, r) < p.axes.rises_below[a][r])]
        if len(up):
            ax.status[a][up] = MOVING
            shock(b, up, -take(p.belief.rally_shock, up))
            place(b, up, a)


def place(b, r, a: int) -> None:
    """Axis ``a`` becoming active in rows ``r`` takes its place on its first leg (and may arrive at once)."""
    ax, p = b.axes, b.p
    at_target = (p.axes.assaulting[a][r] >= 0.5) | (ax.pos[a][r] >= ax.leg_length[a][r])
    arrive(b, r[at_target], a)
    moved(b, r[~at_target])


def mobilise(b, r) -> None:
    """Loyalist reserves in rows ``r`` (docs/MODEL.md section 4.7): a government node's reserve joins its core
    units once its local attacker's odds reach the reserve's threshold, and belief rises."""
    nd, reg, p = b.nodes, b.regime, b.p
    for i in range(b.th.n_nodes):
        reserve = p.nodes.reserve[i][r]
        up = ~nd.rebel[i][r] & ~nd.mobilised[i][r] & (reserve > 0.0) \
            & rules.recruitment.mobilises(nd.threat[i][r], p.nodes.reserve_threat[i][r])
        m = r[up]
        if len(m):
            nd.mobilised[i][m] = True
            nd.core[i][m] += reserve[up]
            reg.raised[1][m] += reserve[up]
            shock(b, m, take(p.belief.rally_shock, m))


def cascade(b, r) -> None:
    """The threshold cascade in rows ``r`` (docs/MODEL.md section 4.2).

    1. every government node's classes: the share gone rises to Phi((z - mu) / sigma), and the
    newly gone units leave their post, a share falling back towards the capital, the rest
    dispersing;  2. a node left with no garrison is open: belief takes the abandonment shock (once
    until it is manned again); the open capital ends the regime (collapsed);  3. an open node under
    assault is taken."""
    th, nd, reg, ax, p = b.th, b.nodes, b.regime, b.axes, b.p
    c = p.cascade
    pi = belief(b, r)
    raised, dispersed = take(reg.raised, r), take(reg.dispersed, r)
    peers = np.where(raised > 0.0, dispersed / np.where(raised > 0.0, raised, 1.0), 0.0)
    threat, rebel = take(nd.threat, r), take(nd.rebel, r)
    back_share = take(c.retreat_share, r)
    weights = (take(c.belief_weight, r), take(c.peer_weight, r), take(c.threat_weight, r))
    for k, (fighters, gone, threshold) in enumerate((
            (nd.contingent, nd.gone_contingent, c.contingent_threshold), (nd.core, nd.gone_core, c.core_threshold))):
        z = rules.cascade.propensity(pi, peers[k], threat, reg.aid[r], *weights)
        now = np.where(rebel, 0.0, rules.cascade.share_gone(z, take(threshold, r), take(c.spread, r)))
        before = take(gone, r)
        standing, leaving = rules.cascade.abandon(take(fighters, r), before, now)
        leaving = np.where(rebel, 0.0, leaving)
        put(fighters, r, np.where(rebel, take(fighters, r), standing))
        put(gone, r, np.maximum(before, now))
        reg.dispersed[k][r] += (leaving * (1.0 - back_share)).sum(axis=0)
        back = leaving * back_share
        for i in range(th.n_nodes):
            moving = back[i] > 0.0
            if moving.any():
                zero = np.zeros(int(np.count_nonzero(moving)))
                pair = (back[i][moving], zero) if k == 0 else (zero, back[i][moving])
                fall_back(b, r[moving], np.full(len(zero), i), *pair)
    for i in range(th.n_nodes):
        held = ~nd.rebel[i][r]
        gone_now = held & rules.cascade.is_open(nd.contingent[i][r] + nd.core[i][r])
        nd.opened[i][r[held & ~gone_now]] = False
        g = r[gone_now]
        nd.contingent[i][g] = 0.0
        nd.core[i][g] = 0.0
        fresh = g[~nd.opened[i][g]]
        nd.opened[i][fresh] = True
        shock(b, fresh, -take(p.belief.abandon_shock, fresh) * p.nodes.importance[i][fresh])
        if i == th.capital:
            end(b, g, COLLAPSED)
    for a in range(th.n_axes):
        r = r[~reg.ended[r]]
        i = target(b, r, a)
        at = cell(i, r, len(reg.t))
        taken = (ax.status[a][r] == ASSAULTING) & ~flat(nd.rebel)[at] & flat(nd.opened)[at]
        capture(b, r[taken], a, i[taken], ABANDONED)


def counterattack(b, r) -> None:
    """Counter-attacks in rows ``r`` (docs/MODEL.md section 4.6): each node lost during the run (never the
    capital, at most once) is retaken at its hazard; it gets a garrison of contingent units and
    belief rises as much as it fell at the loss."""
    th, nd, reg, p = b.th, b.nodes, b.regime, b.p
    hazard = rules.combat.counterattack_hazard(take(p.combat.counterattack_per_day, r), belief(b, r))
    for i in range(th.n_nodes):
        if th.rebel_at_start[i] or i == th.capital:
            continue
        can = nd.rebel[i][r] & np.isnan(nd.retaken_day[i][r]) & (hazard > 0.0)
        if not can.any():
            continue
        u = np.ones(len(r))
        u[can] = b.rng.uniform(0.0, 1.0, int(np.count_nonzero(can)))
        won = can & (u < -np.expm1(-hazard))
        w = r[won]
        nd.rebel[i][w] = False
        nd.retaken_day[i][w] = reg.t[w]
        fighters = take(p.combat.retake_share, w) * p.nodes.garrison[i][w]
        nd.contingent[i][w] = fighters
        nd.core[i][w] = 0.0
        nd.gone_contingent[i][w] = 0.0
        nd.gone_core[i][w] = 0.0
        reg.raised[0][w] += fighters
        shock(b, w, take(p.belief.loss_shock, w) * p.nodes.importance[i][w])


def relax(b, r) -> None:
    """Belief relaxes for a day towards its anchor in rows ``r`` (docs/MODEL.md section 4.1)."""
    reg = b.regime
    reg.log_odds[r] = rules.belief.relax(reg.log_odds[r], anchor(b, r), take(b.p.belief.relax_per_day, r))


def flee(b, r) -> None:
    """The ruler flees in rows ``r`` (docs/MODEL.md section 4.3).

    1. the day recorded; a successor takes over, who may still hand over (his regime's fate is
    otherwise the cascade's);  2. belief takes the flight shock."""
    reg = b.regime
    reg.fled_day[r] = reg.t[r]
    shock(b, r, -take(b.p.belief.flight_shock, r))


def hand_over(b, r) -> None:
    """A negotiated hand-over ends the regime in rows ``r`` (docs/MODEL.md section 4.3).

    1. the day recorded;  2. the replication ends collapsed."""
    b.regime.handover_day[r] = b.regime.t[r]
    end(b, r, COLLAPSED)


__all__ = [*EFFECTS, "ALL", "observe_threat", "moved", "record", "target"]
