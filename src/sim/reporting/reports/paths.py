"""A paths folder's report: the most frequent paths first (headline), the query's answer if one was
asked, every path's share, the alluvial figure, and the command that wrote it. Read from paths.json
and manifest.json."""

from __future__ import annotations

from html import escape
from pathlib import Path

from ...errors import ResultsError
from ...files import MANIFEST
from ..style import long_date, number, pct
from . import folder_json, folder_png
from .page import Card, Section, cards, command_line, commands, figure, note, page, table

SHOWN = 25  # paths the table lists; paths.json holds them all


def _path(p: dict) -> str:
    return " → ".join(p["events"] or ["(no event)"]) + f" ⇒ {p.get('end', p['end_state'])}"


def _interval(v: dict) -> str:
    return f"{pct(v['p'])} ({pct(v['ci_low'])}–{pct(v['ci_high'])})"


def headline(t: dict) -> str:
    top = t["paths"][:3]
    items = [Card(f"path {i + 1}", pct(p["p"]), _path(p)) for i, p in enumerate(top)]
    items.append(Card("distinct paths", number(len(t["paths"])), f"of {number(t['reps'])} replications, "
                                                                 f"first {t['depth']} events then the end"))
    return cards(items)


def given_html(g: dict | None) -> str:
    if not g:
        return note("No query: sim paths RUN_DIR --given 'CITY<3' asks what follows an event.")
    head = f"<p>Given <b>{escape(' and '.join(g['conditions']))}</b>: {number(g['n'])} replications " \
           f"({_interval(g['share'])} of the run).</p>"
    if not g["n"]:
        return head
    rows = [[f"P({s} | given)", _interval(v)] for s, v in g["end_states"].items()]
    rows += [[f"P(capital falls within {d} days | given)", _interval(v)] for d, v in g["capital_falls_within"].items()]
    return head + table(["", "probability (95%)"], rows, {1})


def report_html(folder: Path) -> str:
    folder = Path(folder)
    t, m = folder_json(folder, "paths.json"), folder_json(folder, MANIFEST)
    if not isinstance(t.get("paths"), list) or not t["paths"]:
        raise ResultsError(folder / "paths.json", "holds no paths")
    rows = [[_path(p), number(p["count"]), _interval(p)] for p in t["paths"][:SHOWN]]
    more = len(t["paths"]) - SHOWN
    listed = table(["path", "replications", "share (95%)"], rows, {1, 2}) + (
        note(f"{number(more)} rarer paths are in paths.json.") if more > 0 else "")
    png = folder_png(folder, "paths.png")
    figures = figure("paths", "The paths, event by event", png,
                     "Each column the replications' k-th event, then how the regime ended; heights are shares of all "
                     "replications.") if png else note("No figure (written with --no-plots).")
    typed = command_line(m.get("command"))
    reproduce = commands([("The command that wrote these paths:", typed)]) if typed else note("Written from Python.")
    sections = [Section("given", "Given an event", given_html(t.get("given"))),
                Section("paths", "The most frequent paths", listed),
                Section("figure", "Figure", figures),
                Section("reproduce", "Reproduce", reproduce)]
    meta = [f"scenario <b>{escape(t['scenario'])}</b>", f"as of <b>{long_date(t['as_of'])}</b>",
            f"horizon {number(t['horizon_days'])} days", f"{number(t['reps'])} replications",
            f"seed {escape(str(t['seed']))}", f"run {escape(t['run'])}"]
    return page(f"Paths: {t['title']}", meta, headline(t), sections)
