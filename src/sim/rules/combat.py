"""Assaults: daily rounds of stochastic Lanchester square-law attrition with a breakpoint rule.

Each day of an assault, defenders lose Poisson(a A) and attackers Poisson(d D) fighters, where the
per-fighter kill rates a and d carry momentum, the defensive multiplier and air support.
A side breaks when its losses since the assault began reach its tolerance share of its strength then.
"""

import numpy as np

CONTINUE, FALLS, REPULSED = 0, 1, 2
# numpy's Poisson sampler takes means up to about 9.2e18; far below that a Poisson draw is its mean
# to within 1e-6 of it, so larger means (forces of 1e12 with momentum and air) lose their mean.
POISSON_MAX_MEAN = 1e18


def round_means(attackers, defenders, momentum, defense, kill_rate, government_air, rebel_air):
    """Expected (defender losses, attacker losses) in one day of assault, in fighters."""
    defender_losses = kill_rate * attackers * momentum * (1.0 + rebel_air) / defense
    attacker_losses = kill_rate * defenders * defense * (1.0 + government_air)
    return defender_losses, attacker_losses


def draw_losses(mean, force, *, rng):
    """Poisson losses with the given mean, never more than the force present.

    A mean above POISSON_MAX_MEAN (possible only with absurdly large forces) loses exactly its mean.
    """
    draw = rng.poisson(np.minimum(mean, POISSON_MAX_MEAN))
    return np.minimum(np.where(mean > POISSON_MAX_MEAN, mean, draw), force)


def broken(start, now, tolerance):
    """Whether a side that began with ``start`` fighters and has ``now`` left has reached its breakpoint."""
    return start - now >= tolerance * start


def resolve(attacker_broken, defender_broken):
    """Outcome of a round: the attacker's break wins ties (a repulse); else the defender's break is a fall."""
    return np.where(attacker_broken, REPULSED, np.where(defender_broken, FALLS, CONTINUE))


def retreating(survivors, retreat_fraction):
    """Fighters of a fallen garrison who fall back to the next node towards the capital."""
    return survivors * retreat_fraction


def culminated(lost, raised, culmination):
    """Whether an axis has lost its culmination share of all the fighters it has had."""
    return lost >= culmination * raised


def counterattack_hazard(counterattack_per_day, belief):
    """Retakings of a lost node per day: rate x max(0, 2 pi - 1), none while the regime looks lost."""
    return counterattack_per_day * np.maximum(0.0, 2.0 * belief - 1.0)


def split_losses(losses, contingent, core):
    """Losses shared between the two classes in proportion to their fighters: (contingent, core) lost."""
    total = contingent + core
    share = np.where(total > 0.0, contingent / np.where(total > 0.0, total, 1.0), 0.0)
    return losses * share, losses - losses * share
