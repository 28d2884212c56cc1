"""Grid sweeps: every combination of a few parameters' values, each point R replications with the
same draws of every other parameter, run in batches that fill a block (:mod:`sim.studies.points`),
tabulated as ``sweep.csv`` and ``sweep.json``."""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ScenarioError
from .points import MAX_POINTS, Base, finish, metric_columns, run_points

__all__ = ["KIND", "MAX_POINTS", "SweepParam", "parse_param", "grid_points", "grid_table", "run_grid"]

KIND = "grid"
TABLE_STEM = "sweep"


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
        if steps > MAX_POINTS:  # checked before a single value is made
            raise ScenarioError("--param", path, f"STEPS {steps:,} is more than a grid may have ({MAX_POINTS:,} points)")
        if steps == 1:
            if start != stop:
                raise ScenarioError("--param", path, "one step needs START = STOP (or give a single value)")
            values = (_tidy(start),)
        else:
            values = tuple(_tidy(start + (stop - start) * i / (steps - 1)) for i in range(steps))
    else:
        items = spec_text.split(",")
        if len(items) > MAX_POINTS:
            raise ScenarioError("--param", path, f"{len(items):,} values: more than a grid may have ({MAX_POINTS:,} points)")
        values = tuple(_number(v, path) for v in items)
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


def grid_table(base: Base, params: list[SweepParam], points: list[dict], metrics: dict[int, dict]) -> dict:
    """The sweep's table as JSON data: one row per point, in point order; nothing time-dependent."""
    scenario = base.scenario()
    cols = metric_columns(base.within_days)
    rows = [{"point": i, **points[i], **{c: metrics[i][c] for c in cols}} for i in range(len(points))]
    return {
        "kind": KIND,
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


def run_grid(base: Base, params: list[SweepParam], out_dir: Path, *, resume: bool = False, workers: int = 1,
             scheduler: str | None = None, extras=(), progress=None, on_start=None) -> dict:
    """Run a grid sweep into ``out_dir`` and write its table (``sweep.csv``, ``sweep.json``), then
    each of ``extras`` (``extra(out_dir)``: the figures) and ``manifest.json``; return the table.

    Every path, and every parameter at its lowest and at its highest value (together, so that a
    bound that depends on several parameters is checked too), is checked against the scenario before
    anything runs; every batch's values are checked again as it runs (:class:`ScenarioError`, source
    ``--param``, naming the parameter), so a large grid starts at once. ``progress`` and
    ``on_start`` as in :func:`sim.studies.points.run_points`.
    """
    start = time.perf_counter()
    points = grid_points(params)
    base.check_paths([p.path for p in params])
    for pick in (min, max):  # a range is an interval: its ends stand for every value between them
        base.scenario({p.path: pick(p.values) for p in params})
    described = {}

    def started(description, resumed):
        described["executor"], described["resumed"] = description, resumed
        if on_start:
            on_start(description, resumed)

    spec = {"parameters": [{"path": p.path, "values": list(p.values)} for p in params]}
    metrics = run_points(base, points, out_dir, kind=KIND, spec=spec, resume=resume, workers=workers,
                         scheduler=scheduler, progress=progress, on_start=started)
    table = grid_table(base, params, points, metrics)
    finish(out_dir, KIND, {TABLE_STEM: table}, extras=extras, wall_seconds=time.perf_counter() - start,
           executor=described.get("executor", ""), points_run=len(points) - described.get("resumed", 0))
    return table
