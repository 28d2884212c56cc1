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

import copy
import csv
import hashlib
import io
import itertools
import json
import math
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..engines.outcomes import END_STATES
from ..errors import ScenarioError, SweepError
from ..files import write_text as _write_text
from ..runs.executors import executor_for
from ..runs.summary import hist_quantile, proportion
from ..scenario.load import apply_overrides, load_document, scenario_from_document
from ..scenario.schema import Scenario

__all__ = [
    "SweepParam", "Base", "parse_param", "grid_points", "run_point", "point_metrics",
    "PointLog", "execute", "run_points", "grid_table", "write_table", "format_table",
    "METRIC_COLUMNS", "POINTS_FILE", "SPEC_FILE", "run_grid", "metric_columns", "write_manifest",
]

POINTS_FILE = "points.jsonl"
SPEC_FILE = "spec.json"
SCENARIO_FILE = "scenario.toml"
TABLE_STEM = "sweep"
WITHIN_DAYS = (7, 30)
MAX_POINTS = 1_000_000
# What a finished sweep or sensitivity run writes besides its points: removed when a folder is reused.
OUTPUT_FILES = ("sweep.csv", "sweep.json", "sweep_line.png", "sweep_heatmap.png", "indices.csv", "indices.json",
                "indices.png", "tornado.csv", "tornado.json", "tornado.png", "samples.csv", "samples.json",
                "manifest.json")
FORMAT = 1  # version of the points/spec files: a resume across versions is refused


# --------------------------------------------------------------------------- points


@dataclass(frozen=True)
class SweepParam:
    """One swept parameter: its dotted path and the values it takes."""

    path: str
    values: tuple[float, ...]


