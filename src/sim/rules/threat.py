"""The local odds that an attacker wins: the balance of force, not distance alone (Dupuy)."""

import numpy as np


def reach(distance_km, scale_km):
    """Share of an axis's power that bears on a node d km ahead: exp(-d / scale); 0 at infinity.

    A distance a rounding error below 0 (an axis a hair past its leg's end) counts as 0.
    """
    return np.exp(-np.maximum(np.asarray(distance_km, dtype=float), 0.0) / scale_km)


def power(fighters, quality, air):
    """Combat power: fighters x quality (momentum, or a defensive multiplier) x (1 + air)."""
    return fighters * quality * (1.0 + air)


def odds(attack_power, defence_power, sharpness):
    """theta = r^lambda / (1 + r^lambda), r = attack / defence: 0 with no attacker, 1 against no defence."""
    attack = np.asarray(attack_power, dtype=float)
    defence = np.asarray(defence_power, dtype=float)
    safe_attack = np.where(attack > 0.0, attack, 1.0)
    ratio = np.where(defence > 0.0, defence, 0.0) / safe_attack
    theta = 1.0 / (1.0 + ratio ** sharpness)
    return np.where(attack > 0.0, np.where(defence > 0.0, theta, 1.0), 0.0)
