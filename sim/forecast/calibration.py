"""Calibration of the structural parameters on a reference class of offensives.

Structural parameters (how a city's fall shocks belief, how units abandon as belief falls and
others go, how momentum grows and decays, how the ruler reacts) should be the same in every war;
each case keeps its own scenario's priors for everything else. The method is importance sampling
from the prior with a likelihood estimated from the vectorised engine's empirical distributions:

1. draw K proposals theta_k of the structural parameters from their priors;
2. for every case c and proposal k, simulate R replications (the same seed for every proposal of a
   case: common random numbers) and estimate L_c(theta_k), the probability of what was observed:
   the observed end state, with the capital's fall day inside the observed window widened by
   ``tolerance_days`` on each side (a capital that held: no fall before the record's end);
   (hits + 1) / (R + 2), so no proposal has likelihood zero;
3. the posterior given a set of cases S weights proposal k by prod over c in S of L_c(theta_k).

Leaving a case out is then free: its weights use the other cases' likelihoods, and its forecast is
the mixture of the proposals' simulated outcomes under those weights.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engines.outcomes import END_STATES
from ..errors import ScenarioError
from ..files import MANIFEST, manifest_base, peek_json, staged_folder, write_json, write_text
from ..runs.runner import run
from ..runs.summary import MILESTONES, fell_within
from ..scenario.distributions import Distribution
from ..scenario.load import read_param, read_toml
from ..scenario.schema import SECTIONS, Scenario, param_fields
from ..scenario.vary import Variant
from .observed import Observed, check_against, load_observed


@dataclass(frozen=True)
class Case:
    """A case of the reference class: its scenario (as a :class:`Variant`, so that proposals are
    applied through the loader's checks) and what was observed."""

    name: str
    variant: Variant
    observed: Observed
    calibrate: bool = True   # False: only scored, with the posterior from the calibration cases

    @property
    def scenario(self) -> Scenario:
        """The case's scenario as its file gives it."""
        return self.variant.base


@dataclass(frozen=True)
class Spec:
    """What to calibrate: the cases and the priors of the structural parameters (by path)."""

    cases: tuple[Case, ...]
    priors: tuple[tuple[str, Distribution], ...]
    tolerance_days: float
    source_path: str


def load_spec(path: str | Path) -> Spec:
    """Read a calibration file (through the one guarded reader)::

        [calibration]
        tolerance_days = 3
        cases = [ { scenario = "case-a.toml", observed = "observed/case-a.toml" }, ... ]

        [priors]
        "belief.loss_shock" = { dist = "uniform", low = 0.1, high = 0.6 }

    Each case's scenario is checked with every prior at the bottom and at the top of its support,
    so a prior that would give a case an invalid scenario is refused here, naming the spec file.
    """
    file = str(path)
    doc = read_toml(path, what="calibration spec")
    for k in doc:
        if k not in ("calibration", "priors"):
            raise ScenarioError(file, k, "unknown key (expected calibration, priors)")
    head = doc.get("calibration")
    if not isinstance(head, dict) or not isinstance(head.get("cases"), list) or not head["cases"]:
        raise ScenarioError(file, "calibration.cases", "needs a non-empty array of {scenario, observed} tables")
    for k in head:
        if k not in ("cases", "tolerance_days"):
            raise ScenarioError(file, f"calibration.{k}", "unknown key (expected cases, tolerance_days)")
    base = Path(path).parent
    cases = []
    for k, entry in enumerate(head["cases"]):
        if not isinstance(entry, dict) or not {"scenario", "observed"} <= set(entry) <= {"scenario", "observed", "use"} \
                or not all(isinstance(entry[x], str) for x in ("scenario", "observed")) \
                or entry.get("use", "calibrate") not in ("calibrate", "score"):
            raise ScenarioError(file, f"calibration.cases[{k}]",
                                'each case is { scenario = "FILE", observed = "FILE", use = "calibrate" | "score" }')
        variant = Variant.load(base / entry["scenario"])
        observed = load_observed(base / entry["observed"])
        check_against(observed, variant.base)
        cases.append(Case(variant.base.name, variant, observed, entry.get("use", "calibrate") == "calibrate"))
    if not any(c.calibrate for c in cases):
        raise ScenarioError(file, "calibration.cases", 'at least one case must have use = "calibrate"')
    tolerance = head.get("tolerance_days", 3)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 1e4:
        raise ScenarioError(file, "calibration.tolerance_days", "must be a number of days >= 0")
    table = doc.get("priors")
    if table is not None and not isinstance(table, dict):
        raise ScenarioError(file, "priors", "must be a table of parameter paths and distributions")
    priors = []
    for key, value in (table or {}).items():
        section, _, name = key.partition(".")
        fields = {f.name: f for f in param_fields(SECTIONS[section])} if section in SECTIONS else {}
        if name not in fields:
            raise ScenarioError(file, f"priors.{key}", "a prior must name a model-wide parameter, e.g. belief.loss_shock")
        param = read_param(value, file=file, key=("priors", key), spec=fields[name].metadata)
        if not param.dist.is_random:
            raise ScenarioError(file, f"priors.{key}", "a prior must be a distribution")
        priors.append((key, param.dist))
    if not priors:
        raise ScenarioError(file, "priors", "name at least one structural parameter to calibrate")
    for case in cases:
        for end in (0, 1):
            case.variant.scenario({p: _support_end(d, end) for p, d in priors}, origin=f"{file}: priors")
    return Spec(tuple(cases), tuple(priors), float(tolerance), file)


def _support_end(dist: Distribution, end: int) -> float:
    """The bottom (0) or top (1) of a prior's support; for an unbounded side, the quantile that one
    draw in 1e9 passes."""
    v = dist.support[end]
    return v if math.isfinite(v) else float(dist.ppf(1e-9 if end == 0 else 1.0 - 1e-9))


def observed_hits(case: Case, end_state: np.ndarray, end_day: np.ndarray, tolerance: float) -> np.ndarray:
    """Which replications reproduce what was observed (end state and, if it fell, the window)."""
    obs, as_of = case.observed, case.scenario.as_of
    if obs.capital_state == "holds":
        record = (obs.until - as_of).days + 1
        return ~(end_day < record)
    low, high = obs.capital.days(as_of)
    state = END_STATES.index(obs.capital_state)
    return (end_state == state) & (end_day >= low - tolerance) & (end_day < high + tolerance)


@dataclass
class Simulations:
    """Every case simulated under every proposal."""

    spec: Spec
    proposals: np.ndarray          # (K, P) structural values
    loglik: np.ndarray             # (C, K)
    end_day: np.ndarray            # (C, K, R) capital fall day (NaN: held)
    end_state: np.ndarray          # (C, K, R)

    def weights(self, cases: list[int]) -> np.ndarray:
        """Normalised importance weights of the proposals given the listed cases."""
        total = self.loglik[cases].sum(axis=0)
        w = np.exp(total - total.max())
        return w / w.sum()


def simulate_proposals(spec: Spec, proposals: int, reps: int, *, seed: int, progress=None) -> Simulations:
    """Draw ``proposals`` structural parameter sets and simulate every case under each."""
    prior_rng, *case_seeds = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(1 + len(spec.cases))]
    theta = np.column_stack([dist.sample(proposals, rng=prior_rng) for _, dist in spec.priors])
    paths = [p for p, _ in spec.priors]
    C = len(spec.cases)
    loglik = np.zeros((C, proposals))
    end_day = np.full((C, proposals, reps), np.nan)
    end_state = np.zeros((C, proposals, reps), dtype=np.int8)
    case_seed = [int(rng.integers(2**63)) for rng in case_seeds]
    for c, case in enumerate(spec.cases):
        for k in range(proposals):
            scenario = case.variant.scenario(dict(zip(paths, theta[k])), origin="calibration proposal")
            out = run(scenario, reps, seed=case_seed[c], keep_outcomes=True).outcomes
            hits = observed_hits(case, out.end_state, out.end_day, spec.tolerance_days)
            loglik[c, k] = math.log((hits.sum() + 1) / (reps + 2))
            end_day[c, k], end_state[c, k] = out.end_day, out.end_state
            if progress:
                progress(c * proposals + k + 1, C * proposals)
    return Simulations(spec, theta, loglik, end_day, end_state)


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    return float(x[order][min(np.searchsorted(cum, q * cum[-1]), len(x) - 1)])


