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

import numpy as np

from ..errors import ResultsError, ScenarioError
from ..files import (
    INCOMPLETE, MANIFEST, PARTIAL, check_regular, json_bytes, manifest_base, read_bytes, read_json, staged_folder, write_json,
)
from .runner import BLOCK_SIZE, RunResult

__all__ = ["SUMMARY", "MANIFEST", "SCENARIO", "OUTCOMES", "HISTOGRAMS", "INCOMPLETE", "PARTIAL", "TIMING_FIELDS",
           "KIND", "run_id", "manifest", "write_run", "require_complete", "is_earlier_run", "read_npz", "RunFolder"]

KIND = "run"
SUMMARY = "summary.json"
SCENARIO = "scenario.toml"
OUTCOMES = "outcomes.npz"
HISTOGRAMS = "histograms.npz"
TIMING_FIELDS = ("created", "wall_seconds")  # manifest.json's fields that differ between identical runs
SUMMARY_KEYS = {"scenario": str, "title": str, "as_of": str, "horizon_days": int, "reps": int, "seed": int,
                "end_states": dict, "capital_fall_day": dict, "nodes": dict}


def run_id(result: RunResult) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-seed{result.seed}-reps{result.reps}"


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version
        return version(module)
    except Exception:  # not installed as a distribution: the manifest records None
        return None


def manifest(result: RunResult, *, overrides=(), command=None) -> dict:
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
        "block_size": BLOCK_SIZE,
        "horizon_days": s.horizon_days,
        "save_outcomes": result.outcomes is not None,
        "summary_sha256": hashlib.sha256(json_bytes(result.summary)).hexdigest(),
        "scipy": _version("scipy"),
        "simpy": _version("simpy"),
        "wall_seconds": round(result.wall_seconds, 3),
    }


def write_run(result: RunResult, out_dir: Path, *, overrides=(), extras=()) -> Path:
    """Write a run's folder: scenario, summary, histograms, outcomes (if kept), then each of
    ``extras`` (``extra(folder)``, e.g. the figures) on the files written so far, and manifest.json."""
    out_dir = Path(out_dir)
    with staged_folder(out_dir, kind=KIND, owns=is_earlier_run, error="cannot write the results folder") as tmp:
        (tmp / SCENARIO).write_text(result.scenario.resolved_toml, encoding="utf-8")
        write_json(tmp / SUMMARY, result.summary)
        agg = result.aggregate
        np.savez_compressed(tmp / HISTOGRAMS, bin_days=agg.width, capital=agg.capital_hist, capital_daily=agg.capital_daily,
                            nodes=agg.node_hist,
                            end_states=agg.end_hist, control=agg.control_hist, control_days=agg.control_days,
                            control_weights=agg.control_weights, control_basis=np.array(agg.control_basis))
        if result.outcomes is not None:
            th = result.theatre
            cols = result.outcomes.columns(th.node_names, th.ally_names)
            cols.update({f"param:{k}": v for k, v in (result.parameters or {}).items()})
            np.savez_compressed(tmp / OUTCOMES, **cols)
        for extra in extras:
            extra(tmp)
        write_json(tmp / MANIFEST, manifest(result, overrides=overrides))  # the commit point
    return out_dir


def is_earlier_run(folder: Path) -> bool:
    """Whether ``folder`` is a run written before manifests named their kind: its manifest's
    ``summary_sha256`` is that of its summary.json (a stranger's folder cannot pass for one)."""
    try:
        m = read_json(Path(folder) / MANIFEST, limit=1_000_000)
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
    return s


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file of ours (plain arrays only), or :class:`ResultsError` if it is damaged."""
    check_regular(path, error=lambda m: ResultsError(path, m), what="results file")
    try:
        with np.load(path) as z:  # object arrays are refused (numpy loads no code)
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, EOFError, AttributeError) as exc:
        raise ResultsError(path, f"cannot be read ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # zipfile.BadZipFile, zlib.error and the like: a damaged file
        raise ResultsError(path, f"cannot be read (damaged: {type(exc).__name__})") from None


class RunFolder:
    """A finished run's folder, read from its files alone: what figures, comparisons and reports draw from.

    ``summary`` and ``histograms`` (histograms.npz: ``bin_days``, ``capital``, ``nodes``; in runs
    written since they were added, ``end_states``, ``control``, ``control_days``,
    ``control_weights``, ``control_basis``) are read at once; ``manifest`` (None if absent),
    ``scenario`` (the resolved scenario.toml) and ``outcomes`` (outcomes.npz columns, None if
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
            return load_scenario(self.path / SCENARIO)
        except ScenarioError as exc:
            raise ResultsError(self.path / SCENARIO, f"the run's resolved scenario no longer loads: {exc.message}") \
                from None

    @property
    def has_outcomes(self) -> bool:
        """Whether the run kept its per-replication outcomes (outcomes.npz is there, whatever it is)."""
        path = self.path / OUTCOMES
        return path.exists() or path.is_symlink()

    @cached_property
    def outcomes(self) -> dict[str, np.ndarray] | None:
        return read_npz(self.path / OUTCOMES) if self.has_outcomes else None
