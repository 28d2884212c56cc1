"""The threshold cascade of garrisons by loyalty class (Granovetter 1978; Kuran 1991; McLauchlin
2010; Koehler, Ohl & Albrecht 2016; Quinlivan 1999).

Each class c (contingent, core) of a node's garrison is a continuum of units whose thresholds are
normal, N(mu_c, sigma). A unit abandons when its propensity

    z = b1 (1 - pi) + b2 D_c + b3 theta - aid

exceeds its threshold, where D_c is the share of its class already gone regime-wide and theta the
local attacker's odds, so the share of the class that has gone is Phi((z - mu_c) / sigma); gone
units never return. Fed back daily through D_c and pi, this is Granovetter's cascade.
"""

import numpy as np
from scipy.special import ndtr

CONTINGENT, CORE = 0, 1
OPEN_BELOW = 1.0  # a garrison of fewer fighters than this is gone: the node is open


def propensity(belief, gone_share, threat, aid, belief_weight, peer_weight, threat_weight):
    """z = b1 (1 - pi) + b2 D + b3 theta - aid."""
    return belief_weight * (1.0 - belief) + peer_weight * gone_share + threat_weight * threat - aid


def share_gone(z, threshold, spread):
    """Share of a class with threshold below z: Phi((z - mu) / sigma)."""
    return ndtr((z - threshold) / spread)


def abandon(standing, gone_before, gone_now):
    """(standing fighters after, fighters who abandoned) when the class's gone share rises from
    ``gone_before`` to ``gone_now``: the newly gone units' share of those still standing."""
    gone_now = np.maximum(gone_now, gone_before)
    left = 1.0 - gone_before
    share = np.where(left > 0.0, (gone_now - gone_before) / np.where(left > 0.0, left, 1.0), 1.0)
    leaving = standing * share
    return standing - leaving, leaving


def is_open(fighters):
    """Whether a garrison is gone (fewer than OPEN_BELOW fighters)."""
    return fighters < OPEN_BELOW
