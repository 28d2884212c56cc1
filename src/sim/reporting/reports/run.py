"""A run's report, read from the run's result files alone: the headline numbers (P(the capital
falls within 7, 30, 90 days and the horizon), the end states, the median fall date, what the model
is calibrated on), an interactive cumulative fall-date curve, the summary tables, the figures, every
parameter with its provenance, and the commands that reproduce the run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import shlex
from html import escape

import numpy as np

from ...runs.folder import RunFolder
from ...runs.summary import wilson
from ...scenario.provenance import MODEL_DEFAULT
from ..figures import charts, plotting, skipped
from ..style import DASH, date, day_date, long_date, number, on_day, pct
from . import hover
from .page import Card, Section, cards, command_line, commands, figure, note, page, paragraphs, table

# One line under each figure, saying what it shows.
CAPTIONS = {
    "end_states": "End states: the probability that the capital is captured, that the regime collapses first, "
                  "or that it holds to the horizon, with 95% intervals.",
    "fall_day": "When the capital falls: the fall date's distribution (daily, by end state) and the cumulative "
                "probability with its 95% sampling band.",
    "node_falls": "City by city: the cumulative probability that each government-held city has fallen, in order "
                  "along the axes of advance.",
    "control": "Control over time: the share of the theatre the government holds, median with 50% and 90% bands.",
    "drivers": "Drivers: how the capital's fall and end state depend on each uncertain parameter's draws.",
}
FIGURE_TITLES = {"end_states": "End states", "fall_day": "When the capital falls", "node_falls": "City by city",
                 "control": "Control over time", "drivers": "Drivers"}


def within_label(day: str, horizon: int) -> str:
    return f"P(falls within the horizon, {horizon} days)" if int(day) == horizon else f"P(falls within {day} days)"


def calibrated_on(s: dict) -> str:
    """What the run's structural parameters came from: the posterior's provenance line, or none."""
    post = s.get("posterior")
    if not post:
        return "The scenario's own values: no posterior was applied."
    return (f"{number(post['rows'])} rows of a posterior over {len(post['paths'])} structural parameters, "
            f"from {post['source']}.")


def headline(s: dict) -> str:
    """The numbers a reader wants first, as cards, and the line saying what the model is calibrated on."""
    items = [Card(within_label(d, s["horizon_days"]), pct(v["p"]), f"95% interval {pct(v['ci_low'])}–{pct(v['ci_high'])}")
             for d, v in s.get("capital_falls_within", {}).items()]
    items += [Card(f"P({k})", pct(v["p"]), f"95% interval {pct(v['ci_low'])}–{pct(v['ci_high'])}")
              for k, v in s["end_states"].items()]
    f = s["capital_fall_day"]
    if f["p50"] is None:
        items.append(Card("median fall date", DASH, "the capital fell in no replication"))
    else:
        items.append(Card("median fall date (where it fell)", date(on_day(s["as_of"], f["p50"])),
                          f"day {number(f['p50'])}; 10–90%: {date(on_day(s['as_of'], f['p10']))} – "
                          f"{date(on_day(s['as_of'], f['p90']))}"))
    return cards(items) + f'<p class="basis"><b>Calibrated on:</b> {escape(calibrated_on(s))}</p>'


def summary_html(s: dict) -> str:
    """The summary.json tables: end states, the capital's fall date, nodes, and the rest."""
    ends = [[k, pct(v["p"]), f"{pct(v['ci_low'])} – {pct(v['ci_high'])}"] for k, v in s["end_states"].items()]
    out = [table(["end state", "probability", "95% interval"], ends, {1, 2})]
    within = s.get("capital_falls_within", {})
    if within:
        out.append(table(["the capital falls", "probability", "95% interval"],
                         [[within_label(d, s["horizon_days"])[2:-1], pct(v["p"]),
                           f"{pct(v['ci_low'])} – {pct(v['ci_high'])}"] for d, v in within.items()], {1, 2}))
    f = s["capital_fall_day"]
    out.append(f"<p>The capital falls in {number(f['n'])} of {number(s['reps'])} replications; among them:</p>")
    out.append(table(["", "date"], [["10th percentile", day_date(s["as_of"], f["p10"])],
                                    ["median", day_date(s["as_of"], f["p50"])],
                                    ["90th percentile", day_date(s["as_of"], f["p90"])]]))
    out.append(table(["government-held node", "P(fallen)", "median fall date (where it fell)"],
                     [[k, pct(v["fallen"]["p"]), day_date(s["as_of"], v["median_day"])] for k, v in s["nodes"].items()],
                     {1}))
    other = [["ruler fled", pct(s["leader_fled"]["p"])], ["negotiated hand-over", pct(s["handover"]["p"])],
             ["succession (the ruler fled, the regime held)", pct(s["succession"]["p"])],
             ["mean fighters dispersed", number(s["mean_dispersed"], 3)]]
    other += [[f"ally arrived: {k}", pct(v["p"])] for k, v in s["allies_arrived"].items()]
    c = s.get("control_share")
    if c:
        other.append([f"government-held share of the theatre ({c['weighted_by']}) at as-of", pct(c["at_start"])])
        other += [[f"… on day {d}, median (5th–95th percentile)",
                   f"{pct(q['p50'])} ({pct(q['p5'])}–{pct(q['p95'])})"] for d, q in c["by_day"].items() if d != "0"]
    out.append(table(["", "value"], other, {1}))
    return "\n".join(out)