def posterior_summary(sims: Simulations, cases: list[int]) -> dict:
    """Posterior mean, sd and quantiles of each structural parameter, and the effective sample size."""
    w = sims.weights(cases)
    out = {"cases": [sims.spec.cases[c].name for c in cases], "ess": float(1.0 / np.sum(w**2)),
           "proposals": int(len(w)), "parameters": {}}
    for j, (path, prior) in enumerate(sims.spec.priors):
        x = sims.proposals[:, j]
        mean = float(np.sum(w * x))
        out["parameters"][path] = {
            "prior": prior.describe(), "mean": mean, "sd": float(math.sqrt(max(np.sum(w * (x - mean) ** 2), 0.0))),
            "q05": weighted_quantile(x, w, 0.05), "q50": weighted_quantile(x, w, 0.5), "q95": weighted_quantile(x, w, 0.95),
        }
    return out


def posterior_toml(summary: dict, source: str) -> str:
    """The posterior as model-wide sections a scenario can take as priors (triangular on the 5%,
    50% and 95% weighted quantiles: independent marginals, correlations dropped)."""
    sections: dict[str, list[str]] = {}
    for path, p in summary["parameters"].items():
        section, _, name = path.partition(".")
        low, mode, high = p["q05"], p["q50"], p["q95"]
        quoted = json.dumps(source)
        if high - low < 1e-12:
            value = f"{{ value = {mode!r}, source = {quoted} }}"
        else:
            value = f"{{ dist = \"triangular\", low = {low!r}, mode = {mode!r}, high = {high!r}, source = {quoted} }}"
        sections.setdefault(section, []).append(f"{name} = {value}")
    return "\n".join(f"[{sec}]\n" + "\n".join(lines) + "\n" for sec, lines in sections.items())


