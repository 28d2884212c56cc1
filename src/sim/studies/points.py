"""Sweeps: many runs of one scenario that differ only in a few parameters, with common random numbers.

A sweep is a list of *points*, each a mapping from parameter paths to fixed values (a grid, or the
samples of a sensitivity analysis, :mod:`sim.studies.sensitivity`). Each point applies its values to
the scenario as ``--set`` overrides (validated as in a file) and gets ``reps`` replications and a
row of metrics (:func:`point_metrics`).

Batches: the vectorised engine pays a fixed cost per simulated day of a block, whatever the block's
size, so points run together. The design is cut into *batches* of consecutive points, as many
whole points as fit one block (``block_size(scenario) // reps``, :func:`points_per_batch`), and
each batch is one task handed to a ``concurrent.futures.Executor`` (in-process, a local process
pool, or a Dask cluster's executor). A batch's points that share the scenario's structure (its
theatre and horizon) are one block, each point a consecutive slice of ``reps`` rows, split back
into per-point outcomes and metrics; a point whose values change the structure (a road's length
can change the shortest path to the capital, which fallbacks follow) is grouped only with the
points of the batch that have the same structure. When a whole block holds fewer than two points
(``reps`` over half a block), each point is a batch of its own; a batch of one point (that, or
a design's last point left over, or a one-point sweep) runs alone, as its own
:func:`sim.runs.runner.run`, so it gives the numbers of ``sim run`` with the same values. A
batch's points and seed follow from the design (the points, their order, ``reps``, the scenario)
alone, so the numbers never depend on the workers, the executor, the order batches finish in, or a
resume.

Common random numbers: every point draws its parameters from the same stream, the one the first
block of a run with the sweep's seed draws from (``SeedSequence(seed).spawn``'s first child), in
the fixed order of ``Scenario.parameters()``; a fixed value draws nothing, so every point (each
fixes the same paths) gives replication i the same value of every other uncertain parameter, the
same posterior row and the same case-effect draws. Differences between points are then the
parameters' effect, not sampling noise in the other parameters. The process randomness (combat,
hazards, allies' decisions) is not common: a block of a batch draws it from its own stream
(``SeedSequence(seed, spawn_key=(BATCH_KEY, batch, group))``), which its points' rows share; only
points that run alone start it from the same state, as a run does. See docs/SENSITIVITY.md for
what this does and does not hold.

Resume: each finished batch's points are appended at once to ``points.jsonl`` in the sweep's
folder, one JSON line a point (one ``write`` and an ``fsync`` a batch); a sweep run again with
``resume=True`` runs only the batches with a point missing there (the whole batch, whose numbers
are the same as before) and appends only the missing points. The final tables are built from
those lines sorted by point, so a resumed sweep writes the same bytes as one run straight through.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np

from ..engines.draws import Draws
from ..engines.outcomes import END_STATES, Outcomes
from ..errors import ResultsError, ScenarioError, SweepError
from ..files import (
    INCOMPLETE, MANIFEST, check_destination, manifest_base, marker, peek_json, read_bytes, staged_folder,
    write_json, write_text,
)
from ..runs.executors import executor_for
from ..runs.summary import Aggregate, count_within, hist_quantile, proportion
from ..scenario.schema import Scenario
from ..scenario.vary import Variant

__all__ = [
    "Base", "Batch", "batches", "points_per_batch", "run_batch", "join_draws", "point_metrics", "PointLog",
    "execute", "run_points", "write_table", "finish", "MAX_POINTS", "METRIC_COLUMNS", "POINTS_FILE", "SPEC_FILE",
    "metric_columns", "sweep_key",
]

POINTS_FILE = "points.jsonl"
SPEC_FILE = "spec.json"
SCENARIO_FILE = "scenario.toml"
WITHIN_DAYS = (7, 30)
# What a finished sweep or sensitivity run writes besides its points: removed when a folder is reused.
OUTPUT_FILES = ("sweep.csv", "sweep.json", "sweep_line.png", "sweep_heatmap.png", "indices.csv", "indices.json",
                "indices.png", "tornado.csv", "tornado.json", "tornado.png", "samples.csv", "samples.json",
                "manifest.json", "report.html")
UNIT = "points"  # what a study's progress counts
FORMAT = 2  # version of the points/spec files: a resume across versions is refused (2: points run in batches)
BATCH_KEY = 1  # spawn key of the batches' process streams, apart from a run's blocks (keys of length 1)
MAX_POINTS = 1_000_000  # in any study: a design is checked against it before it is made
MAX_LOG_BYTES = 2**31  # saved points: a million points of about 1 kB each, with room


# --------------------------------------------------------------------------- points

@dataclass(frozen=True)
class Base:
    """What every point of a sweep shares: the scenario (a :class:`~sim.scenario.vary.Variant`,
    ``--set`` overrides applied), the number of replications, the seed and the engine. Picklable: it
    travels with each task.

    Build one with :meth:`Base.load`, which validates the scenario once.
    """

    variant: Variant
    reps: int
    seed: int
    engine: str = "vectorised"
    within_days: tuple[int, ...] = WITHIN_DAYS

    @classmethod
    def load(cls, path: str | Path, overrides=(), *, reps: int, seed: int, engine: str = "vectorised",
             within_days=WITHIN_DAYS, posterior=None, allow_lookahead: bool = False) -> "Base":
        """Read and validate the scenario at ``path`` with ``overrides`` (``PATH=VALUE`` strings).

        Raises :class:`ScenarioError` as :func:`sim.scenario.load.load_scenario` does (``allow_lookahead``
        as there), and ``ValueError`` for reps < 1.
        """
        if reps < 1:
            raise ValueError(f"reps must be at least 1, got {reps}")
        return cls(Variant.load(path, overrides, posterior=posterior, allow_lookahead=allow_lookahead), reps, seed,
                   engine, tuple(within_days))

    @property
    def resolved_toml(self) -> str:
        return self.variant.resolved_toml

    def scenario(self, values: dict[str, float] | None = None, *, origin: str = "--param") -> Scenario:
        """The scenario with ``values`` (path -> number) fixed (:meth:`Variant.scenario`)."""
        return self.variant.scenario(values, origin=origin)

    def check_paths(self, paths, *, origin: str = "--param") -> None:
        """Raise :class:`ScenarioError` unless every path names a numeric parameter of the scenario."""
        self.variant.check_paths(paths, origin=origin)

    def fingerprint(self) -> str:
        """SHA-256 of the resolved scenario, replications, seed and engine: what a resume must match."""
        text = json.dumps([self.resolved_toml, self.reps, self.seed, self.engine, list(self.within_days)])
        return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- batches of points


def point_metrics(agg: Aggregate, within_days=WITHIN_DAYS) -> dict:
    """The row of a point's replications (their :class:`sim.runs.summary.Aggregate`): end-state
    probabilities with 95% Wilson intervals, the chance the capital falls within the horizon and by
    given days, and fall-day quantiles.

    ``falls`` is 1 - P(holds). ``falls_by_Dd`` is P(the capital falls within D days): fall day <= D
    (:func:`sim.runs.summary.fell_within`), D a whole number of days. ``fall_day_p10|p50|p90`` are among the
    replications where the capital fell (None if none did); ``median_fall_day`` counts the
    replications where it held at the horizon (censored), so it is always defined and equals the
    horizon when fewer than half fell.
    """
    n = agg.n
    row: dict = {"reps": n}
    counts = {state: int(agg.end_counts[k]) for k, state in enumerate(END_STATES)}
    for state in END_STATES:
        pr = proportion(counts[state], n)
        row[state], row[f"{state}_lo"], row[f"{state}_hi"] = pr["p"], pr["ci_low"], pr["ci_high"]
    pr = proportion(n - counts["holds"], n)
    row["falls"], row["falls_lo"], row["falls_hi"] = pr["p"], pr["ci_low"], pr["ci_high"]
    for d in within_days:
        pr = proportion(count_within(agg.capital_daily, d), n)
        key = f"falls_by_{d:g}d"
        row[key], row[f"{key}_lo"], row[f"{key}_hi"] = pr["p"], pr["ci_low"], pr["ci_high"]
    for q in (10, 50, 90):
        row[f"fall_day_p{q}"] = hist_quantile(agg.capital_hist, agg.width, q / 100)
    censored = agg.capital_hist.copy()
    censored[-1] += counts["holds"]  # the last bin's lower edge is the horizon
    row["median_fall_day"] = hist_quantile(censored, agg.width, 0.5)
    return row


def metric_columns(within_days=WITHIN_DAYS) -> list[str]:
    cols = ["reps"]
    for key in (*END_STATES, "falls", *(f"falls_by_{d:g}d" for d in within_days)):
        cols += [key, f"{key}_lo", f"{key}_hi"]
    return cols + ["fall_day_p10", "fall_day_p50", "fall_day_p90", "median_fall_day"]


METRIC_COLUMNS = metric_columns()


@dataclass(frozen=True)
class Batch:
    """Consecutive points run as one task: its place in the design (``index``, which seeds it), the
    points' indices, and whether its one point runs alone as its own run (``alone``)."""

    index: int
    points: tuple[int, ...]
    alone: bool = False


