"""Sweeps: many runs of one scenario that differ only in a few parameters, with common random numbers.

A sweep is a list of *points*, each a mapping from parameter paths to fixed values (a grid, or the
samples of a sensitivity analysis, :mod:`sim.studies.sensitivity`). Every point is a task handed to a
``concurrent.futures.Executor`` (in-process, a local process pool, or a Dask cluster's executor):
it applies its values to the scenario as ``--set`` overrides, runs ``reps`` replications with
:func:`sim.runs.runner.run` and returns a row of metrics (:func:`point_metrics`).

Common random numbers: every point runs with the same seed, so with the same blocks of
``SeedSequence(seed).spawn`` children. Parameters are drawn first, in the fixed order of
``Scenario.parameters()``, and a fixed value draws nothing, so every point (each fixes the same
paths) draws every other uncertain parameter identically, replication by replication, and starts
its process randomness from the same generator state. Differences between points are then the
parameter's effect, not sampling noise (see docs/SENSITIVITY.md for what this does and does not
hold).

Resume: each finished point is appended at once, as one JSON line, to ``points.jsonl`` in the
sweep's folder (one ``write`` and an ``fsync``); a sweep run again with ``resume=True`` skips the
points already there. The final tables are built from those lines sorted by point, so a resumed
sweep writes the same bytes as one run straight through.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..engines.outcomes import END_STATES
from ..errors import ResultsError, ScenarioError, SweepError
from ..files import (
    INCOMPLETE, MANIFEST, check_destination, manifest_base, marker, peek_json, read_bytes, staged_folder,
    write_json, write_text,
)
from ..runs.executors import executor_for
from ..runs.summary import count_within, hist_quantile, proportion
from ..scenario.schema import Scenario
from ..scenario.vary import Variant

__all__ = [
    "Base", "run_point", "point_metrics", "PointLog", "Progress", "execute", "run_points", "write_table", "finish",
    "MAX_POINTS", "METRIC_COLUMNS", "POINTS_FILE", "SPEC_FILE", "metric_columns", "sweep_key",
]

POINTS_FILE = "points.jsonl"
SPEC_FILE = "spec.json"
SCENARIO_FILE = "scenario.toml"
WITHIN_DAYS = (7, 30)
# What a finished sweep or sensitivity run writes besides its points: removed when a folder is reused.
OUTPUT_FILES = ("sweep.csv", "sweep.json", "sweep_line.png", "sweep_heatmap.png", "indices.csv", "indices.json",
                "indices.png", "tornado.csv", "tornado.json", "tornado.png", "samples.csv", "samples.json",
                "manifest.json")
FORMAT = 1  # version of the points/spec files: a resume across versions is refused
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
             within_days=WITHIN_DAYS, posterior=None) -> "Base":
        """Read and validate the scenario at ``path`` with ``overrides`` (``PATH=VALUE`` strings).

        Raises :class:`ScenarioError` as :func:`sim.scenario.load.load_scenario` does, and ``ValueError``
        for reps < 1.
        """
        if reps < 1:
            raise ValueError(f"reps must be at least 1, got {reps}")
        return cls(Variant.load(path, overrides, posterior=posterior), reps, seed, engine, tuple(within_days))

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


# --------------------------------------------------------------------------- one point


def point_metrics(result, within_days=WITHIN_DAYS) -> dict:
    """The row of a finished run (:class:`sim.runs.runner.RunResult`): end-state probabilities with 95%
    Wilson intervals, the chance the capital falls within the horizon and by given days, and
    fall-day quantiles.

    ``falls`` is 1 - P(holds). ``falls_by_Dd`` is P(the capital falls within D days): fall day <= D
    (:func:`sim.runs.summary.fell_within`), D a whole number of days. ``fall_day_p10|p50|p90`` are among the
    replications where the capital fell (None if none did); ``median_fall_day`` counts the
    replications where it held at the horizon (censored), so it is always defined and equals the
    horizon when fewer than half fell.
    """
    s, agg = result.summary, result.aggregate
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
    f = s["capital_fall_day"]
    row["fall_day_p10"], row["fall_day_p50"], row["fall_day_p90"] = f["p10"], f["p50"], f["p90"]
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


def run_point(base: Base, values: dict[str, float]) -> dict:
    """Run one point (a picklable task for any executor): ``base.reps`` replications of the scenario
    with ``values`` fixed, seeded with ``base.seed`` like every other point, and its metrics row."""
    from ..runs.runner import run  # here, not at the top: workers import only what a task needs

    result = run(base.scenario(values), base.reps, seed=base.seed, engine=base.engine, keep_outcomes=False)
    return point_metrics(result, base.within_days)


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

    def append(self, record: dict) -> None:
        """Append one record and flush it to disk before returning (one ``write``, then ``fsync``)."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        data = (json.dumps(record, allow_nan=False) + "\n").encode("utf-8")
        written = os.write(self._fd, data)
        while written < len(data):  # a regular file takes it whole; this is belt and braces
            written += os.write(self._fd, data[written:])
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# --------------------------------------------------------------------------- execution


