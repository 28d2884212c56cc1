"""A run's report: one self-contained HTML file (figures embedded as PNG data, no network needed),
read from the run's result files alone."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from ..errors import ResultsError
from ..files import write_text
from ..runs.folder import RunFolder
from .figures import charts, plotting, skipped
from .style import day_date, long_date, pct

REPORT = "report.html"
GENERATOR = '<meta name="generator" content="sim report">'

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

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1a1a1a;
       max-width: 1180px; margin: 2em auto; padding: 0 1.2em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
.meta { color: #555; font-size: 0.92em; } .note { color: #555; font-style: italic; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border-bottom: 1px solid #e2e2e2; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #444; font-size: 0.92em; margin-top: 0.3em; }
.params td { font-size: 0.9em; } .params td:nth-child(6) { white-space: nowrap; }
details summary { cursor: pointer; margin: 0.6em 0; }
"""


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), cls: str = "") -> str:
    """An HTML table; cells are escaped here."""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td{' class=num' if j in numeric else ''}>{escape(str(c))}</td>"
                                   for j, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table{f' class={cls}' if cls else ''}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def summary_html(s: dict) -> str:
    """The summary.json tables: end states, the capital's fall date, nodes, and the rest."""
    ends = [[k, pct(v["p"]), f"{pct(v['ci_low'])} – {pct(v['ci_high'])}"] for k, v in s["end_states"].items()]
    out = [_table(["end state", "probability", "95% interval"], ends, {1, 2})]
    f = s["capital_fall_day"]
    out.append(f"<p>The capital falls in {f['n']:,} of {s['reps']:,} replications; among them:</p>")
    out.append(_table(["", "date"], [["10th percentile", day_date(s["as_of"], f["p10"])],
                                     ["median", day_date(s["as_of"], f["p50"])],
                                     ["90th percentile", day_date(s["as_of"], f["p90"])]]))
    out.append(_table(["government-held node", "P(fallen)", "median fall date (where it fell)"],
                      [[k, pct(v["fallen"]["p"]), day_date(s["as_of"], v["median_day"])] for k, v in s["nodes"].items()],
                      {1}))
    other = [["ruler fled", pct(s["leader_fled"]["p"])], ["negotiated hand-over", pct(s["handover"]["p"])],
             ["succession (the ruler fled, the regime held)", pct(s["succession"]["p"])],
             ["mean fighters dispersed", "—" if s["mean_dispersed"] is None else f"{s['mean_dispersed']:,.0f}"]]
    other += [[f"ally arrived: {k}", pct(v["p"])] for k, v in s["allies_arrived"].items()]
    c = s.get("control_share")
    if c:
        other.append([f"government-held share of the theatre ({c['weighted_by']}) at as-of", pct(c["at_start"])])
        other += [[f"… on day {d}, median (5th–95th percentile)",
                   f"{pct(q['p50'])} ({pct(q['p5'])}–{pct(q['p95'])})"] for d, q in c["by_day"].items() if d != "0"]
    out.append(_table(["", "value"], other, {1}))
    return "\n".join(out)


def parameters_html(scenario) -> str:
    """Every parameter with its value or distribution, unit and provenance; the uncertain ones first,
    parameters left at the model default folded away."""
    from ..scenario.provenance import MODEL_DEFAULT
    from ..scenario.schema import unit_of

    def row(path, p):
        mean = "" if not p.dist.is_random else f"{p.mean:,.4g}"
        value = p.dist.describe() if p.dist.is_random else f"{p.mean:,.10g}"
        return [path, value, mean, unit_of(path), p.source or "", p.date.isoformat() if p.date else "",
                p.note or ""]

    params = scenario.parameters()
    uncertain = [row(path, p) for path, p in params if p.dist.is_random]
    default = [row(path, p) for path, p in params if not p.dist.is_random and p.source == MODEL_DEFAULT]
    fixed = [row(path, p) for path, p in params if not p.dist.is_random and p.source != MODEL_DEFAULT]
    head = ["parameter", "value or distribution", "mean", "unit", "source", "date", "note"]
    return "\n".join([
        f"<p>{len(params)} parameters: {len(uncertain)} uncertain (drawn once per replication), {len(fixed)} fixed "
        f"by the scenario, {len(default)} at the model default.</p>",
        "<h3>Uncertain</h3>", _table(head, uncertain, {2}, "params"),
        "<h3>Fixed by the scenario</h3>", _table(head, fixed, {2}, "params"),
        f"<details><summary>At the model default ({len(default)})</summary>{_table(head, default, {2}, 'params')}"
        "</details>",
    ])


def report_html(run: RunFolder) -> str:
    """The whole report as one HTML document."""
    s, m, scenario = run.summary, run.manifest or {}, run.scenario
    meta = [f"scenario <b>{escape(s['scenario'])}</b>", f"as of <b>{long_date(s['as_of'])}</b>",
            f"horizon {escape(str(s['horizon_days']))} days", f"{escape(format(s['reps'], ','))} replications",
            f"seed {escape(str(s['seed']))}"]  # every string from a file is escaped for HTML
    meta += [f"{k} {escape(str(m[k]))}" for k in ("engine", "version", "git_commit", "created") if m.get(k)]
    if m.get("overrides"):
        meta.append("overrides: " + escape(", ".join(map(str, m["overrides"]))))
    figures = []
    with plotting():
        drawn = [(name, base64.b64encode(chart.png()).decode("ascii")) for name, chart in charts(run)]
    for name, data in drawn:
        figures.append(f'<figure id="{name}"><h3>{escape(FIGURE_TITLES[name])}</h3>'
                       f'<img alt="{escape(CAPTIONS[name])}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{escape(CAPTIONS[name])}</figcaption></figure>")
    figures += [f'<p class="note">{escape(FIGURE_TITLES[k])}: figure left out: {escape(why)}.</p>'
                for k, why in skipped(run).items()]
    description = "".join(f"<p>{escape(para)}</p>" for para in scenario.description.split("\n\n") if para.strip())
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">', GENERATOR,
        f"<title>{escape(s['title'])}: report</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(s['title'])}</h1>", f'<p class="meta">{" · ".join(meta)}</p>',
        description or '<p class="note">The scenario has no description.</p>',
        "<h2>Summary</h2>", summary_html(s),
        "<h2>Figures</h2>", *figures,
        "<h2>Parameters</h2>", parameters_html(scenario),
        f'<p class="meta">Written by sim report from the files in {escape(run.path.name)}/.</p>',
        "</body></html>", ""])


def is_report(path: Path) -> bool:
    """Whether the file at ``path`` is a report sim wrote (its head carries the generator mark)."""
    try:
        with open(path, "rb") as fh:
            return GENERATOR.encode() in fh.read(2048)
    except OSError:
        return False


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write ``report.html`` (into the run folder unless ``out`` names a file) atomically and return
    its path; an existing file is replaced only if it is a report sim wrote."""
    run = RunFolder(run_dir)
    path = Path(out) if out is not None else run.path / REPORT
    if path.is_symlink() or path.is_dir() or (path.exists() and not (path.is_file() and is_report(path))):
        raise ResultsError(path, "exists and is not a report sim wrote; refusing to replace it (choose another --out)")
    html = report_html(run)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, html)
    except OSError as exc:
        raise ResultsError(path, f"cannot write the report ({exc.strerror or exc})") from None
    return path
