"""Streaming aggregates of outcomes and the summary computed from them.

Blocks of replications are folded into an :class:`Aggregate` (counts and day histograms), which
merge by addition, so a summary depends only on which replications ran, never on how they were
grouped, and memory does not grow with the number of replications.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import control_share
from ..engines.outcomes import CAPTURED, COLLAPSED, END_STATES, HOLDS, Outcomes

BIN_DAYS = 0.125  # histogram resolution of fall days: 3 hours
MAX_BINS = 100_000
MILESTONES = (7, 30, 90)   # the days summary.json gives P(the capital falls within d days) for, with the horizon
SUMMARY_FORMAT = 2  # version of summary.json's layout: 2, every probability an interval object


def fell_within(days: np.ndarray, d: float) -> np.ndarray:
    """Whether each fall day is within ``d`` days of as_of: the one definition, ``day <= d`` (a
    capture on day 7 falls within 7 days; NaN, never, is within none). Every count of falls
    within d days (summary, sweeps, figures, comparisons, backtests, calibration) is this one."""
    with np.errstate(invalid="ignore"):
        return np.asarray(days) <= d


def daily_bin(days: np.ndarray) -> np.ndarray:
    """The whole day d with d - 1 < day <= d (day 0 for a fall at as_of): counts by these bins give
    :func:`fell_within` for every whole d by a cumulative sum."""
    return np.ceil(days).astype(np.int64)


def bin_width(horizon_days: int) -> float:
    return max(BIN_DAYS, horizon_days / MAX_BINS)


@dataclass
class Aggregate:
    """Additive summary of a set of replications.

    ``capital_hist[k]`` counts replications whose capital fell in day bin k (width ``width``
    days, k = floor(day / width)); ``capital_daily[d]`` those whose capital fell in
    (d - 1, d] (:func:`daily_bin`), so that falls within d days are counted exactly
    (:func:`count_within`); ``end_hist[0 or 1, k]`` the same for captured and collapsed
    alone; ``node_hist[i, k]`` the same for node i. ``control_hist[j, k]`` counts replications
    whose government-held share on day ``control_days[j]`` was k / 100 (see :mod:`sim.runs.control_share`;
    empty when no ``control_weights`` were given).
    """

    width: float
    n: int
    end_counts: np.ndarray          # (3,) captured, collapsed, holds
    capital_hist: np.ndarray        # (bins,)
    capital_daily: np.ndarray       # (horizon + 1,)
    node_hist: np.ndarray           # (nodes, bins)
    node_fallen: np.ndarray         # (nodes,)
    node_retaken: np.ndarray        # (nodes,)
    fled: int
    handovers: int
    successions: int                # the ruler fled and the regime held to the horizon
    dispersed_sum: float
    ally_arrived: np.ndarray        # (allies,)
    ally_withdrew: np.ndarray       # (allies,)
    end_hist: np.ndarray            # (2, bins) captured, collapsed
    control_weights: np.ndarray     # (nodes,) share of the theatre each node is worth to the government
    control_basis: str              # "population" or "nodes"
    control_days: np.ndarray        # (days,)
    control_hist: np.ndarray        # (days, control_share.SHARE_BINS)

    @classmethod
    def empty(cls, horizon_days: int, n_nodes: int, n_allies: int, *,
              control_weights: np.ndarray | None = None, control_basis: str = "") -> "Aggregate":
        width = bin_width(horizon_days)
        bins = int(math.floor(horizon_days / width)) + 1
        on_days = control_share.days(horizon_days) if control_weights is not None else np.zeros(0)
        return cls(width, 0, np.zeros(3, np.int64), np.zeros(bins, np.int64), np.zeros(horizon_days + 1, np.int64),
                   np.zeros((n_nodes, bins), np.int64), np.zeros(n_nodes, np.int64), np.zeros(n_nodes, np.int64),
                   0, 0, 0, 0.0, np.zeros(n_allies, np.int64), np.zeros(n_allies, np.int64),
                   np.zeros((2, bins), np.int64),
                   np.zeros(n_nodes) if control_weights is None else np.asarray(control_weights, np.float64),
                   control_basis, on_days, np.zeros((len(on_days), control_share.SHARE_BINS), np.int64))

    def _bins(self, days: np.ndarray) -> np.ndarray:
        return np.minimum((days / self.width).astype(np.int64), len(self.capital_hist) - 1)

    def add(self, out: Outcomes) -> None:
        """Fold a block of outcomes in."""
        self.n += len(out)
        self.end_counts += np.bincount(out.end_state, minlength=3)[:3]
        fell = ~np.isnan(out.end_day)
        self.capital_hist += np.bincount(self._bins(out.end_day[fell]), minlength=len(self.capital_hist))
        self.capital_daily += np.bincount(daily_bin(out.end_day[fell]), minlength=len(self.capital_daily))
        for k in (CAPTURED, COLLAPSED):
            days = out.end_day[fell & (out.end_state == k)]
            self.end_hist[k] += np.bincount(self._bins(days), minlength=self.end_hist.shape[1])
        for i in range(self.node_hist.shape[0]):
            days = out.node_fall_day[:, i]
            days = days[~np.isnan(days)]
            self.node_fallen[i] += len(days)
            self.node_hist[i] += np.bincount(self._bins(days), minlength=self.node_hist.shape[1])
        self.node_retaken += np.count_nonzero(~np.isnan(out.node_retaken_day), axis=0)
        fled = ~np.isnan(out.leader_fled_day)
        self.fled += int(np.count_nonzero(fled))
        self.handovers += int(np.count_nonzero(~np.isnan(out.handover_day)))
        self.successions += int(np.count_nonzero(fled & (out.end_state == HOLDS)))
        # Summed in fixed-size blocks in a fixed order, so the float sum is reproducible.
        self.dispersed_sum += float(out.dispersed.sum())
        self.ally_arrived += np.count_nonzero(~np.isnan(out.ally_arrival_day), axis=0)
        self.ally_withdrew += np.count_nonzero(~np.isnan(out.ally_withdrawal_day), axis=0)
        if len(self.control_days):
            self.control_hist += control_share.histogram(out.node_fall_day, out.node_retaken_day, out.end_day,
                                                         self.control_weights, self.control_days)

    def merge(self, other: "Aggregate") -> None:
        self.n += other.n
        self.end_counts += other.end_counts
        self.capital_hist += other.capital_hist
        self.capital_daily += other.capital_daily
        self.end_hist += other.end_hist
        self.node_hist += other.node_hist
        self.node_fallen += other.node_fallen
        self.node_retaken += other.node_retaken
        self.fled += other.fled
        self.handovers += other.handovers
        self.successions += other.successions
        self.dispersed_sum += other.dispersed_sum
        self.ally_arrived += other.ally_arrived
        self.ally_withdrew += other.ally_withdrew
        self.control_hist += other.control_hist


def hist_quantile(hist: np.ndarray, width: float, q: float) -> float | None:
    """The lower edge of the day bin holding the q-quantile of the counted days (None if empty).

    Days of combat are whole numbers, so lower edges reproduce them exactly; other days are
    reported to within one bin (3 hours) below.
    """
    total = int(hist.sum())
    if total == 0:
        return None
    cum = np.cumsum(hist)
    k = int(np.searchsorted(cum, q * total, side="left"))
    return round(k * width, 6)


def count_within(daily: np.ndarray, d: int) -> int:
    """How many capitals fell within ``d`` whole days (:func:`fell_within`), from ``capital_daily``
    counts; a ``d`` past the horizon counts every fall."""
    if d != int(d) or d < 0:
        raise ValueError(f"falls within d days are counted for whole days d >= 0, not {d!r}")
    return int(daily[: int(d) + 1].sum())


def milestones(horizon_days: int) -> list[int]:
    """The days P(falls within d days) is reported for: MILESTONES within the horizon, and the horizon."""
    return list(dict.fromkeys([d for d in MILESTONES if d <= horizon_days] + [horizon_days]))


def widest_interval(agg: Aggregate, horizon_days: int) -> tuple[float, str]:
    """The widest half-width of the 95% Wilson intervals a summary reports for the end states and for
    P(falls within d days) at the milestones, and which probability it is: what an adaptive run
    (``sim run --precision``) narrows."""
    k = [(f"P({state})", int(agg.end_counts[i])) for i, state in enumerate(END_STATES)]
    k += [(f"P(falls within {d} days)", count_within(agg.capital_daily, d)) for d in milestones(horizon_days)]
    low, high = wilson(np.array([c for _, c in k]), agg.n)
    half = (high - low) / 2
    i = int(np.argmax(half))
    return float(half[i]), k[i][0]


def proportion(k: int, n: int) -> dict:
    """A proportion with its 95% Wilson score interval."""
    if n == 0:
        return {"p": None, "ci_low": None, "ci_high": None}
    low, high = wilson(k, n)
    return {"p": k / n, "ci_low": float(low), "ci_high": float(high)}


def wilson(k, n: int, z: float = 1.959963984540054) -> tuple[np.ndarray, np.ndarray]:
    """The 95% Wilson score interval of ``k`` successes in ``n`` trials, elementwise over ``k``, in
    Newcombe's (1998) form, as scipy's ``binomtest(k, n).proportion_ci(method="wilson")`` computes it,
    to the last bit (a test checks), without importing scipy.stats."""
    k = np.asarray(k, dtype=np.float64)
    p = k / n
    denom = 2 * (n + z**2)
    centre = (2 * n * p + z**2) / denom
    half = z / denom * np.sqrt(4 * n * p * (1 - p) + z**2)
    return np.where(k == 0, 0.0, centre - half), np.where(k == n, 1.0, centre + half)


def summarise(agg: Aggregate, *, scenario, seed: int, node_names, government_nodes, ally_names) -> dict:
    """The summary of a run: end-state probabilities, fall-day quantiles, per-node and per-ally figures.
    Every probability is an interval object, ``{"p", "ci_low", "ci_high"}`` (:func:`proportion`)."""
    n = agg.n
    fell = int(agg.capital_hist.sum())
    q = {f"p{int(x * 100)}": hist_quantile(agg.capital_hist, agg.width, x) for x in (0.1, 0.5, 0.9)}
    nodes = {}
    for i, name in enumerate(node_names):
        if name in government_nodes:
            nodes[name] = {
                "fallen": proportion(int(agg.node_fallen[i]), n),
                "median_day": hist_quantile(agg.node_hist[i], agg.width, 0.5),
                "retaken": proportion(int(agg.node_retaken[i]), n),
            }
    return {
        "format": SUMMARY_FORMAT,
        "scenario": scenario.name,
        "title": scenario.title,
        "as_of": scenario.as_of.isoformat(),
        "horizon_days": scenario.horizon_days,
        "reps": n,
        "seed": seed,
        "posterior": None if scenario.posterior is None else
        {"rows": len(scenario.posterior.rows), "paths": list(scenario.posterior.paths), "source": scenario.posterior.source},
        "end_states": {state: proportion(int(agg.end_counts[k]), n) for k, state in enumerate(END_STATES)},
        "capital_fall_day": {**q, "n": fell, "bin_days": agg.width},
        "capital_falls_within": {str(d): proportion(count_within(agg.capital_daily, d), n)
                                 for d in milestones(scenario.horizon_days)},
        "nodes": nodes,
        "leader_fled": proportion(agg.fled, n),
        "handover": proportion(agg.handovers, n),
        "succession": proportion(agg.successions, n),
        "mean_dispersed": agg.dispersed_sum / n if n else None,
        "allies_arrived": {name: proportion(int(agg.ally_arrived[j]), n) for j, name in enumerate(ally_names)},
        "allies_withdrew": {name: proportion(int(agg.ally_withdrew[j]), n) for j, name in enumerate(ally_names)},
        **({"control_share": control_summary(agg)} if len(agg.control_days) and n else {}),
    }


CONTROL_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def control_quantiles(row: np.ndarray) -> dict:
    """p5, p25, p50, p75, p95 of the government-held share from one day's row of ``control_hist``."""
    return {f"p{round(q * 100)}": hist_quantile(row, control_share.SHARE_STEP, q) for q in CONTROL_QUANTILES}


