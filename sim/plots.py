"""Figures of a finished run, drawn from its result files alone (never from engine internals)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Okabe–Ito colour-blind-safe palette.
COLOURS = {"captured": "#D55E00", "collapsed": "#E69F00", "holds": "#0072B2"}
FORMATS = ("png", "svg")


def _caption(fig, summary: dict) -> None:
    fig.text(0.01, 0.01, f"{summary['scenario']} · as of {summary['as_of']} · "
             f"{summary['reps']:,} replications · seed {summary['seed']}",
             fontsize=8, color="#555555", ha="left", va="bottom")


def _save(fig, run_dir: Path, stem: str) -> None:
    for ext in FORMATS:
        fig.savefig(run_dir / f"{stem}.{ext}", dpi=120)
    plt.close(fig)


def plot_end_states(summary: dict, run_dir: Path) -> None:
    states = list(summary["end_states"])
    p = np.array([summary["end_states"][s]["p"] for s in states])
    lo = np.array([summary["end_states"][s]["ci_low"] for s in states])
    hi = np.array([summary["end_states"][s]["ci_high"] for s in states])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    bars = ax.bar(states, p, color=[COLOURS[s] for s in states], yerr=[p - lo, hi - p], capsize=6,
                  error_kw={"elinewidth": 1.2})
    for bar, v in zip(bars, p):
        ax.annotate(f"{v:.1%}", (bar.get_x() + bar.get_width() / 2, v), xytext=(0, 14),
                    textcoords="offset points", ha="center")
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("probability")
    ax.set_xlabel(f"capital's end state within {summary['horizon_days']} days")
    ax.set_title(f"How the capital ends: {summary['title']}\n(bars: 95% Wilson intervals)", fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    fig.subplots_adjust(bottom=0.18, top=0.85)
    _caption(fig, summary)
    _save(fig, run_dir, "end_states")


def plot_fall_day(summary: dict, hist: np.ndarray, width: float, run_dir: Path) -> None:
    as_of = dt.date.fromisoformat(summary["as_of"])
    n = summary["reps"]
    horizon = summary["horizon_days"]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7.5, 6.4), sharex=True)
    days = np.arange(len(hist)) * width
    # Daily bars read better than 3-hour bins.
    daily = np.bincount((days // 1).astype(int), weights=hist, minlength=horizon + 1)
    dates = [as_of + dt.timedelta(days=int(d)) for d in range(len(daily))]
    ax1.bar(dates, daily / n, width=0.9, color=COLOURS["captured"], alpha=0.85)
    ax1.set_ylabel("share of replications\nfalling that day")
    ax1.set_title(f"When the capital falls: {summary['title']}", fontsize=11)
    ax1.grid(axis="y", alpha=0.3)
    cdf = np.cumsum(daily) / n
    se = np.sqrt(np.clip(cdf * (1 - cdf), 0, None) / n)
    ax2.plot(dates, cdf, drawstyle="steps-post", color="#000000", label="P(fallen by date)")
    ax2.fill_between(dates, np.clip(cdf - 1.96 * se, 0, 1), np.clip(cdf + 1.96 * se, 0, 1), step="post",
                     color="#56B4E9", alpha=0.5, label="95% band (sampling)")
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("cumulative probability")
    ax2.set_xlabel(f"date (days after as-of {as_of.isoformat()})")
    ax2.grid(alpha=0.3)
    ax2.legend(loc="lower right")
    ax2.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y"))
    fig.autofmt_xdate()
    fig.subplots_adjust(bottom=0.17, top=0.93, hspace=0.12)
    _caption(fig, summary)
    _save(fig, run_dir, "fall_day")


def plot_run(run_dir: Path) -> list[Path]:
    """(Re)draw every figure of a run folder from its files; returns the files written."""
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    with np.load(run_dir / "histograms.npz") as h:
        hist, width = h["capital"], float(h["bin_days"])
    plot_end_states(summary, run_dir)
    plot_fall_day(summary, hist, width, run_dir)
    return sorted(p for p in run_dir.iterdir() if p.suffix.lstrip(".") in FORMATS)
