"""The ruler's exit as a decision on his own odds (Goemans, Gleditsch & Chiozza 2009;
Escribà-Folch & Krcmaric 2017; Krcmaric 2020).

He reads pi_R = pi (1 - theta_cap) s_cap: the public belief, times the odds that the capital holds
locally, times the share of its garrison still standing; with a threat gate g > 0 his doubt,
1 - pi_R, is further weighted by theta_cap^g, so that it counts only as the enemy reaches the capital. He flees at a hazard that switches on as
pi_R falls below his threshold, raised by his exit option; he negotiates a hand-over likewise.
"""

import numpy as np
from scipy.special import ndtr


def reading(belief, capital_threat, capital_standing, threat_gate=0.0):
    """pi_R = 1 - (1 - pi (1 - theta_cap) s_cap) theta_cap^g: with g = 0, pi (1 - theta_cap) s_cap;
    with g > 0 his doubt counts only as far as the enemy is at the capital."""
    odds = belief * (1.0 - capital_threat) * capital_standing
    if np.all(np.asarray(threat_gate) == 0):   # exactly pi (1 - theta_cap) s_cap, not 1 - (1 - it)
        return odds
    return np.where(np.asarray(threat_gate) > 0, 1.0 - (1.0 - odds) * np.power(capital_threat, threat_gate), odds)


def flight_threshold(exit_below, haven, haven_weight):
    """pi* = exit_below + haven_weight x haven, at most 1."""
    return np.minimum(exit_below + haven_weight * haven, 1.0)


def hazard(ruler_odds, threshold, spread, max_per_day):
    """Exits per day: h_max Phi((pi* - pi_R) / s); h_max / 2 at the threshold."""
    return max_per_day * ndtr((threshold - ruler_odds) / spread)