def mixture_forecast(sims: Simulations, c: int, w: np.ndarray) -> dict:
    """Case ``c``'s forecast under proposal weights ``w``: end-state probabilities, the chance of a
    fall within 7 / 30 / 90 days, the median fall day among falls, and the fall-day CDF."""
    from .backtest import empirical_cdf

    horizon = sims.spec.cases[c].scenario.horizon_days
    states = sims.end_state[c]
    days = sims.end_day[c]
    reps = days.shape[1]
    probs = {s: float(np.sum(w * np.mean(states == k, axis=1))) for k, s in enumerate(END_STATES)}
    within = {str(d): float(np.sum(w * np.mean(fell_within(days, d), axis=1))) for d in MILESTONES}
    flat, fw = days.ravel(), np.repeat(w / reps, reps)
    fell = ~np.isnan(flat)
    median = weighted_quantile(flat[fell], fw[fell], 0.5) if fell.any() else None
    grid, _ = empirical_cdf(days[0], horizon)
    cdf = sum(wk * empirical_cdf(days[k], horizon)[1] for k, wk in enumerate(w) if wk > 0)
    return {"end_states": probs, "within": within, "median_fall_day": median, "grid": grid, "cdf": cdf}


def validation(sims: Simulations) -> list[dict]:
    """Every case forecast and scored without its own data: calibration cases leave-one-out, the
    others with the posterior of all calibration cases."""
    from . import scoring
    from .backtest import BASELINES, baseline_cdf, baseline_end_states

    spec = sims.spec
    calib = [c for c, case in enumerate(spec.cases) if case.calibrate]
    rows = []
    for c, case in enumerate(spec.cases):
        used = [d for d in calib if d != c]
        w = sims.weights(used) if used else np.full(len(sims.proposals), 1.0 / len(sims.proposals))
        f = mixture_forecast(sims, c, w)
        obs, as_of, horizon = case.observed, case.scenario.as_of, case.scenario.horizon_days
        if obs.capital is not None:
            low, high = obs.capital.days(as_of)
        else:
            low, high = float((obs.until - as_of).days + 1), math.inf
        crps = {"model": scoring.crps_interval(f["grid"], f["cdf"], low, high)}
        log = {"model": scoring.log_score(f["end_states"][obs.capital_state])}
        for b in BASELINES:
            crps[b] = scoring.crps_interval(f["grid"], baseline_cdf(b, f["grid"], horizon), low, high)
            log[b] = scoring.log_score(baseline_end_states(b)[obs.capital_state])
        rows.append({
            "case": case.name, "as_of": as_of.isoformat(), "calibrated_on": [spec.cases[d].name for d in used],
            "ess": float(1.0 / np.sum(w**2)), "within": f["within"], "end_states": f["end_states"],
            "median_fall_day": f["median_fall_day"], "observed": obs.capital_state,
            "observed_days": [low, None if math.isinf(high) else high],
            "crps": crps, "log_end_state": log,
        })
    return rows


