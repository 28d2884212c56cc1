"""Results folders: written whole or not at all.

A run is written into a hidden temporary folder beside its destination and renamed into place
when complete, so a folder at the destination is always a finished run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import __version__
from .runner import BLOCK_SIZE, RunResult

SUMMARY = "summary.json"
MANIFEST = "manifest.json"
SCENARIO = "scenario.toml"
OUTCOMES = "outcomes.npz"
HISTOGRAMS = "histograms.npz"


def run_id(result: RunResult) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-seed{result.seed}-reps{result.reps}"


def git_commit() -> str | None:
    """The commit of the checkout the package runs from, if it is one."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def write_json(path: Path, data) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=_json_default)
            fh.write("\n")
        os.chmod(tmp, _mode(0o666))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode(full: int) -> int:
    """``full`` less the process umask (temporary files and folders are created private)."""
    umask = os.umask(0)
    os.umask(umask)
    return full & ~umask


def _json_default(v):
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def manifest(result: RunResult, *, overrides=(), command=None) -> dict:
    s = result.scenario
    return {
        "scenario": s.name,
        "scenario_file": s.source_path,
        "overrides": list(overrides),
        "seed": result.seed,
        "reps": result.reps,
        "engine": result.engine,
        "block_size": BLOCK_SIZE,
        "horizon_days": s.horizon_days,
        "version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(result.wall_seconds, 3),
        "command": command if command is not None else sys.argv,
    }


def write_run(result: RunResult, out_dir: Path, *, overrides=(), plots=True) -> Path:
    """Write a run's folder: scenario, manifest, summary, histograms, outcomes (if kept) and plots."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".partial"))
    os.chmod(tmp, _mode(0o777))
    try:
        (tmp / SCENARIO).write_text(result.scenario.resolved_toml, encoding="utf-8")
        write_json(tmp / SUMMARY, result.summary)
        agg = result.aggregate
        np.savez_compressed(tmp / HISTOGRAMS, bin_days=agg.width, capital=agg.capital_hist, nodes=agg.node_hist)
        if result.outcomes is not None:
            th = result.theatre
            cols = result.outcomes.columns(th.node_names, th.ally_names)
            cols.update({f"param:{k}": v for k, v in (result.parameters or {}).items()})
            np.savez_compressed(tmp / OUTCOMES, **cols)
        if plots:
            from .plots import plot_run
            plot_run(tmp)
        write_json(tmp / MANIFEST, manifest(result, overrides=overrides))
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def read_summary(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / SUMMARY).read_text(encoding="utf-8"))
