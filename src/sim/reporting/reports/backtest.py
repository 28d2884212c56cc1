"""A backtest's report: what happened and how much probability the forecast gave it, beside the
baselines (headline first), the proper scores, the forecast curves with the observed dates (an
interactive chart), the figure, and the command that wrote it. Read from backtest.json, cdfs.npz
and manifest.json."""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

import numpy as np

from ...errors import ResultsError
from ...files import MANIFEST, read_npz
from ..style import DASH, SCORERS, date, long_date, number, pct
from . import folder_json, folder_png, hover
from .page import Card, Section, cards, command_line, commands, figure, note, page, table


def _scorers(values: dict) -> list[str]:
    return [k for k in SCORERS if k in values]


def happened(b: dict) -> str:
    """What the backtest's first score is of, in words, with dates."""
    w = b["what_happened"]
    low, high = w["observed_days"]
    on = lambda d: date(dt.date.fromisoformat(b["as_of"]) + dt.timedelta(days=float(d)))  # noqa: E731
    if high is None:
        return f"the capital held to day {number(low)} ({on(low)}) or the horizon"
    return f"{w['observed']}, the capital's fall between day {number(low)} ({on(low)}) and day {number(high)} ({on(high)})"


def _log(v) -> str:
    return "−∞" if v is None else number(v, 3)


def headline(b: dict) -> str:
    w = b["what_happened"]
    items = [Card(f"P(what happened), {SCORERS[k]}", pct(w["p"][k], 2), f"log score {_log(w['log'].get(k))}")
             for k in _scorers(w["p"])]
    crps = b["targets"].get("capital", {}).get("crps", {})
    if crps:
        items.append(Card("CRPS of the capital's date, model", f"{number(crps['model'], 3)} days",
                          "baselines: " + ", ".join(f"{SCORERS[k]} {number(v, 3)}" for k, v in crps.items()
                                                     if k != "model")))
    return (f'<p class="basis"><b>What happened:</b> {escape(happened(b))} (as recorded in '
            f"{escape(b['observed'])}).</p>" + cards(items))


def scores_html(b: dict) -> str:
    out = ["<h3>CRPS, days over the horizon (lower is better)</h3>"]
    cols = _scorers(next(iter(b["targets"].values()))["crps"]) if b["targets"] else []
    rows = []
    for name, t in b["targets"].items():
        lo, hi = t["pit"]
        low, high = t["observed_days"]
        when = f"days {number(low)}–{number(high)}" if high is not None else f"not by day {number(low)}"
        rows.append([name, when, *(number(t["crps"].get(k), 3) for k in cols),
                     number(lo, 2) if abs(hi - lo) < 1e-9 else f"{number(lo, 2)}–{number(hi, 2)}"])
    out.append(table(["target", "observed", *(SCORERS[k] for k in cols), "PIT"], rows, set(range(2, len(cols) + 3))))
    e = b["end_state"]
    out.append(f"<h3>End state and falls within d days: log score (higher is better; floored at "
               f"{escape(number(b['probability_floor']))}) and Brier (lower is better)</h3>")
    cols = _scorers(e.get("log", {})) or ["model", "always_holds", "uniform_hazard"]
    rows = []
    if "observed" in e:
        rows.append([f"end state = {e['observed']}", "log", *(_log(e["log"].get(k)) for k in cols)])
        rows.append(["", "Brier", *(number(e["brier"].get(k), 3) for k in cols)])
    for d, v in b["capital_falls_within"].items():
        if "observed" not in v:
            rows.append([f"falls within {d} days", v.get("note", DASH), *([""] * len(cols))])
            continue
        rows.append([f"falls within {d} days ({'yes' if v['observed'] else 'no'}; forecast {pct(v['p'])})", "log",
                     *(_log(v["log"].get(k)) for k in cols)])
        rows.append(["", "Brier", *(number(v["brier"].get(k), 3) for k in cols)])
    out.append(table(["what", "score", *(SCORERS[k] for k in cols)], rows, set(range(2, len(cols) + 2))))
    if "observed" in e:
        out.append(table(["end state", "forecast probability"], [[k, pct(v)] for k, v in e["p"].items()], {1}))
    if b["not_scored"]:
        out.append(note("Not scored: " + "; ".join(b["not_scored"]) + "."))
    return "".join(out)


def curves_html(folder: Path, b: dict) -> str:
    path = folder / "cdfs.npz"
    if not path.exists():
        return note("No cdfs.npz here: no curves.")
    z = read_npz(path)
    if "grid" not in z:
        raise ResultsError(path, "is not a backtest's curves (no grid)")
    as_of = dt.date.fromisoformat(b["as_of"])
    found = [hover.Curve(k[len("cdf:"):], as_of, np.asarray(z["grid"], float), np.asarray(z[k], float))
             for k in z if k.startswith("cdf:")]
    if not found:
        return note("cdfs.npz holds no curves.")
    windows = [(name, t["observed_days"]) for name, t in b["targets"].items()]
    right = float(z["grid"][-1])
    ends = [float(c.x[min(np.searchsorted(c.p, c.p[-1] - 1e-9), len(c.x) - 1)]) for c in found]
    ends += [hi if hi is not None else lo for _, (lo, hi) in windows]
    right = min(right, max(14.0, 1.25 * max(ends) + 2))
    when = "; ".join(f"{name}: days {number(lo)}–{number(hi)}" if hi is not None else f"{name}: not by day {number(lo)}"
                     for name, (lo, hi) in windows)
    return (hover.curve_chart(found, right_day=right, what="forecast P(by then)", chart_id="backtest-curve")
            + note(f"Forecast P(by each day) for each target; what was observed: {when}."))


def report_html(folder: Path) -> str:
    folder = Path(folder)
    b, m = folder_json(folder, "backtest.json"), folder_json(folder, MANIFEST)
    png = folder_png(folder, "backtest.png")
    figures = figure("backtest", "Forecast against what happened", png,
                     "Forecast cumulative curves; shaded: the observed date or window.") if png else \
        note("No backtest.png here.")
    typed = command_line(m.get("command"))
    reproduce = commands([("The command that wrote this backtest (the same seed gives the same numbers):", typed)]) \
        if typed else note("Written from Python.")
    sections = [Section("scores", "Scores", scores_html(b)),
                Section("curves", "Forecast curves, day by day", curves_html(folder, b)),
                Section("figures", "Figure", figures),
                Section("reproduce", "Reproduce", reproduce)]
    meta = [f"scenario <b>{escape(b['scenario'])}</b>", f"as of <b>{long_date(b['as_of'])}</b>",
            f"against <b>{escape(b['observed'])}</b>", f"horizon {number(b['horizon_days'])} days",
            f"{number(b['reps'])} replications", f"seed {escape(str(b['seed']))}"]
    return page(f"Backtest: {b['scenario']} against {b['observed']}", meta, headline(b), sections)
