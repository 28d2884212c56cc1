"""Backtests: a scenario's forecast scored against what happened, beside simple baselines.

Targets are the capital's fall, each government-held node that the observed record dates, and the
ruler's flight; each is scored by CRPS over the horizon (sim.forecast.scoring) with its PIT. The capital's
end state and "the capital falls within 7 / 30 / 90 days" get log and Brier scores. Baselines in
the same run: ``always_holds`` (the regime never falls: every date forecast puts all its mass past
the horizon) and ``uniform_hazard`` (a constant hazard giving an even chance of a fall within the
horizon, split evenly between capture and collapse).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..engines.outcomes import END_STATES
from ..files import MANIFEST, finite, manifest_base, peek_json, staged_folder, write_json
from ..runs.runner import RunResult, run
from ..runs.summary import bin_width, fell_within
from ..scenario.schema import GOVERNMENT, Scenario
from . import scoring
from .observed import Observed, Window, censored, check_against

WITHIN_DAYS = (7, 30, 90)
BASELINES = ("always_holds", "uniform_hazard")


def empirical_cdf(days: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid 0, w, ..., H (w the summary's bin width) and P(event before the end of each step)."""
    w = bin_width(horizon)
    steps = max(1, int(round(horizon / w)))
    grid = np.linspace(0.0, steps * w, steps + 1)
    fell = days[~np.isnan(days)]
    counts = np.bincount(np.minimum((fell / w).astype(np.int64), steps), minlength=steps + 1)
    return grid, np.cumsum(counts) / max(len(days), 1)


def baseline_cdf(name: str, grid: np.ndarray, horizon: int) -> np.ndarray:
    if name == "always_holds":
        return np.zeros_like(grid)
    return 1.0 - np.exp(-uniform_rate(horizon) * (grid + (grid[1] - grid[0] if len(grid) > 1 else 0.0)))


def baseline_end_states(name: str) -> dict[str, float]:
    return {"captured": 0.0, "collapsed": 0.0, "holds": 1.0} if name == "always_holds" else \
        {"captured": 0.25, "collapsed": 0.25, "holds": 0.5}


def baseline_within(name: str, days: float, horizon: int) -> float:
    if name == "always_holds":
        return 0.0
    return 1.0 - math.exp(-uniform_rate(horizon) * min(days, horizon))


def uniform_rate(horizon: float) -> float:
    """The uniform-hazard baseline's constant hazard (per day): an even chance of a fall by the horizon."""
    return math.log(2.0) / max(horizon, 1.0)


def p_what_happened(days: np.ndarray, states: np.ndarray, low: float, high: float, state: str, horizon: int) -> float:
    """A forecast's probability of what happened, from its replications' capital fall days and end
    states: the observed end state with the fall inside its window [low, high), or (high = inf: the
    capital held) no fall before the record's end or the horizon, whichever is first. No tolerance."""
    if math.isinf(high):
        return float(np.mean(~(days < min(low, horizon))))
    return float(np.mean((states == END_STATES.index(state)) & (days >= low) & (days < high)))


def baseline_p_what_happened(name: str, low: float, high: float, horizon: int) -> float:
    """P(what happened) under a baseline: ``always_holds``, or ``uniform_hazard`` (its constant
    hazard, a fall split evenly between capture and collapse)."""
    if name == "always_holds":
        return 1.0 if math.isinf(high) else 0.0
    r = uniform_rate(horizon)
    if math.isinf(high):
        return math.exp(-r * min(low, horizon))
    return 0.5 * (math.exp(-r * low) - math.exp(-r * min(high, horizon))) if low < horizon else 0.0


def log_unfloored(p: float) -> float:
    """The natural log of the probability given to what happened, with no floor (-inf at 0)."""
    return math.log(p) if p > 0 else -math.inf


def _observation(window: Window | None, observed: Observed, as_of) -> tuple[float, float]:
    return window.days(as_of) if window is not None else censored(observed.until, as_of)


def _score_dates(days: np.ndarray, low: float, high: float, horizon: int) -> dict:
    grid, cdf = empirical_cdf(days, horizon)
    crps = {"model": scoring.crps_interval(grid, cdf, low, high)}
    for b in BASELINES:
        crps[b] = scoring.crps_interval(grid, baseline_cdf(b, grid, horizon), low, high)
    return {"observed_days": [low, None if math.isinf(high) else high], "crps": crps,
            "pit": list(scoring.pit(grid, cdf, low, high))}


