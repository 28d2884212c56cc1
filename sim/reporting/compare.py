"""Several finished runs side by side (a flagship and its variants): overlaid figures and a table,
read from the runs' result files alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..files import MANIFEST, manifest_base, peek_json, staged_folder, write_json, write_text
from ..runs.folder import RunFolder
from .figures import compare_end_states, compare_fall_day, plotting
from .style import date, day_date, pct, pct_interval
from .text import format_comparison

BY_DAYS = (7, 30)   # the table's "falls within d days" rows (sim.runs.summary.fell_within)


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


def rows(run: RunFolder) -> dict[str, str]:
    """The table's cells for one run, from its summary.json."""
    s = run.summary
    n, f = s["reps"], s["capital_fall_day"]
    out = {"title": s["title"], "as of": date(s["as_of"]),
           "replications · seed": f"{n:,} · {s['seed']}", "horizon (days)": f"{s['horizon_days']}"}
    for state, v in s["end_states"].items():
        out[f"P({state})"] = pct_interval(v['p'], v['ci_low'], v['ci_high'])
    within = s.get("capital_falls_within", {})
    for day in BY_DAYS:  # from summary.json: a run written before it counted these shows the dash
        out[f"P(falls within {day} days)"] = pct(within.get(str(day), {}).get("p"))
    out["median fall date"] = day_date(s["as_of"], f["p50"])
    out["10th percentile"] = day_date(s["as_of"], f["p10"])
    out["90th percentile"] = day_date(s["as_of"], f["p90"])
    out["P(ruler fled)"] = pct(s["leader_fled"]["p"])
    out["P(hand-over)"] = pct(s["handover"]["p"])
    out["P(succession)"] = pct(s["succession"]["p"])
    control = s.get("control_share")
    if control:
        out["gov. share at as-of"] = pct(control["at_start"])
        for day in ("30", str(s["horizon_days"])):
            if day in control["by_day"]:
                out[f"gov. share day {day}, median"] = pct(control["by_day"][day]["p50"])
    return out


KIND = "compare"


def is_earlier_comparison(folder: Path) -> bool:
    """A comparison folder written before manifests named their kind: its compare.json has runs and rows."""
    c = peek_json(Path(folder) / "compare.json", limit=10_000_000)
    return isinstance(c, dict) and set(c) == {"runs", "rows"}


def compare_runs(run_dirs: list[Path], out_dir: Path, *, command=None) -> Comparison:
    """Overlay several runs' fall-day curves and end states and tabulate them; writes
    compare_fall_day.png|svg, compare_end_states.png|svg, compare.txt, compare.json and
    manifest.json into ``out_dir``, whole or not at all (it replaces only an earlier comparison)."""
    runs = [RunFolder(d) for d in run_dirs]
    names = labels(runs)
    cells = [rows(r) for r in runs]
    metrics = list(dict.fromkeys(k for c in cells for k in c))
    table = {m: [c.get(m, "—") for c in cells] for m in metrics}
    text = format_comparison(names, table)
    out_dir = Path(out_dir)
    written = ["compare_fall_day.png", "compare_fall_day.svg", "compare_end_states.png", "compare_end_states.svg",
               "compare.txt", "compare.json"]
    with staged_folder(out_dir, kind=KIND, owns=is_earlier_comparison, error="cannot write the comparison") as tmp:
        with plotting():
            compare_fall_day(runs, names).save(tmp, "compare_fall_day")
            compare_end_states(runs, names).save(tmp, "compare_end_states")
        write_text(tmp / "compare.txt", text + "\n")
        write_json(tmp / "compare.json", {"runs": {n: str(r.path) for n, r in zip(names, runs)}, "rows": table})
        write_json(tmp / MANIFEST, {**manifest_base(KIND, command), "runs": [str(r.path) for r in runs]})
    return Comparison(names, table, text, [out_dir / f for f in written])
