"""A comparison's report: the runs side by side (headline numbers first), their fall-date curves
overlaid and interactive, the comparison's figures, and the command that wrote it. Read from
compare.json and manifest.json; the curves from the runs' folders where they still are."""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

import numpy as np

from ...errors import ResultsError
from ...files import MANIFEST
from ...runs.folder import RunFolder, require_complete
from ..compare import rows as cells
from ..style import DASH, date, number, pct
from . import folder_json, folder_png, hover
from .page import Section, command_line, commands, figure, note, page, table
from .run import within_label

FIGURES = (("compare_fall_day.png", "When the capital falls, run by run",
            "The cumulative probability that the capital has fallen by each date, one line per run, with 95% bands."),
           ("compare_end_states.png", "End states, run by run",
            "P(captured), P(collapsed), P(holds) of each run, with 95% intervals."))


def headline(runs: list[dict]) -> str:
    """The runs side by side: P(falls within d days) for every d any run reports, the end states and
    the median fall date."""
    days = list(dict.fromkeys(d for r in runs for d in r.get("capital_falls_within", {})))
    metrics = []
    for d in days:
        label = within_label(d, runs[0]["horizon_days"]) if all(r["horizon_days"] == runs[0]["horizon_days"]
                                                                 for r in runs) else f"P(falls within {d} days)"
        metrics.append((label, [pct(r.get("capital_falls_within", {}).get(d, {}).get("p")) for r in runs]))
    for state in runs[0]["end_states"]:
        metrics.append((f"P({state})", [pct(r["end_states"].get(state, {}).get("p")) for r in runs]))
    metrics.append(("median fall date", [DASH if r["capital_fall_day"]["p50"]["date"] is None else
                                         date(r["capital_fall_day"]["p50"]["date"]) for r in runs]))
    head = [""] + [r["label"] for r in runs]
    return table(head, [[m, *v] for m, v in metrics], set(range(1, len(runs) + 1)), "headline-table")


def _run_folder(path: str) -> RunFolder | None:
    try:
        return RunFolder(require_complete(Path(path)))
    except (ResultsError, OSError, ValueError):
        return None


def curves(runs: list[dict]) -> str:
    """The runs' P(capital fallen by day d) overlaid, from their folders' daily counts."""
    found, missing = [], []
    for r in runs:
        folder = _run_folder(r["path"])
        h = folder.histograms if folder is not None else {}
        if folder is None or "capital_falls_daily" not in h or folder.summary["reps"] != r["reps"]:
            missing.append(r["label"])
            continue
        daily = np.cumsum(np.asarray(h["capital_falls_daily"], dtype=np.int64)) / r["reps"]
        found.append(hover.Curve(r["label"], dt.date.fromisoformat(r["as_of"]), np.arange(len(daily), dtype=float),
                                 daily))
    out = []
    if found:
        start = min(c.as_of for c in found)
        right = max((c.as_of - start).days + len(c.x) - 1 for c in found)
        out.append(hover.curve_chart(found, right_day=right, what="P(fallen by then)", chart_id="compare-curve"))
    if missing:
        out.append(note(f"Not drawn here (the run's folder is no longer where compare.json says, or is not the "
                        f"run compared): {', '.join(missing)}."))
    return "".join(out)


def report_html(folder: Path) -> str:
    folder = Path(folder)
    c, m = folder_json(folder, "compare.json"), folder_json(folder, MANIFEST)
    runs = c["runs"]
    if not isinstance(runs, list) or not runs:
        raise ResultsError(folder / "compare.json", "holds no runs")
    table_cells = [cells(r) for r in runs]
    metrics = list(dict.fromkeys(k for t in table_cells for k in t))
    side = table([""] + [r["label"] for r in runs], [[k, *(t.get(k, DASH) for t in table_cells)] for k in metrics],
                 set(range(1, len(runs) + 1)))
    paths = table(["run", "folder", "as of", "replications", "seed"],
                  [[r["label"], r["path"], date(r["as_of"]), number(r["reps"]), r["seed"]] for r in runs], {3})
    figures = []
    for name, title, caption in FIGURES:
        png = folder_png(folder, name)
        figures.append(figure(Path(name).stem, title, png, caption) if png else note(f"{title}: no {name} here."))
    typed = command_line(m.get("command"))
    reproduce = commands([("The command that wrote this comparison:", typed)] if typed else
                         [("Written from Python; the command line that compares the same runs:",
                           "sim compare " + " ".join(r["path"] for r in runs) + f" --out {folder}")])
    sections = [Section("side-by-side", "The runs side by side", side + paths),
                Section("fall-date", "When the capital falls, run by run", curves(runs)),
                Section("figures", "Figures", "".join(figures)),
                Section("reproduce", "Reproduce", reproduce)]
    meta = [f"<b>{len(runs)}</b> runs compared", *(escape(f"{r['label']}: {r['title']}") for r in runs)]
    return page("Comparison: " + ", ".join(r["label"] for r in runs), meta, headline(runs), sections)
