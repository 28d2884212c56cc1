"""Government cohesion C in [0, 1]: one regime-wide morale that city losses shock, unrest erodes,
allies and the ruler's presence hold up; the regime collapses below a threshold."""

import numpy as np


def after_loss(c, shock, importance):
    """Cohesion after a node of the given importance falls: C (1 - min(1, shock x importance))."""
    return c * (1.0 - np.minimum(1.0, shock * importance))


def after_shock(c, shock):
    """Cohesion after a fractional shock (the ruler's flight, an uprising)."""
    return c * (1.0 - shock)


def target(base_target, government_support, rebel_support, leader_fled):
    """Level cohesion recovers towards: base plus allied support, minus the rebels' backers; 0 once
    the ruler has fled."""
    level = np.clip(base_target + government_support - rebel_support, 0.0, 1.0)
    return np.where(leader_fled, 0.0, level)


def daily(c, target_level, recovery_per_day, unrest, unrest_drag_per_day):
    """One day: C moves a share of the way to its target and loses drag x unrest."""
    return np.clip(c + recovery_per_day * (target_level - c) - unrest_drag_per_day * unrest, 0.0, 1.0)


def collapsed(c, collapse_below):
    return c < collapse_below


def combat_factor(c, combat_weight):
    """Multiplier of defenders' fighting power and loss tolerance: (1 - w) + w C."""
    return (1.0 - combat_weight) + combat_weight * c