def control_summary(agg: Aggregate) -> dict:
    """The government-held share (:mod:`sim.runs.control_share`) at the start and its quantiles on a few days."""
    days = [d for d in (*control_share.SUMMARY_DAYS, agg.control_days[-1]) if d in agg.control_days]
    index = {float(d): j for j, d in enumerate(agg.control_days)}
    return {
        "weighted_by": agg.control_basis,
        "at_start": float(agg.control_weights.sum()),
        "share_step": control_share.SHARE_STEP,
        "by_day": {f"{d:g}": control_quantiles(agg.control_hist[index[float(d)]]) for d in dict.fromkeys(days)},
    }


def headline(summary: dict) -> list[tuple[str, str]]:
    """A run's summary in a few labelled lines: what, as of when, how many replications, P(the
    capital falls within the horizon) with its 95% interval, and the median fall day."""
    import datetime as dt

    horizon = summary["horizon_days"]
    falls = summary.get("capital_falls_within", {}).get(str(horizon), {})
    p, low, high = (falls.get(k) for k in ("p", "ci_low", "ci_high"))
    median = summary["capital_fall_day"].get("p50")
    on = "" if median is None else \
        f" ({(dt.date.fromisoformat(summary['as_of']) + dt.timedelta(days=math.floor(median))).isoformat()})"
    return [
        ("scenario", f"{summary['scenario']}: {summary['title']}"),
        ("as of", f"{summary['as_of']}, horizon {horizon} days"),
        ("replications", f"{summary['reps']:,}, seed {summary['seed']}"),
        ("P(capital falls)", "—" if p is None else f"{p:.1%} (95% CI {low:.1%} to {high:.1%}) within {horizon} days"),
        ("median fall day", "— (never fell)" if median is None else f"day {median:g}{on}, among the runs where it fell"),
    ]


def describe(kind: str, summary: dict) -> str:
    """A short text repr of a run: ``kind`` then :func:`headline`'s lines."""
    return "\n".join([kind, *(f"  {label:<17}{text}" for label, text in headline(summary))])


def describe_html(kind: str, summary: dict) -> str:
    """:func:`describe` as a small HTML table, for notebooks."""
    from html import escape

    rows = "".join(f"<tr><th style='text-align:left'>{escape(label)}</th><td style='text-align:left'>"
                   f"{escape(text)}</td></tr>" for label, text in headline(summary))
    return f"<div><strong>{escape(kind)}</strong><table>{rows}</table></div>"
