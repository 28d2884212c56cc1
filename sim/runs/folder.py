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
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import ResultsError, ScenarioError
from ..files import (
    INCOMPLETE, MANIFEST, PARTIAL, check_regular, json_bytes, manifest_base, peek_json, read_bytes, read_json,
    staged_folder, write_json,
)
from ..engines.theatre import Theatre
from .runner import RunResult, block_size, run
from .summary import SUMMARY_FORMAT

__all__ = ["SUMMARY", "MANIFEST", "SCENARIO", "OUTCOMES", "HISTOGRAMS", "INCOMPLETE", "PARTIAL", "TIMING_FIELDS",
           "KIND", "Columns", "run_id", "manifest", "write_run", "run_to_folder", "outcome_columns", "OutcomesFile",
           "require_complete", "is_earlier_run", "read_npz", "RunFolder"]

KIND = "run"
SUMMARY = "summary.json"
SCENARIO = "scenario.toml"
OUTCOMES = "outcomes.parquet"
OUTCOMES_FORMAT = 1  # version of outcomes.parquet's schema and metadata
HISTOGRAMS = "histograms.npz"
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
        "block_size": block_size(s),
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
            size = block_size(result.scenario)
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
        sink = OutcomesFile(tmp / OUTCOMES, scenario, reps, seed=seed) if save_outcomes else None
        result = run(scenario, reps, seed=seed, keep_outcomes=False, sink=sink, **run_options)
        if sink is not None:
            sink.close()
        _finish(result, tmp, overrides, extras, saved=save_outcomes)
    return result


def _finish(result: RunResult, tmp: Path, overrides, extras, *, saved: bool) -> None:
    (tmp / SCENARIO).write_text(result.scenario.resolved_toml, encoding="utf-8")
    write_json(tmp / SUMMARY, result.summary)
    agg = result.aggregate
    np.savez_compressed(tmp / HISTOGRAMS, bin_days=agg.width, capital=agg.capital_hist, capital_daily=agg.capital_daily,
                        nodes=agg.node_hist, end_states=agg.end_hist, control=agg.control_hist,
                        control_days=agg.control_days, control_weights=agg.control_weights,
                        control_basis=np.array(agg.control_basis))
    for extra in extras:
        extra(tmp)
    write_json(tmp / MANIFEST, manifest(result, overrides=overrides, saved=saved))  # the commit point


def outcome_columns(outcomes, parameters: dict | None, th: Theatre) -> dict[str, np.ndarray]:
    """outcomes.parquet's columns after ``replication`` and ``block``: the outcomes, one value per
    replication, then each uncertain parameter's draws as ``param:PATH``."""
    cols = outcomes.columns(th.node_names, th.ally_names)
    cols.update({f"param:{k}": v for k, v in (parameters or {}).items()})
    return cols


def column_unit(name: str) -> str:
    """The unit of an outcomes.parquet column (``fall_day.NODE`` -> ``days since as_of``)."""
    from ..scenario.schema import unit_of
    if name.startswith("param:"):
        return unit_of(name[len("param:"):])
    head = name.partition(".")[0]
    if head.endswith("_day"):
        return "days since as_of (null: never)"
    return {"end_state": "", "dispersed": "fighters", "final_belief": "probability", "replication": "",
            "block": ""}.get(head, "")


