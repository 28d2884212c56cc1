"""Calibration of the structural parameters on a reference class of wars, by ABC with emulated
per-case likelihoods.

Structural parameters (how a city's fall shocks belief, how units abandon as belief falls and
others go, how momentum grows and decays, how the ruler reacts) and the spreads of the case
effects (``belief.case_spread``, ``cascade.case_spread``, ``momentum.case_spread``,
``leadership.case_spread``) are the same in every war; each case keeps its own scenario for everything else. The method is approximate Bayesian
computation (Pritchard et al. 1999; Beaumont, Zhang & Balding 2002) whose per-case ABC likelihoods
are emulated by probabilistic classification (Wilkinson 2014, "Accelerating ABC methods using
Gaussian processes"; Gutmann et al. 2018, "Likelihood-free inference via classification"):

1. draw N particles theta_i of the structural parameters from their priors;
2. simulate every case once per particle: replication i of case c runs with theta_i (the engine
   draws each replication's parameters, so N particles of a case are one vectorised run of N
   replications, and the case effects are drawn inside it, integrated over as they should be);
3. score each simulated case against every dated observable of its record with a distance
   d_c(theta_i) (:func:`distances`): the capital's fall (window or censored hold) and end state,
   each dated city fall or hold, the ruler's exit;
4. a run of case c is *close* when d_c is within the smallest ``close_share`` of that case's runs
   (its epsilon_c). The ABC likelihood of case c, L_c(theta) = P(d_c <= epsilon_c | theta), is
   emulated by a logistic regression of "close" on theta (quadratic in the standardised
   parameters, scikit-learn), fitted on all N runs of the case;
5. the posterior given a set of cases S weighs particle i by prod over S of L_c(theta_i) (the cases
   are independent wars given theta), with its effective sample size; it is written as a joint
   sample by systematic resampling.

Rejection on the summed distance needs every case close in one run and keeps a posterior that is
hardly narrower than the prior with 21 cases; emulating each case's likelihood uses all N runs of
it. Leaving a war out is then free: its posterior multiplies the other wars' emulated likelihoods,
and the war's cases are forecast by simulating them afresh with that posterior as a scenario's
``[posterior]`` (each replication draws a row), as a user forecasts a new case. The shipped
posterior uses the cases whose record ended before ``shipped_before``: a forecast as of a date may
use every case that had ended by then.

Why not an ABC library: pyabc and ELFI call the simulator once per particle (or per small batch)
through their own schedulers, where a vectorised run of a case costs the same for 1 or 10^4
particles; ELFI also pins matplotlib below 3.9. The classifier is scikit-learn's.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..engines import vectorised
from ..engines.draws import draw_parameters
from ..engines.outcomes import END_STATES
from ..errors import ScenarioError, SweepError
from ..files import MANIFEST, finite, manifest_base, peek_json, staged_folder, write_json, write_text
from ..runs.summary import MILESTONES
from ..scenario.distributions import Distribution
from ..scenario.load import read_param, read_toml
from ..scenario.schema import GOVERNMENT, SECTIONS, JointSample, Scenario, param_fields
from ..scenario.toml import dumps
from ..scenario.vary import Variant
from . import scoring
from .backtest import (BASELINES as SIMPLE_BASELINES, baseline_cdf, baseline_p_what_happened, baseline_within,
                       empirical_cdf, log_unfloored, p_what_happened)
from .observed import Observed, check_against, load_observed

FLED_WEIGHT = 0.5        # the ruler's exit counts half a capital's fall in a case's distance
STATE_MISMATCH = 0.5     # a capital fallen in its window but captured for collapsed (or the reverse)
MIN_ESS = 200            # a smaller effective sample: the posterior is too thin to trust (a warning)
ROWS = 2000              # rows of a posterior written as a joint sample
FORECAST_REPS = 10_000   # replications of a case's leave-war-out forecast (at most one per particle)


@dataclass(frozen=True)
class Case:
    """A case of the reference class: its scenario (as a :class:`Variant`, so that proposals are
    applied through the loader's checks), what was observed, and the war it belongs to."""

    name: str
    war: str
    variant: Variant
    observed: Observed
    calibrate: bool = True   # False: only scored (a forecast origin of a war not used to calibrate)

    @property
    def scenario(self) -> Scenario:
        return self.variant.base


@dataclass(frozen=True)
class Spec:
    """What to calibrate: the cases, the priors of the structural parameters (by path), the share
    of a case's runs that count as close to its record, and the date before which a case's record
    must end to enter the shipped posterior."""

    cases: tuple[Case, ...]
    priors: tuple[tuple[str, Distribution], ...]
    tolerance_days: float
    close_share: float
    shipped_before: dt.date | None
    source_path: str

    @property
    def wars(self) -> list[str]:
        return list(dict.fromkeys(c.war for c in self.cases))


CASE_KEYS = {"scenario", "observed", "use", "war"}
HEAD_KEYS = {"cases", "tolerance_days", "close_share", "shipped_before"}


def load_spec(path: str | Path) -> Spec:
    """Read a calibration file (through the one guarded reader)::

        [calibration]
        tolerance_days = 3            # a dated event this many days outside its window still matches
        close_share = 0.1             # a case's runs within its closest 10% count as close
        shipped_before = 2024-11-27   # the shipped posterior: cases whose record ended before this
        cases = [ { scenario = "a.toml", observed = "observed/a.toml", war = "a" }, ... ]

        [priors]
        "belief.loss_shock" = { dist = "uniform", low = 0.1, high = 0.6 }

    A case without ``war`` is a war of its own. Each case's scenario is checked with every prior at
    the bottom and at the top of its support, so a prior that would give a case an invalid scenario
    is refused here, naming the spec file.
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
        if k not in HEAD_KEYS:
            raise ScenarioError(file, f"calibration.{k}", f"unknown key (expected {', '.join(sorted(HEAD_KEYS))})")
    base = Path(path).parent
    cases = []
    for k, entry in enumerate(head["cases"]):
        if not isinstance(entry, dict) or not {"scenario", "observed"} <= set(entry) <= CASE_KEYS \
                or not all(isinstance(entry[x], str) for x in ("scenario", "observed")) \
                or not isinstance(entry.get("war", ""), str) \
                or entry.get("use", "calibrate") not in ("calibrate", "score"):
            raise ScenarioError(file, f"calibration.cases[{k}]",
                                'each case is { scenario = "FILE", observed = "FILE", war = "NAME", '
                                'use = "calibrate" | "score" }')
        variant = Variant.load(base / entry["scenario"], posterior="none")
        observed = load_observed(base / entry["observed"])
        check_against(observed, variant.base)
        name = variant.base.name
        cases.append(Case(name, entry.get("war") or name, variant, observed, entry.get("use", "calibrate") == "calibrate"))
    if not any(c.calibrate for c in cases):
        raise ScenarioError(file, "calibration.cases", 'at least one case must have use = "calibrate"')
    tolerance = _number(head, "tolerance_days", 3, file, lambda v: 0 <= v < 1e4, "must be a number of days >= 0")
    close = _number(head, "close_share", 0.1, file, lambda v: 0 < v < 1, "must be a share of a case's runs in (0, 1)")
    shipped = head.get("shipped_before")
    if shipped is not None and (not isinstance(shipped, dt.date) or isinstance(shipped, dt.datetime)):
        raise ScenarioError(file, "calibration.shipped_before", "must be a TOML date such as 2024-11-27")
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
    return Spec(tuple(cases), tuple(priors), float(tolerance), float(close), shipped, file)


def _number(head: dict, key: str, default: float, file: str, ok, why: str) -> float:
    v = head.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not ok(v):
        raise ScenarioError(file, f"calibration.{key}", why)
    return float(v)


def _support_end(dist: Distribution, end: int) -> float:
    """The bottom (0) or top (1) of a prior's support; for an unbounded side, the quantile that one
    draw in 1e9 passes."""
    v = dist.support[end]
    return v if math.isfinite(v) else float(dist.ppf(1e-9 if end == 0 else 1.0 - 1e-9))


# --------------------------------------------------------------------------- observables and distance

@dataclass(frozen=True)
class Observable:
    """A dated fact of a record, in days after the case's as_of: it happened in [low, high), or
    (high = inf) it had not happened before ``low``."""

    what: str            # "capital", "node", "fled"
    node: int            # the node's index (capital and node), -1 for the ruler
    low: float
    high: float


def observables(case: Case) -> list[Observable]:
    """Every dated observable of a case's record that its scenario can reproduce: the capital, each
    government-held node the record dates or says held, the ruler's exit when it is dated."""
    sc, obs = case.scenario, case.observed
    as_of, until = sc.as_of, float((case.observed.until - sc.as_of).days + 1)
    cap = sc.node_index(sc.capital)
    out = [capital_observable(case)]
    for name, window in obs.nodes.items():
        k = sc.node_index(name)
        if k == cap or sc.nodes[k].controller != GOVERNMENT:
            continue
        low, high = window.days(as_of) if window is not None else (until, math.inf)
        if high > 0:
            out.append(Observable("node", k, max(low, 0.0), high))
    if obs.fled is not None and obs.fled.days(as_of)[1] > 0:
        low, high = obs.fled.days(as_of)
        out.append(Observable("fled", -1, max(low, 0.0), high))
    return out


def capital_observable(case: Case) -> Observable:
    """The capital's observation: its fall's window, or held to the day after the record ends."""
    sc, obs = case.scenario, case.observed
    until = float((obs.until - sc.as_of).days + 1)
    return Observable("capital", sc.node_index(sc.capital),
                      *(obs.capital.days(sc.as_of) if obs.capital else (until, math.inf)))


def gap(day: np.ndarray, low: float, high: float, tolerance: float, horizon: float) -> np.ndarray:
    """How far simulated event days (NaN: not within the horizon) are from an observation, on a log
    scale: |log(1 + day) - log(1 + nearest day the observation allows)|. A window widens by
    ``tolerance`` each side; an event that never came counts as on twice the horizon (or the
    window's end, if later); a censored observation (high = inf) only charges events before low."""
    day = np.asarray(day, dtype=float)
    if math.isinf(high):
        return np.where(day < low, np.log1p(low) - np.log1p(np.nan_to_num(day, nan=low)), 0.0)
    a, b = max(low - tolerance, 0.0), high + tolerance
    never = max(2.0 * horizon, b)
    d = np.where(np.isnan(day), never, day)
    return np.abs(np.log1p(d) - np.log1p(np.clip(d, a, b)))


def distances(case: Case, outcomes, tolerance: float) -> np.ndarray:
    """d_c per replication: the capital's gap, plus STATE_MISMATCH when it fell as observed but by
    the other end state, plus the mean gap over the dated cities, plus FLED_WEIGHT x the ruler's."""
    horizon = float(case.scenario.horizon_days)
    obs = observables(case)
    cap = obs[0]
    d = gap(outcomes.end_day, cap.low, cap.high, tolerance, horizon)
    if not math.isinf(cap.high):
        wanted = END_STATES.index(case.observed.capital_state)
        fell = ~np.isnan(outcomes.end_day)
        d = d + STATE_MISMATCH * (fell & (outcomes.end_state != wanted))
    nodes = [o for o in obs if o.what == "node"]
    if nodes:
        d = d + np.mean([gap(outcomes.node_fall_day[:, o.node], o.low, o.high, tolerance, horizon) for o in nodes],
                        axis=0)
    for o in obs:
        if o.what == "fled":
            d = d + FLED_WEIGHT * gap(outcomes.leader_fled_day, o.low, o.high, tolerance, horizon)
    return d


# --------------------------------------------------------------------------- simulation

@dataclass
class Simulations:
    """Every case simulated once per particle, as its distance to the case's record, and each
    calibrating case's emulated log ABC likelihood at every particle (0 for a case that only
    scores, or one whose runs are all close)."""

    spec: Spec
    particles: np.ndarray        # (N, P) structural values
    distance: np.ndarray         # (C, N)
    seed: int
    log_likelihood: np.ndarray   # (C, N) log L_c(theta_i)
    epsilon: np.ndarray          # (C,) a case's closeness threshold (NaN for a case that only scores)

    def weights(self, cases: list[int]) -> np.ndarray:
        """The particles' normalised posterior weights given ``cases`` (the prior's, given none)."""
        log_w = self.log_likelihood[cases].sum(axis=0) if cases else np.zeros(len(self.particles))
        w = np.exp(log_w - log_w.max())
        return w / w.sum()

    def ess(self, cases: list[int]) -> float:
        """Kish's effective sample size of the posterior given ``cases``."""
        w = self.weights(cases)
        return float(1.0 / np.sum(w * w))

    def kept(self, cases: list[int], rows: int = ROWS) -> np.ndarray:
        """The posterior given ``cases`` as ``rows`` particle indices (repeats allowed), by systematic
        resampling at fixed offsets, so the choice is reproducible."""
        cum = np.cumsum(self.weights(cases))
        return np.searchsorted(cum, (np.arange(rows) + 0.5) / rows).clip(0, len(cum) - 1)


def emulate(spec: Spec, particles: np.ndarray, distance: np.ndarray, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Each calibrating case's log ABC likelihood at every particle, log P(d_c <= epsilon_c | theta),
    emulated by a logistic regression of "the run is close" on the parameters and their products
    (standardised), and the epsilon_c (the ``close_share`` quantile of the case's distances)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    C, n = distance.shape
    log_l, eps = np.zeros((C, n)), np.full(C, np.nan)
    calibrating = [c for c, case in enumerate(spec.cases) if case.calibrate]
    for done, c in enumerate(calibrating, 1):
        eps[c] = np.quantile(distance[c], spec.close_share)
        close = distance[c] <= eps[c]
        if close.any() and not close.all():    # else no run tells one particle from another
            model = make_pipeline(StandardScaler(), PolynomialFeatures(2), LogisticRegression(max_iter=1000))
            model.fit(particles, close)
            log_l[c] = model.predict_log_proba(particles)[:, 1]
        if progress:  # every case counts, emulated or not, so the bar ends full
            progress(done, len(calibrating), "case likelihoods emulated")
    return log_l, eps


CHUNK = 25_000   # particles simulated together; each chunk of a case has its own seed (the seeding contract)


def simulate_chunk(case: Case, paths: list[str], theta: np.ndarray, seed_seq: np.random.SeedSequence,
                   tolerance: float) -> np.ndarray:
    """One case under a chunk of particles, one replication each (a picklable task for any executor):
    the runs' distances to the case's record."""
    rng = np.random.Generator(np.random.PCG64(seed_seq))
    n = len(theta)
    draws = draw_parameters(case.scenario, n, rng=rng, columns={p: theta[:, j] for j, p in enumerate(paths)})
    out, _ = vectorised.simulate(case.scenario, n, rng=rng, draws=draws)
    return distances(case, out, tolerance)


def simulate_particles(spec: Spec, particles: int, *, seed: int, workers: int = 1, scheduler: str | None = None,
                       progress=None) -> Simulations:
    """Draw ``particles`` structural parameter sets and simulate every case once under each, in
    chunks of CHUNK particles (one task each) on ``workers`` local processes or the Dask cluster at
    ``scheduler`` (``tcp://HOST:PORT``); the numbers depend on the seed alone, not on where the
    chunks ran. Raises :class:`SweepError` if the cluster cannot be reached or fails."""
    from ..runs.executors import executor_for

    prior_seq, *case_seqs = np.random.SeedSequence(seed).spawn(1 + len(spec.cases))
    prior_rng = np.random.default_rng(prior_seq)
    theta = np.column_stack([dist.sample(particles, rng=prior_rng) for _, dist in spec.priors])
    paths = [p for p, _ in spec.priors]
    C = len(spec.cases)
    distance = np.zeros((C, particles))
    starts = list(range(0, particles, CHUNK))
    tasks = [(c, k, start) for c in range(C) for k, start in enumerate(starts)]
    done = 0
    try:
        with executor_for(workers, scheduler, tasks=len(tasks)) as (executor, in_flight, _):
            pending, queue = [], list(tasks)
            while queue or pending:
                while queue and len(pending) < in_flight:
                    c, k, start = queue.pop(0)
                    rows = slice(start, min(start + CHUNK, particles))
                    seq = case_seqs[c].spawn(len(starts))[k]
                    pending.append(((c, rows), executor.submit(simulate_chunk, spec.cases[c], paths, theta[rows], seq,
                                                               spec.tolerance_days)))
                (c, rows), future = pending.pop(0)
                distance[c, rows] = future.result()
                done += rows.stop - rows.start
                if progress:
                    progress(done, C * particles, "particle-cases")
    except (ScenarioError, SweepError):
        raise
    except Exception as exc:
        if not scheduler:
            raise
        why = f"{type(exc).__name__}: {exc}" if str(exc) else f"{type(exc).__name__}: it stopped answering"
        raise SweepError(f"the Dask cluster at {scheduler} failed ({why}); nothing was written") from None
    log_l, eps = emulate(spec, theta, distance, progress)
    return Simulations(spec, theta, distance, seed, log_l, eps)


# --------------------------------------------------------------------------- posterior

def shipped_cases(spec: Spec) -> list[int]:
    """The calibration cases whose record ended before ``shipped_before`` (all, without it)."""
    return [c for c, case in enumerate(spec.cases) if case.calibrate
            and (spec.shipped_before is None or case.observed.until < spec.shipped_before)]


def posterior_summary(sims: Simulations, cases: list[int]) -> dict:
    """The posterior's mean, sd and quantiles of each parameter beside its prior's, its effective
    sample size, how often each case's runs come close under it (against the prior's
    ``close_share``), and warnings when it is degenerate."""
    w = sims.weights(cases)
    ess = sims.ess(cases)
    out = {"cases": [sims.spec.cases[c].name for c in cases], "particles": int(len(sims.particles)),
           "ess": ess, "rows": ROWS, "close_share": sims.spec.close_share, "parameters": {}, "close": {},
           "warnings": []}
    if ess < MIN_ESS:
        out["warnings"].append(f"effective sample size {ess:.0f} (fewer than {MIN_ESS}): the posterior rests on "
                               "too few particles; draw more")
    idx = sims.kept(cases)
    for j, (path, prior) in enumerate(sims.spec.priors):
        x = sims.particles[:, j]
        lo, hi = _support_end(prior, 0), _support_end(prior, 1)
        mean = float(np.sum(w * x))
        q = np.quantile(x[idx], [0.05, 0.5, 0.95])
        sd, prior_sd = float(np.sqrt(np.sum(w * (x - mean) ** 2))), float(np.std(x))
        out["parameters"][path] = {"prior": prior.describe(), "mean": mean, "sd": sd,
                                   "prior_sd": prior_sd, "q05": float(q[0]), "q50": float(q[1]), "q95": float(q[2])}
        edge = 0.05 * (hi - lo)
        if np.sum(w * (x < lo + edge)) > 0.5 or np.sum(w * (x > hi - edge)) > 0.5:
            out["warnings"].append(f"{path}: most of the posterior sits at an edge of the prior {prior.describe()}; "
                                   "widen the prior")
    for c in cases:
        close = sims.distance[c] <= sims.epsilon[c]
        out["close"][sims.spec.cases[c].name] = {"prior": float(np.mean(close)), "posterior": float(np.sum(w * close))}
    return out


def posterior_document(sims: Simulations, cases: list[int], source: str) -> str:
    """The posterior given ``cases``, resampled to ``ROWS`` rows, as a posterior file (``[posterior]``
    with paths and rows) that a scenario names with ``[posterior] file = ...`` or ``sim run --posterior``."""
    idx = sims.kept(cases)
    rows = [[float(f"{v:.6g}") for v in sims.particles[i]] for i in idx]
    doc = {"posterior": {"source": source, "cases": [sims.spec.cases[c].name for c in cases],
                         "paths": [p for p, _ in sims.spec.priors], "rows": rows}}
    head = (f"# A joint sample of the structural parameters: {len(rows)} rows, each replication draws one.\n"
            f"# {source}\n")
    return head + dumps(doc)


# --------------------------------------------------------------------------- validation

def leave_war_out(spec: Spec, c: int) -> list[int]:
    """The calibration cases a forecast of case ``c`` may use: none of its own war."""
    war = spec.cases[c].war
    return [d for d, case in enumerate(spec.cases) if case.calibrate and case.war != war]


def observed_window(case: Case) -> tuple[float, float]:
    """The capital's observation in days: [low, high), or [censoring day, inf) when it held."""
    cap = capital_observable(case)
    return cap.low, cap.high


def forecast(days: np.ndarray, states: np.ndarray, horizon: int) -> dict:
    """A forecast from a sample of capital fall days and end states (a case's predictive runs)."""
    n = len(days)
    fell = ~np.isnan(days)
    return {
        "n": int(n),
        "end_states": {s: float(np.mean(states == k)) for k, s in enumerate(END_STATES)},
        "within": {str(d): float(np.mean(fell & (days < d))) for d in MILESTONES},
        "median_fall_day": float(np.median(days[fell])) if fell.mean() > 0.5 else None,
        "cdf": empirical_cdf(days, horizon),
        "days": days, "states": states,
    }


def p_observed(f: dict, case: Case) -> float:
    """The forecast's probability of what happened in case ``case`` (:func:`p_what_happened`)."""
    return p_what_happened(f["days"], f["states"], *observed_window(case), case.observed.capital_state,
                           case.scenario.horizon_days)


def baseline_p_observed(name: str, case: Case) -> float:
    """P(what happened) in case ``case`` under a simple baseline (:func:`baseline_p_what_happened`)."""
    return baseline_p_what_happened(name, *observed_window(case), case.scenario.horizon_days)


def milestone_outcomes(case: Case) -> dict[str, bool | None]:
    """Whether the capital fell within each milestone: True, False, or None when its window straddles it."""
    return settled(*observed_window(case))


def settled(low: float, high: float) -> dict[str, bool | None]:
    """:func:`milestone_outcomes` of an observation [low, high) (high = inf: held to low)."""
    return {str(d): False if (math.isinf(high) or low >= d) else True if high <= d else None for d in MILESTONES}


BASELINES = ("survival", *SIMPLE_BASELINES)   # the survival model, then the backtest's simple baselines
FORECASTERS = ("model", "mixture", *BASELINES)
CALIBRATED = ("model", "mixture", "survival")  # the forecasters whose PIT, coverage and reliability are shown
MIXTURE_GRID = np.arange(21) / 20             # the mixture's candidate weights on the model: 0, 0.05, ..., 1


def survival_observation(case: Case):
    """A case as the survival model sees it: its covariates and the capital's observation."""
    from .survival import Observation, covariates

    low, high = observed_window(case)
    return Observation(covariates(case.scenario), low, high, case.observed.capital_state == "captured")


def survival_forecast(spec: Spec, c: int, used: list[int], grid: np.ndarray) -> dict:
    """Case ``c`` forecast by the survival model fitted on the cases ``used``: P(what happened),
    the fall-day CDF on ``grid`` and P(falls within each milestone)."""
    from .survival import fit

    case = spec.cases[c]
    model = fit([survival_observation(spec.cases[d]) for d in used])
    x = survival_observation(case).x
    low, high = observed_window(case)
    horizon = case.scenario.horizon_days
    p = model.p_what_happened(x, low, high, case.observed.capital_state, horizon)
    cdf = model.cdf(x, grid, horizon)
    within = {str(d): float(1.0 - model.survival(x, min(d, horizon))) for d in MILESTONES}
    return {"p": p, "cdf": cdf, "within": within}


def survival_baseline(spec: Spec, as_of: dt.date):
    """The survival model fitted on the cases of the spec's shipped posterior (its calibrating cases
    whose record ended before ``shipped_before``), so that a new case forecast with that posterior is
    compared with a baseline that knows the same wars: the baseline ``sim backtest --reference-class``
    scores against. Returns the fit and the names of those cases whose record had not ended by
    ``as_of`` (hindsight for a forecast as of that date, shared by the model and the baseline)."""
    from .survival import fit

    used = [spec.cases[c] for c in shipped_cases(spec)]
    if len(used) < 2:
        raise ScenarioError(spec.source_path, "calibration.cases",
                            "fewer than 2 calibrating cases enter the shipped posterior: no survival baseline can be fitted")
    later = [case.name for case in used if case.observed.until >= as_of]
    return fit([survival_observation(case) for case in used]), later


FORECAST_KEY = 1_000   # spawn key of the forecasts' seeds, apart from the particles' (keys 0 .. cases)


def forecast_reps(sims: Simulations) -> int:
    """Replications of each leave-war-out forecast: ``FORECAST_REPS``, or one per particle if fewer
    (a small calibration is a quick look, and its posterior is no finer)."""
    return min(FORECAST_REPS, len(sims.particles))


def predictive(sims: Simulations, c: int, used: list[int], reps: int) -> dict:
    """Case ``c`` forecast with the posterior given the cases ``used``: the case's scenario with that
    posterior as its ``[posterior]`` (each replication draws a row, as a user's run does), simulated
    afresh, ``reps`` replications seeded by the calibration's seed and the case."""
    case = sims.spec.cases[c]
    rows = sims.particles[sims.kept(used)]
    rows.setflags(write=False)
    paths = tuple(p for p, _ in sims.spec.priors)
    scenario = replace(case.scenario, posterior=JointSample(paths, rows, "leave-war-out posterior"))
    rng = np.random.default_rng(np.random.SeedSequence(sims.seed, spawn_key=(FORECAST_KEY, c)))
    out, _ = vectorised.simulate(scenario, reps, rng=rng)
    return forecast(out.end_day, out.end_state, case.scenario.horizon_days)


def validation(sims: Simulations, progress=None) -> list[dict]:
    """Every case forecast without any case of its war, scored against what happened beside the
    baselines and the mixture (:func:`mix`, its weight chosen by :func:`nested_weights`): the log
    score of the observed window, CRPS over the horizon, the milestones' Brier, the PIT."""
    spec, cases = sims.spec, []
    reps = forecast_reps(sims)
    for c, case in enumerate(spec.cases):
        used = leave_war_out(spec, c)
        horizon = case.scenario.horizon_days
        f = predictive(sims, c, used, reps)
        if progress:
            progress((c + 1) * reps, len(spec.cases) * reps, "forecast replications")
        grid, cdf = f["cdf"]
        surv = survival_forecast(spec, c, used, grid)
        forecasts = {"model": {"cdf": cdf, "within": f["within"], "p": p_observed(f, case)},
                     "survival": {"cdf": surv["cdf"], "within": surv["within"], "p": surv["p"]},
                     **{b: {"cdf": baseline_cdf(b, grid, horizon),
                            "within": {d: baseline_within(b, float(d), horizon) for d in f["within"]},
                            "p": baseline_p_observed(b, case)} for b in SIMPLE_BASELINES}}
        cases.append((case, used, f, grid, forecasts))
    weights = nested_weights([case.war for case, *_ in cases], [fc["model"]["p"] for *_, fc in cases],
                             [fc["survival"]["p"] for *_, fc in cases])
    rows = []
    for case, used, f, grid, forecasts in cases:
        w = weights[case.war]
        forecasts = {"model": forecasts["model"], "mixture": mix(w, forecasts["model"], forecasts["survival"]),
                     **{b: forecasts[b] for b in BASELINES}}
        low, high = observed_window(case)
        happened = milestone_outcomes(case)
        horizon = case.scenario.horizon_days
        s = {name: score_forecast(grid, fc, low, high, happened, horizon) for name, fc in forecasts.items()}
        rows.append({
            "case": case.name, "war": case.war, "as_of": case.scenario.as_of.isoformat(),
            "horizon_days": horizon, "calibrated_on": [spec.cases[d].name for d in used], "ess": sims.ess(used),
            "within": f["within"], "end_states": f["end_states"], "median_fall_day": f["median_fall_day"],
            "observed": case.observed.capital_state, "observed_days": [low, None if math.isinf(high) else high],
            **{key: {name: s[name][key] for name in s} for key in ("p_observed", "log_score", "crps", "brier")},
            "pit": {name: s[name]["pit"] for name in CALIBRATED},
            "survival_within": forecasts["survival"]["within"], "mixture_within": forecasts["mixture"]["within"],
            "mixture_weight": w,
        })
    return rows


def score_forecast(grid: np.ndarray, fc: dict, low: float, high: float, happened: dict, horizon: int) -> dict:
    """One forecaster's scores of a case, from its fall-day CDF on ``grid``, its milestone
    probabilities and its P(what happened): the log score (no floor), CRPS, Brier and PIT."""
    terms = [(fc["within"][d] - float(y)) ** 2 for d, y in happened.items() if y is not None and int(d) <= horizon]
    return {"p_observed": fc["p"], "log_score": log_unfloored(fc["p"]),
            "crps": scoring.crps_interval(grid, fc["cdf"], low, high),
            "brier": float(np.mean(terms)) if terms else None, "pit": list(scoring.pit(grid, fc["cdf"], low, high))}


def mix(w: float, model: dict, survival: dict) -> dict:
    """The mixture w x model + (1 - w) x survival of two forecasts of a case: their fall-day CDFs,
    milestone probabilities and P(what happened) mixed (so its end states and holds mix too)."""
    return {"cdf": w * np.asarray(model["cdf"]) + (1.0 - w) * np.asarray(survival["cdf"]),
            "within": {d: w * model["within"][d] + (1.0 - w) * survival["within"][d] for d in model["within"]},
            "p": w * model["p"] + (1.0 - w) * survival["p"]}


def choose_weight(p_model, p_survival) -> float:
    """The weight on ``MIXTURE_GRID`` whose mixture has the highest mean log score (no floor) of what
    happened over these forecasts (ties, and no forecast at all: the larger weight)."""
    best, chosen = -math.inf, 1.0
    if len(p_model) == 0:
        return chosen
    for w in MIXTURE_GRID:
        score = float(np.mean([log_unfloored(w * a + (1.0 - w) * b) for a, b in zip(p_model, p_survival)]))
        if score >= best:
            best, chosen = score, float(w)
    return chosen


def nested_weights(wars: list[str], p_model, p_survival) -> dict[str, float]:
    """Each war's mixture weight, chosen (:func:`choose_weight`) on the forecasts of every other war."""
    out = {}
    for war in dict.fromkeys(wars):
        others = [k for k, v in enumerate(wars) if v != war]
        out[war] = choose_weight([p_model[k] for k in others], [p_survival[k] for k in others])
    return out


def aggregate(rows: list[dict], *, resamples: int = 2000, seed: int = 0) -> dict:
    """Mean scores over the case forecasts; the model's and then the mixture's mean log-score and
    CRPS advantage over each baseline (the mixture's over the model too), with a 90% interval from a
    bootstrap that resamples wars (cases of one war move together); the mixture's weights."""
    wars = sorted({r["war"] for r in rows})
    by_war = {w: [r for r in rows if r["war"] == w] for w in wars}
    out = {"forecasts": len(rows), "wars": len(wars), "mean": {}, "advantage": {}}
    for name in FORECASTERS:
        briers = [r["brier"][name] for r in rows if r["brier"][name] is not None]
        out["mean"][name] = {"log_score": float(np.mean([r["log_score"][name] for r in rows])),
                             "crps": float(np.mean([r["crps"][name] for r in rows])),
                             "brier": float(np.mean(briers)) if briers else None}
    rng = np.random.default_rng(seed)
    out["advantage"] = {b: advantage(rows, "model", b, by_war, rng, resamples) for b in BASELINES}
    out["mixture_advantage"] = {b: advantage(rows, "mixture", b, by_war, rng, resamples) for b in ("model", *BASELINES)}
    out["below_1pct"] = {name: [r["case"] for r in rows if r["p_observed"][name] < 0.01] for name in CALIBRATED}
    out["coverage"] = {name: {"50": coverage(rows, name, 0.5), "90": coverage(rows, name, 0.9)} for name in CALIBRATED}
    out["reliability"] = {name: reliability(rows, name) for name in CALIBRATED}
    out["mixture_weight"] = {"by_war": {w: by_war[w][0]["mixture_weight"] for w in wars},
                             "all_cases": choose_weight([r["p_observed"]["model"] for r in rows],
                                                        [r["p_observed"]["survival"] for r in rows])}
    return out


def advantage(rows: list[dict], name: str, b: str, by_war: dict, rng, resamples: int) -> dict:
    """Forecaster ``name``'s mean log-score and CRPS advantage over ``b`` with its war-bootstrap 90%
    interval, and the wars where its mean log score is higher."""
    wars = list(by_war)
    entry = {}
    for metric, sign in (("log_score", 1.0), ("crps", -1.0)):
        def diff(rs):
            # equal scores (both -inf: both put nothing on what happened) are a tie; +inf and
            # -inf together have no mean (NaN)
            d = [0.0 if r[metric][name] == r[metric][b] else sign * (r[metric][name] - r[metric][b]) for r in rs]
            with np.errstate(invalid="ignore"):
                return float(np.mean(d))
        point = diff(rows)
        boot = np.array([diff([r for k in rng.integers(len(wars), size=len(wars)) for r in by_war[wars[k]]])
                         for _ in range(resamples)])
        lo, hi = np.quantile(boot, [0.05, 0.95]) if np.isfinite(boot).all() else (math.nan, math.nan)
        entry[metric] = {"mean": point, "q05": float(lo), "q95": float(hi)}
    entry["wars_won"] = int(sum(np.mean([r["log_score"][name] for r in by_war[w]])
                                > np.mean([r["log_score"][b] for r in by_war[w]]) for w in wars))
    return entry


def reliability(rows: list[dict], name: str, *, bins: int = 5, draws: int = 4000, seed: int = 0) -> list[dict]:
    """Reliability of the 7 / 30 / 90-day milestone forecasts pooled over the cases where the record
    settles them: per bin of forecast probability, the mean forecast, the observed frequency, and the
    5-95% range the frequency would have if the forecasts were reliable (consistency bars: Broecker &
    Smith 2007, by resampling outcomes from the forecasts themselves)."""
    pairs = [(r["within"][d] if name == "model" else r[f"{name}_within"][d], float(y))
             for r in rows for d, y in settled(r["observed_days"][0], r["observed_days"][1] or math.inf).items()
             if y is not None and int(d) <= r["horizon_days"]]
    if not pairs:
        return []
    p = np.array([a for a, _ in pairs])
    y = np.array([b for _, b in pairs])
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.minimum(np.searchsorted(edges, p, side="right") - 1, bins - 1)
    rng = np.random.default_rng(seed)
    out = []
    for b in range(bins):
        inside = which == b
        if not inside.any():
            continue
        sim = (rng.random((draws, int(inside.sum()))) < p[inside]).mean(axis=1)
        lo, hi = np.quantile(sim, [0.05, 0.95])
        out.append({"bin": [float(edges[b]), float(edges[b + 1])], "n": int(inside.sum()),
                    "forecast": float(p[inside].mean()), "observed": float(y[inside].mean()),
                    "consistent_low": float(lo), "consistent_high": float(hi)})
    return out


def pit_midpoints(rows: list[dict], name: str) -> np.ndarray:
    """Each forecast's PIT of the capital's observation: the middle of its [F(a-), F(b)] range."""
    return np.array([0.5 * (r["pit"][name][0] + r["pit"][name][1]) for r in rows])


def coverage(rows: list[dict], name: str, level: float) -> float:
    """Share of the forecasts whose central ``level`` interval of the fall day holds the observation
    (PIT midpoint within [(1 - level) / 2, (1 + level) / 2])."""
    u = pit_midpoints(rows, name)
    return float(np.mean((u >= (1 - level) / 2) & (u <= (1 + level) / 2)))


def _fmt_log(v: float) -> str:
    return "−∞" if v == -math.inf else "+∞" if v == math.inf else "—" if math.isnan(v) else f"{v:.2f}"


def validation_markdown(rows: list[dict], agg: dict) -> str:
    """The leave-war-out table and its aggregate, as Markdown."""
    def date(row, day):
        if day is None:
            return "—"
        return (dt.date.fromisoformat(row["as_of"]) + dt.timedelta(days=float(day))).isoformat()

    labels = {"model": "model", "mixture": "mixture", "survival": "survival model"}
    lines = ["| case | war | as of | P(falls ≤7 d) | ≤30 d | ≤90 d | median fall | what happened | "
             "P(what happened) model / mixture / survival | log score model / mixture / survival / holds / uniform | "
             "CRPS model / mixture / survival / holds / uniform (days) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lo, hi = r["observed_days"]
        happened = f"held to {date(r, lo - 1)}" if hi is None else f"{r['observed']} {date(r, lo)}"
        g, c = r["log_score"], r["crps"]
        lines.append(
            f"| {r['case']} | {r['war']} | {r['as_of']} | {r['within']['7']:.2f} | {r['within']['30']:.2f} | "
            f"{r['within']['90']:.2f} | {date(r, r['median_fall_day'])} | {happened} | "
            + " / ".join(f"{r['p_observed'][k]:.3f}" for k in CALIBRATED) + " | "
            + " / ".join(_fmt_log(g[k]) for k in FORECASTERS) + " | "
            + " / ".join(f"{c[k]:.1f}" for k in FORECASTERS) + " |")
    weights = agg["mixture_weight"]
    lines += ["", f"{agg['forecasts']} forecasts of {agg['wars']} wars, each made without any case of its war. "
              "The mixture is w × model + (1 − w) × survival model, w chosen for each war on the other wars' forecasts: "
              + ", ".join(f"{war} {w:.2f}" for war, w in weights["by_war"].items())
              + f" (on all {agg['forecasts']} forecasts, the weight a shipped forecast would use: "
              f"{weights['all_cases']:.2f}).", "",
              "| | mean log score | mean CRPS (days) | mean Brier score of the 7 / 30 / 90-day milestones |",
              "|---|---|---|---|"]
    for name, m in agg["mean"].items():
        brier = "—" if m["brier"] is None else f"{m['brier']:.3f}"
        lines.append(f"| {name} | {_fmt_log(m['log_score'])} | {m['crps']:.1f} | {brier} |")
    for name, table in (("model", agg["advantage"]), ("mixture", agg["mixture_advantage"])):
        lines += ["", f"| {name} against | log-score advantage (90% interval, wars resampled) | CRPS advantage (days) | "
                  f"wars where the {name}'s log score is higher |", "|---|---|---|---|"]
        for b, e in table.items():
            ls, cr = e["log_score"], e["crps"]
            lines.append(f"| {b} | {_fmt_log(ls['mean'])} ({_fmt_log(ls['q05'])} to {_fmt_log(ls['q95'])}) | "
                         f"{cr['mean']:.1f} ({_fmt_log(cr['q05'])} to {_fmt_log(cr['q95'])}) | "
                         f"{e['wars_won']} of {agg['wars']} |")
    lines += ["", "Forecasts that put less than 1% on what happened:", ""]
    for name, below in agg["below_1pct"].items():
        lines.append(f"- {labels[name]}: {len(below)}" + (f" ({', '.join(below)})" if below else ""))
    cov = agg["coverage"]
    lines += ["", "Interval coverage of the capital's fall day (the share of forecasts whose central interval holds "
              "what happened; a calibrated forecast covers 50% and 90%): "
              + ", ".join(f"{labels[k]} {v['50']:.0%} and {v['90']:.0%}" for k, v in cov.items()) + ".", "",
              "Reliability of the 7 / 30 / 90-day milestones (pooled over cases; consistency bar: the 5-95% range "
              "of the observed frequency if the forecasts were reliable):", "",
              "| forecaster | forecast bin | n | mean forecast | observed frequency | consistency bar | within it |",
              "|---|---|---|---|---|---|---|"]
    for name, bins in agg["reliability"].items():
        for b in bins:
            ok = b["consistent_low"] <= b["observed"] <= b["consistent_high"]
            lines.append(f"| {name} | {b['bin'][0]:.1f}–{b['bin'][1]:.1f} | {b['n']} | {b['forecast']:.2f} | "
                         f"{b['observed']:.2f} | {b['consistent_low']:.2f}–{b['consistent_high']:.2f} | "
                         f"{'yes' if ok else 'no'} |")

    return "\n".join(lines) + "\n"


def cases_markdown(spec: Spec) -> str:
    """The reference class as a table: each case's scenario, war, use, what happened, and how many
    dated observables beyond the capital its record gives from the case's as_of (cities, the ruler's exit)."""
    lines = ["| case (scenario) | war | as of | use | what happened | dated cities | ruler's exit dated |",
             "|---|---|---|---|---|---|---|"]
    for case in spec.cases:
        obs, seen = case.observed, observables(case)
        cap = obs.capital
        if cap is None:
            happened = f"held to {obs.until}"
        else:
            when = f"{cap.earliest}" if cap.earliest == cap.latest else f"{cap.earliest} – {cap.latest}"
            happened = f"{obs.capital_state} {when}"
        cities = sum(o.what == "node" for o in seen)
        fled = "yes" if any(o.what == "fled" for o in seen) else "—"
        lines.append(f"| `{case.name}` | {case.war} | {case.scenario.as_of} | "
                     f"{'calibrates' if case.calibrate else 'scored only'} | {happened} | {cities} | {fled} |")
    n_cal = sum(c.calibrate for c in spec.cases)
    wars = len({c.war for c in spec.cases})
    lines += ["", f"{len(spec.cases)} case forecasts of {wars} wars; {n_cal} calibrate."]
    return "\n".join(lines) + "\n"


def posterior_markdown(summary: dict) -> str:
    lines = [f"Effective sample size {summary['ess']:.0f} of {summary['particles']:,} particles, written as "
             f"{summary['rows']:,} rows; calibrated on {len(summary['cases'])} cases.", "",
             "| parameter | prior | posterior mean | sd / prior sd | 5% | 50% | 95% |", "|---|---|---|---|---|---|---|"]
    for path, p in summary["parameters"].items():
        ratio = p["sd"] / p["prior_sd"] if p["prior_sd"] > 0 else float("nan")
        lines.append(f"| {path} | {p['prior']} | {p['mean']:.3g} | {ratio:.2f} | {p['q05']:.3g} | {p['q50']:.3g} | "
                     f"{p['q95']:.3g} |")
    lines += ["", f"How often a case's runs come close to its record (its closest {summary['close_share']:.0%} "
                  "of runs under the prior), under the prior and under the posterior:", "",
              "| case | prior | posterior |", "|---|---|---|"]
    for name, c in summary["close"].items():
        lines.append(f"| {name} | {c['prior']:.2f} | {c['posterior']:.2f} |")
    for w in summary["warnings"]:
        lines.append(f"\nwarning: {w}")
    return "\n".join(lines) + "\n"


def calibrate(spec: Spec, particles: int, *, seed: int, workers: int = 1, scheduler: str | None = None,
              progress=None) -> dict:
    """Simulate (on ``workers`` processes or the Dask cluster at ``scheduler``, the same numbers),
    then summarise: the shipped posterior (its diagnostics and its rows as a posterior file) and the
    leave-war-out validation (simulated in this process). ``progress(done, total, unit)`` is told
    each stage's work as it goes: particle-cases simulated, case likelihoods emulated, forecast
    replications."""
    sims = simulate_particles(spec, particles, seed=seed, workers=workers, scheduler=scheduler,
                              progress=progress)
    shipped = shipped_cases(spec)
    summary = posterior_summary(sims, shipped)
    before = f", records ending before {spec.shipped_before}" if spec.shipped_before else ""
    source = (f"sim calibrate {Path(spec.source_path).name} --particles {particles} --seed {seed}: ABC with emulated "
              f"likelihoods, effective sample {summary['ess']:.0f} of {particles} particles{before}")
    rows = validation(sims, progress)
    agg = aggregate(rows)
    return {"posterior": summary, "posterior_toml": posterior_document(sims, shipped, source),
            "validation": {"rows": rows, "aggregate": agg}, "validation_md": validation_markdown(rows, agg),
            "posterior_md": posterior_markdown(summary), "cases_md": cases_markdown(spec), "seed": seed,
            "particles": particles}


KIND = "calibration"
OUTPUTS = {"posterior.json": "posterior", "validation.json": "validation", "posterior.toml": "posterior_toml",
           "validation.md": "validation_md", "posterior.md": "posterior_md", "cases.md": "cases_md"}


def is_earlier_calibration(folder: Path) -> bool:
    """A calibration folder written before manifests named their kind: its posterior.json has the
    fields a posterior summary has."""
    p = peek_json(Path(folder) / "posterior.json", limit=10_000_000)
    return isinstance(p, dict) and {"cases", "parameters"} <= set(p)


def write_calibration(result: dict, out_dir: Path, *, spec_file: str = "", extras=(), command=None) -> Path:
    """The posterior (summary JSON, Markdown, and the posterior file), the validation (JSON and
    Markdown), ``extras`` (the figure: callables on the staged folder) and manifest.json, written whole or not at all; it replaces only an earlier calibration."""
    out_dir = Path(out_dir)
    with staged_folder(out_dir, kind=KIND, owns=is_earlier_calibration, error="cannot write the calibration") as tmp:
        for name, key in OUTPUTS.items():
            if name.endswith(".json"):
                write_json(tmp / name, finite(result[key]))
            else:
                write_text(tmp / name, result[key])
        for extra in extras:
            extra(tmp)
        write_json(tmp / MANIFEST, {**manifest_base(KIND, command), "spec": spec_file, "seed": result["seed"],
                                    "particles": result["particles"]})
    return out_dir


__all__ = ["Case", "Spec", "load_spec", "observables", "distances", "simulate_particles", "calibrate",
           "write_calibration", "validation", "aggregate"]
