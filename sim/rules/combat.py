"""Assaults: daily rounds of stochastic Lanchester square-law attrition with a breakpoint rule.

Each day of an assault, defenders lose Poisson(a A) and attackers Poisson(d D) fighters, where the
per-fighter kill rates a and d carry momentum, the defensive multiplier, cohesion and air support.
A side breaks when its losses since the assault began reach its tolerance share of its strength then.
"""

import numpy as np

CONTINUE, FALLS, REPULSED = 0, 1, 2


def round_means(attackers, defenders, momentum, defense, cohesion_factor, kill_rate,
                government_air, rebel_air):
    """Expected (defender losses, attacker losses) in one day of assault, in fighters."""
    defender_losses = kill_rate * attackers * momentum * (1.0 + rebel_air) / defense
    attacker_losses = kill_rate * defenders * defense * cohesion_factor * (1.0 + government_air)
    return defender_losses, attacker_losses


def draw_losses(mean, force, *, rng):
    """Poisson losses with the given mean, never more than the force present."""
    return np.minimum(rng.poisson(mean), force)


def broken(start, now, tolerance):
    """Whether a side that began with ``start`` fighters and has ``now`` left has reached its breakpoint."""
    return start - now >= tolerance * start


def resolve(attacker_broken, defender_broken):
    """Outcome of a round: the attacker's break wins ties (a repulse); else the defender's break is a fall."""
    return np.where(attacker_broken, REPULSED, np.where(defender_broken, FALLS, CONTINUE))


def retreating(survivors, retreat_fraction):
    """Fighters of a fallen garrison who fall back to the next government node."""
    return survivors * retreat_fraction