def _number(text: str, where: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ScenarioError("--param", where, f"{text.strip()!r} is not a number") from None
    if not math.isfinite(v):
        raise ScenarioError("--param", where, f"values must be finite, got {text.strip()!r}")
    return v


def _tidy(v: float) -> float:
    """``v`` rounded to 12 significant digits: linspace's 0.30000000000000004 becomes 0.3."""
    return float(f"{v:.12g}")


def parse_param(text: str) -> SweepParam:
    """``PATH=START:STOP:STEPS`` (STEPS evenly spaced values, both ends included) or
    ``PATH=v1,v2,...`` (the values as given, in that order) to a :class:`SweepParam`.

    Raises :class:`ScenarioError` (source ``--param``) on malformed text; whether the path names a
    parameter and the values are in its range is checked against the scenario by :class:`Base`.
    """
    if "=" not in text:
        raise ScenarioError("--param", text, "expected PATH=START:STOP:STEPS or PATH=v1,v2,...")
    path, _, spec_text = text.partition("=")
    path = path.strip()
    keys = path.split(".")
    if not path or any(not k.strip() for k in keys):
        raise ScenarioError("--param", text, "empty key in parameter path")
    spec_text = spec_text.strip()
    if not spec_text:
        raise ScenarioError("--param", path, "no values (expected START:STOP:STEPS or v1,v2,...)")
    if ":" in spec_text:
        parts = spec_text.split(":")
        if len(parts) != 3:
            raise ScenarioError("--param", path, f"{spec_text!r}: a range is START:STOP:STEPS")
        start, stop = _number(parts[0], path), _number(parts[1], path)
        try:
            steps = int(parts[2])
        except ValueError:
            raise ScenarioError("--param", path, f"STEPS must be a whole number, got {parts[2].strip()!r}") from None
        if steps < 1:
            raise ScenarioError("--param", path, f"STEPS must be at least 1, got {steps}")
        if steps == 1:
            if start != stop:
                raise ScenarioError("--param", path, "one step needs START = STOP (or give a single value)")
            values = (_tidy(start),)
        else:
            values = tuple(_tidy(start + (stop - start) * i / (steps - 1)) for i in range(steps))
    else:
        values = tuple(_number(v, path) for v in spec_text.split(","))
    return SweepParam(path, values)


def grid_points(params: list[SweepParam]) -> list[dict[str, float]]:
    """Every combination of the parameters' values, the first parameter varying slowest."""
    paths = [p.path for p in params]
    if len(set(paths)) != len(paths):
        dup = next(p for p in paths if paths.count(p) > 1)
        raise ScenarioError("--param", dup, "the same parameter is swept twice")
    n = math.prod(len(p.values) for p in params)
    if n > MAX_POINTS:
        raise ScenarioError("--param", paths[0], f"the grid has {n:,} points; at most {MAX_POINTS:,}")
    return [dict(zip(paths, combo)) for combo in itertools.product(*(p.values for p in params))]


def _override(path: str, value: float) -> str:
    # repr of a float is a TOML float literal (0.3, 1e-05, 2.0), so the loader reads back the same value.
    return f"{path}={float(value)!r}"


@dataclass(frozen=True)
class Base:
    """What every point of a sweep shares: the scenario document (``--set`` overrides applied), the
    number of replications, the seed and the engine. Picklable: it travels with each task.

    Build one with :meth:`Base.load`, which validates the scenario once.
    """

    document: dict
    origins: dict
    file: str
    reps: int
    seed: int
    engine: str = "vectorised"
    within_days: tuple[float, ...] = WITHIN_DAYS
    resolved_toml: str = field(default="", repr=False, compare=False)

    @classmethod
    def load(cls, path: str | Path, overrides=(), *, reps: int, seed: int, engine: str = "vectorised",
             within_days=WITHIN_DAYS) -> "Base":
        """Read and validate the scenario at ``path`` with ``overrides`` (``PATH=VALUE`` strings).

        Raises :class:`ScenarioError` as :func:`sim.scenario.load.load_scenario` does, and ``ValueError``
        for reps < 1.
        """
        if reps < 1:
            raise ValueError(f"reps must be at least 1, got {reps}")
        doc, origins = load_document(path)
        apply_overrides(doc, origins, overrides)
        scenario = scenario_from_document(copy.deepcopy(doc), dict(origins), str(path))
        return cls(doc, origins, str(path), reps, seed, engine, tuple(within_days), scenario.resolved_toml)

    def scenario(self, values: dict[str, float] | None = None, *, origin: str = "--param") -> Scenario:
        """The scenario with ``values`` (path -> number) fixed; an invalid value raises
        :class:`ScenarioError` naming ``origin`` and the path."""
        doc, origins = copy.deepcopy(self.document), dict(self.origins)
        values = values or {}
        apply_overrides(doc, origins, [_override(p, v) for p, v in values.items()])
        for p in values:  # errors in these values name where they came from, not --set
            origins[tuple(k.strip() for k in p.split("."))] = origin
        return scenario_from_document(doc, origins, self.file)

    def check_paths(self, paths, *, origin: str = "--param") -> None:
        """Raise :class:`ScenarioError` unless every path names a numeric parameter of the scenario."""
        known = {p for p, _ in self.scenario().parameters()}
        for path in paths:
            if path not in known:
                raise ScenarioError(origin, path, "unknown parameter path (a numeric parameter such as "
                                                  "rebels.NAME.momentum; see docs/MODEL.md section 9)")

    def fingerprint(self) -> str:
        """SHA-256 of the resolved scenario, replications, seed and engine: what a resume must match."""
        text = json.dumps([self.resolved_toml, self.reps, self.seed, self.engine, list(self.within_days)])
        return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- one point


def point_metrics(result, within_days=WITHIN_DAYS) -> dict:
    """The row of a finished run (:class:`sim.runs.runner.RunResult`): end-state probabilities with 95%
    Wilson intervals, the chance the capital falls within the horizon and by given days, and
    fall-day quantiles.

    ``falls`` is 1 - P(holds). ``falls_by_Dd`` counts falls on or before day D to within the
    summary's 3-hour histogram bins (assault rounds are on whole days, so only the rare hazard-driven
    ends in the 3 hours after day D are counted in too). ``fall_day_p10|p50|p90`` are among the
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
    cum = agg.capital_hist.cumsum()
    for d in within_days:
        k = min(int(math.floor(d / agg.width)), len(cum) - 1)  # bins whose lower edge is <= d
        pr = proportion(int(cum[k]), n)
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


class PointLog:
    """``points.jsonl``: one JSON object a line, ``{"point": i, "values": {...}, "metrics": {...}}``,
    appended as points finish (in any order)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def read(self) -> dict[int, dict]:
        """The records by point. A last line cut short by a kill is dropped, and the file rewritten
        without it, so that later appends start on a fresh line."""
        if not self.path.is_file():
            return {}
        text = self.path.read_text(encoding="utf-8")
        records, good, bad = {}, [], False
        for line in text.splitlines(keepends=True):
            try:
                rec = json.loads(line)
                ok = line.endswith("\n") and isinstance(rec, dict) and isinstance(rec.get("point"), int) \
                    and isinstance(rec.get("metrics"), dict)
            except json.JSONDecodeError:
                ok = False
            if ok:
                records[rec["point"]] = rec
                good.append(line)
            else:
                bad = True
        if bad:
            _write_text(self.path, "".join(good))
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


def write_json(path: Path, data) -> None:
    """Write JSON atomically, deterministically (no NaN: None stands for 'not defined')."""
    _write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


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
    """Run every point into ``out_dir`` (``spec.json``, ``scenario.toml``, ``points.jsonl``) and
    return the metrics of all of them by point.

    ``spec`` describes the sweep (JSON data, no timings); with the scenario's and points'
    fingerprints it is written to ``spec.json``. With ``resume``, a folder holding the same spec
    keeps its finished points (a different spec raises :class:`SweepError`; a folder with none
    starts afresh); without it, the folder's earlier points are discarded.
    ``on_start(progress, executor_description)`` is called once the executor is ready.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    full_spec = {"format": FORMAT, "kind": kind, **spec, "reps": base.reps, "seed": base.seed, "engine": base.engine,
                 "within_days": list(base.within_days), "n_points": len(points),
                 "scenario_sha256": base.fingerprint(),
                 "points_sha256": hashlib.sha256(json.dumps(points).encode()).hexdigest()}
    spec_path, log = out_dir / SPEC_FILE, PointLog(out_dir / POINTS_FILE)
    done: dict[int, dict] = {}
    if resume and spec_path.is_file():
        try:
            old = json.loads(spec_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            old = None
        if old != full_spec:
            what = _spec_difference(old, full_spec)
            raise SweepError(f"{out_dir}: holds a different sweep ({what}); run without --resume to "
                             "replace it, or give another --out")
        done = {i: rec["metrics"] for i, rec in log.read().items()
                if 0 <= i < len(points) and rec.get("values") == points[i]}
    else:
        log.path.unlink(missing_ok=True)
        for name in OUTPUT_FILES:  # an earlier run's tables must not sit beside this run's points
            (out_dir / name).unlink(missing_ok=True)
        write_json(spec_path, full_spec)
        _write_text(out_dir / SCENARIO_FILE, base.resolved_toml)
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
    finally:
        log.close()
    return done


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


def grid_table(base: Base, params: list[SweepParam], points: list[dict], metrics: dict[int, dict]) -> dict:
    """The sweep's table as JSON data: one row per point, in point order; nothing time-dependent."""
    scenario = base.scenario()
    cols = metric_columns(base.within_days)
    rows = [{"point": i, **points[i], **{c: metrics[i][c] for c in cols}} for i in range(len(points))]
    return {
        "kind": "grid",
        "scenario": scenario.name,
        "title": scenario.title,
        "as_of": scenario.as_of.isoformat(),
        "horizon_days": scenario.horizon_days,
        "reps": base.reps,
        "seed": base.seed,
        "engine": base.engine,
        "parameters": [{"path": p.path, "values": list(p.values)} for p in params],
        "columns": ["point", *(p.path for p in params), *cols],
        "rows": rows,
    }


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
    _write_text(csv_path, to_csv(table["columns"], table["rows"]))
    write_json(json_path, table)
    return csv_path, json_path


def _pct(p, lo=None, hi=None) -> str:
    if p is None:
        return "—"
    return f"{p:6.1%}" + (f" ({lo:.1%}–{hi:.1%})" if lo is not None else "")


def format_table(table: dict) -> str:
    """A sweep table as plain text: parameter values, end states with intervals, fall days."""
    paths = [p["path"] for p in table["parameters"]]
    by = [c for c in table["columns"] if c.startswith("falls_by_") and c.endswith("d")]
    widths = [max(len(p), 10) for p in paths]
    head = "  ".join(f"{p:>{w}}" for p, w in zip(paths, widths))
    states = ["captured", "collapsed", "holds"]
    lines = [f"{table['title']}  [{table['scenario']}]",
             f"as of {table['as_of']} · horizon {table['horizon_days']} days · {table['reps']:,} replications "
             f"a point · seed {table['seed']} (common to every point) · {len(table['rows'])} points", "",
             head + "".join(f"  {s:>21}" for s in states) + "".join(f"  {'by day ' + b[9:-1]:>11}" for b in by)
             + "  median fall day"]
    for row in table["rows"]:
        cells = "  ".join(f"{row[p]:>{w}.6g}" for p, w in zip(paths, widths))
        cells += "".join(f"  {_pct(row[s], row[s + '_lo'], row[s + '_hi']):>21}" for s in states)
        cells += "".join(f"  {_pct(row[b]):>11}" for b in by)
        d = row["fall_day_p50"]
        cells += "  " + ("—" if d is None else f"day {d:g}")
        lines.append(cells)
    lines += ["", "intervals: 95% Wilson · by day D: the capital fell by day D · median fall day: among "
              "replications where it fell"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- whole sweeps


def write_manifest(out_dir: Path, *, wall_seconds: float, executor: str, points_run: int, command=None) -> None:
    """``manifest.json``: how this session ran (version, commit, executor, wall time); unlike the
    tables it changes from run to run."""
    import datetime as dt
    import platform
    import sys

    import numpy as np

    from .._version import __version__
    from ..files import git_commit

    write_json(Path(out_dir) / "manifest.json", {
        "version": __version__, "git_commit": git_commit(), "python": platform.python_version(),
        "numpy": np.__version__, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "executor": executor, "points_run": points_run, "wall_seconds": round(wall_seconds, 3),
        "command": list(command) if command is not None else sys.argv,
    })


def run_grid(base: Base, params: list[SweepParam], out_dir: Path, *, resume: bool = False, workers: int = 1,
             scheduler: str | None = None, extras=(), on_progress=None, on_start=None) -> dict:
    """Run a grid sweep into ``out_dir`` and write its table (``sweep.csv``, ``sweep.json``), then
    each of ``extras`` (``extra(out_dir)``: the figures) and ``manifest.json``; return the table.

    Every path and value is checked against the scenario before anything runs
    (:class:`ScenarioError`, source ``--param``).
    """
    start = time.perf_counter()
    points = grid_points(params)
    base.check_paths([p.path for p in params])
    for p in params:  # each value alone: ranges are per parameter, so this checks every point
        for v in dict.fromkeys(p.values):
            base.scenario({p.path: v})
    described = {}

    def started(prog, description):
        described["executor"], described["resumed"] = description, prog.resumed
        if on_start:
            on_start(prog, description)

    spec = {"parameters": [{"path": p.path, "values": list(p.values)} for p in params]}
    metrics = run_points(base, points, out_dir, kind="grid", spec=spec, resume=resume, workers=workers,
                         scheduler=scheduler, on_progress=on_progress, on_start=started)
    table = grid_table(base, params, points, metrics)
    write_table(out_dir, TABLE_STEM, table)
    for extra in extras:  # the figures, drawn from the table just written
        extra(out_dir)
    write_manifest(out_dir, wall_seconds=time.perf_counter() - start, executor=described.get("executor", ""),
                   points_run=len(points) - described.get("resumed", 0))
    return table
