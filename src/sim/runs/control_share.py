"""Control share: the share of the theatre the government holds, day by day.

A node is government-held on day d (time d from as_of, after that instant's events) if it was
government-held at as_of, it has not fallen by d or was retaken by d (docs/MODEL.md section 4.6: a
node is retaken at most once, after its first fall), and the capital has not fallen by d: once the
capital falls (captured or collapsed) the government holds nothing.

Each node weighs its population (the mean of its distribution, as a fixed weight per node) out of
the whole theatre's population, rebel-held nodes included; if no node has a population, each node
counts once. Shares are counted per day in bins of 0.01 (share rounded to the nearest 0.01), so the
counts of many blocks add up.
"""

from __future__ import annotations

import numpy as np

from ..scenario.schema import GOVERNMENT, Scenario

SHARE_STEP = 0.01
SHARE_BINS = 101          # shares 0.00, 0.01, ..., 1.00
MAX_DAYS = 1000           # longer horizons are sampled on a coarser grid of whole days
SUMMARY_DAYS = (0, 7, 30, 90)   # the days summary.json reports (with the horizon); always on the grid


def days(horizon_days: int) -> np.ndarray:
    """The days the share is counted on: 0, 1, ..., horizon, or for a horizon over MAX_DAYS a grid of
    about MAX_DAYS + 1 whole days that includes SUMMARY_DAYS."""
    if horizon_days <= MAX_DAYS:
        return np.arange(horizon_days + 1, dtype=np.float64)
    grid = np.rint(np.linspace(0, horizon_days, MAX_DAYS + 1))
    return np.unique(np.concatenate([grid, np.array(SUMMARY_DAYS, dtype=np.float64)]))


def weights(scenario: Scenario) -> tuple[np.ndarray, str]:
    """Each node's share of the theatre if government-held (0 for rebel-held nodes), and the basis:
    ``"population"`` or ``"nodes"`` (when every population is 0, or a population's mean is infinite)."""
    pop = np.array([n.population.mean for n in scenario.nodes], dtype=np.float64)
    basis = "population" if np.all(np.isfinite(pop)) and pop.sum() > 0 else "nodes"
    w = pop if basis == "population" else np.ones(len(scenario.nodes))
    held = np.array([n.controller == GOVERNMENT for n in scenario.nodes])
    return np.where(held, w / w.sum(), 0.0), basis


def _held(fall: np.ndarray, retaken: np.ndarray, d) -> np.ndarray:
    """Whether a node with these fall and retake days (NaN: never) is government-held on day(s) d."""
    return ~((fall <= d) & ~(retaken <= d))


def shares(node_fall_day: np.ndarray, node_retaken_day: np.ndarray, end_day: np.ndarray, w: np.ndarray,
           on_days: np.ndarray) -> np.ndarray:
    """(reps, days) government-held share on each day (see the module docstring)."""
    end = np.where(np.isnan(end_day), np.inf, end_day)
    out = np.zeros((len(end), len(on_days)))
    for i in np.flatnonzero(w):
        out += w[i] * _held(node_fall_day[:, i, None], node_retaken_day[:, i, None], on_days[None, :])
    return out * (end[:, None] > on_days[None, :])


def histogram(node_fall_day: np.ndarray, node_retaken_day: np.ndarray, end_day: np.ndarray, w: np.ndarray,
              on_days: np.ndarray) -> np.ndarray:
    """(days, SHARE_BINS) counts of replications by government-held share on each day.

    The same shares as :func:`shares`, counted without a (reps, days) array: a replication's share
    is a step function that drops by a node's weight at its fall, rises by it again at its retake,
    and drops to 0 at the capital's fall, so each of its steps adds one to its share's bin over a
    run of days.
    """
    n, held = len(end_day), np.flatnonzero(w)
    never = np.inf
    fall = np.where(np.isnan(node_fall_day[:, held]), never, node_fall_day[:, held])
    retaken = np.where(np.isnan(node_retaken_day[:, held]), never, node_retaken_day[:, held])
    end = np.where(np.isnan(end_day), never, end_day)[:, None]
    times = np.concatenate([fall, retaken, end], axis=1)
    change = np.concatenate([np.broadcast_to(-w[held], fall.shape), np.broadcast_to(w[held], fall.shape),
                             np.zeros((n, 1))], axis=1)
    order = np.argsort(times, axis=1, kind="stable")
    times = np.take_along_axis(times, order, 1)
    total = w[held].sum()
    step_share = total + np.cumsum(np.take_along_axis(change, order, 1), axis=1)
    step_share = np.concatenate([np.full((n, 1), total), np.where(times >= end, 0.0, step_share)], axis=1)
    edges = np.concatenate([np.full((n, 1), -np.inf), times, np.full((n, 1), np.inf)], axis=1)
    # Step k holds on the days d with edges[k] <= d < edges[k + 1] (a node is lost on its fall day).
    first = np.searchsorted(on_days, edges[:, :-1], side="left")
    past = np.searchsorted(on_days, edges[:, 1:], side="left")
    k = np.clip(np.rint(step_share / SHARE_STEP).astype(np.int64), 0, SHARE_BINS - 1)
    size = (len(on_days) + 1) * SHARE_BINS
    diff = (np.bincount((first * SHARE_BINS + k).ravel(), minlength=size)
            - np.bincount((past * SHARE_BINS + k).ravel(), minlength=size))
    return np.cumsum(diff.reshape(len(on_days) + 1, SHARE_BINS), axis=0)[:-1]
