"""Results folders: written whole or not at all.

A run is written into a hidden temporary folder beside its destination (``.NAME.XXXX.partial``,
holding an ``INCOMPLETE`` marker until its last file, manifest.json, is written) and renamed into
place when complete, so a folder at the destination is always a finished run. An interrupted run
leaves nothing (Ctrl-C, SIGTERM: the CLI removes the temporary folder) or, if the process was
killed outright, a hidden folder marked incomplete, which :func:`require_complete` refuses. JSON
files and redrawn figures are written to a temporary file and renamed over the old one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
from functools import cached_property
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import ResultsError
from ..files import git_commit, json_bytes, mode, write_json
from .runner import BLOCK_SIZE, RunResult

SUMMARY = "summary.json"
MANIFEST = "manifest.json"
SCENARIO = "scenario.toml"
OUTCOMES = "outcomes.npz"
HISTOGRAMS = "histograms.npz"
INCOMPLETE = "INCOMPLETE"   # marker file: present from a run folder's creation until it is complete
PARTIAL = ".partial"        # suffix of the temporary folder a run is written into
TIMING_FIELDS = ("created", "wall_seconds")  # manifest.json's fields that differ between identical runs


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
        "version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "simpy": _version("simpy"),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(result.wall_seconds, 3),
        "command": command if command is not None else sys.argv,
    }


def write_run(result: RunResult, out_dir: Path, *, overrides=(), extras=()) -> Path:
    """Write a run's folder: scenario, manifest, summary, histograms, outcomes (if kept), then each
    of ``extras`` (``extra(folder)``, e.g. the figures) on the files written so far."""
    out_dir = Path(out_dir)
    _check_destination(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=PARTIAL))
    except OSError as exc:
        raise ResultsError(out_dir, f"cannot create the results folder ({exc.strerror or exc})") from None
    try:
        os.chmod(tmp, mode(0o777))
        (tmp / INCOMPLETE).write_text("This run was interrupted before all its files were written.\n")
        (tmp / SCENARIO).write_text(result.scenario.resolved_toml, encoding="utf-8")
        write_json(tmp / SUMMARY, result.summary)
        agg = result.aggregate
        np.savez_compressed(tmp / HISTOGRAMS, bin_days=agg.width, capital=agg.capital_hist, nodes=agg.node_hist,
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
        (tmp / INCOMPLETE).unlink()
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise ResultsError(out_dir, f"cannot write the results folder ({exc.strerror or exc})") from None
        raise
    return out_dir


def _check_destination(out_dir: Path) -> None:
    """Refuse a destination that write_run would not replace safely: it replaces only an earlier run."""
    if out_dir.name in ("", ".", ".."):
        raise ResultsError(out_dir, "not a folder name to write a run into")
    try:
        if not out_dir.exists() and not out_dir.is_symlink():
            return
        if not out_dir.is_dir():
            raise ResultsError(out_dir, "exists and is not a folder")
        if any(out_dir.iterdir()) and not ((out_dir / MANIFEST).exists() or (out_dir / SUMMARY).exists()):
            raise ResultsError(out_dir, "exists and is not a results folder; refusing to replace it")
    except OSError as exc:
        raise ResultsError(out_dir, f"cannot be inspected ({exc.strerror or exc})") from None


def require_complete(run_dir) -> Path:
    """``run_dir`` as a Path if it is a complete run folder, else raise :class:`ResultsError` (one line).

    Complete means: a folder, not a run's temporary ``.partial`` folder, without an ``INCOMPLETE``
    marker, with summary.json, histograms.npz and manifest.json (written last). Every command that
    reads a run folder (plot, report, compare, rerun) checks this first.
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
    return json.loads((Path(run_dir) / SUMMARY).read_text(encoding="utf-8"))


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` holds a finished run (its summary and histograms)."""
    return (Path(path) / SUMMARY).is_file() and (Path(path) / HISTOGRAMS).is_file()


class RunFolder:
    """A finished run's folder, read from its files alone: what figures, comparisons and reports draw from.

    ``histograms`` (histograms.npz: ``bin_days``, ``capital``, ``nodes``; in runs written since
    they were added, ``end_states``, ``control``, ``control_days``, ``control_weights``,
    ``control_basis``) is read at once; ``manifest`` (None if absent), ``scenario`` (the resolved
    scenario.toml) and ``outcomes`` (outcomes.npz columns, None if outcomes were not kept) on first use.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.summary = read_summary(self.path)
        with np.load(self.path / HISTOGRAMS) as h:
            self.histograms = {k: h[k] for k in h.files}

    @cached_property
    def manifest(self) -> dict | None:
        path = self.path / MANIFEST
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    @cached_property
    def scenario(self):
        from ..scenario.load import load_scenario
        return load_scenario(self.path / SCENARIO)

    @cached_property
    def outcomes(self) -> dict[str, np.ndarray] | None:
        path = self.path / OUTCOMES
        if not path.is_file():
            return None
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
