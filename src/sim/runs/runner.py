"""Runs: replications cut into fixed-size blocks, each seeded from ``SeedSequence(seed).spawn``,
handed to an executor and folded into streaming aggregates in block order.

The numbers depend on the scenario, the seed and the number of replications alone: never on the
number of workers or the executor. A block holds BLOCK_SIZE replications, or fewer for a theatre
so large that a block would not fit in BLOCK_BUDGET bytes (:func:`block_size`): the size follows
from the theatre's dimensions alone, so it is the same for every run, machine and sweep point.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..engines import ENGINES
from ..engines.draws import Draws
from ..engines.outcomes import Outcomes
from ..engines.theatre import Theatre
from ..scenario.schema import GOVERNMENT, Scenario
from . import control_share
from .executors import InProcess, executor_for
from .histograms import dataset as histogram_dataset
from .outcomes_file import InMemoryColumns, block_table, frame, outcome_columns, schema
from .summary import Aggregate, describe, describe_html, summarise, widest_interval

BLOCK_SIZE = 100_000  # part of the seeding contract: changing it changes every result
BLOCK_BUDGET = 512 * 2**20   # bytes a block may need (engine state, draws and outcomes), estimated
BLOCK_STEP = 1_000           # a smaller block is a multiple of this
UNIT = "replications"        # what a run's progress counts
ADAPTIVE_BLOCK = 10_000      # replications a block of an adaptive run (--precision): the step it grows by
MAX_REPS = 10**9     # 10,000 blocks of 100,000; hours of computing


@dataclass
class BlockResult:
    aggregate: Aggregate
    outcomes: Outcomes | None
    parameters: dict[str, np.ndarray] | None  # the uncertain parameters' draws, by path


@dataclass
class RunResult:
    """A finished run: its summary, aggregates and (if kept) per-replication outcomes."""

    scenario: Scenario
    reps: int
    seed: int
    engine: str
    summary: dict
    aggregate: Aggregate
    outcomes: Outcomes | None
    parameters: dict[str, np.ndarray] | None
    wall_seconds: float
    block: int = BLOCK_SIZE          # replications a seeded block (the last may be smaller)
    precision: float | None = None   # the half-width an adaptive run was asked for
    stopped: str | None = None       # why an adaptive run stopped where it did

    @property
    def theatre(self) -> Theatre:
        return Theatre.from_scenario(self.scenario)

    @cached_property
    def histograms(self):
        """The fall-day and control histograms as a labelled xarray Dataset (:mod:`sim.runs.histograms`)."""
        return histogram_dataset(self.aggregate, scenario=self.scenario, seed=self.seed,
                                 node_names=self.theatre.node_names)

    @property
    def has_outcomes(self) -> bool:
        """Whether the per-replication outcomes are in memory (not when streamed to a folder)."""
        return self.outcomes is not None

    @cached_property
    def columns(self) -> InMemoryColumns | None:
        """The outcomes as the columns of outcomes.parquet (what figures read), or None."""
        return InMemoryColumns(self.outcomes, self.parameters, self.theatre) if self.has_outcomes else None

    def to_dataframe(self):
        """The per-replication outcomes as a pandas DataFrame, the table outcomes.parquet holds
        (``replication``, ``block``, ``end_state`` a Categorical, fall days with NaN for never,
        ``param:PATH`` draws; its metadata in ``DataFrame.attrs``). ValueError if the outcomes were
        not kept in memory (a run streamed to a folder: read it with ``RunFolder(path).to_dataframe()``)."""
        import pyarrow as pa

        if not self.has_outcomes:
            raise ValueError("this run kept no per-replication outcomes in memory (run it with keep_outcomes=True, "
                             "or read its folder: RunFolder(path).to_dataframe())")
        cols = outcome_columns(self.outcomes, self.parameters, self.theatre)
        layout = schema(self.scenario, self.reps, seed=self.seed, cols=cols)
        size = self.block  # the blocks the run ran in: their ids are the file's
        blocks = [block_table(layout, {k: v[start:start + size] for k, v in cols.items()}, first=start, block=b)
                  for b, start in enumerate(range(0, self.reps, size))]
        return frame(pa.concat_tables(blocks))

    def to_xarray(self):
        """The histograms as a labelled xarray Dataset (a copy of :attr:`histograms`)."""
        return self.histograms.copy(deep=True)

    def __repr__(self) -> str:
        return describe(f"RunResult ({self.engine} engine)", self.summary)

    def _repr_html_(self) -> str:
        return describe_html(f"RunResult ({self.engine} engine)", self.summary)


def row_bytes(scenario: Scenario) -> int:
    """Estimated bytes one replication of ``scenario`` needs in a vectorised block, from the
    theatre's dimensions alone (measured within 10% on the largest theatre the loader allows, an
    upper bound on small ones): each random parameter's draw kept three times (drawn, stacked, the
    engine's copy; a fixed one is a view of one number), each axis's route legs twice, and the
    state and outcomes of nodes, axes, allies."""
    nodes, axes, allies = len(scenario.nodes), len(scenario.axes), len(scenario.allies)
    legs = max([len(a.route) for a in scenario.axes], default=2)
    cells = 3 * len(scenario.uncertain_parameters()) + 2 * axes * legs + 12 * nodes + 13 * axes + 8 * allies + 40
    return int(8 * cells * 1.1)


def block_size(scenario: Scenario) -> int:
    """Replications in a block of ``scenario``: BLOCK_SIZE, or the largest multiple of BLOCK_STEP
    whose estimated memory (:func:`row_bytes`) fits BLOCK_BUDGET. Part of the seeding contract."""
    fit = BLOCK_BUDGET // row_bytes(scenario)
    return BLOCK_SIZE if fit >= BLOCK_SIZE else max(BLOCK_STEP, fit // BLOCK_STEP * BLOCK_STEP)


def block_sizes(reps: int, size: int | None = None) -> list[int]:
    """The blocks of a run of ``reps`` replications: full blocks of ``size`` (BLOCK_SIZE unless given),
    then the rest."""
    size = BLOCK_SIZE if size is None else size
    full, rest = divmod(reps, size)
    return [size] * full + ([rest] if rest else [])


def run_block(scenario: Scenario, engine: str, size: int, seed_seq: np.random.SeedSequence,
              keep_outcomes: bool, progress=None) -> BlockResult:
    """One block of replications (a picklable task for any executor); ``progress(share)`` as the
    engine reports it (only where the block runs in this process)."""
    rng = np.random.Generator(np.random.PCG64(seed_seq))
    outcomes, draws = ENGINES[engine].simulate(scenario, size, rng=rng, progress=progress)
    th = Theatre.from_scenario(scenario)
    agg = empty_aggregate(scenario, th)
    agg.add(outcomes)
    params = _uncertain_columns(scenario, draws) if keep_outcomes else None
    return BlockResult(agg, outcomes if keep_outcomes else None, params)


def empty_aggregate(scenario: Scenario, th: Theatre) -> Aggregate:
    """An empty aggregate for ``scenario``, counting the government-held share (:mod:`sim.runs.control_share`)."""
    w, basis = control_share.weights(scenario)
    return Aggregate.empty(scenario.horizon_days, th.n_nodes, th.n_allies, control_weights=w, control_basis=basis)


def varying_paths(scenario: Scenario) -> list[str]:
    """The paths of every parameter that varies between replications: the scenario's
    distributions, then the posterior's columns."""
    paths = [path for path, _ in scenario.uncertain_parameters()]
    return paths + [p for p in (scenario.posterior.paths if scenario.posterior else ()) if p not in paths]


