"""Several finished runs side by side (a flagship and its variants): overlaid figures and a table,
read from the runs' result files alone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..files import write_json
from ..runs.folder import RunFolder
from ..runs.summary import fallen_by
from .figures import compare_end_states, compare_fall_day, plotting

BY_DAYS = (7, 30)   # the table's "falls by day T" rows (those within each run's horizon)


@dataclass
class Comparison:
    labels: list[str]
    rows: dict[str, list[str]]   # metric -> one cell per run
    table: str                   # the rows as plain text, runs side by side
    files: list[Path]


def labels(runs: list[RunFolder]) -> list[str]:
    """One name per run: its scenario's, with its folder's name where two runs share a scenario."""
    names = [r.summary["scenario"] for r in runs]
    out = [f"{n} ({r.path.name})" if names.count(n) > 1 else n for n, r in zip(names, runs)]
    return [f"{n} #{i + 1}" if out.count(n) > 1 else n for i, n in enumerate(out)]


def _pct(v) -> str:
    return "—" if v is None else f"{v:.1%}"


def _day(as_of: str, day) -> str:
    if day is None:
        return "—"
    return f"{dt.date.fromisoformat(as_of) + dt.timedelta(days=float(day)):%-d %b %Y} (day {day:g})"


def rows(run: RunFolder) -> dict[str, str]:
    """The table's cells for one run, from its summary.json and histograms.npz."""
    s, h = run.summary, run.histograms
    n, f = s["reps"], s["capital_fall_day"]
    out = {"title": s["title"], "as of": _day(s["as_of"], 0).split(" (")[0],
           "replications · seed": f"{n:,} · {s['seed']}", "horizon (days)": f"{s['horizon_days']}"}
    for state, v in s["end_states"].items():
        out[f"P({state})"] = f"{v['p']:.1%} ({v['ci_low']:.1%}–{v['ci_high']:.1%})"
    for day in BY_DAYS:
        out[f"P(falls by day {day})"] = (_pct(fallen_by(h["capital"], float(h["bin_days"]), day) / n)
                                         if day <= s["horizon_days"] else "—")
    out["median fall date"] = _day(s["as_of"], f["p50"])
    out["10th percentile"] = _day(s["as_of"], f["p10"])
    out["90th percentile"] = _day(s["as_of"], f["p90"])
    out["P(ruler fled)"] = _pct(s["leader_fled"]["p"])
    out["P(uprising)"] = _pct(s["uprising"]["p"])
    control = s.get("control_share")
    if control:
        out["gov. share at as-of"] = _pct(control["at_start"])
        for day in ("30", str(s["horizon_days"])):
            if day in control["by_day"]:
                out[f"gov. share day {day}, median"] = _pct(control["by_day"][day]["p50"])
    return out


def _short(labels: list[str]) -> list[str]:
    """Headers: a variant named after the first run's scenario shows only its suffix ("…-variant")."""
    first = labels[0]
    return [first] + [f"…{x[len(first):]}" if x.startswith(first + "-") else x for x in labels[1:]]


def format_table(labels: list[str], table: dict[str, list[str]]) -> str:
    """Rows of metrics, one column per run."""
    heads = _short(labels)
    body = {k: v for k, v in table.items() if k != "title"}
    first = max(len(k) for k in body) + 2
    widths = [max(len(h), *(len(v[i]) for v in body.values())) + 2 for i, h in enumerate(heads)]
    lines = ["".ljust(first) + "".join(h.rjust(w) for h, w in zip(heads, widths))]
    lines += [k.ljust(first) + "".join(c.rjust(w) for c, w in zip(v, widths)) for k, v in body.items()]
    lines += [""] + [f"{h}: {t}" for h, t in zip(heads, table["title"])]
    return "\n".join(lines)


def compare_runs(run_dirs: list[Path], out_dir: Path) -> Comparison:
    """Overlay several runs' fall-day curves and end states and tabulate them; writes
    compare_fall_day.png|svg, compare_end_states.png|svg, compare.txt and compare.json in ``out_dir``."""
    runs = [RunFolder(d) for d in run_dirs]
    names = labels(runs)
    cells = [rows(r) for r in runs]
    metrics = list(dict.fromkeys(k for c in cells for k in c))
    table = {m: [c.get(m, "—") for c in cells] for m in metrics}
    text = format_table(names, table)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with plotting():
        files = compare_fall_day(runs, names).save(out_dir, "compare_fall_day")
        files += compare_end_states(runs, names).save(out_dir, "compare_end_states")
    (out_dir / "compare.txt").write_text(text + "\n", encoding="utf-8")
    write_json(out_dir / "compare.json", {"runs": {n: str(r.path) for n, r in zip(names, runs)}, "rows": table})
    files += [out_dir / "compare.txt", out_dir / "compare.json"]
    return Comparison(names, table, text, files)