def points_per_batch(base: Base) -> int:
    """Whole points of ``base.reps`` replications in one block of the scenario
    (:func:`sim.runs.runner.block_size`), at least 1: part of a study's seeding contract."""
    from ..runs.runner import block_size

    return max(1, block_size(base.scenario()) // base.reps)


def batches(base: Base, n_points: int) -> list[Batch]:
    """The design's batches: points 0 .. n_points - 1 in consecutive groups of :func:`points_per_batch`
    (the last may be smaller); a group of one is a point run alone."""
    size = points_per_batch(base)
    return [Batch(k, tuple(range(start, min(start + size, n_points))), alone=min(start + size, n_points) - start == 1)
            for k, start in enumerate(range(0, n_points, size))]


def run_batch(base: Base, batch: Batch, values: list[dict[str, float]]) -> list[dict]:
    """Run one batch (a picklable task for any executor): ``values`` are its points' values, in the
    order of ``batch.points``; returns their metrics rows in that order.

    A point alone is ``base.reps`` replications of its own :func:`sim.runs.runner.run` with the
    sweep's seed. Otherwise the batch's points are grouped by structure (:func:`_structure`; groups
    in the order of their first point), and each group is one block: every point's parameters drawn
    as a run's first block draws them, its values given as per-replication columns
    (:func:`sim.engines.draws.draw_parameters`), the points joined one after the other and
    simulated with the group's own process stream.

    Every value is checked through the loader, as a ``--set`` would be (:class:`ScenarioError`
    naming the path): for each group, the scenario with each path at its lowest value of the group,
    and with each at its highest (what the loader checks of a number is a range, so its ends stand
    for every value between them). The group's block runs on the first of the two, whose fixed
    values the columns replace.
    """
    from ..engines import ENGINES  # here, not at the top: workers import only what a task needs
    from ..engines.draws import draw_parameters
    from ..engines.theatre import Theatre
    from ..runs.runner import run

    if batch.alone:
        result = run(base.scenario(values[0]), base.reps, seed=base.seed, engine=base.engine, keep_outcomes=False)
        return [point_metrics(result.aggregate, base.within_days)]
    groups: dict = {}
    for j, point in enumerate(values):
        groups.setdefault(_structure(point), []).append(j)
    first_block = np.random.SeedSequence(base.seed).spawn(1)[0]  # what a run's first block draws from
    reps, rows = base.reps, [None] * len(values)
    for g, members in enumerate(groups.values()):
        paths = values[members[0]]
        scenario = base.scenario({p: min(values[j][p] for j in members) for p in paths})
        base.scenario({p: max(values[j][p] for j in members) for p in paths})
        draws = join_draws([
            draw_parameters(scenario, reps, rng=_generator(first_block),
                            columns={p: np.broadcast_to(np.float64(v), (reps,)) for p, v in values[j].items()})
            for j in members])
        rng = _generator(np.random.SeedSequence(base.seed, spawn_key=(BATCH_KEY, batch.index, g)))
        out, _ = ENGINES[base.engine].simulate(scenario, draws.n, rng=rng, draws=draws)
        th = Theatre.from_scenario(scenario)
        for slot, j in enumerate(members):
            agg = Aggregate.empty(scenario.horizon_days, th.n_nodes, th.n_allies)
            agg.add(_slice(out, slot * reps, (slot + 1) * reps))
            rows[j] = point_metrics(agg, base.within_days)
    return rows


def _generator(seed_seq: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed_seq))


