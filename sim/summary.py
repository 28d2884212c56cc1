"""Streaming aggregates of outcomes and the summary computed from them.

Blocks of replications are folded into an :class:`Aggregate` (counts and day histograms), which
merge by addition, so a summary depends only on which replications ran, never on how they were
grouped, and memory does not grow with the number of replications.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from .outcomes import END_STATES, Outcomes

BIN_DAYS = 0.125  # histogram resolution of fall days: 3 hours
MAX_BINS = 100_000


def bin_width(horizon_days: int) -> float:
    return max(BIN_DAYS, horizon_days / MAX_BINS)


@dataclass
class Aggregate:
    """Additive summary of a set of replications.

    ``capital_hist[k]`` counts replications whose capital fell in day bin k (width ``width``
    days, k = floor(day / width)); ``node_hist[i, k]`` the same for node i.
    """

    width: float
    n: int
    end_counts: np.ndarray          # (3,) captured, collapsed, holds
    capital_hist: np.ndarray        # (bins,)
    node_hist: np.ndarray           # (nodes, bins)
    node_fallen: np.ndarray         # (nodes,)
    fled: int
    uprisings: int
    desertions_sum: float
    ally_arrived: np.ndarray        # (allies,)

    @classmethod
    def empty(cls, horizon_days: int, n_nodes: int, n_allies: int) -> "Aggregate":
        width = bin_width(horizon_days)
        bins = int(math.floor(horizon_days / width)) + 1
        return cls(width, 0, np.zeros(3, np.int64), np.zeros(bins, np.int64),
                   np.zeros((n_nodes, bins), np.int64), np.zeros(n_nodes, np.int64), 0, 0, 0.0,
                   np.zeros(n_allies, np.int64))

    def _bins(self, days: np.ndarray) -> np.ndarray:
        return np.minimum((days / self.width).astype(np.int64), len(self.capital_hist) - 1)

    def add(self, out: Outcomes) -> None:
        """Fold a block of outcomes in."""
        self.n += len(out)
        self.end_counts += np.bincount(out.end_state, minlength=3)[:3]
        fell = ~np.isnan(out.end_day)
        self.capital_hist += np.bincount(self._bins(out.end_day[fell]), minlength=len(self.capital_hist))
        for i in range(self.node_hist.shape[0]):
            days = out.node_fall_day[:, i]
            days = days[~np.isnan(days)]
            self.node_fallen[i] += len(days)
            self.node_hist[i] += np.bincount(self._bins(days), minlength=self.node_hist.shape[1])
        self.fled += int(np.count_nonzero(~np.isnan(out.leader_fled_day)))
        self.uprisings += int(np.count_nonzero(~np.isnan(out.uprising_day)))
        # Desertions are summed in fixed-size blocks in a fixed order, so the float sum is reproducible.
        self.desertions_sum += float(out.desertions.sum())
        self.ally_arrived += np.count_nonzero(~np.isnan(out.ally_arrival_day), axis=0)

    def merge(self, other: "Aggregate") -> None:
        self.n += other.n
        self.end_counts += other.end_counts
        self.capital_hist += other.capital_hist
        self.node_hist += other.node_hist
        self.node_fallen += other.node_fallen
        self.fled += other.fled
        self.uprisings += other.uprisings
        self.desertions_sum += other.desertions_sum
        self.ally_arrived += other.ally_arrived


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


def proportion(k: int, n: int) -> dict:
    """A proportion with its 95% Wilson score interval."""
    if n == 0:
        return {"p": None, "ci_low": None, "ci_high": None}
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return {"p": k / n, "ci_low": float(ci.low), "ci_high": float(ci.high)}


def summarise(agg: Aggregate, *, scenario, seed: int, node_names, government_nodes, ally_names) -> dict:
    """The summary of a run: end-state probabilities, fall-day quantiles, per-node and per-ally figures."""
    n = agg.n
    fell = int(agg.capital_hist.sum())
    q = {f"p{int(x * 100)}": hist_quantile(agg.capital_hist, agg.width, x) for x in (0.1, 0.5, 0.9)}
    nodes = {}
    for i, name in enumerate(node_names):
        if name in government_nodes:
            nodes[name] = {
                "p_fallen": agg.node_fallen[i] / n if n else None,
                "median_day": hist_quantile(agg.node_hist[i], agg.width, 0.5),
            }
    return {
        "scenario": scenario.name,
        "title": scenario.title,
        "as_of": scenario.as_of.isoformat(),
        "horizon_days": scenario.horizon_days,
        "reps": n,
        "seed": seed,
        "end_states": {state: proportion(int(agg.end_counts[k]), n) for k, state in enumerate(END_STATES)},
        "capital_fall_day": {**q, "n": fell, "bin_days": agg.width},
        "nodes": nodes,
        "leader_fled": proportion(agg.fled, n),
        "uprising": proportion(agg.uprisings, n),
        "mean_desertions": agg.desertions_sum / n if n else None,
        "allies_arrived": {name: agg.ally_arrived[j] / n if n else None for j, name in enumerate(ally_names)},
    }


def _date(as_of: str, day: float | None) -> str:
    if day is None:
        return "—"
    d = dt.date.fromisoformat(as_of) + dt.timedelta(days=float(day))
    return f"{d:%d %b %Y} (day {day:g})"


def format_summary(summary: dict) -> str:
    """The summary as a plain-text table for a terminal."""
    lines = [f"{summary['title']}  [{summary['scenario']}]",
             f"as of {summary['as_of']} · horizon {summary['horizon_days']} days · "
             f"{summary['reps']:,} replications · seed {summary['seed']}", "",
             f"{'end state':<12}{'probability':>12}   95% interval"]
    for state, v in summary["end_states"].items():
        lines.append(f"{state:<12}{v['p']:>12.1%}   {v['ci_low']:.1%} – {v['ci_high']:.1%}")
    f = summary["capital_fall_day"]
    lines += ["", f"capital falls (in {f['n']:,} replications):",
              f"  median  {_date(summary['as_of'], f['p50'])}",
              f"  10–90%  {_date(summary['as_of'], f['p10'])}  to  {_date(summary['as_of'], f['p90'])}", "",
              f"{'node':<16}{'P(fallen)':>10}   median fall date"]
    for name, v in summary["nodes"].items():
        lines.append(f"{name:<16}{v['p_fallen']:>10.1%}   {_date(summary['as_of'], v['median_day'])}")
    lines += ["", f"ruler fled in {summary['leader_fled']['p']:.1%} of replications; "
              f"uprising in the capital in {summary['uprising']['p']:.1%}"]
    return "\n".join(lines)
