"""A reference-class survival model: the baseline a simulator of regime collapse has to beat.

The time T from a case's as_of to the capital's fall (captured or collapsed) is Weibull, its scale
set by three covariates read from the scenario as of that date (an accelerated failure time model,
e.g. Kalbfleisch & Prentice 2002, ch. 2):

    S(t | x) = exp(-(t / lambda(x))^k),   log lambda(x) = mu + beta . z(x)

with z the covariates standardised on the cases it is fitted on:

- ``log_km``: log(1 + road km from the nearest active rebel axis to the capital);
- ``log_force``: log((rebel fighters + 1) / (government fighters + 1)), both at their means;
- ``patron``: 1 if a government-side ally is already there at as_of (``committed`` >= 0.5).

It is fitted by maximum likelihood with every observation as the record gives it: a fall inside a
window [a, b) contributes S(a) - S(b), a capital that held to day c contributes S(c); a normal
penalty of sd ``PRIOR_SD`` on each beta keeps five parameters estimable from twenty-odd cases. A fall
is a capture with the training cases' share of captures among falls (+1 / +2), else a collapse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ..engines.theatre import roads_to_capital
from ..scenario.schema import GOVERNMENT, Scenario

COVARIATES = ("log_km", "log_force", "patron")
PRIOR_SD = 2.0     # sd of the normal penalty on each standardised coefficient


def covariates(scenario: Scenario) -> np.ndarray:
    """The three covariates of a scenario as of its date (see the module's docstring)."""
    active = [a for a in scenario.axes if a.rises_below.mean >= 1.0]
    to_capital, _ = roads_to_capital(scenario)
    km = [max(to_capital[scenario.node_index(a.route[0])] - a.position_km.mean, 0.0) for a in active]
    finite = [k for k in km if math.isfinite(k)]
    nearest = min(finite) if finite else max((r.km.mean for r in scenario.roads), default=1000.0) * 10
    rebels = sum(a.strength.mean for a in active)
    government = sum(n.garrison.mean + n.reserve.mean for n in scenario.nodes if n.controller == GOVERNMENT)
    patron = any(a.side == GOVERNMENT and a.committed.mean >= 0.5 for a in scenario.allies)
    return np.array([math.log1p(nearest), math.log((rebels + 1.0) / (government + 1.0)), float(patron)])


@dataclass(frozen=True)
class Observation:
    """A case for the survival model: its covariates, and the capital's fall in [low, high) days
    (high = inf: it held to day ``low``), and whether the fall was a capture."""

    x: np.ndarray
    low: float
    high: float
    captured: bool = False


@dataclass(frozen=True)
class Fit:
    mu: float
    beta: np.ndarray
    shape: float
    centre: np.ndarray
    scale: np.ndarray
    p_captured: float

    def survival(self, x: np.ndarray, t) -> np.ndarray:
        """S(t | x): the chance the capital still stands t days after as_of."""
        z = (x - self.centre) / self.scale
        lam = math.exp(self.mu + float(self.beta @ z))
        t = np.maximum(np.asarray(t, dtype=float), 0.0)
        return np.exp(-((t / lam) ** self.shape))

    def p_what_happened(self, x: np.ndarray, low: float, high: float, state: str, horizon: int) -> float:
        """P(what happened): the observed end state with the fall in [low, high), or (high = inf) no
        fall before ``low`` or the horizon, whichever is first; a fall is a capture with ``p_captured``."""
        if math.isinf(high):
            return float(self.survival(x, min(low, horizon)))
        if low >= horizon:
            return 0.0
        share = self.p_captured if state == "captured" else 1.0 - self.p_captured
        return share * float(self.survival(x, low) - self.survival(x, min(high, horizon)))

    def cdf(self, x: np.ndarray, grid: np.ndarray, horizon: int) -> np.ndarray:
        """P(a fall before the end of each step of ``grid``), as an empirical CDF on it has it."""
        ends = np.append(grid[1:], grid[-1] + (grid[1] - grid[0] if len(grid) > 1 else 1.0))
        return 1.0 - self.survival(x, np.minimum(ends, horizon))


def fit(observations: list[Observation]) -> Fit:
    """Penalised maximum likelihood on the observations (interval- and right-censored)."""
    X = np.array([o.x for o in observations])
    centre = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)    # a covariate constant on these cases drops out
    Z = (X - centre) / scale
    low = np.array([o.low for o in observations])
    high = np.array([o.high for o in observations])
    held = np.isinf(high)

    def nll(v):
        mu, beta, log_k = v[0], v[1:-1], v[-1]
        k = math.exp(log_k)
        lam = np.exp(mu + Z @ beta)
        h_low = (low / lam) ** k                     # cumulative hazards
        h_high = (np.where(held, low, high) / lam) ** k
        # log(S(a) - S(b)) = -H(a) + log(1 - exp(-(H(b) - H(a))))
        ll = np.where(held, -h_low, -h_low + np.log(-np.expm1(-np.maximum(h_high - h_low, 1e-300))))
        return -ll.sum() + 0.5 * np.sum((beta / PRIOR_SD) ** 2)

    start = np.concatenate([[math.log(60.0)], np.zeros(Z.shape[1]), [0.0]])
    res = minimize(nll, start, method="L-BFGS-B",
                   bounds=[(-5.0, 15.0)] + [(-10.0, 10.0)] * Z.shape[1] + [(math.log(0.1), math.log(10.0))])
    falls = [o for o in observations if not math.isinf(o.high)]
    p_cap = (sum(o.captured for o in falls) + 1.0) / (len(falls) + 2.0)
    return Fit(float(res.x[0]), res.x[1:-1].copy(), float(math.exp(res.x[-1])), centre, scale, p_cap)