class OutcomesFile:
    """outcomes.parquet written block by block, one row group per block, so memory holds one block
    and the file is readable by pandas, polars, duckdb or pyarrow in one line.

    Columns: ``replication`` (int64, 0-based, the row's index in the run), ``block`` (int32, the
    seeded block it ran in), ``end_state`` (dictionary-encoded: captured, collapsed, holds), then
    :func:`outcome_columns` as float64 with null for "never". The schema's metadata (key ``sim``, JSON)
    holds the format version, scenario, seed, replications, node and ally names, the end-state labels
    and each column's unit. Compressed with LZ4, which writes at about disk speed."""

    def __init__(self, path: Path, scenario, reps: int, *, seed: int):
        self.path, self.reps, self.seed, self.done, self.blocks = Path(path), reps, seed, 0, 0
        self.scenario = scenario
        self.theatre = Theatre.from_scenario(scenario)
        self.writer = None

    def _schema(self, cols: dict[str, np.ndarray]):
        import json

        import pyarrow as pa

        from ..engines.outcomes import END_STATES
        th = self.theatre
        fields = [pa.field("replication", pa.int64()), pa.field("block", pa.int32()),
                  pa.field("end_state", pa.dictionary(pa.int8(), pa.string()))]
        fields += [pa.field(name, pa.from_numpy_dtype(col.dtype)) for name, col in cols.items() if name != "end_state"]
        meta = {"format": OUTCOMES_FORMAT, "scenario": self.scenario.name, "seed": self.seed, "reps": self.reps,
                "nodes": list(th.node_names), "allies": list(th.ally_names), "end_states": list(END_STATES),
                "units": {f.name: column_unit(f.name) for f in fields}}
        return pa.schema(fields, metadata={"sim": json.dumps(meta)})

    def add(self, outcomes, parameters: dict) -> None:
        """Append one block's outcomes and parameter draws (blocks arrive in block order)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from ..engines.outcomes import END_STATES
        cols = outcome_columns(outcomes, parameters, self.theatre)
        if self.writer is None:
            self.labels = pa.array(END_STATES, pa.string())
            # Dictionary pages only for the end state: on columns of distinct doubles they took four
            # times as long to write, for a file a tenth smaller.
            self.writer = pq.ParquetWriter(self.path, self._schema(cols), compression="lz4",
                                           use_dictionary=["end_state"])
        n = len(outcomes)
        arrays = [pa.array(np.arange(self.done, self.done + n, dtype=np.int64)),
                  pa.array(np.full(n, self.blocks, dtype=np.int32)),
                  pa.DictionaryArray.from_arrays(pa.array(np.asarray(cols.pop("end_state"), dtype=np.int8)),
                                                 self.labels)]
        arrays += [pa.array(np.ascontiguousarray(col), from_pandas=True) for col in cols.values()]  # NaN: null
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.writer.schema), row_group_size=max(n, 1))
        self.done += n
        self.blocks += 1

    def close(self) -> None:
        """Finish the file (its footer); every replication must have arrived."""
        if self.done != self.reps:
            raise RuntimeError(f"{self.done} of {self.reps} replications reached the outcomes file")
        if self.writer is not None:
            self.writer.close()


def is_earlier_run(folder: Path) -> bool:
    """Whether ``folder`` is a run written before manifests named their kind: its manifest's
    ``summary_sha256`` is that of its summary.json (a stranger's folder cannot pass for one)."""
    m = peek_json(Path(folder) / MANIFEST)
    try:
        summary = read_bytes(Path(folder) / SUMMARY, limit=50_000_000, error=lambda m: ResultsError(folder, m))
    except ResultsError:
        return False
    return isinstance(m, dict) and "block_size" in m and m.get("summary_sha256") == hashlib.sha256(summary).hexdigest()


def require_complete(run_dir) -> Path:
    """``run_dir`` as a Path if it is a complete run folder, else raise :class:`ResultsError` (one line).

    Complete means: a folder, not a staging ``.partial`` folder, without an ``INCOMPLETE`` marker,
    with summary.json, histograms.npz and manifest.json (written last). Every command that reads a
    run folder (plot, report, compare, rerun) checks this first.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ResultsError(run_dir, "not a finished run folder (no such folder)")
    if run_dir.name.endswith(PARTIAL) or (run_dir / INCOMPLETE).exists():
        raise ResultsError(run_dir, "incomplete run folder: the run was interrupted before all its files "
                                    "were written; run it again")
    missing = [name for name in (SUMMARY, HISTOGRAMS, MANIFEST) if not (run_dir / name).is_file()]
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


def _from_npz(path: Path, read):
    """``read(npz)`` on the .npz file of ours at ``path``; object arrays are refused (numpy loads no
    code) and any failure (BadZipFile, zlib.error, OSError, ValueError...) is a damaged file:
    :class:`ResultsError`."""
    try:
        with np.load(path) as z:
            return read(z)
    except Exception as exc:
        raise ResultsError(path, f"cannot be read ({type(exc).__name__}: {exc})") from None


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file of ours, all at once, or :class:`ResultsError` if it is damaged."""
    check_regular(path, error=lambda m: ResultsError(path, m), what="results file")
    return _from_npz(path, lambda z: {k: z[k] for k in z.files})


class RunFolder:
    """A finished run's folder, read from its files alone: what figures, comparisons and reports draw from.

    ``summary`` and ``histograms`` (histograms.npz: ``bin_days``, ``capital``, ``nodes``; in runs
    written since they were added, ``end_states``, ``control``, ``control_days``,
    ``control_weights``, ``control_basis``) are read at once; ``manifest`` (None if absent),
    ``scenario`` (the resolved scenario.toml) and ``outcomes`` (outcomes.parquet columns, None if
    outcomes were not kept) on first use. A damaged file raises :class:`ResultsError`.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.summary = read_summary(self.path)
        self.histograms = read_npz(self.path / HISTOGRAMS)
        for key in ("bin_days", "capital", "nodes"):
            if key not in self.histograms:
                raise ResultsError(self.path / HISTOGRAMS, f"is not a run's histograms (no {key})")

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
    def outcomes(self) -> "Columns | None":
        """outcomes.parquet's columns, each read when first asked for (a large run's file is never read whole)."""
        return Columns(self.path / OUTCOMES) if self.has_outcomes else None


class Columns(Mapping):
    """The columns of a run's outcomes.parquet as numpy arrays, each read from the file when asked for
    (none is kept, so a reader holds only what it uses): null reads as NaN, ``end_state`` as its int8
    codes (:data:`sim.engines.outcomes.END_STATES` order), ``replication`` and ``block`` are left out.
    ``head(name, n)`` reads only the row groups the first ``n`` rows need. A damaged file raises
    :class:`ResultsError`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        check_regular(self.path, error=lambda m: ResultsError(self.path, m), what="results file")
        self.names = [n for n in self._file().schema_arrow.names if n not in ("replication", "block")]

    def _file(self):
        import pyarrow.parquet as pq
        try:
            return pq.ParquetFile(self.path)
        except Exception as exc:
            raise ResultsError(self.path, f"cannot be read ({type(exc).__name__}: {exc})") from None

    def _read(self, name: str, row_groups=None, f=None) -> np.ndarray:
        if name not in self.names:
            raise KeyError(name)
        f = f or self._file()
        try:
            groups = range(f.num_row_groups) if row_groups is None else row_groups
            column = f.read_row_groups(list(groups), columns=[name]).column(0)
            if name == "end_state":
                return np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in column.chunks]
                                      or [np.zeros(0, np.int8)]).astype(np.int8)
            return column.to_numpy()
        except Exception as exc:
            raise ResultsError(self.path, f"cannot be read ({type(exc).__name__}: {exc})") from None

    def __getitem__(self, name: str) -> np.ndarray:
        return self._read(name)

    def head(self, name: str, n: int) -> np.ndarray:
        """The column's first ``n`` values, reading no more row groups than they need."""
        f, rows, groups = self._file(), 0, []
        while rows < n and len(groups) < f.num_row_groups:
            rows += f.metadata.row_group(len(groups)).num_rows
            groups.append(len(groups))
        return self._read(name, groups, f)[:n]

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)
