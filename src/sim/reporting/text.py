"""Plain-text tables for a terminal: a run's summary, a sweep, sensitivity indices, a backtest and a
comparison of runs. Dates and percentages come from :mod:`sim.reporting.style`."""

from __future__ import annotations

from ..studies.sensitivity import OUTPUTS
from .style import DASH, SCORERS, date, day_date, pct, pct_interval


def format_summary(summary: dict) -> str:
    """The summary as a plain-text table for a terminal."""
    as_of = summary["as_of"]
    lines = [f"{summary['title']}  [{summary['scenario']}]",
             f"as of {as_of} · horizon {summary['horizon_days']} days · "
             f"{summary['reps']:,} replications · seed {summary['seed']}"]
    post = summary.get("posterior")
    lines.append(f"structural parameters: {post['rows']:,} rows of the posterior ({post['source']})" if post else
                 "structural parameters: the scenario's own values (no posterior)")
    lines += ["", f"{'end state':<12}{'probability':>12}   95% interval"]
    for state, v in summary["end_states"].items():
        lines.append(f"{state:<12}{pct(v['p']):>12}   {pct(v['ci_low'])} – {pct(v['ci_high'])}")
    f = summary["capital_fall_day"]
    within = summary.get("capital_falls_within", {})
    if within:
        lines += ["", "falls within " + " / ".join(within) + " days: " + " / ".join(pct(v["p"]) for v in within.values())]
    lines += ["", f"capital falls (in {f['n']:,} replications):",
              f"  median  {day_date(as_of, f['p50'])}",
              f"  10–90%  {day_date(as_of, f['p10'])}  to  {day_date(as_of, f['p90'])}", "",
              f"{'node':<16}{'P(fallen)':>10}   median fall date"]
    for name, v in summary["nodes"].items():
        lines.append(f"{name:<16}{pct(v['fallen']['p']):>10}   {day_date(as_of, v['median_day'])}")
    lines += ["", f"ruler fled in {pct(summary['leader_fled']['p'])} of replications "
              f"(succession: the regime held without him in {pct(summary['succession']['p'])}); "
              f"negotiated hand-over in {pct(summary['handover']['p'])}"]
    return "\n".join(lines)


def _cell(p, lo=None, hi=None) -> str:
    if p is None:
        return DASH
    return f"{pct(p):>6}" + (f" ({pct(lo)}–{pct(hi)})" if lo is not None else "")


def format_sweep(table: dict) -> str:
    """A sweep table as plain text: parameter values, end states with intervals, fall days."""
    paths = [p["path"] for p in table["parameters"]]
    by = [c for c in table["columns"] if c.startswith("falls_by_") and c.endswith("d")]
    widths = [max(len(p), 10) for p in paths]
    head = "  ".join(f"{p:>{w}}" for p, w in zip(paths, widths))
    states = ["captured", "collapsed", "holds"]
    lines = [f"{table['title']}  [{table['scenario']}]",
             f"as of {table['as_of']} · horizon {table['horizon_days']} days · {table['reps']:,} replications "
             f"a point · seed {table['seed']} (common to every point) · {len(table['rows'])} points", "",
             head + "".join(f"  {s:>21}" for s in states) + "".join(f"  {'within ' + b[9:-1] + ' d':>11}" for b in by)
             + "  median fall day"]
    for row in table["rows"]:
        cells = "  ".join(f"{row[p]:>{w}.6g}" for p, w in zip(paths, widths))
        cells += "".join(f"  {_cell(row[s], row[s + '_lo'], row[s + '_hi']):>21}" for s in states)
        cells += "".join(f"  {_cell(row[b]):>11}" for b in by)
        d = row["fall_day_p50"]
        cells += "  " + (DASH if d is None else f"day {d:g}")
        lines.append(cells)
    lines += ["", "intervals: 95% Wilson · within D d: the capital fell on or before day D · median fall day: "
              "among replications where it fell"]
    return "\n".join(lines)


def _index(v) -> str:
    return f"{DASH:>7}" if v is None else f"{v:>7.3f}"