def _structure(values: dict[str, float]) -> tuple:
    """What points must share to share a block: the paths they fix, and the values of the roads among
    them. Besides the parameters' draws, the engines read a scenario's theatre and horizon, and of a
    point's values only a road's (its mean length) can change the theatre: the shortest road path to
    the capital, which fallbacks follow."""
    return tuple(sorted(values)), tuple(sorted((p, v) for p, v in values.items() if p.startswith("roads.")))


def _slice(out: Outcomes, start: int, stop: int) -> Outcomes:
    return Outcomes(**{f.name: getattr(out, f.name)[start:stop] for f in fields(out)})


def join_draws(parts: list[Draws]) -> Draws:
    """Several points' parameter draws as one block's, point after point on the replication axis.
    A parameter fixed to the same value in every part stays a read-only view of it, which the
    engine reads as a constant, as it does a single point's."""
    def join(columns: list[np.ndarray]) -> np.ndarray:
        n = sum(c.shape[-1] for c in columns)
        first = columns[0]
        if all(c.shape[-1] and c.strides[-1] == 0 and np.array_equal(c[..., 0], first[..., 0]) for c in columns):
            return np.broadcast_to(first[..., :1], (*first.shape[:-1], n))
        return np.concatenate(columns, axis=-1)

    def space(spaces: list[SimpleNamespace]) -> SimpleNamespace:
        return SimpleNamespace(**{k: join([vars(s)[k] for s in spaces]) for k in vars(spaces[0])})

    head = parts[0]
    by_path = {path: join([d.by_path[path] for d in parts]) for path in head.by_path}
    return Draws(
        n=sum(d.n for d in parts), nodes=space([d.nodes for d in parts]), axes=space([d.axes for d in parts]),
        allies=space([d.allies for d in parts]), road_km=join([d.road_km for d in parts]),
        # a section's fields are its paths' columns, as draw_parameters makes them (not copied twice)
        sections={name: SimpleNamespace(**{k: by_path[f"{name}.{k}"] for k in vars(ns)})
                  for name, ns in head.sections.items()},
        by_path=by_path,
    )


