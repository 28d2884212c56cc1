"""Desertion waves: a state-dependent hazard at each government garrison."""

import numpy as np


def hazard(base_rate, cohesion, mean_momentum, unrest, node_threat,
           cohesion_sensitivity, momentum_sensitivity, unrest_sensitivity, threat_sensitivity):
    """Waves per day at one garrison: base x exp(sC (1 - C) + sM max(M - 1, 0) + sU U + sT threat)."""
    return base_rate * np.exp(
        cohesion_sensitivity * (1.0 - cohesion)
        + momentum_sensitivity * np.maximum(mean_momentum - 1.0, 0.0)
        + unrest_sensitivity * unrest
        + threat_sensitivity * node_threat
    )


def wave(garrison, wave_fraction):
    """(garrison after a wave, fighters who deserted)."""
    deserters = garrison * wave_fraction
    return garrison - deserters, deserters
