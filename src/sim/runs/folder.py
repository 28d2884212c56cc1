"""Run folders: written whole or not at all, read back with every file checked.

A run is written through :func:`sim.files.staged_folder`: into a hidden sibling marked
``INCOMPLETE``, renamed into place once its last file, manifest.json, is written, so a folder at the
destination is always a finished run. ``--out`` replaces only an earlier run folder. An interrupted
run leaves nothing (Ctrl-C, SIGTERM) or, killed outright, a hidden folder marked incomplete that
:func:`require_complete` refuses and the next run into the same place removes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cached_property
from pathlib import Path

from ..errors import ResultsError, ScenarioError
from ..files import (
    INCOMPLETE, MANIFEST, PARTIAL, json_bytes, manifest_base, peek_json, read_bytes, read_json,
    staged_folder, write_json,
)
from . import histograms
from .histograms import HISTOGRAMS
from .outcomes_file import OUTCOMES, Columns, OutcomesFile, frame, outcome_columns
from .runner import RunResult, run
from .summary import SUMMARY_FORMAT, describe, describe_html

__all__ = ["SUMMARY", "MANIFEST", "SCENARIO", "OUTCOMES", "HISTOGRAMS", "INCOMPLETE", "PARTIAL", "TIMING_FIELDS",
           "KIND", "Columns", "run_id", "manifest", "write_run", "run_to_folder", "outcome_columns", "OutcomesFile",
           "require_complete", "is_earlier_run", "RunFolder"]

KIND = "run"
SUMMARY = "summary.json"
SCENARIO = "scenario.toml"
EARLIER_HISTOGRAMS = "histograms.npz"  # what runs before histograms.nc kept: recognised, to say so, never read
TIMING_FIELDS = ("created", "wall_seconds")  # manifest.json's fields that differ between identical runs
SUMMARY_KEYS = {"scenario": str, "title": str, "as_of": str, "horizon_days": int, "reps": int, "seed": int,
                "end_states": dict, "capital_fall_day": dict, "nodes": dict}


def run_id(seed: int, reps: int) -> str:
    """A default folder name: the time, the seed and the replications."""
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-seed{seed}-reps{reps}"


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version
        return version(module)
    except Exception:  # not installed as a distribution: the manifest records None
        return None


def manifest(result: RunResult, *, overrides=(), command=None, saved: bool | None = None) -> dict:
    """What it takes to reproduce a run (``sim rerun``): the resolved scenario (``resolved_scenario``,
    a file in the run folder with the overrides already applied), seed, replications, engine, block
    size, and the versions of the code and the libraries that drew the numbers; plus the SHA-256 of
    summary.json. ``created`` and ``wall_seconds`` are the only timing fields."""
    s = result.scenario
    return {
        **manifest_base(KIND, command),
        "scenario": s.name,
        "scenario_file": s.source_path,
        "resolved_scenario": SCENARIO,
        "overrides": list(overrides),
        "seed": result.seed,
        "reps": result.reps,
        "engine": result.engine,
        "block_size": result.block,
        "precision": result.precision,
        "stopped": result.stopped,
        "horizon_days": s.horizon_days,
        "save_outcomes": result.outcomes is not None if saved is None else saved,
        "summary_sha256": hashlib.sha256(json_bytes(result.summary)).hexdigest(),
        "scipy": _version("scipy"),
        "simpy": _version("simpy"),
        "wall_seconds": round(result.wall_seconds, 3),
    }


def write_run(result: RunResult, out_dir: Path, *, overrides=(), extras=()) -> Path:
    """Write a finished run's folder: scenario, summary, histograms, outcomes (if kept in memory),
    then each of ``extras`` (``extra(folder)``, e.g. the figures) on the files written so far, and
    manifest.json."""
    out_dir = Path(out_dir)
    with staged_folder(out_dir, kind=KIND, owns=is_earlier_run, error="cannot write the results folder") as tmp:
        if result.outcomes is not None:
            sink = OutcomesFile(tmp / OUTCOMES, result.scenario, result.reps, seed=result.seed)
            size = result.block
            for start in range(0, result.reps, size):
                rows = slice(start, min(start + size, result.reps))
                sink.add(result.outcomes.take(rows), {k: v[rows] for k, v in (result.parameters or {}).items()})
            sink.close()
        _finish(result, tmp, overrides, extras, saved=result.outcomes is not None)
    return out_dir


def run_to_folder(scenario, reps: int, out_dir: Path, *, seed: int, save_outcomes: bool, overrides=(), extras=(),
                  **run_options) -> RunResult:
    """Run ``scenario`` straight into its results folder: per-replication outcomes (if saved) are
    written block by block as the run goes (:class:`OutcomesFile`), so memory stays flat however
    many replications there are; then the folder is finished as :func:`write_run` does. The result
    holds no outcomes in memory."""
    out_dir = Path(out_dir)
    with staged_folder(out_dir, kind=KIND, owns=is_earlier_run, error="cannot write the results folder") as tmp:
        adaptive = run_options.get("precision") is not None  # reps is only a cap
        sink = OutcomesFile(tmp / OUTCOMES, scenario, None if adaptive else reps, seed=seed) if save_outcomes else None
        result = run(scenario, reps, seed=seed, keep_outcomes=False, sink=sink, **run_options)
        if sink is not None:
            sink.close()
        _finish(result, tmp, overrides, extras, saved=save_outcomes)
    return result


def _finish(result: RunResult, tmp: Path, overrides, extras, *, saved: bool) -> None:
    (tmp / SCENARIO).write_text(result.scenario.resolved_toml, encoding="utf-8")
    write_json(tmp / SUMMARY, result.summary)
    histograms.write(result.histograms, tmp / HISTOGRAMS)
    for extra in extras:
        extra(tmp)
    write_json(tmp / MANIFEST, manifest(result, overrides=overrides, saved=saved))  # the commit point


def is_earlier_run(folder: Path) -> bool:
    """Whether ``folder`` is a run written before manifests named their kind: its manifest's
    ``summary_sha256`` is that of its summary.json (a stranger's folder cannot pass for one)."""
    m = peek_json(Path(folder) / MANIFEST)
    try:
        summary = read_bytes(Path(folder) / SUMMARY, limit=50_000_000, error=lambda m: ResultsError(folder, m))
    except ResultsError:
        return False
    return isinstance(m, dict) and "block_size" in m and m.get("summary_sha256") == hashlib.sha256(summary).hexdigest()


def require_complete(run_dir, *, histograms: bool = True) -> Path:
    """``run_dir`` as a Path if it is a complete run folder, else raise :class:`ResultsError` (one line).

    Complete means: a folder, not a staging ``.partial`` folder, without an ``INCOMPLETE`` marker,
    with summary.json, histograms.nc (unless ``histograms`` is False: a rerun does not read it) and
    manifest.json (written last). Every command that reads a run folder (plot, report, compare,
    rerun) checks this first; a run written before histograms.nc is refused with the command that
    writes it again.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ResultsError(run_dir, "not a finished run folder (no such folder)")
    if run_dir.name.endswith(PARTIAL) or (run_dir / INCOMPLETE).exists():
        raise ResultsError(run_dir, "incomplete run folder: the run was interrupted before all its files "
                                    "were written; run it again")
    needed = (SUMMARY, HISTOGRAMS, MANIFEST) if histograms else (SUMMARY, MANIFEST)
    missing = [name for name in needed if not (run_dir / name).is_file()]
    if missing == [HISTOGRAMS] and (run_dir / EARLIER_HISTOGRAMS).is_file():
        raise ResultsError(run_dir, f"was written by an earlier version ({EARLIER_HISTOGRAMS}, not {HISTOGRAMS}): "
                                    f"write the run again (sim rerun {run_dir} --out NEW_FOLDER)")
    if missing:
        raise ResultsError(run_dir, f"not a finished run folder (no {', '.join(missing)})")
    return run_dir


def read_summary(run_dir: Path) -> dict:
    """summary.json, checked to be a run's summary (its top-level fields and their types)."""
    path = Path(run_dir) / SUMMARY
    s = read_json(path)
    if not isinstance(s, dict):
        raise ResultsError(path, "is not a run's summary (not a JSON object)")
    for key, kind in SUMMARY_KEYS.items():
        if not isinstance(s.get(key), kind) or isinstance(s.get(key), bool):
            raise ResultsError(path, f"is not a run's summary ({key}: expected {kind.__name__})")
    if s.get("format", 1) != SUMMARY_FORMAT:
        raise ResultsError(path, f"has summary format {s.get('format', 1)!r}, this version reads {SUMMARY_FORMAT}: "
                                 f"write the run again (sim rerun {Path(run_dir)} --out NEW_FOLDER)")
    return s


class RunFolder:
    """A finished run's folder, read from its files alone: what figures, comparisons and reports draw from.

    ``summary`` and ``histograms`` (histograms.nc as an xarray Dataset, :mod:`sim.runs.histograms`)
    are read at once; ``manifest`` (None if absent), ``scenario`` (the resolved scenario.toml) and
    ``columns`` (outcomes.parquet's columns, None if outcomes were not kept) on first use. A damaged
    file raises :class:`ResultsError`.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.summary = read_summary(self.path)
        self.histograms = histograms.read(self.path / HISTOGRAMS)

    def __repr__(self) -> str:
        return describe(f"RunFolder {self.path}", self.summary)

    def _repr_html_(self) -> str:
        return describe_html(f"RunFolder {self.path}", self.summary)

    def to_dataframe(self):
        """The per-replication outcomes (outcomes.parquet) as a pandas DataFrame: ``end_state`` a
        Categorical, null as NaN, the file's metadata (units, node names...) in ``DataFrame.attrs``.
        :class:`ResultsError` if the run kept no outcomes."""
        if not self.has_outcomes:
            raise ResultsError(self.path, f"has no {OUTCOMES}: the run kept no per-replication outcomes "
                                          "(run it with --save-outcomes)")
        return frame(self.columns.table())

    def to_xarray(self):
        """histograms.nc as a labelled xarray Dataset (a copy: :mod:`sim.runs.histograms`)."""
        return self.histograms.copy(deep=True)

    @cached_property
    def manifest(self) -> dict | None:
        path = self.path / MANIFEST
        m = read_json(path) if path.is_file() else None
        return m if isinstance(m, dict) else None

    @cached_property
    def scenario(self):
        from ..scenario.load import load_scenario
        try:
            return load_scenario(self.path / SCENARIO, allow_lookahead=True)  # a run made, look-ahead or not
        except ScenarioError as exc:
            raise ResultsError(self.path / SCENARIO, f"the run's resolved scenario no longer loads: {exc.message}") \
                from None

    @property
    def has_outcomes(self) -> bool:
        """Whether the run kept its per-replication outcomes (outcomes.parquet is there, whatever it is)."""
        path = self.path / OUTCOMES
        return path.exists() or path.is_symlink()

    @cached_property
    def columns(self) -> Columns | None:
        """outcomes.parquet's columns, each read when first asked for (a large run's file is never read whole)."""
        return Columns(self.path / OUTCOMES) if self.has_outcomes else None