def validation_markdown(rows: list[dict]) -> str:
    """The validation table: forecasts made without each case's own data, against what happened."""
    import datetime as dt

    def date(row, day):
        if day is None:
            return "—"
        return (dt.date.fromisoformat(row["as_of"]) + dt.timedelta(days=float(day))).isoformat()

    lines = ["| case | as of | P(falls ≤7 d) | ≤30 d | ≤90 d | median fall | what happened | "
             "CRPS model / holds / uniform | log score model / holds / uniform | ESS |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lo, hi = r["observed_days"]
        happened = r["observed"] if hi is None else f"{r['observed']} {date(r, lo)}"
        c, g = r["crps"], r["log_end_state"]
        lines.append(
            f"| {r['case']} | {r['as_of']} | {r['within']['7']:.2f} | {r['within']['30']:.2f} | "
            f"{r['within']['90']:.2f} | {date(r, r['median_fall_day'])} | {happened} | "
            f"{c['model']:.1f} / {c['always_holds']:.1f} / {c['uniform_hazard']:.1f} | "
            f"{g['model']:.2f} / {g['always_holds']:.2f} / {g['uniform_hazard']:.2f} | {r['ess']:.0f} |")
    return "\n".join(lines) + "\n"


def calibrate(spec: Spec, proposals: int, reps: int, *, seed: int, progress=None) -> dict:
    """Simulate, then summarise: the posterior on all calibration cases, its TOML form, and the
    validation rows (leave-one-out for calibration cases)."""
    sims = simulate_proposals(spec, proposals, reps, seed=seed, progress=progress)
    calib = [c for c, case in enumerate(spec.cases) if case.calibrate]
    summary = posterior_summary(sims, calib)
    source = (f"calibrated on {', '.join(summary['cases'])} (sim calibrate {Path(spec.source_path).name}, "
              f"{proposals} proposals x {reps} replications, seed {seed})")
    rows = validation(sims)
    return {"posterior": summary, "posterior_toml": posterior_toml(summary, source),
            "validation": rows, "validation_md": validation_markdown(rows),
            "seed": seed, "proposals": proposals, "reps": reps}


KIND = "calibration"
OUTPUTS = {"posterior.json": "posterior", "validation.json": "validation", "posterior.toml": "posterior_toml",
           "validation.md": "validation_md"}


def is_earlier_calibration(folder: Path) -> bool:
    """A calibration folder written before manifests named their kind: its posterior.json has the
    fields a posterior summary has."""
    p = peek_json(Path(folder) / "posterior.json", limit=10_000_000)
    return isinstance(p, dict) and {"cases", "ess", "proposals", "parameters"} <= set(p)


def write_calibration(result: dict, out_dir: Path, *, spec_file: str = "", command=None) -> Path:
    """The posterior (JSON and model-wide TOML sections), the validation table (JSON and Markdown)
    and manifest.json, written whole or not at all; it replaces only an earlier calibration."""
    out_dir = Path(out_dir)
    with staged_folder(out_dir, kind=KIND, owns=is_earlier_calibration, error="cannot write the calibration") as tmp:
        for name, key in OUTPUTS.items():
            if name.endswith(".json"):
                write_json(tmp / name, result[key])
            else:
                write_text(tmp / name, result[key])
        write_json(tmp / MANIFEST, {**manifest_base(KIND, command), "spec": spec_file, "seed": result["seed"],
                                    "proposals": result["proposals"], "reps": result["reps"]})
    return out_dir
