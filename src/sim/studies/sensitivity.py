"""Global sensitivity of a scenario's outcomes to its uncertain parameters, through SALib.

The factors are the parameters the scenario declares uncertain (``Scenario.uncertain_parameters``),
or a subset. Each factor is varied over its own distribution: SALib samples a quantile u in [0, 1]
per factor (the problem's bounds are [0, 1]) and the point's value is the distribution's quantile
function at u (``Distribution.ppf``; unbounded tails are cut at the TAIL and 1 - TAIL quantiles).
Uniform u is the distribution itself, so Sobol indices are those of the scenario's own uncertainty,
and Morris's mu* is in output units per the whole range of a factor's quantiles, comparable across
factors with different units.

Each sample is a point of a sweep (:mod:`sim.studies.points`): R replications with the sampled values fixed,
run in batches of consecutive points that fill a block; parameters that are not factors keep their
distributions and take the same draws, replication by replication, at every point (common random
numbers in the parameters; the process randomness is each batch's own). The outputs analysed
(:data:`OUTPUTS` unless chosen, :func:`outputs`) come from each point's metrics row.

:func:`diagnose` says when the base sample is too small for the indices to be read: a first-order
index above its total index, a negative index, or bootstrap intervals as wide as the index.

SALib does the sampling and the analysis: :func:`sample` and :func:`analyse` only translate.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import ScenarioError, did_you_mean_path
from ..scenario.distributions import Distribution
from ..scenario.schema import Scenario
from .points import MAX_POINTS, finish, metric_columns, run_points

__all__ = ["METHODS", "OUTPUTS", "OUTPUT_CHOICES", "outputs", "diagnose", "TAIL", "TORNADO_QUANTILES", "Factor",
           "factors", "problem", "sample", "sample_size", "points_from", "tornado_points", "outputs_from", "analyse", "tornado_table", "run_sensitivity",
           "factors_table"]

KIND = "sensitivity"
METHODS = ("morris", "sobol")
OUTPUTS = {
    "falls": "P(capital falls within the horizon)",
    "collapsed": "P(collapsed)",
    "median_fall_day": "median fall day (held = horizon)",
}
OUTPUT_CHOICES = ("falls", "falls-within", "captured", "collapsed", "holds", "median-day")
TAIL = 0.001               # quantiles at which unbounded distributions are cut
WIDE = 0.1                 # a Sobol' interval wider than this (half-width, on the 0-1 scale) is too wide to rank by
NOISE = 0.02               # below this a negative Sobol' index or an S1 above ST is rounding, not a warning
TORNADO_QUANTILES = (0.05, 0.95)
CENTRAL_QUANTILE = 0.5


@dataclass(frozen=True)
class Factor:
    """An uncertain parameter as a sensitivity factor: its path and distribution."""

    path: str
    dist: Distribution

    def value(self, q):
        """The parameter's value at quantile ``q`` (scalar or array), tails of unbounded sides cut."""
        lo, hi = self.dist.support
        q = np.clip(np.asarray(q, dtype=float), 0.0 if math.isfinite(lo) else TAIL,
                    1.0 if math.isfinite(hi) else 1.0 - TAIL)
        v = np.asarray(self.dist.ppf(q), dtype=float)
        return float(v) if v.ndim == 0 else v

    @property
    def low(self) -> float:
        return self.value(0.0)

    @property
    def high(self) -> float:
        return self.value(1.0)

    @property
    def central(self) -> float:
        """The median: the centre of the one-at-a-time (tornado) analysis."""
        return self.value(CENTRAL_QUANTILE)


def factors(scenario: Scenario, paths=None) -> list[Factor]:
    """The scenario's uncertain parameters as factors, in scenario order, or those named in ``paths``.

    Raises :class:`ScenarioError` (source ``--params``) for a path that is not an uncertain parameter,
    or if there is none.
    """
    uncertain = dict(scenario.uncertain_parameters())
    if not uncertain:
        raise ScenarioError("--params", "", f"scenario {scenario.name!r} declares no uncertain parameter "
                            "(give one a distribution, e.g. with --set 'PATH={dist=\"uniform\", low=..., high=...}')")
    if not paths:
        return [Factor(p, param.dist) for p, param in uncertain.items()]
    known = [p for p, _ in scenario.parameters()]
    out = []
    for p in dict.fromkeys(paths):
        if p not in uncertain:
            why = ("is fixed in the scenario; give it a distribution with --set to vary it" if p in known
                   else f"unknown parameter path{did_you_mean_path(p, known)}")
            raise ScenarioError("--params", p, why)
        out.append(Factor(p, uncertain[p].dist))
    return out


def problem(facs: list[Factor]) -> dict:
    """SALib's problem: one variable per factor, on the quantile scale [0, 1]."""
    return {"num_vars": len(facs), "names": [f.path for f in facs], "bounds": [[0.0, 1.0]] * len(facs)}


