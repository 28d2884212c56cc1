"""Proper scoring rules for forecasts of dates and end states.

A date forecast is a cumulative curve F(x) = P(the event by day x) on a grid of days up to the
horizon H, with 1 - F(H) the chance it does not happen by then. Observations may be a day, a window
of days, or "not by day c" (right-censored). CRPS is taken over [0, H] (a threshold-weighted CRPS
with weight 1 on the horizon), so forecasts that leave mass beyond the horizon stay finite:

    CRPS(F, [a, b]) = integral over [0, min(a, H)] of F(x)^2 dx
                    + integral over [min(b, H), H] of (1 - F(x))^2 dx

which is the usual CRPS when a = b, charges nothing for mass inside an uncertain window, and for a
right-censored observation (b = infinity) only charges the mass before a. Lower is better (days).
"""

from __future__ import annotations

import math

import numpy as np

PROBABILITY_FLOOR = 1e-3  # log scores of probabilities below this are taken at this floor


def crps_interval(days: np.ndarray, cdf: np.ndarray, low: float, high: float) -> float:
    """CRPS of a forecast given as ``cdf`` at the grid ``days`` (0 .. H, increasing, step-wise:
    cdf[k] holds on [days[k], days[k+1])) against an observation in [low, high] (high may be inf)."""
    days = np.asarray(days, dtype=float)
    cdf = np.asarray(cdf, dtype=float)
    horizon = days[-1]
    widths = np.diff(days)
    left, right = days[:-1], days[1:]
    a, b = min(low, horizon), min(high, horizon)
    before = np.clip(np.minimum(right, a) - left, 0.0, None)   # part of each step below a
    after = np.clip(right - np.maximum(left, b), 0.0, None)    # part of each step above b
    assert np.all(before <= widths + 1e-12) and np.all(after <= widths + 1e-12)
    return float(np.sum(cdf[:-1] ** 2 * before) + np.sum((1.0 - cdf[:-1]) ** 2 * after))


def log_score(p_observed: float) -> float:
    """Natural-log score of the probability given to what happened (higher is better; floored)."""
    return math.log(max(p_observed, PROBABILITY_FLOOR))


def brier(probabilities: dict[str, float], observed: str) -> float:
    """Multi-category Brier score: sum over categories of (p - 1{observed})^2 (lower is better)."""
    return float(sum((p - (k == observed)) ** 2 for k, p in probabilities.items()))


def pit(days: np.ndarray, cdf: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """Probability integral transform of the observation: F just before ``low`` and F at ``high``
    (equal for an exact day; a range for a window; F(H) to 1 when censored past the horizon)."""
    days = np.asarray(days, dtype=float)
    cdf = np.asarray(cdf, dtype=float)

    def F(x: float) -> float:
        if x >= days[-1]:
            return 1.0 if math.isinf(x) else float(cdf[-1])
        return float(cdf[np.searchsorted(days, x, side="right") - 1]) if x >= days[0] else 0.0
    lo = F(np.nextafter(low, -np.inf)) if low > days[0] else 0.0
    return lo, F(high)
