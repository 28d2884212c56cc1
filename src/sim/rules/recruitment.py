"""Forces that follow the war: rebel joiners who bandwagon with the falling belief (Christia 2012),
loyalist reserves that mobilise when their community is threatened."""

import numpy as np


def joiners(joiners_per_day, belief, days=1.0):
    """Fighters who join an active axis: rate x (1 - pi) per day."""
    return joiners_per_day * (1.0 - belief) * days


def mobilises(threat, reserve_threat):
    """Whether a node's loyalist reserve mobilises: the local attacker's odds reach its threshold."""
    return np.asarray(threat) >= reserve_threat