def sample_size(method: str, n: int, k: int, *, second_order: bool = True) -> int:
    """How many points ``method`` samples for ``n`` base samples (Sobol) or trajectories (Morris)."""
    if method == "sobol":
        return n * (2 * k + 2 if second_order else k + 2)
    return n * (k + 1)


def sample(method: str, prob: dict, n: int, *, seed: int, levels: int = 4, second_order: bool = True) -> np.ndarray:
    """Quantile samples, shape (points, factors): Saltelli's scheme on a scrambled Sobol' sequence
    (``n`` a power of 2) or ``n`` Morris trajectories on a ``levels``-level grid.

    Raises ``ValueError`` for an unknown method or a Sobol ``n`` that is not a power of 2.
    """
    if method == "sobol":
        from SALib.sample import sobol
        if n < 1 or n & (n - 1):
            raise ValueError(f"Sobol' sampling needs a power of 2 base samples (the sequence is balanced "
                             f"only there), got {n}")
        return sobol.sample(prob, n, calc_second_order=second_order, scramble=True, seed=seed)
    if method == "morris":
        from SALib.sample import morris
        if levels < 2 or levels % 2:
            raise ValueError(f"Morris needs an even number of levels (at least 2), got {levels}")
        return morris.sample(prob, n, num_levels=levels, seed=seed)
    raise ValueError(f"unknown method {method!r} (expected one of: {', '.join(METHODS)})")


def points_from(facs: list[Factor], u: np.ndarray) -> list[dict[str, float]]:
    """Quantile samples to points (path -> value)."""
    cols = [f.value(u[:, j]) for j, f in enumerate(facs)]
    return [{f.path: float(cols[j][i]) for j, f in enumerate(facs)} for i in range(len(u))]


def tornado_points(facs: list[Factor]) -> list[dict[str, float]]:
    """One-at-a-time points: every factor at its median, then each factor at its 5% and 95%
    quantiles (the others at their medians)."""
    centre = {f.path: f.central for f in facs}
    out = [dict(centre)]
    for f in facs:
        for q in TORNADO_QUANTILES:
            out.append({**centre, f.path: f.value(q)})
    return out


def outputs(names=(), within=None) -> dict[str, str]:
    """The outputs to analyse, metric key -> label, from :data:`OUTPUT_CHOICES` (default :data:`OUTPUTS`):
    ``falls-within`` is P(the capital falls within ``within`` days), ``median-day`` the median fall day
    (held = horizon), the end states their probabilities. Raises ``ValueError`` for an unknown name,
    or ``falls-within`` without ``within`` (or ``within`` without it)."""
    if within is not None and "falls-within" not in names:
        raise ValueError("--within is the day of --output falls-within; give that output too")
    if not names:
        return dict(OUTPUTS)
    out = {}
    for name in dict.fromkeys(names):
        if name == "falls-within":
            if within is None:
                raise ValueError("--output falls-within needs --within DAYS")
            out[f"falls_by_{within:g}d"] = f"P(capital falls within {within:g} days)"
        elif name == "median-day":
            out["median_fall_day"] = OUTPUTS["median_fall_day"]
        elif name == "falls":
            out["falls"] = OUTPUTS["falls"]
        elif name in ("captured", "collapsed", "holds"):
            out[name] = f"P({name})"
        else:
            raise ValueError(f"unknown output {name!r} (expected one of: {', '.join(OUTPUT_CHOICES)})")
    return out


def outputs_from(rows: list[dict], names=OUTPUTS) -> dict[str, np.ndarray]:
    """The analysed outputs ``names`` of metrics rows (:func:`sim.studies.points.point_metrics`), one array each."""
    return {k: np.array([r[k] for r in rows], dtype=float) for k in names}


def diagnose(method: str, rows: list[dict], labels: dict[str, str]) -> list[str]:
    """Why the indices in ``rows`` (:func:`analyse`) cannot be read yet, one sentence an output: the base
    sample is too small when an S1 exceeds its ST, an index is negative, or an interval is wider than
    WIDE (Sobol'); when the most influential factor's mu* interval is wider than half of it (Morris)."""
    notes = []
    for out, label in labels.items():
        block = [r for r in rows if r["output"] == out and not r["constant"]]
        if not block:
            continue
        said = []
        if method == "sobol":
            above = [r["parameter"] for r in block if None not in (r["S1"], r["ST"]) and r["S1"] > r["ST"] + NOISE]
            negative = [r["parameter"] for r in block
                        if any(r[k] is not None and r[k] < -NOISE for k in ("S1", "ST"))]
            wide = max((r[k] for r in block for k in ("S1_conf", "ST_conf") if r[k] is not None), default=0.0)
            if above:
                said.append(f"S1 > ST for {_few(above)}")
            if negative:
                said.append(f"negative indices for {_few(negative)}")
            if wide > WIDE:
                said.append(f"95% intervals up to ±{wide:.2f}")
            fix = "raise --samples (the base sample N)"
        else:
            top = max(block, key=lambda r: r["mu_star"] or 0.0)
            if top["mu_star"] and top["mu_star_conf"] is not None and top["mu_star_conf"] > 0.5 * top["mu_star"]:
                said.append(f"the top factor's mu* ({top['parameter']}) is {_number(top['mu_star'])} "
                            f"± {_number(top['mu_star_conf'])}")
            fix = "raise --samples (the trajectories) or --reps"
        if said:
            notes.append(f"{label}: {'; '.join(said)}: too few samples to rank the factors; {fix}")
    return notes