def format_indices(method: str, rows: list[dict], outputs: dict[str, str] | None = None) -> str:
    """Sensitivity indices as plain text, one block per output (``outputs``, key -> label; default
    the default outputs), factors by decreasing importance."""
    lines = []
    key, conf = ("mu_star", "mu_star_conf") if method == "morris" else ("ST", "ST_conf")
    for name, label in (OUTPUTS if outputs is None else outputs).items():
        block = [r for r in rows if r["output"] == name]
        lines += ["", f"{label}  [{name}]"]
        if block and block[0]["constant"]:
            lines.append("  the same at every point: no indices")
            continue
        width = max(len(r["parameter"]) for r in block)
        if method == "morris":
            lines.append(f"  {'parameter':<{width}}  {'mu*':>10}  {'± 95%':>9}  {'sigma':>10}  {'mu':>10}")
        else:
            lines.append(f"  {'parameter':<{width}}  {'S1':>7}  {'± 95%':>7}  {'ST':>7}  {'± 95%':>7}")
        for r in sorted(block, key=lambda r: -(r[key] or 0.0)):
            if method == "morris":
                lines.append(f"  {r['parameter']:<{width}}  {r['mu_star']:>10.4g}  {r['mu_star_conf']:>9.3g}  "
                             f"{r['sigma']:>10.4g}  {r['mu']:>10.4g}")
            else:
                lines.append(f"  {r['parameter']:<{width}}  {_index(r['S1'])}  {_index(r['S1_conf'])}  "
                             f"{_index(r['ST'])}  {_index(r[conf])}")
    return "\n".join(lines[1:])


_SCORED = (("model", 10), ("always_holds", 14), ("uniform_hazard", 16))
_SURVIVAL = ("survival", 10)


def _what_happened(w: dict) -> str:
    """The observation the backtest's first score is of, in words."""
    low, high = w["observed_days"]
    if high is None:
        return f"the capital held to day {low:g} (or the horizon)"
    return f"{w['observed']} with the capital's fall in days [{low:g}, {high:g}) after as_of"


def _log_text(v: float) -> str:
    return "−∞" if v == float("-inf") else f"{v:.2f}"


def _cells(values: dict, columns, fmt) -> str:
    return "".join(f"{fmt(values[k]):>{w}}" if k in values else " " * w for k, w in columns)


def format_backtest(b: dict) -> str:
    """A backtest's scores as a plain-text table, model beside the baselines (and the reference
    class's survival model, when it was given)."""
    w = b["what_happened"]
    columns = _SCORED + ((_SURVIVAL,) if "survival" in w["p"] else ())
    head = f"{'':<26}" + "".join(f"{SCORERS[k]:>{n}}" for k, n in columns)
    lines = [f"backtest of {b['scenario']} (as of {b['as_of']}) against {b['observed']} · "
             f"{b['reps']:,} replications · seed {b['seed']}", "",
             "what happened: " + _what_happened(w), head,
             f"{'P(what happened)':<26}" + _cells(w["p"], columns, lambda v: f"{v:.4f}"),
             f"{'  log score (no floor)':<26}" + _cells(w["log"], columns, _log_text),
             "", "CRPS, days over the horizon (lower is better)", head]
    for name, t in b["targets"].items():
        lo, hi = t["pit"]
        pit = f"{lo:.2f}" if abs(hi - lo) < 1e-9 else f"{lo:.2f}–{hi:.2f}"
        lines.append(f"{name:<26}" + _cells(t["crps"], columns, lambda v: f"{v:.2f}") + f"   PIT {pit}")
    e = b["end_state"]
    lines += ["", f"log score (higher is better; floored at {b['probability_floor']:g}) / Brier (lower is better)",
              f"{'':<26}" + "".join(f"{SCORERS[k]:>{n}}" for k, n in _SCORED)]
    if "observed" in e:
        lines.append(f"{'end state = ' + e['observed']:<26}" + _cells(e["log"], _SCORED, lambda v: f"{v:.2f}"))
        lines.append(f"{'  Brier':<26}" + _cells(e["brier"], _SCORED, lambda v: f"{v:.3f}"))
    for d, v in b["capital_falls_within"].items():
        if "observed" not in v:
            lines.append(f"falls within {d} days: {v['note']}")
            continue
        label = f"falls within {d} days ({'yes' if v['observed'] else 'no'})"
        lines.append(f"{label:<26}" + _cells(v["log"], _SCORED, lambda x: f"{x:.2f}"))
        lines.append(f"{'  Brier':<26}" + _cells(v["brier"], _SCORED, lambda x: f"{x:.3f}"))
    if b["not_scored"]:
        lines += ["", "not scored: " + "; ".join(b["not_scored"])]
    return "\n".join(lines)


