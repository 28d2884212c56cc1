"""Several finished runs side by side (a flagship and its variants): overlaid figures and a table,
read from the runs' result files alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..files import MANIFEST, manifest_base, peek_json, staged_folder, write_json, write_text
from ..runs.folder import RunFolder
from .figures import compare_end_states, compare_fall_day, plotting
from .style import date, day_date, on_day, pct, pct_interval
from .text import format_comparison

BY_DAYS = (7, 30)   # the table's "falls within d days" rows (sim.runs.summary.fell_within)


@dataclass
class Comparison:
    labels: list[str]
    rows: dict[str, list[str]]   # metric -> one formatted cell per run (compare.json holds the numbers)
    table: str                   # the rows as plain text, runs side by side
    files: list[Path]


def labels(runs: list) -> list[str]:
    """One name per run (a :class:`RunFolder`, or a run in memory): its scenario's, with its
    folder's name where two runs share a scenario (a run in memory has none: a number tells them apart)."""
    names = [r.summary["scenario"] for r in runs]
    out = [f"{n} ({r.path.name})" if names.count(n) > 1 and getattr(r, "path", None) else n
           for n, r in zip(names, runs)]
    return [f"{n} #{i + 1}" if out.count(n) > 1 else n for i, n in enumerate(out)]


def numbers(run: RunFolder) -> dict:
    """One run's figures for compare.json, from its summary.json: numbers, every probability an
    interval object (``{"p", "ci_low", "ci_high"}``), days after as_of and their calendar dates."""
    s = run.summary
    f = s["capital_fall_day"]
    within = s.get("capital_falls_within", {})
    out = {"scenario": s["scenario"], "title": s["title"], "as_of": s["as_of"], "reps": s["reps"], "seed": s["seed"],
           "horizon_days": s["horizon_days"], "end_states": s["end_states"],
           "capital_falls_within": within,
           "capital_fall_day": {q: {"day": f[q], "date": None if f[q] is None else on_day(s["as_of"], f[q]).isoformat()}
                                for q in ("p10", "p50", "p90")},
           "leader_fled": s["leader_fled"], "handover": s["handover"], "succession": s["succession"]}
    control = s.get("control_share")
    if control:
        out["control_share"] = {"at_start": control["at_start"],
                                "median_by_day": {d: control["by_day"][d]["p50"] for d in ("30", str(s["horizon_days"]))
                                                  if d in control["by_day"]}}
    return out


def rows(n: dict) -> dict[str, str]:
    """The table's cells for one run, from its :func:`numbers`."""
    out = {"title": n["title"], "as of": date(n["as_of"]),
           "replications · seed": f"{n['reps']:,} · {n['seed']}", "horizon (days)": f"{n['horizon_days']}"}
    for state, v in n["end_states"].items():
        out[f"P({state})"] = pct_interval(v['p'], v['ci_low'], v['ci_high'])
    for day in BY_DAYS:  # a run whose summary did not count these shows the dash
        out[f"P(falls within {day} days)"] = pct(n["capital_falls_within"].get(str(day), {}).get("p"))
    for q, label in (("p50", "median fall date"), ("p10", "10th percentile"), ("p90", "90th percentile")):
        out[label] = day_date(n["as_of"], n["capital_fall_day"][q]["day"])
    out["P(ruler fled)"] = pct(n["leader_fled"]["p"])
    out["P(hand-over)"] = pct(n["handover"]["p"])
    out["P(succession)"] = pct(n["succession"]["p"])
    control = n.get("control_share")
    if control:
        out["gov. share at as-of"] = pct(control["at_start"])
        for day, share in control["median_by_day"].items():
            out[f"gov. share day {day}, median"] = pct(share)
    return out


COMPARE_FORMAT = 2  # compare.json: 2, numbers per run (1 held the table's formatted strings)


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
    figures_ = [numbers(r) for r in runs]
    cells = [rows(n) for n in figures_]
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
        write_json(tmp / "compare.json", {"format": COMPARE_FORMAT, "runs": [
            {"label": name, "path": str(r.path), **n} for name, r, n in zip(names, runs, figures_)]})
        write_json(tmp / MANIFEST, {**manifest_base(KIND, command), "runs": [str(r.path) for r in runs]})
    return Comparison(names, table, text, [out_dir / f for f in written])