def fall_curve(run: RunFolder) -> str:
    """The interactive curve of P(capital fallen by day d), d = 0 .. horizon, with its 95% band."""
    s, h = run.summary, run.histograms
    if "capital_falls_daily" not in h:
        return note("Interactive curve left out: histograms hold no daily counts (a run written before they "
                    "existed); rerun it.")
    n, daily = s["reps"], np.asarray(h["capital_falls_daily"], dtype=np.int64)
    fallen = np.cumsum(daily)
    low, high = wilson(fallen, n)
    right = s["horizon_days"]
    if fallen[-1] > 0:  # end the axis a little after 99.5% of the falls, as the figures do
        k = int(np.searchsorted(fallen, 0.995 * fallen[-1]))
        right = int(min(right, max(14, math.ceil(1.2 * k + 3))))
    curve = hover.Curve("capital", dt.date.fromisoformat(s["as_of"]), np.arange(len(daily), dtype=float), fallen / n, low, high)
    cut = "" if right >= s["horizon_days"] else f" The axis ends on day {right} of the {s['horizon_days']}-day horizon."
    return (hover.curve_chart([curve], right_day=right, what="P(capital fallen by then)", chart_id="fall-curve")
            + f'<p class="note">P(the capital has fallen by the end of each day): {number(n)} replications, '
            f"band: 95% Wilson interval (sampling error only).{escape(cut)}</p>")


def describe(dist) -> str:
    """A distribution with its parameters named and formatted: ``triangular: low 10,000 · mode 20,000 · high 40,000``."""
    values = [(f.name.rstrip("_"), getattr(dist, f.name)) for f in dataclasses.fields(dist)]
    shown = [f"{k} {number(v)}" for k, v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return f"{dist.name}: {' · '.join(shown)}"


def parameters_html(scenario) -> str:
    """Every parameter with its value or distribution, unit and provenance; the uncertain ones first,
    parameters left at the model default folded away."""
    from ...scenario.schema import unit_of

    def row(path, p):
        random = p.dist.is_random
        return [path, describe(p.dist) if random else number(p.mean, 10), number(p.mean) if random else "",
                unit_of(path), p.source or "", p.date.isoformat() if p.date else "", p.note or ""]

    params = scenario.parameters()
    uncertain = [row(path, p) for path, p in params if p.dist.is_random]
    default = [row(path, p) for path, p in params if not p.dist.is_random and p.source == MODEL_DEFAULT]
    fixed = [row(path, p) for path, p in params if not p.dist.is_random and p.source != MODEL_DEFAULT]
    head = ["parameter", "value or distribution", "mean", "unit", "source", "date", "note"]
    return "\n".join([
        f"<p>{len(params)} parameters: {len(uncertain)} uncertain (drawn once per replication), {len(fixed)} fixed "
        f"by the scenario, {len(default)} at the model default.</p>",
        "<h3>Uncertain</h3>", table(head, uncertain, {2}, "params"),
        "<h3>Fixed by the scenario</h3>", table(head, fixed, {1}, "params"),
        f"<details><summary>At the model default ({len(default)})</summary>{table(head, default, {1}, 'params')}"
        "</details>",
    ])


def equivalent_run(m: dict) -> str:
    """A ``sim run`` command line that writes the same numbers, from the manifest's fields."""
    argv = ["sim", "run", str(m.get("scenario_file") or "SCENARIO.toml"), "--reps", str(m["reps"]),
            "--seed", str(m["seed"])]
    for o in m.get("overrides") or []:
        argv += ["--set", str(o)]
    if m.get("engine"):
        argv += ["--engine", str(m["engine"])]
    return shlex.join(argv)


def reproduce_html(run: RunFolder, shown_path: str) -> str:
    m = run.manifest or {}
    items = [("Run it again from this folder and check that summary.json comes out the same:",
              shlex.join(["sim", "rerun", shown_path]))]
    typed = command_line(m.get("command"))
    if typed:
        items.append(("The command that wrote it, as it was typed:", typed))
    elif "reps" in m and "seed" in m:
        items.append(("It was written from Python; the command line that gives the same numbers:", equivalent_run(m)))
    facts = [[k, str(m[k])] for k in ("version", "git_commit", "numpy", "scipy", "python", "engine", "block_size",
                                      "created", "wall_seconds") if m.get(k) is not None]
    return commands(items) + (table(["recorded in manifest.json", ""], facts) if facts else "")


def report_html(run: RunFolder, shown_path: str | None = None) -> str:
    """The whole report as one HTML document; ``shown_path`` is the folder as the commands should name it."""
    s, m, scenario = run.summary, run.manifest or {}, run.scenario
    meta = [f"scenario <b>{escape(s['scenario'])}</b>", f"as of <b>{long_date(s['as_of'])}</b>",
            f"horizon {escape(number(s['horizon_days']))} days", f"{escape(number(s['reps']))} replications",
            f"seed {escape(str(s['seed']))}"]
    meta += [f"{k} {escape(str(m[k]))}" for k in ("engine", "version") if m.get(k)]
    if m.get("overrides"):
        meta.append("overrides: " + escape(", ".join(map(str, m["overrides"]))))
    with plotting():
        drawn = [(name, chart.png()) for name, chart in charts(run)]
    figures = [figure(name, FIGURE_TITLES[name], png, CAPTIONS[name]) for name, png in drawn]
    figures += [note(f"{FIGURE_TITLES[k]}: figure left out: {why}.") for k, why in skipped(run).items()]
    sections = [
        Section("scenario", "The scenario", paragraphs(scenario.description)
                or note("The scenario has no description.")),
        Section("fall-date", "When the capital falls, day by day", fall_curve(run)),
        Section("summary", "Summary tables", summary_html(s)),
        Section("figures", "Figures", "\n".join(figures)),
        Section("parameters", "Parameters", parameters_html(scenario)),
        Section("reproduce", "Reproduce", reproduce_html(run, shown_path or str(run.path))),
    ]
    return page(s["title"], meta, headline(s), sections)