def _short(labels: list[str]) -> list[str]:
    """Headers: a variant named after the first run's scenario shows only its suffix ("…-variant")."""
    first = labels[0]
    return [first] + [f"…{x[len(first):]}" if x.startswith(first + "-") else x for x in labels[1:]]


def format_comparison(labels: list[str], table: dict[str, list[str]]) -> str:
    """Several runs side by side: rows of metrics, one column per run."""
    heads = _short(labels)
    body = {k: v for k, v in table.items() if k != "title"}
    first = max(len(k) for k in body) + 2
    widths = [max(len(h), *(len(v[i]) for v in body.values())) + 2 for i, h in enumerate(heads)]
    lines = ["".ljust(first) + "".join(h.rjust(w) for h, w in zip(heads, widths))]
    lines += [k.ljust(first) + "".join(c.rjust(w) for c, w in zip(v, widths)) for k, v in body.items()]
    lines += [""] + [f"{h}: {t}" for h, t in zip(heads, table["title"])]
    return "\n".join(lines)


__all__ = ["format_summary", "format_sweep", "format_indices", "format_backtest", "format_comparison", "format_paths"]


def format_parameters(scenario, rows: list[dict], *, width: int = 72) -> str:
    """``sim params``: one aligned line per parameter (:func:`sim.scenario.schema.parameter_rows`);
    a provenance longer than ``width`` characters is cut (``--json`` gives it whole)."""
    def value(r):
        if r["value"] is not None:
            return f"{r['value']:,.10g}"
        return f"~{r['mean']:,.0f}" if abs(r["mean"]) >= 1000 else f"~{r['mean']:.4g}"

    def dist(r):
        if r["posterior"]:
            return f"posterior, {len(scenario.posterior.rows):,} rows"
        d = r["distribution"]
        return "fixed" if d["dist"] == "fixed" else d["dist"] + "(" + ", ".join(
            f"{k}={v:g}" for k, v in d.items() if k != "dist") + ")"

    def provenance(r):
        text = " · ".join(x for x in (r["date"], r["source"], r["note"]) if x)
        return text if len(text) <= width else text[: width - 1] + "…"

    table = [("parameter", "value", "distribution", "unit", "provenance")]
    table += [(r["path"], value(r), dist(r), r["unit"], provenance(r)) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    drawn = sum(r["posterior"] for r in rows)
    random = sum(r["distribution"]["dist"] != "fixed" and not r["posterior"] for r in rows)
    lines = [f"{scenario.title}  [{scenario.name}]",
             f"as of {scenario.as_of} · {len(rows)} parameters: {random} uncertain, {drawn} from the posterior, "
             f"{len(rows) - random - drawn} fixed (~ marks a mean)", ""]
    for row in table:
        lines.append("  ".join(f"{c:<{w}}" if i != 1 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(row, widths)))
                     + "  " + row[4])
    return "\n".join(line.rstrip() for line in lines)


def format_paths(table: dict, top: int = 10) -> str:
    """The ``top`` most frequent paths (events in order, then how the regime ended) with their
    probabilities and intervals, then, for a query, the end states and falls given its conditions."""
    shown = table["paths"][:top]
    lines = [f"{table['title']}  [{table['scenario']}]",
             f"the paths of {table['reps']:,} replications, first {table['depth']} events then the end; "
             f"{len(table['paths']):,} distinct paths, the {len(shown)} most frequent:", ""]
    width = max([len(" → ".join(p["events"] or ["(no event)"])) for p in shown] + [10])
    end = max([len(p.get("end", p["end_state"])) for p in shown] + [9])  # paths.json before "end": the state
    for p in shown:
        path = " → ".join(p["events"] or ["(no event)"])
        lines.append(f"  {path:<{width}}  ⇒ {p.get('end', p['end_state']):<{end}}  "
                     f"{pct_interval(p['p'], p['ci_low'], p['ci_high'])}")
    rest = sum(p["p"] for p in table["paths"][top:])
    if rest:
        lines.append(f"  {'(the other paths)':<{width}}    {'':<{end}}  {pct(rest)}")
    g = table.get("given")
    if g:
        lines += ["", f"given {' and '.join(g['conditions'])}: {g['n']:,} replications "
                      f"({pct_interval(g['share']['p'], g['share']['ci_low'], g['share']['ci_high'])} of the run)"]
        if g["n"]:
            rows = [(f"P({state} | given)", v) for state, v in g["end_states"].items()]
            rows += [(f"P(capital falls within {d} days | given)", v) for d, v in g["capital_falls_within"].items()]
            label = max(len(r[0]) for r in rows)
            for name, v in rows:
                lines.append(f"  {name:<{label}}  {pct_interval(v['p'], v['ci_low'], v['ci_high']):>22}")
    return "\n".join(lines)