def execute(fn: Callable, base, points: list[dict], *, executor: Executor, log: PointLog,
            done: dict[int, dict], window: int = 1,
            progress: Callable[[int, int], None] | None = None) -> dict[int, dict]:
    """Run ``fn(base, points[i])`` for every point not in ``done``, at most ``window`` at a time,
    appending each finished point to ``log`` at once and adding its metrics to ``done``.

    ``progress(finished, total)`` is called after each point. On an exception (a failed task, a
    ``KeyboardInterrupt``) the points not started are cancelled and it propagates; what finished is
    in the log.
    """
    todo = iter([i for i in range(len(points)) if i not in done])
    pending: dict = {}

    def fill():
        while len(pending) < max(1, window):
            i = next(todo, None)
            if i is None:
                return
            pending[executor.submit(fn, base, points[i])] = i

    try:
        fill()
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in finished:
                i = pending.pop(fut)
                metrics = fut.result()
                log.append({"point": i, "values": points[i], "metrics": metrics})
                done[i] = metrics
                if progress:
                    progress(len(done), len(points))
            fill()
    finally:
        for fut in pending:
            fut.cancel()
    return done


@dataclass
class Progress:
    """What a progress display needs: points finished (``done`` of ``total``), of which ``resumed``
    were already in the log, replications per point, and when this session started."""

    total: int
    reps: int
    resumed: int = 0
    done: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Replications per second in this session."""
        elapsed = time.monotonic() - self.started
        return (self.done - self.resumed) * self.reps / elapsed if elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        r = self.rate
        return (self.total - self.done) * self.reps / r if r > 0 else None


def run_points(base: Base, points: list[dict], out_dir: Path, *, kind: str, spec: dict, resume: bool = False,
               workers: int = 1, scheduler: str | None = None, fn: Callable | None = None,
               on_progress: Callable[[Progress], None] | None = None, on_start=None) -> dict[int, dict]:
    """Run every point into the working folder ``out_dir`` (``spec.json``, ``scenario.toml``,
    ``points.jsonl``, and an INCOMPLETE marker until :func:`finish`) and return the metrics of all
    of them by point. ``out_dir`` must be absent, empty or a study of the same ``kind``.

    ``spec`` describes the sweep (JSON data, no timings); with the scenario's and points'
    fingerprints it is written to ``spec.json``. With ``resume``, a folder holding the same spec
    keeps its finished points (a different spec raises :class:`SweepError`; a folder with none
    starts afresh); without it, the folder's earlier points are discarded.
    ``on_start(progress, executor_description)`` is called once the executor is ready.
    """
    out_dir = Path(out_dir)
    check_destination(out_dir, kind, owns=earlier_study(kind))
    full_spec = {"format": FORMAT, "kind": kind, **spec, "reps": base.reps, "seed": base.seed, "engine": base.engine,
                 "within_days": list(base.within_days), "n_points": len(points),
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
    prog = Progress(len(points), base.reps, resumed=len(done), done=len(done))
    try:
        todo = len(points) - len(done)
        with executor_for(workers, scheduler, tasks=todo) as (executor, window, description):
            if on_start:
                on_start(prog, description)

            def progress(finished, total):
                prog.done = finished
                if on_progress:
                    on_progress(prog)

            execute(fn or run_point, base, points, executor=executor, log=log, done=done, window=window, progress=progress)
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
        return isinstance(spec, dict) and spec.get("format") == FORMAT and spec.get("kind") == kind
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
