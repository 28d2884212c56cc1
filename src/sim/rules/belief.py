"""The common belief that the regime survives, pi, held as its log-odds L = logit pi.

Public events move L both ways by jumps; between them L relaxes towards an anchor set by the
balance of combat power and the allies present (Lohmann 1994; Angeletos, Hellwig & Pavan 2007:
fundamentals decide the fate, events the timing).
"""

import numpy as np

MAX_LOG_ODDS = 30.0  # |L| is kept below this: pi within 1e-13 of 0 or 1, never exactly either


def logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


def probability(log_odds):
    """pi = 1 / (1 + exp(-L))."""
    return 1.0 / (1.0 + np.exp(-np.asarray(log_odds, dtype=float)))


def clip(log_odds):
    return np.clip(log_odds, -MAX_LOG_ODDS, MAX_LOG_ODDS)


def anchor(baseline, force_weight, government_power, rebel_power, government_support, rebel_support):
    """L_F = logit(baseline) + w log((P_gov + 1) / (P_reb + 1)) + A_gov - A_reb: the belief that
    the balance of combat power P (fighters x quality) and the visible allied commitment A warrant."""
    ratio = np.log1p(government_power) - np.log1p(rebel_power)
    return clip(logit(baseline) + force_weight * ratio + government_support - rebel_support)


def relax(log_odds, anchor_log_odds, relax_per_day, days=1.0):
    """L after ``days`` of exponential relaxation towards the anchor."""
    return anchor_log_odds + (log_odds - anchor_log_odds) * np.exp(-relax_per_day * days)


def shock(log_odds, size):
    """L after a public event: + size (good news for the regime) or - size (bad news)."""
    return clip(log_odds + size)
