"""Advance along roads and the threat an approaching axis poses."""

import numpy as np


def advance_speed(speed_km_day, momentum, government_air, air_slowdown):
    """km/day: base speed times momentum, slowed by the government side's air support."""
    return speed_km_day * momentum / (1.0 + air_slowdown * government_air)


def threat(distance_km, scale_km):
    """Threat in [0, 1] of an axis ``distance_km`` away: exp(-d / scale); 0 when d is infinite.

    A distance a rounding error below 0 (an axis a hair past its leg's end) counts as 0.
    """
    return np.exp(-np.maximum(np.asarray(distance_km, dtype=float), 0.0) / scale_km)
