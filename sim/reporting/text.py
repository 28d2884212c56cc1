"""Plain-text tables for a terminal: a run's summary."""

from __future__ import annotations

import datetime as dt


def _date(as_of: str, day: float | None) -> str:
    if day is None:
        return "—"
    d = dt.date.fromisoformat(as_of) + dt.timedelta(days=float(day))
    return f"{d:%d %b %Y} (day {day:g})"


def format_summary(summary: dict) -> str:
    """The summary as a plain-text table for a terminal."""
    lines = [f"{summary['title']}  [{summary['scenario']}]",
             f"as of {summary['as_of']} · horizon {summary['horizon_days']} days · "
             f"{summary['reps']:,} replications · seed {summary['seed']}", "",
             f"{'end state':<12}{'probability':>12}   95% interval"]
    for state, v in summary["end_states"].items():
        lines.append(f"{state:<12}{v['p']:>12.1%}   {v['ci_low']:.1%} – {v['ci_high']:.1%}")
    f = summary["capital_fall_day"]
    lines += ["", f"capital falls (in {f['n']:,} replications):",
              f"  median  {_date(summary['as_of'], f['p50'])}",
              f"  10–90%  {_date(summary['as_of'], f['p10'])}  to  {_date(summary['as_of'], f['p90'])}", "",
              f"{'node':<16}{'P(fallen)':>10}   median fall date"]
    for name, v in summary["nodes"].items():
        lines.append(f"{name:<16}{v['p_fallen']:>10.1%}   {_date(summary['as_of'], v['median_day'])}")
    lines += ["", f"ruler fled in {summary['leader_fled']['p']:.1%} of replications; "
              f"uprising in the capital in {summary['uprising']['p']:.1%}"]
    return "\n".join(lines)
