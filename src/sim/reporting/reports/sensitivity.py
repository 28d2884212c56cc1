"""A sensitivity analysis's report: which factors matter most for each output (headline first),
the indices tables, the one-at-a-time swings, the figures, and the command that wrote it. Read
from indices.json, tornado.json and manifest.json."""

from __future__ import annotations

from html import escape
from pathlib import Path

from ...files import MANIFEST
from ..style import DASH, long_date, number
from . import folder_json, folder_png
from .page import Card, Section, cards, command_line, commands, figure, note, page, table

FIGURES = (("indices.png", "Indices", "Each output's indices by factor, with 95% bootstrap intervals."),
           ("morris.png", "Morris's mu*-sigma plane",
            "Far right: a factor that matters; above the line sigma = mu*: one acting through interactions or "
            "non-linearly; near the origin: one that can be fixed."),
           ("second_order.png", "Second-order indices",
            "The share of each output's variance that a pair of factors explains together and neither alone."),
           ("tornado.png", "One factor at a time",
            "Each factor moved alone from its 5% to its 95% quantile, the others at their medians."))


def _key(method: str) -> tuple[str, str]:
    return ("mu_star", "mu_star_conf") if method == "morris" else ("ST", "ST_conf")


def _ranked(t: dict, output: str) -> list[dict]:
    key, _ = _key(t["method"])
    return sorted((r for r in t["rows"] if r["output"] == output), key=lambda r: -(r[key] or 0.0))


def headline(t: dict) -> str:
    key, conf = _key(t["method"])
    name = "mu*" if t["method"] == "morris" else "total index ST"
    items = [Card("design", f"{number(t['n_points'])} points",
                  f"{t['method'].capitalize()}, {number(len(t['factors']))} factors, "
                  f"{number(t['reps'])} replications a point")]
    for output, label in t["outputs"].items():
        block = _ranked(t, output)
        if not block or block[0]["constant"]:
            items.append(Card(f"{label}: top factor", DASH, "the same at every point"))
            continue
        top = block[0]
        items.append(Card(f"{label}: top factor", top["parameter"],
                          f"{name} {number(top[key], 3)} ± {number(top[conf], 2)}"
                          + (f"; next {block[1]['parameter']}" if len(block) > 1 else "")))
    warn = "".join(f'<p class="note">Warning: {escape(w)}.</p>' for w in t.get("warnings") or [])
    return cards(items) + warn


def indices_html(t: dict) -> str:
    out = []
    for output, label in t["outputs"].items():
        block = _ranked(t, output)
        out.append(f"<h3>{escape(label)}</h3>")
        if block and block[0]["constant"]:
            out.append(note("The same at every point: no indices."))
            continue
        if t["method"] == "morris":
            head = ["factor", "mu*", "± 95%", "sigma", "mu"]
            rows = [[r["parameter"], *(number(r[k], 3) for k in ("mu_star", "mu_star_conf", "sigma", "mu"))]
                    for r in block]
        else:
            head = ["factor", "S1", "± 95%", "ST", "± 95%"]
            rows = [[r["parameter"], *(number(r[k], 3) for k in ("S1", "S1_conf", "ST", "ST_conf"))] for r in block]
        out.append(table(head, rows, {1, 2, 3, 4}))
    return "".join(out)


def tornado_html(folder: Path, t: dict) -> str:
    if not (folder / "tornado.json").is_file():
        return note("No tornado.json here.")
    tor = folder_json(folder, "tornado.json")
    out = []
    for output, label in tor["outputs"].items():
        block = sorted((r for r in tor["rows"] if r["output"] == output), key=lambda r: -r["swing"])
        rows = [[r["parameter"], number(r["low_value"]), number(r["high_value"]), number(r["at_low"], 3),
                 number(r["at_high"], 3), number(r["swing"], 3)] for r in block]
        out.append(f"<details><summary>{escape(label)} (all factors at their medians: "
                   f"{escape(number(block[0]['at_central'], 3) if block else DASH)})</summary>"
                   + table(["factor", "5% quantile", "95% quantile", "output at 5%", "output at 95%", "swing"],
                           rows, {1, 2, 3, 4, 5}) + "</details>")
    return "".join(out)


def report_html(folder: Path) -> str:
    folder = Path(folder)
    t, m = folder_json(folder, "indices.json"), folder_json(folder, MANIFEST)
    figures = [figure(Path(name).stem, title, png, caption) for name, title, caption in FIGURES
               if (png := folder_png(folder, name))] or [note("No figures (written with --no-plots).")]
    factors = table(["factor", "distribution", "low", "high", "central"],
                    [[f["path"], f["distribution"], number(f["low"]), number(f["high"]), number(f["central"])]
                     for f in t["factors"]], {2, 3, 4})
    typed = command_line(m.get("command"))
    reproduce = commands([("The command that wrote this analysis (the same seed gives the same numbers):", typed)]) \
        if typed else note("Written from Python: its spec.json holds the design and the seed.")
    sections = [Section("indices", "Indices", indices_html(t)),
                Section("tornado", "One factor at a time", tornado_html(folder, t)),
                Section("figures", "Figures", "".join(figures)),
                Section("factors", "Factors", factors),
                Section("reproduce", "Reproduce", reproduce)]
    meta = [f"scenario <b>{escape(t['scenario'])}</b>", f"as of <b>{long_date(t['as_of'])}</b>",
            f"horizon {number(t['horizon_days'])} days", f"method {escape(t['method'])}",
            f"{number(t['reps'])} replications a point", f"seed {escape(str(t['seed']))}"]
    return page(f"Sensitivity: {t['title']}", meta, headline(t), sections)
