"""The backtest figure, read from a backtest folder's files: one panel per scored target (the
capital, each city, the ruler's exit), its forecast cumulative curve cut to the observed dates plus
a margin, the observed date or window shaded, and the target's scores beside its baselines'."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .style import offscreen

offscreen()
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..files import read_json, read_npz  # noqa: E402
from . import style  # noqa: E402
from .style import BLUE, GREY, SCORERS, VERMILLION  # noqa: E402

MARGIN_DAYS = 7       # at least this much on either side of what happened
MARGIN_SHARE = 0.5    # and half the span from as_of to the last observed day
COLUMNS = 3           # panels a row


def _window(target: dict, horizon: float) -> tuple[float, float, bool]:
    """The observed window (days after as_of) and whether it happened within the record: a target not
    reached by the record's end is shown from the record's end on."""
    low, high = target["observed_days"]
    return float(low), float(high) if high is not None else float(horizon), high is not None


def _last_day(target: dict, horizon: float) -> float:
    """The last day the record speaks of for a target: the window's end, or the record's end."""
    low, high, happened = _window(target, horizon)
    return high if happened else low


def _label(name: str) -> str:
    if name == "capital":
        return "the capital falls"
    if name.startswith("node:"):
        return f"{name[len('node:'):]} falls"
    return {"leader_fled": "the ruler leaves"}.get(name, name)


def _scores(target: dict) -> str:
    crps = target.get("crps") or {}
    parts = [f"model CRPS {crps['model']:,.1f} d" if crps.get("model") is not None else ""]
    parts += [f"{SCORERS.get(k, k)} {v:,.1f}" for k, v in crps.items() if k != "model" and v is not None]
    return " · ".join(p for p in parts if p)


def plot_backtest(folder: Path) -> list[Path]:
    """backtest.png and backtest.svg from the folder's backtest.json and cdfs.npz."""
    folder = Path(folder)
    b = read_json(folder / "backtest.json")
    z = read_npz(folder / "cdfs.npz")
    grid = z["grid"]
    curves = {k[len("cdf:"):]: v for k, v in z.items() if k.startswith("cdf:")}
    fig = backtest_figure(b, grid, curves)
    written = []
    for ext in ("png", "svg"):
        path = folder / f"backtest.{ext}"
        style.save(fig, path)
        written.append(path)
    plt.close(fig)
    return written


def backtest_figure(b: dict, grid: np.ndarray, curves: dict[str, np.ndarray]):
    """The figure of a backtest (``b``: backtest.json's data; ``curves``: each target's forecast
    P(by day) on ``grid``, days after as_of)."""
    as_of = dt.date.fromisoformat(b["as_of"])
    names = [n for n in b["targets"] if n in curves]
    rows = -(-len(names) // COLUMNS)
    cols = min(COLUMNS, len(names))
    footer = _footer(b)
    height = 3.3 * rows + 1.2 + 0.16 * footer.count("\n")
    fig, axes = plt.subplots(rows, cols, figsize=(4.3 * cols + 0.4, height), squeeze=False, layout="constrained")
    bottom = (0.2 + 0.16 * (footer.count("\n") + 1)) / height
    fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))  # (left, bottom, width, height)
    last = max(_last_day(b["targets"][n], b["horizon_days"]) for n in names)
    right = min(float(grid[-1]), last + max(MARGIN_DAYS, MARGIN_SHARE * last))
    dates = np.array([np.datetime64(as_of) + np.timedelta64(int(round(x * 24)), "h") for x in grid])
    for ax, name in zip(axes.flat, names):
        t, cdf = b["targets"][name], curves[name]
        low, high, happened = _window(t, b["horizon_days"])
        on = lambda d: np.datetime64(as_of) + np.timedelta64(int(round(d * 24)), "h")  # noqa: E731
        ax.plot(dates, cdf, drawstyle="steps-post", color=BLUE, lw=1.8, label="forecast P(by date)")
        if happened:
            ax.axvspan(on(low), on(max(high, low + 0.25)), color=VERMILLION, alpha=0.3, lw=0, label="what happened")
            at = float(np.interp(high, grid, cdf))
            where = f"observed day {low:g}" + (f"–{high:g}" if high > low else "")
            ax.set_title(f"{_label(name)}: {where}\nforecast P(by then) {style.pct(at)}\n{_scores(t)}", fontsize=8.5)
        else:
            ax.axvspan(on(low), on(right), color=GREY, alpha=0.12, lw=0, label="not by the record's end")
            at = float(np.interp(low, grid, cdf))
            ax.set_title(f"{_label(name)}: not by day {low:g}\nforecast P(by then) {style.pct(at)}\n{_scores(t)}",
                         fontsize=8.5)
        ax.set_xlim(on(-min(MARGIN_DAYS, right) * 0.15), on(right))
        ax.set_ylim(0, 1.02)
        style.percent_axis(ax)
        style.date_axis(ax)
        ax.tick_params(labelsize=8)
        ax.tick_params(axis="x", labelrotation=30)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.remove()
    axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Forecast against what happened: {b['scenario']} (as of {style.date(as_of)}) vs {b['observed']}",
                 fontsize=10.5)
    fig.text(0.01, 0.01, footer, fontsize=7.5, color=GREY, ha="left", va="bottom", linespacing=1.5)
    return fig


def _footer(b: dict) -> str:
    """What the whole forecast scored: the end state and the falls within D days, model beside baselines."""
    e = b.get("end_state") or {}
    lines = [f"{b['reps']:,} replications · seed {b['seed']} · CRPS in days (lower is better; baselines after "
             "the model's) · axis cut to the observed dates plus a margin"]
    if e.get("observed"):
        logs = " · ".join(f"{SCORERS.get(k, k)} {v:.2f}" for k, v in e["log"].items()
                          if k != "model" and v is not None)
        lines.append(f"end state observed: {e['observed']}, forecast {style.pct(e['p'][e['observed']])} "
                     f"(log score {e['log']['model']:.2f}; {logs})")
    within = b.get("capital_falls_within") or {}
    if within:
        lines.append("capital falls within " + " · ".join(
            f"{d} days: {'yes' if w['observed'] else 'no'}, forecast {style.pct(w['p'])}" for d, w in within.items()))
    return "\n".join(lines)
