"""``sim report FOLDER``: one self-contained HTML page for any result folder sim writes. The kind is
read from the folder (:func:`sim.files.folder_kind`); each kind has its module (run, compare, grid,
sensitivity, backtest, paths, update and timeline), and every page is built by :mod:`.page`, so all
reports share one skeleton and one style."""

from __future__ import annotations

from pathlib import Path

from ...errors import ResultsError
from ...files import folder_kind, read_bytes, read_json, write_text
from ...forecast.backtest import KIND as BACKTEST
from ...forecast.update import TIMELINE, UPDATE
from ...runs.folder import KIND as RUN, RunFolder, is_earlier_run, require_complete
from ...runs.paths import KIND as PATHS
from ...studies.grid import KIND as GRID
from ...studies.sensitivity import KIND as SENSITIVITY
from ..compare import KIND as COMPARE, is_earlier_comparison
from .page import GENERATOR

REPORT = "report.html"
KINDS = (RUN, COMPARE, GRID, SENSITIVITY, BACKTEST, PATHS, UPDATE, TIMELINE)


def kind_of(folder: Path) -> str:
    """The kind of result folder ``folder`` is, or :class:`ResultsError` (one line) if it is none
    that sim reports on: not a folder, not sim's, incomplete, or a calibration."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError(folder, "not a result folder (no such folder)")
    kind, complete = folder_kind(folder)
    if kind is None and is_earlier_run(folder):
        return RUN
    if kind is None and is_earlier_comparison(folder):
        return COMPARE
    if kind is None:
        raise ResultsError(folder, "not a result folder sim wrote (its manifest.json does not name one of: "
                                   f"{', '.join(KINDS)})")
    if not complete:
        raise ResultsError(folder, f"incomplete {kind} folder: it was interrupted before all its files were "
                                   "written; run it again")
    if kind not in KINDS:
        raise ResultsError(folder, f"a {kind} folder: sim report writes reports of {', '.join(KINDS)} folders")
    return kind


def report_html(folder: Path) -> str:
    """The report of the result folder ``folder``, whatever its kind, as one HTML document."""
    from . import backtest, compare, grid, paths, run, sensitivity, update

    folder = Path(folder)
    kind = kind_of(folder)
    if kind == RUN:
        return run.report_html(RunFolder(require_complete(folder)), str(folder))
    builder = {COMPARE: compare.report_html, GRID: grid.report_html, SENSITIVITY: sensitivity.report_html,
               BACKTEST: backtest.report_html, PATHS: paths.report_html, UPDATE: update.report_html,
               TIMELINE: update.report_html}[kind]
    return builder(folder)


def is_report(path: Path) -> bool:
    """Whether the file at ``path`` is a report sim wrote (its head carries the generator mark)."""
    try:
        return GENERATOR.encode() in read_bytes(path, limit=500_000_000, error=OSError)[:2048]
    except OSError:
        return False


def write_report(folder: Path, out: Path | None = None) -> Path:
    """Write the report (``FOLDER/report.html`` unless ``out`` names a file) atomically and return its
    path; an existing file is replaced only if it is a report sim wrote."""
    folder = Path(folder)
    kind_of(folder)
    path = Path(out) if out is not None else folder / REPORT
    if path.is_symlink() or path.is_dir() or (path.exists() and not (path.is_file() and is_report(path))):
        raise ResultsError(path, "exists and is not a report sim wrote; refusing to replace it (choose another --out)")
    html = report_html(folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, html)
    except OSError as exc:
        raise ResultsError(path, f"cannot write the report ({exc.strerror or exc})") from None
    return path


def folder_json(folder: Path, name: str):
    """A JSON file of a result folder, through the one reader; a missing or damaged one is one line."""
    data = read_json(Path(folder) / name)
    if not isinstance(data, dict):
        raise ResultsError(Path(folder) / name, "is not a JSON object")
    return data


def folder_png(folder: Path, name: str) -> bytes | None:
    """A figure of a result folder as PNG bytes, None if the folder has none by that name."""
    path = Path(folder) / name
    if not path.exists():
        return None
    return read_bytes(path, limit=100_000_000, error=lambda m: ResultsError(path, m), what="figure")