def _uncertain_columns(scenario: Scenario, draws: Draws) -> dict[str, np.ndarray]:
    """Each replication's value of every parameter that varies (:func:`varying_paths`)."""
    return {path: draws.by_path[path] for path in varying_paths(scenario)}


def new_seed() -> int:
    """Fresh entropy for a run given no seed (recorded in its manifest so it can be rerun)."""
    return int(np.random.SeedSequence().entropy)


def run(scenario: Scenario, reps: int, *, seed: int, engine: str = "vectorised", workers: int = 1,
        keep_outcomes: bool = True, executor: Executor | None = None, progress=None,
        in_flight: int | None = None, sink=None, block: int | None = None,
        precision: float | None = None) -> RunResult:
    """Simulate ``reps`` replications of ``scenario`` and summarise them.

    Replications run in blocks of ``block`` (default :func:`block_size`), block i seeded by the i-th
    child of ``SeedSequence(seed)``, so a run is the first blocks of any longer run in the same
    blocks. With ``precision`` (an adaptive run) ``reps`` is a cap: blocks (of ADAPTIVE_BLOCK unless
    ``block`` is given) are added, in order, until every interval :func:`widest_interval` measures
    has a half-width of at most ``precision``; the result says how many ran and why it stopped
    (``stopped``). The stop is decided on the blocks in order, so it is the same whatever runs them.

    ``workers`` > 1 uses a process pool unless an ``executor`` is given. ``progress(done, total,
    "replications")`` is called after each block, and within a block that runs in this process. ``in_flight`` blocks (default twice the workers, at least 2) are
    handed to the executor ahead of the one being folded in. None of these changes the numbers.
    With a ``sink`` (``sink.add(outcomes, parameters)``), each block's outcomes are handed to it in
    block order and not kept, so memory stays flat (the result's outcomes are then None).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (expected one of: {', '.join(ENGINES)})")
    if not 1 <= reps <= MAX_REPS:
        raise ValueError(f"reps must be at least 1 and at most {MAX_REPS:,}, got {reps}")
    if precision is not None and not 0 < precision < 0.5:
        raise ValueError(f"precision is a half-width between 0 and 0.5, got {precision}")
    start = time.perf_counter()
    size = block if block is not None else \
        min(ADAPTIVE_BLOCK, block_size(scenario)) if precision is not None else block_size(scenario)
    if size < 1:
        raise ValueError(f"block must be at least 1, got {size}")
    sizes = block_sizes(reps, size)
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    th = Theatre.from_scenario(scenario)
    agg = empty_aggregate(scenario, th)
    kept: list[BlockResult] = []
    stopped = None
    where = executor_for(workers, tasks=len(sizes)) if executor is None else nullcontext((executor, 0, ""))
    with where as (executor, _, _):
        here = isinstance(executor, InProcess)  # a block runs as it is handed over: no point in more
        window = 1 if here else max(1, in_flight) if in_flight is not None else max(2, 2 * workers)
        pending, blocks = [], iter(zip(sizes, seeds))
        done = submitted = 0
        total = reps if precision is None else min(reps, 2 * size)  # an adaptive run's total is a guess
        keep = keep_outcomes or sink is not None
        try:
            while True:
                while len(pending) < window and (nxt := next(blocks, None)) is not None:
                    n, ss = nxt
                    within = _within(progress, submitted, n, total) if here else None
                    pending.append(executor.submit(run_block, scenario, engine, n, ss, keep, within))
                    submitted += n
                if not pending:
                    break
                done += _fold(pending.pop(0).result(), agg, kept, keep, sink)
                if precision is not None:
                    half, what = widest_interval(agg, scenario.horizon_days)
                    if half <= precision:
                        stopped = (f"precision reached: every interval within ±{precision:g} after {done:,} "
                                   f"replications (widest ±{half:.4f}, {what})")
                        break
                    total = min(reps, max(done + size, _needed(agg, precision, scenario.horizon_days)))
                if progress:
                    progress(done, total, UNIT)
        finally:
            for fut in pending:
                fut.cancel()
    if precision is not None and stopped is None:
        half, what = widest_interval(agg, scenario.horizon_days)
        stopped = (f"cap reached: {done:,} replications, the widest interval still ±{half:.4f} ({what}); "
                   f"raise --reps for ±{precision:g}")
    if progress:
        progress(done, done if precision is not None else reps, UNIT)
    in_memory = keep_outcomes and sink is None
    outcomes = Outcomes.concatenate([b.outcomes for b in kept]) if in_memory else None
    params = {k: np.concatenate([b.parameters[k] for b in kept]) for k in kept[0].parameters} if in_memory else None
    summary = summarise(
        agg, scenario=scenario, seed=seed, node_names=th.node_names,
        government_nodes={n.name for n in scenario.nodes if n.controller == GOVERNMENT},
        ally_names=th.ally_names)
    return RunResult(scenario, done, seed, engine, summary, agg, outcomes, params, time.perf_counter() - start,
                     block=size, precision=precision, stopped=stopped)


def _needed(agg: Aggregate, precision: float, horizon_days: int) -> int:
    """About how many replications the widest interval needs to be ±``precision`` wide (its half-width
    falls as one over the square root of the replications)."""
    half, _ = widest_interval(agg, horizon_days)
    return int(math.ceil(agg.n * (half / precision) ** 2))


def _within(progress, before: int, size: int, total: int):
    """A block's ``progress(share)`` as the run's ``progress(done, total, unit)``, or None."""
    if progress is None:
        return None
    return lambda share: progress(before + share * size, total, UNIT)


def _fold(block: BlockResult, agg: Aggregate, kept: list, keep: bool, sink=None) -> int:
    agg.merge(block.aggregate)
    if sink is not None:
        sink.add(block.outcomes, block.parameters)
    elif keep:
        kept.append(block)
    return block.aggregate.n
