"""The ruler: flight or a negotiated hand-over, each a hazard that rises with the threat to the
capital, falling cohesion and unrest."""

import numpy as np


def pressure(capital_threat, cohesion, unrest, threat_sensitivity, cohesion_sensitivity, unrest_sensitivity):
    """The factor both hazards share: exp(sT threat + sC (1 - C) + sU U)."""
    return np.exp(
        threat_sensitivity * capital_threat
        + cohesion_sensitivity * (1.0 - cohesion)
        + unrest_sensitivity * unrest
    )


def hazard(base_rate, capital_threat, cohesion, unrest,
           threat_sensitivity, cohesion_sensitivity, unrest_sensitivity):
    """Per-day hazard: base x :func:`pressure`. Used for flight and hand-over alike."""
    return base_rate * pressure(capital_threat, cohesion, unrest,
                                threat_sensitivity, cohesion_sensitivity, unrest_sensitivity)
