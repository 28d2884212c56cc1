"""Reproducing a finished run from its folder alone (``sim rerun RUN_DIR``).

A run folder holds what it takes: ``scenario.toml`` (the resolved scenario, ``--set`` overrides and
``--horizon`` already applied) and ``manifest.json`` (seed, replications, engine, block size,
versions). The rerun draws the same numbers whatever its workers or executor, so its summary.json
must equal the original byte for byte; summary.json has no timing field (timing is in the manifest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._version import __version__
from ..engines import ENGINES
from ..errors import ResultsError
from ..files import json_bytes, read_bytes, read_json
from ..scenario.load import load_scenario
from .folder import MANIFEST, OUTCOMES, SCENARIO, SUMMARY, TIMING_FIELDS, require_complete
from .runner import MAX_REPS, RunResult, run

__all__ = ["Rerun", "first_difference", "read_manifest", "rerun"]


@dataclass
class Rerun:
    """The outcome of rerunning ``original``: ``matches`` if the summaries agree (timing fields aside),
    ``identical`` if summary.json's bytes do too; ``difference`` names the first key that differs."""

    original: Path
    manifest: dict
    result: RunResult
    matches: bool
    identical: bool
    difference: str | None = None
    notes: list[str] = field(default_factory=list)


def read_manifest(run_dir: Path) -> dict:
    """manifest.json of a complete run folder, with the fields a rerun needs checked."""
    path = Path(run_dir) / MANIFEST
    m = read_json(path, limit=1_000_000)
    if not isinstance(m, dict):
        raise ResultsError(path, "must be a JSON object")

    def whole(key: str, low: int, high: int) -> int:
        v = m.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise ResultsError(path, f"{key}: must be a whole number in [{low}, {high:,}], not {v!r}")
        return v

    whole("seed", 0, 2**128 - 1)
    whole("reps", 1, MAX_REPS)
    if "block_size" in m:  # written by every version that ran in blocks; older runs ran in this version's
        whole("block_size", 1, MAX_REPS)
    if not isinstance(m.get("engine"), str) or m["engine"] not in ENGINES:
        raise ResultsError(path, f"engine: must be one of {', '.join(sorted(ENGINES))}, not {m.get('engine')!r}")
    scenario = m.get("resolved_scenario", SCENARIO)
    if not isinstance(scenario, str) or Path(scenario).name != scenario:
        raise ResultsError(path, f"resolved_scenario: must name a file in the run folder, not {scenario!r}")
    return m


def run_scenario(run_dir: Path, m: dict, overrides=(), *, posterior=None):
    """The resolved scenario of a complete run folder whose manifest is ``m`` (:func:`read_manifest`),
    with ``overrides`` and ``posterior`` as ``load_scenario`` takes them. The run was made: if its
    scenario cites sources after its as_of, it was run with --allow-lookahead."""
    return load_scenario(Path(run_dir) / m.get("resolved_scenario", SCENARIO), overrides, posterior=posterior,
                         allow_lookahead=True)


def first_difference(a, b, path: str = "") -> str | None:
    """The first key path at which two JSON values differ (``None`` if equal), with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                return f"{path}{k}: only in the original"
            d = first_difference(a[k], b[k], f"{path}{k}.")
            if d is not None:
                return d
        for k in b:
            if k not in a:
                return f"{path}{k}: only in the rerun"
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}{i}.")
            if d is not None:
                return d
        return None
    if type(a) is type(b) and a == b:
        return None
    return f"{path.rstrip('.') or '(the whole file)'}: {a!r} in the original, {b!r} in the rerun"


def _without_timing(d):
    return {k: v for k, v in d.items() if k not in TIMING_FIELDS} if isinstance(d, dict) else d


def rerun(run_dir, *, workers: int = 1, executor=None, progress=None) -> Rerun:
    """Run a finished run again from its folder and compare the summaries (``progress`` as in
    :func:`sim.runs.runner.run`).

    Raises :class:`ResultsError` for a folder that is not a complete run or has an unreadable
    manifest, and :class:`~sim.errors.ScenarioError` if its scenario.toml no longer loads.
    """
    run_dir = require_complete(run_dir, histograms=False)  # a rerun reads its scenario and manifest
    m = read_manifest(run_dir)
    scenario = run_scenario(run_dir, m)
    keep = m.get("save_outcomes")
    keep = keep if isinstance(keep, bool) else (run_dir / OUTCOMES).is_file()
    # The same blocks, seeded by index, give the same numbers: an adaptive run's too (its blocks, as many
    # as it ran, with no stopping rule).
    result = run(scenario, m["reps"], seed=m["seed"], engine=m["engine"], workers=workers, executor=executor,
                 keep_outcomes=keep, progress=progress, block=m.get("block_size"))
    before = read_bytes(run_dir / SUMMARY, limit=50_000_000, error=lambda m: ResultsError(run_dir / SUMMARY, m))
    try:
        original = json.loads(before)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ResultsError(run_dir / SUMMARY, f"is not valid JSON ({exc})") from None
    after = json_bytes(result.summary)
    difference = first_difference(_without_timing(original), _without_timing(json.loads(after)))
    notes = []
    if m.get("version", __version__) != __version__:
        notes.append(f"the original was written by sim {m['version']}, this is sim {__version__}")
    if isinstance(original, dict) and original.get("format", 1) != result.summary["format"]:
        notes.append(f"the original's summary.json has layout {original.get('format', 1)!r}, this version writes "
                     f"layout {result.summary['format']}: the files differ in form, whatever the numbers")
    if scenario.lookahead:
        notes.append(f"the scenario cites {len(scenario.lookahead)} source(s) dated after its as_of (it was run "
                     f"with --allow-lookahead): {scenario.lookahead[0]}")
    if m.get("numpy", np.__version__) != np.__version__:
        notes.append(f"the original drew its numbers with numpy {m['numpy']}, this with numpy {np.__version__}")
    return Rerun(run_dir, m, result, difference is None, before == after, difference, notes)
