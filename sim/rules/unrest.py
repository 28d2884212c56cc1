"""Unrest in the capital U in [0, 1]: grows with the threat to the capital and rebel momentum,
calms with cohesion, rises with desertions, and can set off an uprising."""

import numpy as np


def daily(u, capital_threat, mean_momentum, cohesion, growth_per_day, decay_per_day):
    """One day: U + growth x threat x M - decay x C x U, kept in [0, 1]."""
    return np.clip(u + growth_per_day * capital_threat * mean_momentum - decay_per_day * cohesion * u, 0.0, 1.0)


def after_wave(u, unrest_per_wave):
    """Unrest after a desertion wave: deserters join the protests."""
    return np.minimum(u + unrest_per_wave, 1.0)


def uprising_hazard(u, uprising_rate_per_day):
    """Uprisings per day."""
    return uprising_rate_per_day * u
