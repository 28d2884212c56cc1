"""Results folders: written whole or not at all.

A run is written into a hidden temporary folder beside its destination (``.NAME.XXXX.partial``,
holding an ``INCOMPLETE`` marker until its last file, manifest.json, is written) and renamed into
place when complete, so a folder at the destination is always a finished run. An interrupted run
leaves nothing (Ctrl-C, SIGTERM: the CLI removes the temporary folder) or, if the process was
killed outright, a hidden folder marked incomplete, which :func:`require_complete` refuses. JSON
files and redrawn figures are written to a temporary file and renamed over the old one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from functools import cached_property
from pathlib import Path

import numpy as np

from . import __version__
from .errors import ResultsError
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


def git_commit() -> str | None:
    """The commit of the checkout the package runs from, if it is one."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def json_bytes(data) -> bytes:
    """``data`` as the bytes :func:`write_json` writes (two-space indent, a final newline)."""
    return (json.dumps(data, indent=2, default=_json_default) + "\n").encode("utf-8")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically: a temporary file in the same folder, fsync, then rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode(0o666))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    write_text(path, json_bytes(data).decode("utf-8"))


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


def write_run(result: RunResult, out_dir: Path, *, overrides=(), plots=True) -> Path:
    """Write a run's folder: scenario, manifest, summary, histograms, outcomes (if kept) and plots."""
    out_dir = Path(out_dir)
    _check_destination(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=PARTIAL))
    except OSError as exc:
        raise ResultsError(out_dir, f"cannot create the results folder ({exc.strerror or exc})") from None
    try:
        os.chmod(tmp, _mode(0o777))
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
        if plots:
            from .plots import plot_run
            with plotting():
                plot_run(tmp)
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


@contextlib.contextmanager
def plotting():
    """Matplotlib settings for drawing a run's figures: text from a scenario (a title with two '$' in
    it) is never parsed as mathtext, and a glyph the font lacks is left out without a warning."""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        yield


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


def redraw(run_dir) -> list[Path]:
    """Redraw the figures of a complete run folder from its files; returns the figures written.

    The figures are drawn in a hidden staging folder inside ``run_dir`` (holding copies of, or for
    large files links to, the run's other files) and each is then renamed over the old one, so an
    interrupted redraw never leaves a half-written figure.
    """
    from . import plots

    run_dir = require_complete(run_dir)
    formats = {f".{ext}" for ext in getattr(plots, "FORMATS", ("png", "svg"))}
    try:
        stage = Path(tempfile.mkdtemp(dir=run_dir, prefix=".redraw.", suffix=PARTIAL))
    except OSError as exc:
        raise ResultsError(run_dir, f"cannot write figures here ({exc.strerror or exc})") from None
    try:
        inputs = set()
        for f in run_dir.iterdir():
            if f.is_file() and f.suffix not in formats and not f.name.startswith("."):
                if f.stat().st_size > 10_000_000:
                    os.symlink(f.resolve(), stage / f.name)  # read only: plots never write .npz or .json
                else:
                    shutil.copyfile(f, stage / f.name)
                inputs.add(f.name)
        with plotting():
            plots.plot_run(stage)
        written = []
        for f in sorted(stage.iterdir()):
            if f.name not in inputs and f.is_file() and not f.is_symlink():
                os.chmod(f, _mode(0o666))
                os.replace(f, run_dir / f.name)
                written.append(run_dir / f.name)
        return written
    except OSError as exc:
        raise ResultsError(run_dir, f"cannot redraw the figures ({exc.strerror or exc})") from None
    except (ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # a damaged summary or histograms file
        raise ResultsError(run_dir, f"cannot read the run's files ({type(exc).__name__}: {exc})") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


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
        from .loading import load_scenario
        return load_scenario(self.path / SCENARIO)

    @cached_property
    def outcomes(self) -> dict[str, np.ndarray] | None:
        path = self.path / OUTCOMES
        if not path.is_file():
            return None
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
