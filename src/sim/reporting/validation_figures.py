"""The validation figure of a calibration folder: the PIT histogram of the capital's fall day and
the reliability diagram of the milestones, for the model, the survival baseline and their mixture
side by side."""

from __future__ import annotations

import json
from pathlib import Path

from .style import offscreen

offscreen()
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import binom  # noqa: E402

from . import style  # noqa: E402
from .style import DARK, GREY, SERIES  # noqa: E402

BINS = 5
NAMES = {"model": "model", "survival": "survival model", "mixture": "mixture"}


def plot_validation(folder: Path) -> list[Path]:
    """validation.png and validation.svg from the folder's validation.json."""
    folder = Path(folder)
    v = json.loads((folder / "validation.json").read_text(encoding="utf-8"))
    rows, agg = v["rows"], v["aggregate"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.6))
    n = len(rows)
    edges = np.linspace(0, 1, BINS + 1)
    width = 1.0 / BINS / (len(NAMES) + 0.4)
    for k, (name, label) in enumerate(NAMES.items()):
        u = np.array([0.5 * (r["pit"][name][0] + r["pit"][name][1]) for r in rows])
        counts, _ = np.histogram(u, bins=edges)
        left.bar(edges[:-1] + (k + 0.7) * width, counts, width=width, color=SERIES[k], label=label)
    lo, hi = binom.ppf([0.05, 0.95], n, 1.0 / BINS)
    left.axhspan(lo, hi, color=GREY, alpha=0.15, label="90% range if calibrated")
    left.axhline(n / BINS, color=DARK, lw=1, ls="--")
    left.set_xlabel("PIT of the capital's observed fall day (midpoint of its range)")
    left.set_ylabel(f"forecasts (of {n})")
    left.set_title("PIT histogram: flat if calibrated")
    left.legend(frameon=False, fontsize=9)
    right.plot([0, 1], [0, 1], color=DARK, lw=1, ls="--")
    for k, (name, label) in enumerate(NAMES.items()):
        bins = agg["reliability"][name]
        x = np.array([b["forecast"] for b in bins]) + (k - 0.5 * (len(NAMES) - 1)) * 0.012
        y = np.array([b["observed"] for b in bins])
        bar_lo = np.array([b["consistent_low"] for b in bins])
        bar_hi = np.array([b["consistent_high"] for b in bins])
        right.errorbar(x, y, yerr=None, fmt="o", color=SERIES[k], label=label)
        right.vlines(x, bar_lo, bar_hi, color=SERIES[k], alpha=0.45, lw=5)
        for xi, yi, b in zip(x, y, bins):
            right.annotate(str(b["n"]), (xi, yi), textcoords="offset points", xytext=(6, -3), fontsize=8, color=GREY)
    right.set_xlim(-0.03, 1.03)
    right.set_ylim(-0.03, 1.03)
    style.percent_axis(right, "x")
    style.percent_axis(right, "y")
    right.set_xlabel("forecast P(capital falls within 7 / 30 / 90 days), binned")
    right.set_ylabel("observed frequency")
    right.set_title("Reliability, with consistency bars (Bröcker & Smith 2007)")
    right.legend(frameon=False, fontsize=9, loc="upper left")
    fig.text(0.01, 0.01, f"{n} forecasts, each without any case of its war; bar: 5–95% range of the observed "
             "frequency if the forecasts were reliable; numbers: forecasts in the bin.", fontsize=8, color=GREY)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    paths = [folder / "validation.png", folder / "validation.svg"]
    for path in paths:
        style.save(fig, path)
    plt.close(fig)
    return paths