UPDATE_COLUMNS = ("as of", "captured", "collapsed", "holds", "≤ 7 d", "≤ 30 d", "≤ 90 d", "median fall", "ESS",
                  "draws", "P(news)", "news")


def update_cells(r: dict) -> list[str]:
    """One forecast of an update or timeline as the cells of UPDATE_COLUMNS."""
    w = r["falls_within"]
    return [date(r["date"]), pct(r["captured"]), pct(r["collapsed"]), pct(r["holds"]), pct(w["7"]), pct(w["30"]),
            pct(w["90"]), date(r["median_fall"]) if r["median_fall"] else "held", f"{r['ess']:,}",
            f"{r['ancestors']:,}", f"{r['evidence']:.2g}", "; ".join(r["news"])]


def format_update(data: dict) -> str:
    """One line per forecast of an update or timeline: its date, the end states, P(the capital
    falls within 7/30/90 days), the median fall date, the effective sample and the news it brought;
    then the parameters the news moved most."""
    rows = [update_cells(r) for r in data["forecasts"]]
    widths = [max(len(c) for c in col) for col in zip(UPDATE_COLUMNS, *rows)]
    line = lambda cells: "  " + "  ".join(  # noqa: E731
        c.ljust(w) if i in (0, 7, 11) else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    lines = [f"{data['title']}  [{data['scenario']}]",
             f"updated on {data['observed']} ({data['particles']:,} particles, seed {data['seed']}); "
             f"P(falls within d days) counts from the end of each date", "", line(UPDATE_COLUMNS)]
    lines += [line(cells) for cells in rows]
    moved = data.get("parameters_moved") or []
    if moved:
        lines += ["", f"the parameters the news moved most by {date(data['forecasts'][-1]['date'])} (posterior mean "
                      "vs prior, in prior standard deviations):"]
        width = max(len(m["parameter"]) for m in moved)
        for m in moved:
            lines.append(f"  {m['parameter']:<{width}}  {m['prior_mean']:>10.4g} → {m['posterior_mean']:<10.4g}"
                         f"  {m['shift_sd']:+.2f} sd")
    return "\n".join(lines)


def update_markdown(data: dict) -> str:
    """The forecasts of an update or timeline as a Markdown table (for docs and reports)."""
    lines = [f"Forecasts of `{data['scenario']}` updated on `{data['observed']}` ({data['particles']:,} particles, "
             f"seed {data['seed']}). P(falls within d days) counts from the end of each date; ESS: agreeing "
             "copies (the smallest any day kept); draws: the prior draws behind them; P(news): the probability "
             "the prior gave the news to that date.", "",
             "| " + " | ".join(UPDATE_COLUMNS) + " |", "|" + "---|" * len(UPDATE_COLUMNS)]
    lines += ["| " + " | ".join(update_cells(r)) + " |" for r in data["forecasts"]]
    moved = data.get("parameters_moved") or []
    if moved:
        lines += ["", f"The parameters the news moved most by {date(data['forecasts'][-1]['date'])}:", "",
                  "| parameter | prior mean | posterior mean | shift (prior sd) |", "|---|---|---|---|"]
        lines += [f"| `{m['parameter']}` | {m['prior_mean']:.4g} | {m['posterior_mean']:.4g} | {m['shift_sd']:+.2f} |"
                  for m in moved]
    return "\n".join(lines) + "\n"
