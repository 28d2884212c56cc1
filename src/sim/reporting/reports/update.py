"""An update or timeline folder's report: how the odds stood before the news and after the last of
it (headline), the table of forecasts, the parameters the news moved, the figure, the warnings and
the command that wrote it. Read from update.json (or timeline.json) and manifest.json."""

from __future__ import annotations

from html import escape
from pathlib import Path

from ...errors import ResultsError
from ...files import MANIFEST
from ..style import date, long_date, number, pct
from ..text import UPDATE_COLUMNS, update_cells
from . import folder_json, folder_png
from .page import Card, Section, cards, command_line, commands, figure, note, page, table


def headline(t: dict) -> str:
    first, last = t["forecasts"][0], t["forecasts"][-1]
    cap = t["capital"]["name"]
    items = [Card(f"P({cap} falls within 30 days), before the news", pct(first["falls_within"]["30"]),
                  f"as of {date(first['date'])}, the scenario's own forecast"),
             Card(f"P({cap} falls within 30 days), on the news", pct(last["falls_within"]["30"]),
                  f"as of the end of {date(last['date'])}"),
             Card("effective sample", number(last["ess"]), f"agreeing copies; {number(last['ancestors'])} prior draws"),
             Card("P(the news) under the prior", f"{last['evidence']:.2g}", "the filter's evidence")]
    return cards(items)


def report_html(folder: Path) -> str:
    folder = Path(folder)
    m = folder_json(folder, MANIFEST)
    kind = m.get("kind")
    t = folder_json(folder, f"{kind}.json")
    if not isinstance(t.get("forecasts"), list) or not t["forecasts"]:
        raise ResultsError(folder / f"{kind}.json", "holds no forecasts")
    forecasts = table(list(UPDATE_COLUMNS), [update_cells(r) for r in t["forecasts"]], set(range(1, 11)))
    moved = t.get("parameters_moved") or []
    shifts = table(["parameter", "prior mean", "posterior mean", "shift (prior sd)"],
                   [[m_["parameter"], number(m_["prior_mean"]), number(m_["posterior_mean"]), f"{m_['shift_sd']:+.2f}"]
                    for m_ in moved], {1, 2, 3}) if moved else note("No news moved the parameters.")
    png = folder_png(folder, f"{kind}.png")
    caption = ("P(the capital falls within 7 and 30 days) as of each day's end, given the news to then; the "
               "dotted lines the news, the solid line the fall.") if kind == "timeline" else \
        "Left: P(the capital falls within 7, 30, 90 days of each update); right: the end states by the horizon."
    figures = figure(kind, "The forecast on the news", png, caption) if png else \
        note("No figure (written with --no-plots).")
    warned = "".join(note(escape(w)) for w in t.get("warnings", [])) or note("No warning.")
    typed = command_line(m.get("command"))
    reproduce = commands([(f"The command that wrote this {kind}:", typed)]) if typed else note("Written from Python.")
    sections = [Section("forecasts", "The forecast as of each date", forecasts),
                Section("figure", "Figure", figures),
                Section("parameters", "The parameters the news moved most", shifts),
                Section("warnings", "Warnings", warned),
                Section("reproduce", "Reproduce", reproduce)]
    meta = [f"scenario <b>{escape(t['scenario'])}</b>", f"as of <b>{long_date(t['as_of'])}</b>",
            f"news <b>{escape(t['observed'])}</b>", f"{number(t['particles'])} particles",
            f"seed {escape(str(t['seed']))}"]
    return page(f"{'Timeline' if kind == 'timeline' else 'Update'}: {t['title']}", meta, headline(t), sections)