# --------------------------------------------------------------------------- the points log


def _record(line: str) -> dict | None:
    try:
        rec = json.loads(line)
    except (ValueError, RecursionError):
        return None
    ok = line.endswith("\n") and isinstance(rec, dict) and isinstance(rec.get("point"), int) \
        and isinstance(rec.get("values"), dict) and isinstance(rec.get("metrics"), dict)
    return rec if ok else None


class PointLog:
    """``points.jsonl``: one JSON object a line, ``{"point": i, "values": {...}, "metrics": {...}}``,
    appended as points finish (in any order)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def read(self, columns=None) -> dict[int, dict]:
        """The records by point, through the guarded reader. Only a last line cut short by a kill
        (no newline, the start of a record) is dropped, and the file rewritten without it, so that
        later appends start on a fresh line; any other line that is not a saved point (with every
        metric in ``columns``, if given) raises :class:`ResultsError`."""
        if not (self.path.exists() or self.path.is_symlink()):
            return {}
        raw = read_bytes(self.path, limit=MAX_LOG_BYTES, error=lambda m: ResultsError(self.path, m),
                         what="sweep's saved points")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ResultsError(self.path, f"is not the sweep's saved points (not UTF-8 at byte {exc.start})") from None
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n") and lines[-1].startswith('{"point": '):
            write_text(self.path, "".join(lines[:-1]))  # cut short by a kill
            lines = lines[:-1]
        records = {}
        for k, line in enumerate(lines, 1):
            rec = _record(line)
            if rec is None or (columns is not None and not set(columns) <= set(rec["metrics"])):
                raise ResultsError(self.path, f"line {k} is not a saved point; run without --resume to start afresh")
            records[rec["point"]] = rec
        return records

    def extend(self, records: list[dict]) -> None:
        """Append records (a batch's points) and flush them to disk before returning (one ``write``,
        then ``fsync``): a kill leaves at most the last line cut short."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        data = "".join(json.dumps(r, allow_nan=False) + "\n" for r in records).encode("utf-8")
        written = os.write(self._fd, data)
        while written < len(data):  # a regular file takes it whole; this is belt and braces
            written += os.write(self._fd, data[written:])
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# --------------------------------------------------------------------------- execution


