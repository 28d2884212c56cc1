"""A run's per-replication outcomes as a table: outcomes.parquet, written block by block, read a
column at a time, and the same table in memory for a run that kept its outcomes.

Columns: ``replication`` (int64, 0-based, the row's index in the run), ``block`` (int32, the seeded
block it ran in), ``end_state`` (a dictionary column, labels captured, collapsed, holds: pandas reads
it as a Categorical), then :func:`outcome_columns` as float64 with null for "never", but for
``fall_how.NODE``, how each node first fell: a dictionary column too (labels assault, abandoned,
rising, collapse; null where it never fell). Each field's metadata holds its ``unit``; the schema's
metadata (key ``sim``, JSON) holds the format version, the scenario's name, title, as_of and
horizon, the seed, replications, node and ally names, the end-state and fall-mode labels and each
column's unit. Readable by pandas, polars, duckdb or pyarrow in one line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..engines.outcomes import END_STATES, FALL_MODES, NOT_FALLEN
from ..engines.theatre import Theatre
from ..errors import ResultsError
from ..files import check_regular

__all__ = ["OUTCOMES", "OUTCOMES_FORMAT", "outcome_columns", "column_unit", "labels_of", "schema", "block_table",
           "frame", "OutcomesFile", "Columns", "InMemoryColumns"]

OUTCOMES = "outcomes.parquet"
# Version of outcomes.parquet's schema and metadata: 2, the scenario's as_of and units per field;
# 3, how each node fell (fall_how.NODE) and the fall-mode labels.
OUTCOMES_FORMAT = 3
LEFT_OUT = ("replication", "block")  # columns of the file that are not outcomes


def outcome_columns(outcomes, parameters: dict | None, th: Theatre) -> dict[str, np.ndarray]:
    """outcomes.parquet's columns after ``replication`` and ``block``: the outcomes, one value per
    replication, then each uncertain parameter's draws as ``param:PATH``."""
    cols = outcomes.columns(th.node_names, th.ally_names)
    cols.update({f"param:{k}": v for k, v in (parameters or {}).items()})
    return cols


def labels_of(name: str) -> tuple[str, ...] | None:
    """The labels of a dictionary column (``end_state``, ``fall_how.NODE``), indexed by its codes;
    None for any other column."""
    if name == "end_state":
        return END_STATES
    return FALL_MODES if name.startswith("fall_how.") else None


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


def schema(scenario, reps: int, *, seed: int, cols: dict[str, np.ndarray]):
    """The pyarrow schema of a run's outcomes with columns ``cols`` (:func:`outcome_columns`)."""
    import pyarrow as pa

    th = Theatre.from_scenario(scenario)
    types = [("replication", pa.int64()), ("block", pa.int32()), ("end_state", pa.dictionary(pa.int8(), pa.string()))]
    types += [(name, pa.dictionary(pa.int8(), pa.string()) if labels_of(name) else pa.from_numpy_dtype(col.dtype))
              for name, col in cols.items() if name != "end_state"]
    fields = [pa.field(name, kind, metadata={"unit": column_unit(name)}) for name, kind in types]
    meta = {"format": OUTCOMES_FORMAT, "scenario": scenario.name, "title": scenario.title,
            "as_of": scenario.as_of.isoformat(), "horizon_days": scenario.horizon_days, "seed": seed, "reps": reps,
            "nodes": list(th.node_names), "allies": list(th.ally_names), "end_states": list(END_STATES),
            "fall_modes": list(FALL_MODES), "units": {f.name: column_unit(f.name) for f in fields}}
    return pa.schema(fields, metadata={"sim": json.dumps(meta)})


def block_table(schema_, cols: dict[str, np.ndarray], *, first: int, block: int):
    """One block's rows as a pyarrow Table of ``schema_``: replications ``first``, ``first + 1``, ...
    of block ``block``, the columns ``cols`` (:func:`outcome_columns`; NaN, and a fall mode's
    NOT_FALLEN, become null)."""
    import pyarrow as pa

    cols = dict(cols)
    n = len(cols["end_state"])
    labels = pa.array(END_STATES, pa.string())
    arrays = [pa.array(np.arange(first, first + n, dtype=np.int64)), pa.array(np.full(n, block, dtype=np.int32)),
              pa.DictionaryArray.from_arrays(pa.array(np.asarray(cols.pop("end_state"), dtype=np.int8)), labels)]
    for name, col in cols.items():
        labels_ = labels_of(name)
        if labels_ is None:
            arrays.append(pa.array(np.ascontiguousarray(col), from_pandas=True))
        else:
            codes = np.asarray(col, dtype=np.int8)
            arrays.append(pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes == NOT_FALLEN),
                                                         pa.array(labels_, pa.string())))
    return pa.Table.from_arrays(arrays, schema=schema_)