def score(result: RunResult, observed: Observed, survival=None) -> dict:
    """Scores of a finished run (outcomes kept) against an observed timeline; with ``survival`` (a
    fitted :class:`~sim.forecast.survival.Fit`), also the survival baseline's P(what happened) and
    capital CRPS, as the reference-class validation scores every case."""
    s: Scenario = result.scenario
    out = result.outcomes
    if out is None:
        raise ValueError("a backtest needs the run's per-replication outcomes")
    as_of, horizon = s.as_of, s.horizon_days
    targets: dict[str, dict] = {}
    low, high = _observation(observed.capital, observed, as_of)
    targets["capital"] = _score_dates(out.end_day, low, high, horizon)
    names = [n.name for n in s.nodes]
    skipped = []
    for node, window in observed.nodes.items():
        if node not in names:
            skipped.append(f"{node}: not a node of the scenario")
            continue
        i = names.index(node)
        retaken = observed.retaken.get(node)
        if s.nodes[i].controller != GOVERNMENT:
            skipped.append(f"{node}: already rebel-held at as_of")
            continue
        lo, hi = _observation(window, observed, as_of)
        if hi <= 0:
            skipped.append(f"{node}: fell before as_of")
            continue
        targets[f"node:{node}"] = _score_dates(out.node_fall_day[:, i], max(lo, 0.0), hi, horizon)
        if retaken is not None:
            lo, hi = retaken.days(as_of)
            targets[f"retaken:{node}"] = _score_dates(out.node_retaken_day[:, i], max(lo, 0.0), hi, horizon)
    low_f, high_f = _observation(observed.fled, observed, as_of)
    if high_f <= 0:
        skipped.append("leader_fled: before as_of")
    else:
        targets["leader_fled"] = _score_dates(out.leader_fled_day, max(low_f, 0.0), high_f, horizon)

    n = len(out)
    probs = {state: float(np.mean(out.end_state == k)) for k, state in enumerate(END_STATES)}
    state = observed.capital_state
    p_seen = {"model": p_what_happened(out.end_day, out.end_state, low, high, state, horizon),
              **{b: baseline_p_what_happened(b, low, high, horizon) for b in BASELINES}}
    if survival is not None:
        from .survival import covariates

        x = covariates(s)
        p_seen["survival"] = survival.p_what_happened(x, low, high, state, horizon)
        grid, _ = empirical_cdf(out.end_day, horizon)
        targets["capital"]["crps"]["survival"] = scoring.crps_interval(grid, survival.cdf(x, grid, horizon), low, high)
    what_happened = {"observed": state, "observed_days": [low, None if math.isinf(high) else high], "p": p_seen,
                     "log": {k: log_unfloored(v) for k, v in p_seen.items()}}
    if state == "holds" and (observed.until - as_of).days < horizon:
        end = {"note": "the record ends before the horizon: the end state is not scored"}
    else:
        end = {"observed": state, "p": probs,
               "log": {"model": scoring.log_score(probs[state])},
               "brier": {"model": scoring.brier(probs, state)}}
        for b in BASELINES:
            bp = baseline_end_states(b)
            end["log"][b] = scoring.log_score(bp[state])
            end["brier"][b] = scoring.brier(bp, state)

    within = {}
    for d in WITHIN_DAYS:
        if d > horizon:
            continue
        # An observed date's fall day is its day number after as_of (the window [low, high) covers
        # the days low .. high - 1): within d days if the latest is at most d (fell_within).
        if high - 1 <= d:
            happened = True
        elif low > d:
            happened = False
        else:
            within[str(d)] = {"note": "the observed window straddles the threshold: not scored"}
            continue
        p = float(np.mean(fell_within(out.end_day, d)))
        entry = {"observed": happened, "p": p,
                 "log": {"model": scoring.log_score(p if happened else 1 - p)},
                 "brier": {"model": (p - happened) ** 2}}
        for b in BASELINES:
            bp = baseline_within(b, d, horizon)
            entry["log"][b] = scoring.log_score(bp if happened else 1 - bp)
            entry["brier"][b] = (bp - happened) ** 2
        within[str(d)] = entry
    return {"scenario": s.name, "observed": observed.name, "as_of": as_of.isoformat(),
            "horizon_days": horizon, "reps": n, "seed": result.seed, "what_happened": what_happened,
            "targets": targets, "end_state": end, "capital_falls_within": within, "not_scored": skipped,
            "probability_floor": scoring.PROBABILITY_FLOOR}


def backtest(scenario: Scenario, observed: Observed, reps: int, *, seed: int, workers: int = 1,
             survival=None, progress=None) -> tuple[dict, RunResult]:
    """Run ``scenario`` and score it against ``observed`` (checked against it first); ``survival`` as
    in :func:`score`, ``progress`` as in :func:`sim.runs.runner.run`."""
    check_against(observed, scenario)
    result = run(scenario, reps, seed=seed, workers=workers, keep_outcomes=True, progress=progress)
    return score(result, observed, survival), result


def target_days(result: RunResult, name: str) -> np.ndarray:
    """Per-replication days of a scored target ('capital', 'leader_fled', 'node:NAME', 'retaken:NAME')."""
    out = result.outcomes
    if name == "capital":
        return out.end_day
    if name == "leader_fled":
        return out.leader_fled_day
    kind, _, node = name.partition(":")
    days = out.node_retaken_day if kind == "retaken" else out.node_fall_day
    return days[:, [n.name for n in result.scenario.nodes].index(node)]


KIND = "backtest"
SCORES = "backtest.json"
CURVES = "cdfs.npz"


def is_earlier_backtest(folder: Path) -> bool:
    """A backtest folder written before manifests named their kind: its backtest.json holds scores."""
    b = peek_json(Path(folder) / SCORES, limit=10_000_000)
    return isinstance(b, dict) and {"scenario", "observed", "targets", "end_state"} <= set(b)


def write_backtest(b: dict, result: RunResult, folder, *, extras=(), command=None) -> Path:
    """backtest.json, the forecast curves (cdfs.npz), ``extras`` (the figure) and manifest.json,
    written whole or not at all into ``folder``; it replaces only an earlier backtest."""
    folder = Path(folder)
    with staged_folder(folder, kind=KIND, owns=is_earlier_backtest, error="cannot write the backtest folder") as tmp:
        write_json(tmp / SCORES, finite(b))
        curves = {}
        for name in b["targets"]:
            grid, curves[f"cdf:{name}"] = empirical_cdf(target_days(result, name), result.scenario.horizon_days)
        np.savez_compressed(tmp / CURVES, grid=grid, **curves)
        for extra in extras:
            extra(tmp)
        write_json(tmp / MANIFEST, {**manifest_base(KIND, command), "scenario": b["scenario"],
                                    "scenario_file": result.scenario.source_path, "observed": b["observed"],
                                    "reps": b["reps"], "seed": b["seed"]})
    return folder


