"""The ruler's exit as a decision on his own odds (Goemans, Gleditsch & Chiozza 2009;
Escribà-Folch & Krcmaric 2017; Krcmaric 2020).

He reads pi_R = pi (1 - theta_cap) s_cap: the public belief, times the odds that the capital holds
locally, times the share of its garrison still standing. He flees at a hazard that switches on as
pi_R falls below his threshold, raised by his exit option; he negotiates a hand-over likewise.
"""

import numpy as np
from scipy.special import ndtr


def reading(belief, capital_threat, capital_standing):
    """pi_R = pi (1 - theta_cap) s_cap."""
    return belief * (1.0 - capital_threat) * capital_standing


def flight_threshold(exit_below, haven, haven_weight):
    """pi* = exit_below + haven_weight x haven, at most 1."""
    return np.minimum(exit_below + haven_weight * haven, 1.0)


def hazard(ruler_odds, threshold, spread, max_per_day):
    """Exits per day: h_max Phi((pi* - pi_R) / s); h_max / 2 at the threshold."""
    return max_per_day * ndtr((threshold - ruler_odds) / spread)