def frame(table):
    """A table of outcomes (:func:`block_table`, or a file's) as a pandas DataFrame: ``end_state`` and
    ``fall_how.NODE`` Categoricals with their labels, null as NaN, the schema's ``sim`` metadata in
    ``DataFrame.attrs``."""
    df = table.to_pandas()
    df.attrs.update(json.loads((table.schema.metadata or {}).get(b"sim", b"{}")))
    return df


class OutcomesFile:
    """outcomes.parquet written block by block, one row group per block, so memory holds one block.
    Compressed with LZ4, which writes at about disk speed. ``reps`` is None for an adaptive run, which
    does not know how many will arrive (the metadata's ``reps`` is then null; the rows say)."""

    def __init__(self, path: Path, scenario, reps: int | None, *, seed: int):
        self.path, self.reps, self.seed, self.done, self.blocks = Path(path), reps, seed, 0, 0
        self.scenario = scenario
        self.theatre = Theatre.from_scenario(scenario)
        self.writer = None

    def add(self, outcomes, parameters: dict) -> None:
        """Append one block's outcomes and parameter draws (blocks arrive in block order)."""
        import pyarrow.parquet as pq

        cols = outcome_columns(outcomes, parameters, self.theatre)
        if self.writer is None:
            # Dictionary pages only for the labelled columns: on columns of distinct doubles they
            # took four times as long to write, for a file a tenth smaller.
            self.writer = pq.ParquetWriter(self.path, schema(self.scenario, self.reps, seed=self.seed, cols=cols),
                                           compression="lz4", use_dictionary=[c for c in cols if labels_of(c)])
        n = len(outcomes)
        self.writer.write_table(block_table(self.writer.schema, cols, first=self.done, block=self.blocks),
                                row_group_size=max(n, 1))
        self.done += n
        self.blocks += 1

    def close(self) -> None:
        """Finish the file (its footer); every replication must have arrived."""
        if self.reps is not None and self.done != self.reps:
            raise RuntimeError(f"{self.done} of {self.reps} replications reached the outcomes file")
        if self.writer is not None:
            self.writer.close()


class Columns(Mapping):
    """The columns of a run's outcomes.parquet as numpy arrays, each read from the file when asked for
    (none is kept, so a reader holds only what it uses): null reads as NaN, ``end_state`` and
    ``fall_how.NODE`` as their int8 codes (:data:`sim.engines.outcomes.END_STATES` and ``FALL_MODES``
    order; a fall mode's null as NOT_FALLEN, -1), ``replication`` and ``block`` are left out.
    ``head(name, n)`` reads only the row groups the first ``n`` rows need; :meth:`table` reads the
    whole file. A damaged file, or one of another format, raises :class:`ResultsError`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        check_regular(self.path, error=lambda m: ResultsError(self.path, m), what="results file")
        arrow = self._file().schema_arrow
        try:
            found = json.loads((arrow.metadata or {}).get(b"sim", b"{}")).get("format", 1)
        except (ValueError, AttributeError):
            found = None
        if found != OUTCOMES_FORMAT:
            raise ResultsError(self.path, f"has outcomes format {found!r}, this version reads {OUTCOMES_FORMAT}: "
                                          f"write the run again (sim rerun {self.path.parent} --out NEW_FOLDER)")
        self.names = [n for n in arrow.names if n not in LEFT_OUT]

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
            if labels_of(name):
                import pyarrow.compute as pc
                return np.concatenate([pc.fill_null(c.indices, NOT_FALLEN).to_numpy(zero_copy_only=False)
                                       for c in column.chunks] or [np.zeros(0, np.int8)]).astype(np.int8)
            return column.to_numpy()
        except Exception as exc:
            raise ResultsError(self.path, f"cannot be read ({type(exc).__name__}: {exc})") from None

    def table(self):
        """The whole file as a pyarrow Table, every column (``replication`` and ``block`` too)."""
        try:
            return self._file().read()
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


class InMemoryColumns(Mapping):
    """The columns :class:`Columns` gives, of a run's outcomes kept in memory (no file): the same
    names, NaN for never, ``end_state`` and ``fall_how.NODE`` as their int8 codes."""

    def __init__(self, outcomes, parameters: dict | None, th: Theatre):
        self._cols = outcome_columns(outcomes, parameters, th)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name]

    def head(self, name: str, n: int) -> np.ndarray:
        return self._cols[name][:n]

    def __iter__(self):
        return iter(self._cols)

    def __len__(self) -> int:
        return len(self._cols)