def execute(base, points: list[dict], plan: list[Batch], *, executor: Executor, log: PointLog,
            done: dict[int, dict], window: int = 1,
            progress: Callable[[int, int], None] | None = None) -> dict[int, dict]:
    """Run every batch of ``plan`` with a point not in ``done`` (:func:`run_batch`), at most
    ``window`` at a time, appending each finished batch's missing points to ``log`` at once and
    adding their metrics to ``done``.

    ``progress(finished, total)`` is called after each batch, in points. On an exception (a failed
    task, a ``KeyboardInterrupt``) the batches not started are cancelled and it propagates; what
    finished is in the log.
    """
    todo = iter([b for b in plan if any(i not in done for i in b.points)])
    pending: dict = {}

    def fill():
        while len(pending) < max(1, window):
            batch = next(todo, None)
            if batch is None:
                return
            pending[executor.submit(run_batch, base, batch, [points[i] for i in batch.points])] = batch

    try:
        fill()
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in finished:
                batch = pending.pop(fut)
                new = {i: m for i, m in zip(batch.points, fut.result()) if i not in done}
                log.extend([{"point": i, "values": points[i], "metrics": m} for i, m in new.items()])
                done.update(new)
                if progress:
                    progress(len(done), len(points))
            fill()
    finally:
        for fut in pending:
            fut.cancel()
    return done


def run_points(base: Base, points: list[dict], out_dir: Path, *, kind: str, spec: dict, resume: bool = False,
               workers: int = 1, scheduler: str | None = None,
               progress: Callable[[float, float, str], None] | None = None, on_start=None) -> dict[int, dict]:
    """Run every point into the working folder ``out_dir`` (``spec.json``, ``scenario.toml``,
    ``points.jsonl``, and an INCOMPLETE marker until :func:`finish`) and return the metrics of all
    of them by point. ``out_dir`` must be absent, empty or a study of the same ``kind``.

    ``spec`` describes the sweep (JSON data, no timings); with the scenario's and points'
    fingerprints and the points a batch holds it is written to ``spec.json``. With ``resume``, a folder holding the same spec
    keeps its finished points (a different spec raises :class:`SweepError`; a folder with none
    starts afresh); without it, the folder's earlier points are discarded.
    ``on_start(executor_description, resumed)`` is called once the executor is ready, then
    ``progress(done, total, "points")`` as points finish (first with the ``resumed`` ones).
    """
    out_dir = Path(out_dir)
    check_destination(out_dir, kind, owns=earlier_study(kind))
    full_spec = {"format": FORMAT, "kind": kind, **spec, "reps": base.reps, "seed": base.seed, "engine": base.engine,
                 "within_days": list(base.within_days), "n_points": len(points),
                 "points_per_batch": points_per_batch(base),  # the batches' composition seeds them
                 "scenario_sha256": base.fingerprint(),
                 "points_sha256": hashlib.sha256(json.dumps(points).encode()).hexdigest()}
    spec_path, log = out_dir / SPEC_FILE, PointLog(out_dir / POINTS_FILE)
    done: dict[int, dict] = {}
    resuming = resume and (spec_path.exists() or spec_path.is_symlink())
    if resuming:
        old = peek_json(spec_path, limit=10_000_000)
        if old != full_spec:
            what = _spec_difference(old, full_spec)
            raise SweepError(f"{out_dir}: holds a different sweep ({what}); run without --resume to "
                             "replace it, or give another --out")
        done = {i: rec["metrics"] for i, rec in log.read(metric_columns(base.within_days)).items()
                if 0 <= i < len(points) and rec.get("values") == points[i]}
    _mark_incomplete(out_dir, kind)  # only now: a refused resume leaves a finished study as it was
    if not resuming:
        log.path.unlink(missing_ok=True)
        for name in OUTPUT_FILES:  # an earlier run's tables must not sit beside this run's points
            (out_dir / name).unlink(missing_ok=True)
        write_json(spec_path, full_spec, allow_nan=False)
        write_text(out_dir / SCENARIO_FILE, base.resolved_toml)
    resumed = len(done)
    plan = batches(base, len(points))
    try:
        todo = sum(any(i not in done for i in b.points) for b in plan)
        with executor_for(workers, scheduler, tasks=todo) as (executor, window, description):
            if on_start:
                on_start(description, resumed)
            if progress:
                progress(resumed, len(points), UNIT)
            execute(base, points, plan, executor=executor, log=log, done=done, window=window,
                    progress=(lambda n, total: progress(n, total, UNIT)) if progress else None)
    except (ScenarioError, ResultsError, SweepError):
        raise
    except Exception as exc:
        if not scheduler:
            raise
        why = f"{type(exc).__name__}: {exc}" if str(exc) else f"{type(exc).__name__}: it stopped answering"
        raise SweepError(f"the Dask cluster at {scheduler} failed ({why}); the {len(done):,} "
                         f"finished points are saved in {log.path}: run the same command with --resume to finish") \
            from None
    finally:
        log.close()
    return done


