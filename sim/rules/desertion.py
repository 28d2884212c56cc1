"""Desertion waves: a state-dependent hazard at each government garrison."""

import numpy as np


def pressure(base_rate, cohesion, mean_momentum, unrest,
             cohesion_sensitivity, momentum_sensitivity, unrest_sensitivity):
    """The regime-wide factor of every garrison's hazard: base x exp(sC (1 - C) + sM max(M - 1, 0) + sU U)."""
    return base_rate * np.exp(
        cohesion_sensitivity * (1.0 - cohesion)
        + momentum_sensitivity * np.maximum(mean_momentum - 1.0, 0.0)
        + unrest_sensitivity * unrest
    )


def exposure(node_threat, threat_sensitivity):
    """The garrison's own factor: exp(sT threat)."""
    return np.exp(threat_sensitivity * node_threat)


def hazard(base_rate, cohesion, mean_momentum, unrest, node_threat,
           cohesion_sensitivity, momentum_sensitivity, unrest_sensitivity, threat_sensitivity):
    """Waves per day at one garrison: base x exp(sC (1 - C) + sM max(M - 1, 0) + sU U + sT threat),
    the product of :func:`pressure` and :func:`exposure`."""
    return pressure(base_rate, cohesion, mean_momentum, unrest,
                    cohesion_sensitivity, momentum_sensitivity, unrest_sensitivity) \
        * exposure(node_threat, threat_sensitivity)


def wave(garrison, wave_fraction):
    """(garrison after a wave, fighters who deserted)."""
    deserters = garrison * wave_fraction
    return garrison - deserters, deserters
