"""A grid sweep's report: what was swept and how far the capital's fate moves across the grid
(headline first), every point's numbers, the sweep's figure, and the command that wrote it. Read
from sweep.json and manifest.json."""

from __future__ import annotations

from html import escape
from pathlib import Path

from ...errors import ResultsError
from ...files import MANIFEST
from ..style import DASH, long_date, number, pct
from . import folder_json, folder_png
from .page import Card, Section, cards, command_line, commands, figure, note, page, table

STATES = ("captured", "collapsed", "holds")
FIGURES = (("sweep_line.png", "The sweep, point by point",
            "End-state probabilities (95% bands) and the capital's fall day against the swept parameter."),
           ("sweep_heatmap.png", "The sweep over two parameters",
            "Each end state's probability, and P(falls within the first day given), over the grid of two parameters."))


def _within(table_: dict) -> list[str]:
    return [c for c in table_["columns"] if c.startswith("falls_by_") and c.endswith("d")]


def _at(row: dict, paths: list[str]) -> str:
    return ", ".join(f"{p} = {number(row[p])}" for p in paths)


def _spread(rows: list[dict], key: str, paths: list[str], label: str) -> Card:
    """The lowest and highest ``key`` over the points, and where they are."""
    known = [r for r in rows if r.get(key) is not None]
    if not known:
        return Card(label, DASH)
    lo, hi = min(known, key=lambda r: r[key]), max(known, key=lambda r: r[key])
    return Card(label, f"{pct(lo[key])} – {pct(hi[key])}", f"lowest at {_at(lo, paths)}; highest at {_at(hi, paths)}")


def headline(t: dict) -> str:
    rows, paths = t["rows"], [p["path"] for p in t["parameters"]]
    swept = "; ".join(f"{p['path']}: {', '.join(number(v) for v in p['values'])}" for p in t["parameters"])
    items = [Card("points", number(len(rows)), f"{number(t['reps'])} replications a point, seed {t['seed']}")]
    items += [_spread(rows, k, paths, f"P(falls within {k[9:-1]} days) across the grid") for k in _within(t)]
    items.append(_spread(rows, "falls", paths, f"P(falls within the horizon, {t['horizon_days']} days) across the grid"))
    items += [_spread(rows, s, paths, f"P({s}) across the grid") for s in STATES]
    return cards(items) + f'<p class="basis"><b>Swept:</b> {escape(swept)}. Every other parameter is drawn the ' \
                          "same way at every point (common random numbers).</p>"


def points_table(t: dict) -> str:
    paths = [p["path"] for p in t["parameters"]]
    within = _within(t)
    head = [*paths, *(f"P({s}) (95%)" for s in STATES), *(f"within {k[9:-1]} d" for k in within),
            "median fall day (where it fell)", "10–90% (days)"]
    body = []
    for r in t["rows"]:
        body.append([*(number(r[p]) for p in paths),
                     *(f"{pct(r[s])} ({pct(r[s + '_lo'])}–{pct(r[s + '_hi'])})" for s in STATES),
                     *(pct(r[k]) for k in within),
                     DASH if r["fall_day_p50"] is None else f"day {number(r['fall_day_p50'])}",
                     DASH if r["fall_day_p10"] is None else f"{number(r['fall_day_p10'])} – {number(r['fall_day_p90'])}"])
    return table(head, body, set(range(len(head))))


def report_html(folder: Path) -> str:
    folder = Path(folder)
    t, m = folder_json(folder, "sweep.json"), folder_json(folder, MANIFEST)
    if not isinstance(t.get("rows"), list) or not t["rows"]:
        raise ResultsError(folder / "sweep.json", "holds no points")
    figures = [figure(Path(name).stem, title, png, caption) for name, title, caption in FIGURES
               if (png := folder_png(folder, name))]
    if not figures:
        figures = [note("No figure: a sweep of more than two parameters has none, and one run with --no-plots "
                        "neither; sweep.csv holds every point.")]
    typed = command_line(m.get("command"))
    reproduce = commands([("The command that wrote this sweep (the same seed gives the same numbers):", typed)]) \
        if typed else note("Written from Python: its spec.json holds the parameters and the seed.")
    sections = [Section("points", "Every point", points_table(t)
                        + '<p class="note">Intervals: 95% Wilson. within D d: the capital fell on or before day D. '
                          "Fall days count from the as-of date.</p>"),
                Section("figures", "Figures", "".join(figures)),
                Section("reproduce", "Reproduce", reproduce)]
    meta = [f"scenario <b>{escape(t['scenario'])}</b>", f"as of <b>{long_date(t['as_of'])}</b>",
            f"horizon {number(t['horizon_days'])} days", f"{number(t['reps'])} replications a point",
            f"seed {escape(str(t['seed']))}", f"engine {escape(str(t.get('engine', DASH)))}"]
    return page(f"Sweep: {t['title']}", meta, headline(t), sections)