def _mark_incomplete(out_dir: Path, kind: str) -> None:
    """The working folder is ours and incomplete until :func:`finish` replaces it."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_text(out_dir / INCOMPLETE, marker(kind))
    except OSError as exc:
        raise ResultsError(out_dir, f"cannot write the study's folder ({exc.strerror or exc})") from None


def _spec_difference(old, new) -> str:
    if not isinstance(old, dict):
        return "its spec.json is unreadable"
    keys = [k for k in new if old.get(k) != new[k]] + [k for k in old if k not in new]
    k = keys[0]
    if k in ("scenario_sha256",):
        return "another scenario or --set overrides"
    if k in ("points_sha256", "n_points", "parameters", "factors", "samples"):
        return "other points"
    return f"{k} {old.get(k)!r}, not {new.get(k)!r}"


def sweep_key(*parts) -> str:
    """Eight hex digits naming a sweep's default folder from what defines it."""
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:8]


# --------------------------------------------------------------------------- tables


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def to_csv(columns: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def write_table(out_dir: Path, stem: str, table: dict) -> tuple[Path, Path]:
    """Write ``STEM.csv`` and ``STEM.json`` atomically; return their paths."""
    out_dir = Path(out_dir)
    csv_path, json_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.json"
    write_text(csv_path, to_csv(table["columns"], table["rows"]))
    write_json(json_path, table, allow_nan=False)
    return csv_path, json_path


# --------------------------------------------------------------------------- whole sweeps


# --------------------------------------------------------------------------- the finished folder


def earlier_study(kind: str) -> Callable[[Path], bool]:
    """Recognises a study folder of ``kind`` written before manifests named their kind (its spec.json)."""
    def owns(folder: Path) -> bool:
        spec = peek_json(Path(folder) / SPEC_FILE, limit=10_000_000)
        return isinstance(spec, dict) and spec.get("format") in range(1, FORMAT + 1) and spec.get("kind") == kind
    return owns


def _carry(src: Path, dst: Path) -> None:
    """``src`` into the staging folder: a hard link where the file system allows one, else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def finish(out_dir: Path, kind: str, tables: dict[str, dict], *, extras=(), wall_seconds: float, executor: str,
           points_run: int, command=None) -> None:
    """Replace the working folder ``out_dir`` by the finished study, whole: its spec, scenario and
    points, its ``tables`` (stem -> table, as CSV and JSON), what each of ``extras(folder)`` draws
    from them, and manifest.json (how this session ran: version, commit, executor, wall time;
    unlike the tables it changes from run to run)."""
    out_dir = Path(out_dir)
    with staged_folder(out_dir, kind=kind, owns=earlier_study(kind), error="cannot write the study's folder") as tmp:
        for name in (SPEC_FILE, SCENARIO_FILE, POINTS_FILE):
            if (out_dir / name).is_file():
                _carry(out_dir / name, tmp / name)
        for stem, table in tables.items():
            write_table(tmp, stem, table)
        for extra in extras:  # the figures, drawn from the tables just written
            extra(tmp)
        write_json(tmp / MANIFEST, {**manifest_base(kind, command), "executor": executor, "points_run": points_run,
                                    "wall_seconds": round(wall_seconds, 3)})
