"""Updating a forecast on the news: a particle filter over the vectorised engine's replications.

A block of ``particles`` replications is run from the scenario's ``as_of`` one day at a time. At the
end of each day (just before the next tick, when every event of the day is known) each replication
is checked against the news known by then (:mod:`sim.forecast.news`): those whose histories agree
are kept and resampled back to ``particles`` copies, those that do not are dropped. A resampled
copy keeps its parameters and its state and draws its hazard residual afresh (exact: the residual
of a hazard that has not fired is a unit exponential whatever its past); from there copies part,
because every later draw is their own. This is the bootstrap filter with indicator weights (Gordon,
Salmond & Smith 1993; Del Moral 2004): at every observation time the population is a sample of
the states and parameters given the news, in the limit of many particles exactly the distribution
that rejection of whole runs would keep.

When a day's news is unlikely (fewer than ``target`` agreeing copies) the day is run again from
the state before it with every particle split into enough copies to expect ``target`` survivors
(multilevel splitting, Kahn & Harris 1951; Cérou & Guyader 2007), up to ``max_rows`` rows. The
product over days of the share that agreed estimates the news's probability under the prior (the
filter's evidence), without bias.

Resampling keeps each copy's prior draw, so news that few parameter sets can produce leaves the
particles descended from few draws. Then fresh batches of prior draws are filtered to the same day
and pooled, each particle weighted by its batch's evidence (independent samplers of one target,
combined by their evidence estimates), up to MAX_BATCHES in all.

At each update date the population is forked and run on to the horizon without later news: that
is the forecast as of the end of that date. Everything depends on the seed alone: the days, retries
and forks draw the children of one child of ``SeedSequence(seed)``, the batches those of another.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..engines.draws import draw_parameters
from ..engines.outcomes import CAPTURED, COLLAPSED, HOLDS, Outcomes
from ..engines.theatre import Theatre
from ..engines.vectorised import Block
from ..errors import ScenarioError
from ..files import manifest_base, staged_folder, write_json
from ..runs.runner import row_bytes, varying_paths
from .news import ARRIVED, FLED, WITHDREW, Fact, Histories, agrees, consistent, day_end, facts
from .observed import Observed, check_against

__all__ = ["Forecast", "Update", "update", "news_dates", "table", "write_update", "UPDATE", "TIMELINE", "TARGET"]

TARGET = 1_000           # agreeing copies a day must keep, else the day is split and run again
ROWS_BUDGET = 2 * 2**30  # bytes the rows of a split day may take (estimated as a run's blocks are)
SMALL = 1_000            # an effective sample below this gets a warning
FEW_DRAWS = 100          # distinct prior draws the particles should descend from: else batches are pooled
MAX_BATCHES = 8          # batches of fresh prior draws a filter may pool (each run from as_of)
WITHIN = (7, 30, 90)     # days after an update's date: P(the capital falls within d days)
PRIOR = "before any news: the scenario's own forecast"


@dataclass
class Forecast:
    """The forecast as of the end of ``date`` given the news to then: the facts learned since the
    previous update (``news``), the smallest number of agreeing copies any day since the start
    kept (``ess``, the effective sample), the distinct prior draws (``ancestors``) the particles
    descend from, the estimated probability of all the news to ``date`` under the prior
    (``evidence``), and the outcomes of the forked particles run on to the horizon (with ``origin``,
    each particle's prior draw, for the parameters)."""

    date: dt.date
    now: float
    news: list[str]
    ess: int
    ancestors: int
    evidence: float
    outcomes: Outcomes
    origin: np.ndarray

    def within(self, days: int) -> float:
        """P(the capital falls within ``days`` days after ``date``)."""
        fell = self.outcomes.end_state != HOLDS
        return float(np.mean(fell & (self.outcomes.end_day < self.now + days)))

    def share(self, state: int) -> float:
        return float(np.mean(self.outcomes.end_state == state))

    def median_fall(self, as_of: dt.date) -> dt.date | None:
        """The median date of the capital's fall (None when it holds in half the particles or more)."""
        day = np.where(self.outcomes.end_state != HOLDS, self.outcomes.end_day, np.inf)
        m = float(np.median(day))
        return as_of + dt.timedelta(days=math.floor(m)) if math.isfinite(m) else None

    def row(self, as_of: dt.date) -> dict:
        """The forecast as one row of the updates table."""
        median = self.median_fall(as_of)
        return {"date": self.date.isoformat(), "news": self.news, "captured": self.share(CAPTURED),
                "collapsed": self.share(COLLAPSED), "holds": self.share(HOLDS),
                "falls_within": {str(d): self.within(d) for d in WITHIN},
                "median_fall": median.isoformat() if median else None,
                "ess": self.ess, "ancestors": self.ancestors, "evidence": self.evidence}


@dataclass
class Update:
    """The forecasts of :func:`update`, in date order (the first is the scenario's own, before any
    news), the facts used, and the prior draws (``parameters``: path -> (particles,) values)."""

    scenario: object
    observed: Observed
    particles: int
    seed: int
    facts: list[Fact]
    forecasts: list[Forecast]
    parameters: dict[str, np.ndarray]
    warnings: list[str] = field(default_factory=list)
    skip: tuple[str, ...] = ()
    tolerance: int = 0

    def shifts(self, forecast: Forecast, top: int = 8) -> list[dict]:
        """The parameters the news moved most by ``forecast``: prior and posterior means, and the
        shift in prior standard deviations."""
        rows = []
        for path, prior in self.parameters.items():
            sd = float(np.std(prior))
            if not sd > 0:
                continue
            post = prior[forecast.origin]
            rows.append({"parameter": path, "prior_mean": float(np.mean(prior)), "posterior_mean": float(np.mean(post)),
                         "shift_sd": (float(np.mean(post)) - float(np.mean(prior))) / sd})
        return sorted(rows, key=lambda r: -abs(r["shift_sd"]))[:top]


def news_dates(fs: list[Fact], observed: Observed, scenario) -> list[dt.date]:
    """The dates on which news came (one update each): the first day of each event's window and
    the day it became certain, from as_of to the day before the capital's fall could first have
    been reported."""
    last = _last_date(observed, scenario)
    days = {f.known for f in fs} | {f.opens for f in fs if f.opens is not None}
    return sorted(d for d in days if scenario.as_of <= d <= last)


def _last_date(observed: Observed, scenario) -> dt.date:
    """The last date with something left to forecast: the day before the capital's earliest fall,
    or the record's end, and never past the scenario's horizon."""
    horizon_end = scenario.as_of + dt.timedelta(days=scenario.horizon_days - 1)
    if observed.capital is not None:
        return min(horizon_end, observed.capital.earliest - dt.timedelta(days=1))
    return min(horizon_end, observed.until)


def update(scenario, observed: Observed, *, particles: int, seed: int, dates: list[dt.date] | None = None,
           daily: bool = False, through: dt.date | None = None, skip: tuple[str, ...] = (), tolerance: int = 0,
           target: int = TARGET, max_rows: int | None = None, progress=None) -> Update:
    """Forecasts of ``scenario`` given what ``observed`` says had happened by each date: ``dates``,
    or by default every date on which news came (:func:`news_dates`), or with ``daily`` every day
    from as_of to the day before the capital's fall; none after ``through``. The facts about the
    nodes, allies or 'ruler' named in ``skip`` are left out, and each dated window is widened by
    ``tolerance`` days on either side (:func:`sim.forecast.news.facts`). ``progress(done, total, "days")`` after
    each simulated day of the filter. A split day runs at most ``max_rows`` rows (default: what
    ROWS_BUDGET holds)."""
    if particles < 1:
        raise ValueError(f"particles must be at least 1, got {particles}")
    if not 0 <= tolerance <= 30:
        raise ValueError(f"--tolerance must be 0 to 30 days, got {tolerance}")
    check_against(observed, scenario)
    fs = facts(observed, scenario, tolerance)
    named = {n.name for n in scenario.nodes} | {a.name for a in scenario.allies} | {"ruler"}
    for name in skip:
        if name not in named:
            raise ValueError(f"--skip {name}: scenario {scenario.name!r} has no node or ally {name!r} "
                             "(or 'ruler')")
    fs = [f for f in fs if _about(f, scenario) not in skip]
    max_rows = max(particles, ROWS_BUDGET // row_bytes(scenario)) if max_rows is None else max_rows
    last = _last_date(observed, scenario)
    if dates is None and daily:
        end = min(last, max(news_dates(fs, observed, scenario), default=scenario.as_of))
        dates = [scenario.as_of + dt.timedelta(days=i) for i in range((end - scenario.as_of).days + 1)]
    dates = news_dates(fs, observed, scenario) if dates is None else sorted(set(dates))
    if through is not None:
        if through < scenario.as_of:
            raise ValueError(f"--through {through} is before the scenario's as_of ({scenario.as_of})")
        dates = [d for d in dates if d <= through]
    for d in dates:
        if not scenario.as_of <= d <= last:
            raise ScenarioError(observed.source_path, "observed", f"cannot update as of {d}: updates run from the "
                                                                  f"scenario's as_of ({scenario.as_of}) to {last}, "
                                                                  "the day before the capital's fall and "
                                                                  "within the horizon")
    seeds = np.random.SeedSequence(seed).spawn(3)
    streams = iter(seeds[0].spawn(4 * (len(dates) + scenario.horizon_days) + 2))
    gen = lambda: np.random.Generator(np.random.PCG64(next(streams)))  # noqa: E731
    filt = _Filter(scenario, fs, particles, target, max_rows, observed.source_path, seeds[1])
    with np.errstate(over="ignore", divide="ignore"):
        forecasts = filt.run(dates, gen, progress)
    upd = Update(scenario, observed, particles, seed, fs, forecasts, filt.parameters, skip=tuple(skip),
                 tolerance=tolerance)
    small = [f for f in forecasts[1:] if f.ess < SMALL]
    if small:
        upd.warnings.append(f"effective sample {small[0].ess:,} (fewer than {SMALL:,}) as of {small[0].date}: "
                            "the forecast rests on few agreeing replications; raise --particles")
    few = [f for f in forecasts[1:] if f.ancestors < filt.few]
    if few:
        upd.warnings.append(f"the particles as of {few[0].date} descend from {few[0].ancestors:,} prior draws (fewer "
                            f"than {filt.few} after {filt.batches} batches): the news picked out few parameter sets, "
                            "so the forecast's spread over parameters is thin; raise --particles")
    return upd


@dataclass
class _Population:
    """Particles: a block of rows all equally weighted, each row's prior draw (``origin``, by row id),
    the log of the estimated probability of the news so far, the fewest agreeing copies any day kept,
    and how many independent batches it pools."""

    block: Block
    origin: np.ndarray
    log_evidence: float
    ess: int
    batches: int = 1


class _Filter:
    """The particle filter of :func:`update` over ``scenario`` and the facts ``fs``."""

    def __init__(self, scenario, fs, particles, target, max_rows, file, batch_seeds):
        self.scenario, self.fs, self.particles, self.target, self.max_rows, self.file = \
            scenario, fs, particles, target, max_rows, file
        self.th = Theatre.from_scenario(scenario)
        self.batch_seeds = iter(batch_seeds.spawn(MAX_BATCHES))
        self.paths = varying_paths(scenario)
        self.parameters: dict[str, np.ndarray] = {p: np.zeros(0) for p in self.paths}
        self.batches = 0
        self.few = min(FEW_DRAWS, particles // 2)  # fewer distinct draws than this: pool another batch

    def batch(self) -> tuple[_Population, np.random.SeedSequence]:
        """A fresh batch of prior draws, set up at as_of; its generator's seed for its days."""
        ss = next(self.batch_seeds)
        draw_ss, day_ss = ss.spawn(2)
        rng = np.random.Generator(np.random.PCG64(draw_ss))
        draws = draw_parameters(self.scenario, self.particles, rng=rng)
        first = self.batches * self.particles
        self.batches += 1
        for p in self.paths:
            self.parameters[p] = np.concatenate([self.parameters[p], np.asarray(draws.by_path[p], dtype=float)])
        block = Block(self.th, draws, self.scenario.horizon_days, rng)
        block.setup()
        return _Population(block, first + np.arange(self.particles), 0.0, self.particles), day_ss

    def run(self, dates, gen, progress) -> list[Forecast]:
        as_of = self.scenario.as_of
        pop, _ = self.batch()
        forecasts = [_fork(pop.block, gen(), 0, as_of, 0.0, [PRIOR], self.particles, 1.0, pop.origin)]
        ends = {day_end(d, as_of): d for d in dates}
        days = int(max(ends, default=0))
        previous = as_of - dt.timedelta(days=1)
        for d in range(days):
            self.step(pop, d, gen)
            while len(np.unique(pop.origin)) < self.few and self.batches < MAX_BATCHES:
                # The news picked out few prior draws: pool a fresh batch filtered to the same day.
                more, day_ss = self.batch()
                more_gen = _generators(day_ss, d + 1)
                for d2 in range(d + 1):
                    self.step(more, d2, more_gen)
                pop = self.pool(pop, more, gen())
            if (d + 1.0) in ends:
                date = ends[d + 1.0]
                news = [f.label for f in self.fs if f.opens is not None and previous < f.opens <= date]
                news += [f"{f.label.split(' (')[0]} (confirmed)" for f in self.fs
                         if f.opens is not None and f.opens < f.known and previous < f.known <= date]
                previous = date
                forecasts.append(_fork(pop.block, gen(), d + 1, date, d + 1.0, news, pop.ess,
                                       math.exp(pop.log_evidence), pop.origin))
            if progress:
                progress(d + 1, days, "days")
        return forecasts

    def step(self, pop: _Population, d: int, gen) -> None:
        """Day ``d`` of ``pop``: run it, keep the copies that agree with the news at its end (the day
        split and run again when too few do), resample them to ``particles``."""
        now, block, origin = d + 1.0, pop.block, pop.origin
        before = block.copy(gen())
        _day(block, now)
        ok = consistent(self.fs, _histories(block), now)
        if ok.sum() < self.target:  # unlikely news: split every particle and run the day again
            rows = len(before.regime.rid)
            split = min(max(1, self.max_rows // max(rows, 1)),
                        math.ceil(1.2 * self.target / ok.sum()) if ok.any() else self.max_rows)
            if split > 1:
                index = np.repeat(np.arange(rows), split)
                block, origin = before, origin[before.regime.rid[index]]
                block.resample(index)
                _day(block, now)
                ok = consistent(self.fs, _histories(block), now)
        tried, agreed = len(ok), int(ok.sum())
        if agreed == 0:
            raise ScenarioError(self.file, "observed", _impossible(self.fs, block, now, self.scenario.as_of, tried))
        pop.log_evidence += math.log(agreed / tried)
        pop.ess = min(pop.ess, agreed)
        if agreed < tried or tried != self.particles:
            index = _resample(np.flatnonzero(ok), self.particles, block.rng)
            origin = origin[block.regime.rid[index]]
            block.resample(index)
        pop.block, pop.origin = block, origin

    def pool(self, a: _Population, b: _Population, rng) -> _Population:
        """``a`` and ``b`` (independent batches, filtered to the same day) as one population: every
        particle weighted by its batch's evidence (``a`` counting for the batches it pools), drawn
        back to ``particles`` by systematic resampling; the pooled evidence is their mean."""
        za, zb = a.batches * math.exp(a.log_evidence), math.exp(b.log_evidence)
        n = self.particles
        w = np.concatenate([np.full(n, za), np.full(n, zb)])
        a.block.extend(b.block)
        origin = np.concatenate([a.origin, b.origin])
        cum = np.cumsum(w / w.sum())
        cum[-1] = 1.0
        index = np.searchsorted(cum, (rng.uniform() + np.arange(n)) / n)
        a.block.resample(index)
        return _Population(a.block, origin[index], math.log((za + zb) / (a.batches + 1)), min(n, a.ess + b.ess),
                           a.batches + 1)


def _generators(ss: np.random.SeedSequence, days: int):
    """A generator factory drawing the children of ``ss`` in turn (a batch's days)."""
    streams = iter(ss.spawn(2 * days + 2))
    return lambda: np.random.Generator(np.random.PCG64(next(streams)))


def _about(f: Fact, scenario) -> str:
    """The node, ally or 'ruler' a fact is about."""
    if f.what == FLED:
        return "ruler"
    return scenario.allies[f.index].name if f.what in (ARRIVED, WITHDREW) else scenario.nodes[f.index].name


def _day(block: Block, now: float) -> None:
    """The tick that opens the day (none on day 0, right after setup), then the day's events up to
    the next tick at ``now``: all the randomness between two checks, so a split day draws it anew."""
    if now > 1 and not block.regime.ended.all():
        block.tick()
    if block.events_until(now):
        block.advance(now)


def _histories(block: Block) -> Histories:
    return Histories(block.nodes.fall_day, block.nodes.retaken_day, block.regime.fled_day,
                     block.allies.arrival_day, block.allies.withdrawal_day)


def _resample(alive: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows drawn from the ``alive`` ones, equally weighted, with the least spread of copies:
    each gets n // len(alive) copies and a random n % len(alive) of them one more."""
    whole, rest = divmod(n, len(alive))
    extra = rng.choice(len(alive), size=rest, replace=False) if rest else np.zeros(0, dtype=np.int64)
    index = np.concatenate([np.repeat(alive, whole), alive[np.sort(extra)]])
    return np.sort(index)


def _fork(block: Block, rng, first: int, date: dt.date, now: float, news, ess, evidence, origin) -> Forecast:
    """The population run on from the end of ``date`` (``now`` days after as_of; the next step is
    the tick at ``now``, or day 0's events right after setup) to the horizon, without more news."""
    f = block.copy(rng)
    if first and first < f.horizon and not f.regime.ended.all():
        f.tick()
    out = f.run_days(first)  # indexed by the rows' ids at the fork, as origin is
    return Forecast(date, now, news, int(ess), int(len(np.unique(origin))), float(evidence), out, origin.copy())


def _impossible(fs: list[Fact], block: Block, now: float, as_of: dt.date, tried: int) -> str:
    """Why no replication agrees with the news at ``now``: the fact that ruled out the most."""
    h = _histories(block)
    worst = min(fs, key=lambda f: int(agrees(f, h.day(f.what, f.index), now).sum()))
    date = as_of + dt.timedelta(days=int(now) - 1)
    return (f"no replication of {tried:,} agrees with the news by {date} ({worst.label!r} rules out the most); "
            f"the model cannot produce this record: check the record or the scenario's ranges, or leave that fact "
            f"out (--skip NAME)")


# ------------------------------------------------------------------ the folder

UPDATE, TIMELINE = "update", "timeline"


def table(u: Update, *, kind: str = UPDATE) -> dict:
    """What ``sim update`` (``kind`` update) or ``sim timeline`` writes: the header, the facts,
    one row per forecast, the parameters the news moved most by the last one, and the warnings."""
    s, o = u.scenario, u.observed
    return {"kind": kind, "scenario": s.name, "title": s.title, "as_of": s.as_of.isoformat(),
            "horizon_days": s.horizon_days, "observed": o.name, "observed_file": o.source_path,
            "particles": u.particles, "seed": u.seed, "skip": list(u.skip), "tolerance_days": u.tolerance,
            "capital": {"name": s.capital, "end_state": o.capital_state,
                        "fell": None if o.capital is None else [o.capital.earliest.isoformat(),
                                                                 o.capital.latest.isoformat()]},
            "facts": [{"label": f.label, "opens": f.opens.isoformat() if f.opens else None,
                       "known": f.known.isoformat()} for f in u.facts],
            "forecasts": [f.row(s.as_of) for f in u.forecasts],
            "parameters_moved": u.shifts(u.forecasts[-1]) if len(u.forecasts) > 1 else [],
            "warnings": list(u.warnings)}


def write_update(data: dict, out_dir, *, extras=(), command=None):
    """Write an update or timeline folder: ``<kind>.json`` (``data``), each of ``extras``
    (``extra(folder)``: the figure), then manifest.json, staged so that it is whole or absent."""
    out_dir, kind = Path(out_dir), data["kind"]
    with staged_folder(out_dir, kind=kind, error=f"cannot write the {kind} folder") as tmp:
        write_json(tmp / f"{kind}.json", data, allow_nan=False)
        for extra in extras:
            extra(tmp)
        write_json(tmp / "manifest.json", {**manifest_base(kind, command), "scenario": data["scenario"],
                                           "observed": data["observed_file"], "particles": data["particles"],
                                           "seed": data["seed"]})
    return out_dir
