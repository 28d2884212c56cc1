"""Parameter distributions: a scenario value is a number or one of these, drawn once per replication.

Each distribution knows its support (for bounds checks and sensitivity ranges) and its mean, and
samples through an explicit ``numpy.random.Generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Distribution",
    "Fixed",
    "Uniform",
    "Triangular",
    "Normal",
    "LogNormal",
    "Beta",
    "Bernoulli",
    "DISTRIBUTIONS",
]


class Distribution:
    """Base class. Subclasses are frozen dataclasses with a ``name`` and their parameters."""

    name: str = ""

    def sample(self, size: int, *, rng: np.random.Generator) -> np.ndarray:
        """``size`` independent draws as a float64 array."""
        raise NotImplementedError

    @property
    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take (may be infinite)."""
        raise NotImplementedError

    @property
    def mean(self) -> float:
        raise NotImplementedError

    @property
    def is_random(self) -> bool:
        return True

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Quantile function, for mapping unit-cube samples (sensitivity analysis) onto the distribution."""
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True)
class Fixed(Distribution):
    value: float
    name = "fixed"

    def sample(self, size, *, rng):
        return np.full(size, float(self.value))

    @property
    def support(self):
        return (self.value, self.value)

    @property
    def mean(self):
        return float(self.value)

    @property
    def is_random(self):
        return False

    def ppf(self, q):
        return np.full(np.shape(q), float(self.value))

    def describe(self):
        return f"{self.value:g}"


@dataclass(frozen=True)
class Uniform(Distribution):
    low: float
    high: float
    name = "uniform"

    def sample(self, size, *, rng):
        return rng.uniform(self.low, self.high, size)

    @property
    def support(self):
        return (self.low, self.high)

    @property
    def mean(self):
        return 0.5 * (self.low + self.high)

    def ppf(self, q):
        return self.low + (self.high - self.low) * np.asarray(q, dtype=float)

    def describe(self):
        return f"uniform({self.low:g}, {self.high:g})"


@dataclass(frozen=True)
class Triangular(Distribution):
    low: float
    mode: float
    high: float
    name = "triangular"

    def sample(self, size, *, rng):
        if self.low == self.high:
            return np.full(size, float(self.low))
        return rng.triangular(self.low, self.mode, self.high, size)

    @property
    def support(self):
        return (self.low, self.high)

    @property
    def mean(self):
        return (self.low + self.mode + self.high) / 3.0

    def ppf(self, q):
        width = self.high - self.low
        if width == 0:
            return np.full(np.shape(q), float(self.low))
        c = (self.mode - self.low) / width
        q = np.asarray(q, dtype=float)
        # scipy.stats.triang's inverse CDF, to the last bit, without the second scipy.stats takes to import
        return np.where(q < c, np.sqrt(c * q), 1.0 - np.sqrt((1.0 - c) * (1.0 - q))) * width + self.low

    def describe(self):
        return f"triangular({self.low:g}, {self.mode:g}, {self.high:g})"


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal, optionally truncated to [low, high] (truncation by rejection-free inverse CDF)."""

    mean_: float
    sd: float
    low: float = -math.inf
    high: float = math.inf
    name = "normal"

    def _frozen(self):
        a = (self.low - self.mean_) / self.sd
        b = (self.high - self.mean_) / self.sd
        from scipy import stats  # here: scipy.stats takes a second to import

        return stats.truncnorm(a, b, loc=self.mean_, scale=self.sd)

    def sample(self, size, *, rng):
        if math.isinf(self.low) and math.isinf(self.high):
            return rng.normal(self.mean_, self.sd, size)
        return self.ppf(rng.uniform(0.0, 1.0, size))

    @property
    def support(self):
        return (self.low, self.high)

    # scipy's truncated normal warns of overflows in the tail terms (the pdf far out, the skewness)
    # of a normal truncated many sds out, though its mean and quantiles come out right: the loader
    # checks they are finite.
    @property
    def mean(self):
        with np.errstate(all="ignore"):
            return float(self._frozen().mean())

    def ppf(self, q):
        with np.errstate(all="ignore"):
            return self._frozen().ppf(q)

    def describe(self):
        bounds = "" if math.isinf(self.low) and math.isinf(self.high) else f" in [{self.low:g}, {self.high:g}]"
        return f"normal({self.mean_:g}, sd {self.sd:g}){bounds}"


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Log-normal given by its median and the standard deviation of log(x)."""

    median: float
    sigma: float
    name = "lognormal"

    def sample(self, size, *, rng):
        return rng.lognormal(math.log(self.median), self.sigma, size)

    @property
    def support(self):
        return (0.0, math.inf)

    @property
    def mean(self):
        return self.median * math.exp(0.5 * self.sigma**2)

    def ppf(self, q):
        from scipy import stats

        return stats.lognorm.ppf(q, self.sigma, scale=self.median)

    def describe(self):
        return f"lognormal(median {self.median:g}, sigma {self.sigma:g})"


def _beta_ppf(q, a, b):
    """scipy.stats.beta.ppf(q, a, b): the boost ufunc it calls, where scipy has it (importing
    scipy.stats takes a second), else through scipy.stats; the same numbers either way."""
    from scipy.special import _ufuncs
    if hasattr(_ufuncs, "_beta_ppf"):
        out = _ufuncs._beta_ppf(q, a, b)
        return np.where((q >= 0) & (q <= 1), out, np.nan)
    from scipy import stats
    return stats.beta.ppf(q, a, b)


@dataclass(frozen=True)
class Beta(Distribution):
    """Beta(a, b) rescaled to [low, high] (default [0, 1])."""

    a: float
    b: float
    low: float = 0.0
    high: float = 1.0
    name = "beta"

    def sample(self, size, *, rng):
        return self.low + (self.high - self.low) * rng.beta(self.a, self.b, size)

    @property
    def support(self):
        return (self.low, self.high)

    @property
    def mean(self):
        return self.low + (self.high - self.low) * self.a / (self.a + self.b)

    def ppf(self, q):
        return self.low + (self.high - self.low) * _beta_ppf(np.asarray(q, dtype=float), self.a, self.b)

    def describe(self):
        return f"beta({self.a:g}, {self.b:g}) on [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Bernoulli(Distribution):
    """1 with probability ``p``, else 0: a contested yes/no fact."""

    p: float
    name = "bernoulli"

    def sample(self, size, *, rng):
        return (rng.uniform(0.0, 1.0, size) < self.p).astype(float)

    @property
    def support(self):
        return (0.0, 1.0)

    @property
    def mean(self):
        return float(self.p)

    def ppf(self, q):
        return (np.asarray(q, dtype=float) >= 1.0 - self.p).astype(float)

    def describe(self):
        return f"bernoulli({self.p:g})"


# name -> (class, required keys, optional keys); the key "mean" maps to Normal.mean_.
DISTRIBUTIONS: dict[str, tuple[type, tuple[str, ...], tuple[str, ...]]] = {
    "fixed": (Fixed, ("value",), ()),
    "uniform": (Uniform, ("low", "high"), ()),
    "triangular": (Triangular, ("low", "mode", "high"), ()),
    "normal": (Normal, ("mean", "sd"), ("low", "high")),
    "lognormal": (LogNormal, ("median", "sigma"), ()),
    "beta": (Beta, ("a", "b"), ("low", "high")),
    "bernoulli": (Bernoulli, ("p",), ()),
}