def _number(v: float) -> str:
    """Three significant digits, thousands separated, never in exponent form (164, 0.0153, 23,300)."""
    return f"{float(f'{v:.3g}'):,}".removesuffix(".0")


def _few(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def analyse(method: str, prob: dict, u: np.ndarray, y: dict[str, np.ndarray], *, seed: int,
            resamples: int = 100, levels: int = 4, second_order: bool = True) -> tuple[list[dict], dict]:
    """SALib's indices for each output, as tidy rows (one per output and factor), and Sobol's
    second-order indices ({output: {"names", "S2", "S2_conf"}}, empty for Morris).

    Morris rows: ``mu``, ``mu_star``, ``mu_star_conf`` (half-width of the 95% bootstrap interval),
    ``sigma``. Sobol rows: ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (the same half-widths). An output
    that is the same at every point has no indices: its rows hold None and ``constant`` True.
    """
    rows, second = [], {}
    for name, values in y.items():
        constant = bool(np.ptp(values) == 0)
        if method == "morris":
            keys = ("mu", "mu_star", "mu_star_conf", "sigma")
            if constant:
                res = {k: [0.0] * prob["num_vars"] for k in keys}
            else:
                from SALib.analyze import morris
                res = morris.analyze(prob, u, values, num_resamples=resamples, conf_level=0.95,
                                     num_levels=levels, seed=seed)
        elif method == "sobol":
            keys = ("S1", "S1_conf", "ST", "ST_conf")
            if constant:
                res = {k: [None] * prob["num_vars"] for k in keys}
            else:
                from SALib.analyze import sobol
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    # SALib reads the integer 0 as "no seed" and then bootstraps from numpy's global state
                    # (analyze/sobol.py: `if seed:`). A fresh Generator per output gives the stream the
                    # integer gives for every other seed, so only seed 0 changes: from irreproducible to fixed.
                    res = sobol.analyze(prob, values, calc_second_order=second_order, num_resamples=resamples,
                                        conf_level=0.95, seed=np.random.default_rng(seed))
                if second_order:
                    second[name] = {"names": prob["names"], "S2": _clean(res["S2"]), "S2_conf": _clean(res["S2_conf"])}
        else:
            raise ValueError(f"unknown method {method!r}")
        for j, path in enumerate(prob["names"]):
            rows.append({"output": name, "parameter": path, **{k: _num(res[k][j]) for k in keys},
                         "constant": constant})
    return rows, second


def _num(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _clean(a) -> list:
    return [[_num(x) for x in row] for row in np.asarray(a, dtype=float)]


def tornado_table(facs: list[Factor], metrics: list[dict], names=OUTPUTS) -> list[dict]:
    """Rows (output, parameter) of the one-at-a-time analysis from the metrics of
    :func:`tornado_points`' points, in the same order: the output at the low and high quantile, at
    the centre, and the swing |high - low|."""
    centre, rows = metrics[0], []
    for name in names:
        for j, f in enumerate(facs):
            lo, hi = metrics[1 + 2 * j][name], metrics[2 + 2 * j][name]
            rows.append({"output": name, "parameter": f.path,
                         "low_value": f.value(TORNADO_QUANTILES[0]), "high_value": f.value(TORNADO_QUANTILES[1]),
                         "central_value": f.central, "at_low": lo, "at_high": hi, "at_central": centre[name],
                         "swing": abs(hi - lo)})
    return rows


def factors_table(facs: list[Factor]) -> list[dict]:
    return [{"path": f.path, "distribution": f.dist.describe(), "low": f.low, "high": f.high,
             "central": f.central} for f in facs]


def run_sensitivity(base, method: str, n: int, out_dir, *, paths=None, levels: int = 4, second_order: bool = True,
                    resamples: int = 100, resume: bool = False, workers: int = 1, scheduler: str | None = None,
                    outputs: dict[str, str] | None = None, extras=(), progress=None, on_start=None) -> dict:
    """Sample, run every point (SALib's samples, then the tornado's), analyse ``outputs`` (metric key ->
    label, :func:`outputs`; default :data:`OUTPUTS`), and write into
    ``out_dir``: ``indices.csv|json``, ``tornado.csv|json``, ``samples.csv|json`` (each sample's
    values and metrics), their figures and ``manifest.json``. Returns the indices table (JSON data).

    ``base`` is a :class:`sim.studies.points.Base`; its seed seeds SALib's sampling and bootstrap as well as
    the replications. ``progress`` and ``on_start`` as in :func:`sim.studies.points.run_points`.
    """
    start = time.perf_counter()
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (expected one of: {', '.join(METHODS)})")
    labels = dict(OUTPUTS if outputs is None else outputs)
    days = [float(k[len("falls_by_"):-1]) for k in labels if k.startswith("falls_by_")]
    days = [int(d) if d.is_integer() else d for d in days]
    if any(d not in base.within_days for d in days):  # the points' metrics must hold the chosen days
        base = dataclasses.replace(base, within_days=tuple(sorted({*base.within_days, *days})))
    unknown = [k for k in labels if k not in metric_columns(base.within_days)]
    if unknown:
        raise ValueError(f"unknown output {unknown[0]!r}")
    scenario = base.scenario()
    facs = factors(scenario, paths)
    prob = problem(facs)
    size = sample_size(method, n, len(facs), second_order=second_order) + 1 + 2 * len(facs)  # with the tornado's
    if size > MAX_POINTS:  # checked before the design is made
        raise ScenarioError("--samples", "", f"{n:,} {'base samples' if method == 'sobol' else 'trajectories'} of "
                                             f"{len(facs)} factors make {size:,} points; a study may have at most "
                                             f"{MAX_POINTS:,}")
    u = sample(method, prob, n, seed=base.seed, levels=levels, second_order=second_order)
    salib_points = points_from(facs, u)
    oat_points = tornado_points(facs)
    points = salib_points + oat_points
    for f in facs:  # the extremes of every factor (the loader's range checks; a support already passed them)
        base.scenario({f.path: f.low}, origin="--params")
        base.scenario({f.path: f.high}, origin="--params")
    spec = {"method": method, "samples": n, "levels": levels if method == "morris" else None,
            "second_order": second_order if method == "sobol" else None, "resamples": resamples,
            "factors": [f.path for f in facs]}
    described = {}

    def started(description, resumed):
        described["executor"], described["resumed"] = description, resumed
        if on_start:
            on_start(description, resumed)

    metrics = run_points(base, points, out_dir, kind=KIND, spec=spec, resume=resume,
                         workers=workers, scheduler=scheduler, progress=progress, on_start=started)
    rows = [metrics[i] for i in range(len(points))]
    y = outputs_from(rows[: len(salib_points)], labels)
    index_rows, second = analyse(method, prob, u, y, seed=base.seed, resamples=resamples, levels=levels,
                                 second_order=second_order)
    head = {"scenario": scenario.name, "title": scenario.title, "as_of": scenario.as_of.isoformat(),
            "horizon_days": scenario.horizon_days, "reps": base.reps, "seed": base.seed, "engine": base.engine,
            "method": method, "samples": n, "n_points": len(salib_points), "outputs": labels,
            "factors": factors_table(facs)}
    if method == "morris":
        cols = ["output", "parameter", "mu", "mu_star", "mu_star_conf", "sigma", "constant"]
        head["levels"] = levels
    else:
        cols = ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf", "constant"]
        head["second_order"] = second
    indices = {"kind": KIND, **head, "columns": cols, "rows": index_rows,
               "warnings": diagnose(method, index_rows, labels)}
    mcols = metric_columns(base.within_days)
    samples = {"kind": "samples", **{k: head[k] for k in ("scenario", "title", "as_of", "horizon_days", "reps",
                                                         "seed", "engine", "method")},
               "columns": ["point", *prob["names"], *mcols],
               "rows": [{"point": i, **salib_points[i], **{c: rows[i][c] for c in mcols}}
                        for i in range(len(salib_points))]}
    tornado = {"kind": "tornado", **{k: head[k] for k in ("scenario", "title", "as_of", "horizon_days", "reps",
                                                         "seed", "engine", "outputs")},
               "quantiles": list(TORNADO_QUANTILES),
               "columns": ["output", "parameter", "low_value", "high_value", "central_value", "at_low", "at_high",
                           "at_central", "swing"],
               "rows": tornado_table(facs, rows[len(salib_points):], labels)}
    finish(out_dir, KIND, {"indices": indices, "tornado": tornado, "samples": samples}, extras=extras,
           wall_seconds=time.perf_counter() - start, executor=described.get("executor", ""),
           points_run=len(points) - described.get("resumed", 0))
    return indices
