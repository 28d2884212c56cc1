"""The backtest figure: forecast cumulative curves with the observed dates marked, read from a
backtest folder's files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..files import read_json  # noqa: E402
from ..runs.folder import read_npz  # noqa: E402
from .style import DATE, GREY, SERIES  # noqa: E402


def plot_backtest(folder: Path) -> list[Path]:
    folder = Path(folder)
    b = read_json(folder / "backtest.json")
    as_of = dt.date.fromisoformat(b["as_of"])
    z = read_npz(folder / "cdfs.npz")
    grid = z["grid"]
    curves = {k[len("cdf:"):]: v for k, v in z.items() if k.startswith("cdf:")}
    fig, ax = plt.subplots(figsize=(8.5, 5.0))
    for colour, (name, cdf) in zip(SERIES * 3, curves.items()):
        dates = [as_of + dt.timedelta(days=float(x)) for x in grid]
        ax.plot(dates, cdf, drawstyle="steps-post", color=colour, label=f"{name}: forecast P(by date)")
        low, high = b["targets"][name]["observed_days"]
        if high is None:
            ax.axvspan(as_of + dt.timedelta(days=low), as_of + dt.timedelta(days=float(grid[-1])),
                       color=colour, alpha=0.08)
        else:
            ax.axvspan(as_of + dt.timedelta(days=low), as_of + dt.timedelta(days=high), color=colour, alpha=0.25)
            ax.axvline(as_of + dt.timedelta(days=low), color=colour, ls=":", lw=1)
    # Show the days where something happens: until every curve is flat and every window is shown.
    last = [float(grid[min(np.searchsorted(c, c[-1] - 1e-9), len(grid) - 1)]) for c in curves.values()]
    last += [t["observed_days"][1] or t["observed_days"][0] for t in b["targets"].values()]
    right = min(float(grid[-1]), 1.25 * max(last) + 2)
    ax.set_xlim(as_of, as_of + dt.timedelta(days=right))
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("cumulative probability")
    ax.set_xlabel(f"date (days after as-of {as_of.isoformat()})")
    ax.set_title(f"Forecast against what happened: {b['scenario']} vs {b['observed']}\n"
                 "(lines: forecast; shaded: observed date or window; faint: not by the record's end)", fontsize=10)
    ax.xaxis.set_major_formatter(mdates.DateFormatter(DATE))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.autofmt_xdate()
    fig.text(0.01, 0.01, f"{b['reps']:,} replications · seed {b['seed']}", fontsize=8, color=GREY)
    fig.subplots_adjust(bottom=0.2)
    written = []
    for ext in ("png", "svg"):
        path = folder / f"backtest.{ext}"
        fig.savefig(path, dpi=120)
        written.append(path)
    plt.close(fig)
    return written
