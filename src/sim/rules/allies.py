"""Outside parties: escalation that follows the war, support while present, withdrawal when the
cause looks lost or on a scheduled date (Fearon & Laitin 2008; Regan 2002; Balch-Lindsay, Enterline
& Joyce 2008)."""

import numpy as np


def client_odds(belief, government_side):
    """The odds of the ally's client: pi for a government patron, 1 - pi for a rebel one."""
    return np.where(government_side, belief, 1.0 - belief)


def escalation_hazard(commit_per_day, odds):
    """Commitments per day: rate x 4 pi_c (1 - pi_c), highest when the war is a toss-up (stake x
    danger), falling as the client looks safe or lost."""
    return commit_per_day * 4.0 * odds * (1.0 - odds)


def commits(uniform, hazard, days=1.0):
    """Whether an ally commits within ``days`` at ``hazard``, from a uniform draw in [0, 1)."""
    return uniform < -np.expm1(-hazard * days)


def quits(odds, quit_below, day, withdraw_day):
    """Whether a present ally withdraws: its client's odds below its quitting point, or its date come."""
    return (odds < quit_below) | (day >= withdraw_day)


def support(capacity, amount):
    """Support of one kind that one ally delivers while present: capacity x amount."""
    return capacity * amount


def split(total, parts):
    """An even split of ``total`` over ``parts`` recipients (nothing when there are none)."""
    return np.where(parts > 0, total / np.maximum(parts, 1), 0.0)
