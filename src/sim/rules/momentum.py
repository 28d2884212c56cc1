"""Rebel momentum M: multiplies advance speed and assault power; jumps at captures, decays daily,
drops at repulses."""

import numpy as np


def after_capture(m, jump, cap):
    """Momentum of an axis after a node falls (``jump`` for the captor, ``spillover * jump`` for others),
    capped at ``cap`` (a momentum already above the cap is left as it is, never lowered)."""
    return np.maximum(m, np.minimum(m + jump, cap))


def after_setback(m, setback):
    """Momentum after an assault is repulsed."""
    return m * (1.0 - setback)


def daily_decay(m, decay_per_day):
    """One day of relaxation of M towards 1: 1 + (M - 1) exp(-decay)."""
    return 1.0 + (m - 1.0) * np.exp(-decay_per_day)
