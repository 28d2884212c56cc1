"""Figures of finished runs, drawn from their result files alone (never from engine internals).

Each figure function takes a run (or several) and returns a :class:`Chart`: the matplotlib figure
and the arrays it plots, so tests can hold each picture to summary.json and histograms.nc. A run
is a :class:`~sim.runs.folder.RunFolder`, or a :class:`~sim.runs.runner.RunResult` in memory: both
give ``summary``, ``histograms`` (the labelled Dataset), ``scenario``, ``has_outcomes`` and
``columns``. :func:`plot_run` writes a run folder's figures as PNG and SVG; :func:`figures` draws
a run's figures without writing anything.

Days are counted from the scenario's as_of. Curves by date are drawn from the summary's 3-hour
histogram bins (a point at a bin's lower edge); "falls within T days" is the one definition, fall
day <= T (:func:`sim.runs.summary.fell_within`). Colours and date formats come from
:mod:`sim.reporting.style`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import shutil
import textwrap
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

from .style import offscreen

offscreen()
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter  # noqa: E402

from ..errors import ResultsError  # noqa: E402
from ..files import fresh_sibling, mode  # noqa: E402
from ..runs import control_share  # noqa: E402
from ..runs.folder import PARTIAL, RunFolder, require_complete  # noqa: E402
from ..runs.runner import RunResult  # noqa: E402
from ..runs.summary import CONTROL_QUANTILES, fell_within, hist_quantile, wilson  # noqa: E402
from ..scenario.schema import GOVERNMENT, unit_of  # noqa: E402
from .style import BLACK, BLUE, GREY, SERIES, SKY, VERMILLION, pct  # noqa: E402
from .style import END_STATES as COLOURS  # noqa: E402
from . import style  # noqa: E402

Run = RunFolder | RunResult  # what a figure is drawn from: a run's folder, or a run in memory
LINESTYLES = ["-", "--", "-.", ":"]
FORMATS = ("png", "svg")
RUN_FORMATS = ("png",)  # a run's figures; ``sim plot --svg`` adds vector copies (each costs as much again)
DPI = style.DPI
# The figures of one run, by file stem, in the order a report shows them.
FIGURES = ("end_states", "fall_day", "node_falls", "control", "drivers")
DRIVER_DAYS = (7, 14, 30, 90)   # candidate thresholds for "falls within T days" (and the horizon)
DRIVER_GROUPS = 5               # quintiles of each parameter's draws
DRIVER_PANELS = 9
DRIVER_BARS = 24                # parameters the ranking shows, largest first (the rest are listed as a count)
DRIVER_SAMPLE = 100_000         # replications the drivers figure reads at most (its first block)
DRIVER_WIDTH = 10.0             # inches: at a report's width its smallest text (MIN_FONT_PT) stays readable
MIN_FONT_PT = 7.5               # the smallest text in any of a run's figures


@dataclass
class Chart:
    """A drawn figure and the numbers it shows (arrays named as in the figure)."""

    figure: plt.Figure
    data: dict = field(default_factory=dict)

    def save(self, folder: Path, stem: str, formats=FORMATS) -> list[Path]:
        """Write ``stem.png`` and ``stem.svg`` (or the given ``formats``) into ``folder`` and close the figure."""
        paths = [Path(folder) / f"{stem}.{ext}" for ext in formats]
        for path in paths:
            self.figure.savefig(path, dpi=DPI)
        plt.close(self.figure)
        return paths

    def png(self) -> bytes:
        """The figure as PNG bytes (the figure is closed)."""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=DPI)
        plt.close(self.figure)
        return buf.getvalue()


# --------------------------------------------------------------------------- shared pieces

def _figure(width: float, height: float, caption: list[str]) -> plt.Figure:
    """A figure with constrained layout and ``caption`` paragraphs in grey along its bottom."""
    fig = plt.figure(figsize=(width, height), layout="constrained")
    lines = [line for para in caption for line in textwrap.wrap(para, int(width * 17.5))]
    bottom = (0.08 + 0.165 * len(lines)) / height
    fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))
    fig.text(0.01, 0.012, "\n".join(lines), fontsize=7.5, color=GREY, ha="left", va="bottom", linespacing=1.5)
    return fig


def _run_line(summary: dict) -> str:
    return (f"{summary['scenario']} · as of {style.date(summary['as_of'])} · horizon {summary['horizon_days']} days · "
            f"{summary['reps']:,} replications · seed {summary['seed']}")


def _x0(as_of: str) -> float:
    """The matplotlib date number of as_of (day 0)."""
    return float(mdates.date2num(dt.date.fromisoformat(as_of)))


def _date_axis(ax, as_of: str, right_day: float, *, date_label: bool = True) -> None:
    """Calendar dates along the bottom, days after as_of along the top, from day 0 to ``right_day``."""
    x0 = _x0(as_of)
    _calendar(ax, x0, x0 + right_day, date_label)
    top = ax.secondary_xaxis("top", functions=(lambda x: x - x0, lambda d: d + x0))
    top.tick_params(labelsize=7.5, colors=GREY)
    top.set_xlabel(f"days after as-of ({style.date(as_of)} = day 0)", fontsize=8, color=GREY)


def _calendar(ax, left: float, right: float, label: bool = True) -> None:
    """Date ticks ("8 Dec", or "Jan 2026" over long spans) between two date numbers; the months and years
    spanned in the label."""
    ax.set_xlim(left, right)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=9))
    ax.xaxis.set_major_formatter(mdates.DateFormatter(style.DAY_MONTH if right - left < 300 else style.MONTH_YEAR))
    a, b = (mdates.num2date(x) for x in (left, right))
    span = f"{a:{style.MONTH_YEAR}}" if (a.year, a.month) == (b.year, b.month) else \
        f"{a:{style.MONTH_YEAR}} – {b:{style.MONTH_YEAR}}"
    if label:
        ax.set_xlabel(f"date ({span})")


def _right_day(counts: np.ndarray, width: float, horizon: float) -> float:
    """Where a day axis can end: past the day by which 99.5% of the counted falls happened (at
    least two weeks), or the horizon."""
    total = counts.sum()
    if total == 0:
        return float(max(1, horizon))
    k = int(np.searchsorted(np.cumsum(counts), 0.995 * total, side="left"))
    return float(max(1.0, min(horizon, max(14.0, np.ceil(1.2 * k * width + 3)))))


def _cut_note(right: float, horizon: float) -> list[str]:
    return [] if right >= horizon else [f"Axis cut at day {right:g} of the {horizon:g}-day horizon: "
                                        "99.5% of the falls counted here happen before it."]


def _cdf(hist: np.ndarray, width: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Lower bin edges (days) and P(fallen by that bin) over all ``n`` replications."""
    return np.arange(len(hist)) * width, np.cumsum(hist) / n


def _style(i: int) -> dict:
    return {"color": SERIES[i % len(SERIES)], "linestyle": LINESTYLES[(i // len(SERIES)) % len(LINESTYLES)]}


def _compact(v: float, _pos=None) -> str:
    return f"{v / 1000:g}k" if abs(v) >= 10_000 else f"{v:g}"


_pct = style.percent_axis


# --------------------------------------------------------------------------- 1. end states

def end_states(run: Run) -> Chart:
    """Probability of each end state with its 95% Wilson interval (from summary.json)."""
    s = run.summary
    states = list(s["end_states"])
    p, lo, hi = (np.array([s["end_states"][k][c] for k in states]) for c in ("p", "ci_low", "ci_high"))
    fig = _figure(6.6, 4.6, [_run_line(s), "Bars: share of replications; whiskers: 95% Wilson score intervals."])
    ax = fig.add_subplot()
    bars = ax.bar(states, p, color=[COLOURS[k] for k in states], yerr=[p - lo, hi - p], capsize=6,
                  error_kw={"elinewidth": 1.2})
    for bar, v in zip(bars, p):
        ax.annotate(f"{v:.1%}", (bar.get_x() + bar.get_width() / 2, v), xytext=(0, 10),
                    textcoords="offset points", ha="center", fontsize=10)
    ax.set_ylim(0, 1.08)
    _pct(ax)
    ax.set_ylabel("probability (share of replications)")
    ax.set_xlabel(f"how the capital ends within the {s['horizon_days']}-day horizon")
    ax.set_xticks(range(len(states)), [_END_LABELS.get(k, k) for k in states], fontsize=9)
    fig.suptitle(f"End states: will the capital be captured, will the regime collapse, or will it hold?\n"
                 f"{s['title']}", fontsize=10.5)
    ax.grid(axis="y", alpha=0.3)
    return Chart(fig, {"states": states, "p": p, "ci_low": lo, "ci_high": hi})


_END_LABELS = {"captured": "captured\n(taken by assault)", "collapsed": "collapsed\n(regime ends first)",
               "holds": "holds\n(to the horizon)"}


# --------------------------------------------------------------------------- 2. fall day

def fall_day(run: Run) -> Chart:
    """The capital's fall day: daily histogram (by end state where known) and the cumulative curve
    with its pointwise 95% Wilson band, on calendar dates."""
    s, h = run.summary, run.histograms
    n, horizon, width = s["reps"], s["horizon_days"], float(h.attrs["bin_days"])
    hist = h["capital_falls"].values
    edges, cdf = _cdf(hist, width, n)
    lo, hi = wilson(np.cumsum(hist), n)
    right = _right_day(hist, width, horizon)
    f = s["capital_fall_day"]
    period = max(1, int(np.ceil(right / 150)))     # bars of whole days, at most about 150 of them shown
    each = "on each day" if period == 1 else f"in each {period}-day period"
    caption = [_run_line(s),
               f"Top: share of all replications in which the capital fell {each}; median and 10th–90th "
               f"percentile of the fall date among the {f['n']:,} replications where it fell.",
               "Bottom: P(capital fallen by each date) over all replications; band: pointwise 95% Wilson "
               "interval (Monte Carlo sampling error only)."] + _cut_note(right, horizon)
    fig = _figure(8.4, 7.6, caption)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[1, 1.15])
    x0 = _x0(s["as_of"])
    slot = np.floor(edges / period).astype(int)
    slots = horizon // period + 1
    starts = np.arange(slots) * period
    shown = starts < right
    parts = {"capital falls": hist}
    if "end_state_falls" in h:
        by_state = h["end_state_falls"]
        parts = {"captured (taken by assault)": by_state.sel(end_state="captured").values,
                 "collapsed (regime ends first)": by_state.sel(end_state="collapsed").values}
    bottom = np.zeros(slots)
    daily = {}
    for (label, part), colour in zip(parts.items(), (COLOURS["captured"], COLOURS["collapsed"])):
        daily[label] = np.bincount(slot, weights=part, minlength=slots)[:slots] / n
        ax1.bar(x0 + starts[shown], daily[label][shown], bottom=bottom[shown], width=0.85 * period, align="edge",
                color=colour, label=label)
        bottom = bottom + daily[label]
    if f["p50"] is not None:
        ax1.axvspan(x0 + f["p10"], x0 + f["p90"], color=SKY, alpha=0.18, zorder=0,
                    label=f"10th–90th percentile: {style.short_day_date(s['as_of'], f['p10'])} – "
                          f"{style.short_day_date(s['as_of'], f['p90'])}")
        ax1.axvline(x0 + f["p50"], color=BLACK, ls="--", lw=1.2,
                    label=f"median fall date: {style.short_day_date(s['as_of'], f['p50'])}")
    ax1.set_ylabel(f"share of replications\nfalling {'on that day' if period == 1 else f'in that {period}-day period'}")
    _pct(ax1)
    ax1.legend(fontsize=8, loc="best")
    ax1.grid(axis="y", alpha=0.3)
    fig.suptitle(f"When the capital falls: {s['title']}", fontsize=10.5)
    ax2.fill_between(x0 + edges, lo, hi, step="post", color=SKY, alpha=0.5, label="95% band (sampling)")
    ax2.plot(x0 + edges, cdf, drawstyle="steps-post", color=BLACK, lw=1.6, label="P(capital fallen by date)")
    held = s["end_states"]["holds"]["p"]
    ax2.axhline(cdf[-1], color=COLOURS["holds"], ls=":", lw=1.2,
                label=f"fallen by the horizon: {cdf[-1]:.1%} (holds {held:.1%})")
    ax2.set_ylim(0, 1.02)
    _pct(ax2)
    ax2.set_ylabel("cumulative probability")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8, loc="best")
    _date_axis(ax1, s["as_of"], right, date_label=False)
    _calendar(ax2, *ax2.get_xlim())
    return Chart(fig, {"days": edges, "cdf": cdf, "ci_low": lo, "ci_high": hi, "daily": daily, "period": period,
                       "p10": f["p10"], "p50": f["p50"], "p90": f["p90"], "right_day": right})


# --------------------------------------------------------------------------- 3. city by city

def node_order(scenario) -> list[tuple[str, str]]:
    """Government-held nodes with a label saying where they lie: along each axis's route in order
    (first mention), then the nodes off every route."""
    stops: dict[str, list[str]] = {}
    for axis in scenario.axes:
        for j, name in enumerate(axis.route):
            stops.setdefault(name, []).append(f"{axis.name} axis, stop {j}")
    held = [n.name for n in scenario.nodes if n.controller == GOVERNMENT]
    ordered = [name for name in stops if name in held] + [name for name in held if name not in stops]
    out = []
    for name in ordered:
        where = ", ".join(stops.get(name, ["off the axes"]))
        out.append((name, f"{name} ({'capital: ' if name == scenario.capital else ''}{where})"))
    return out


def node_falls(run: Run) -> Chart:
    """For every government-held node, P(fallen by each date), one line per node along the axes."""
    s, h = run.summary, run.histograms
    n, horizon, width = s["reps"], s["horizon_days"], float(h.attrs["bin_days"])
    scenario = run.scenario
    order = node_order(scenario)
    rebel = [node.name for node in scenario.nodes if node.controller != GOVERNMENT]
    falls = h["node_falls"]
    right = _right_day(falls.values.sum(axis=0), width, horizon)
    caption = [_run_line(s),
               "Each line: share of all replications in which that city had fallen by the date (cities are never "
               "retaken); legend in order along the axes of advance (stop 0 is the axis's base)."]
    if rebel:
        caption.append(f"Rebel-held at as-of, not shown: {', '.join(rebel)}.")
    fig = _figure(8.8, 6.8, caption + _cut_note(right, horizon))
    ax, key = fig.subplots(2, 1, height_ratios=[1, 0.1 + 0.045 * ((len(order) + 1) // 2)])
    key.axis("off")
    x0 = _x0(s["as_of"])
    curves = {}
    for i, (name, label) in enumerate(order):
        edges, cdf = _cdf(falls.sel(node=name).values, width, n)
        curves[name] = cdf
        style = {"color": BLACK, "linestyle": "-", "lw": 2.6} if name == scenario.capital else \
            {**_style(i if i < 6 else i + 1), "lw": 1.6}
        ax.plot(x0 + edges, cdf, drawstyle="steps-post", label=f"{label}: {cdf[-1]:.0%}", **style)
    ax.set_ylim(-0.01, 1.02)
    _pct(ax)
    ax.set_ylabel("P(city fallen by date)")
    fig.suptitle(f"City by city: the chance each government-held city has fallen, by date\n{s['title']}",
                 fontsize=10.5)
    ax.grid(alpha=0.3)
    key.legend(*ax.get_legend_handles_labels(), fontsize=8, loc="center", ncols=2, title_fontsize=8,
               title="city (where it lies): P(fallen) at the horizon")
    _date_axis(ax, s["as_of"], right)
    return Chart(fig, {"order": [name for name, _ in order], "days": h["day"].values,
                       "cdf": curves, "right_day": right})


# --------------------------------------------------------------------------- 4. control over time

def control_bands(h) -> dict:
    """Day-by-day quantiles (p5 ... p95) and mean of the government-held share, from the counts
    (``h``: a run's histograms Dataset)."""
    counts, step = h["control"].values, control_share.SHARE_STEP
    out = {f"p{round(q * 100)}": np.array([hist_quantile(row, step, q) for row in counts], dtype=float)
           for q in CONTROL_QUANTILES}
    out["mean"] = counts @ (np.arange(counts.shape[1]) * step) / counts.sum(axis=1)
    return out


def control(run: Run) -> Chart:
    """A fan chart of the government-held share of the theatre, day by day (see sim.runs.control_share)."""
    s, h = run.summary, run.histograms
    horizon, width = s["horizon_days"], float(h.attrs["bin_days"])
    days = h["control_day"].values
    bands = control_bands(h)
    basis = str(h.attrs["control_basis"])
    right = _right_day(h["node_falls"].values.sum(axis=0), width, horizon)
    what = "population" if basis == "population" else "cities and regions (each counts once)"
    caption = [_run_line(s),
               f"Share of the theatre's {what} in government hands on each day"
               + (" (each node weighs the mean of its population distribution)" if basis == "population" else "")
               + f"; {s['control_share']['at_start']:.0%} at as-of. Once the capital falls (captured or collapsed) "
               "the government holds nothing.",
               "Bands over replications: 50% (25th–75th percentile) and 90% (5th–95th); shares counted to the "
               "nearest 1%."] + _cut_note(right, horizon)
    fig = _figure(8.4, 5.2, caption)
    ax = fig.add_subplot()
    x = _x0(s["as_of"]) + days
    ax.fill_between(x, bands["p5"], bands["p95"], step="post", color=SKY, alpha=0.35, lw=0,
                    label="90% of replications (5th–95th percentile)")
    ax.fill_between(x, bands["p25"], bands["p75"], step="post", color=BLUE, alpha=0.55, lw=0,
                    label="50% of replications (25th–75th percentile)")
    ax.plot(x, bands["p50"], drawstyle="steps-post", color=BLACK, lw=1.8, label="median")
    ax.plot(x, bands["mean"], drawstyle="steps-post", color=VERMILLION, lw=1.4, ls="--", label="mean")
    ax.set_ylim(-0.01, max(0.05, float(s["control_share"]["at_start"])) * 1.12)
    _pct(ax)
    ax.set_ylabel(f"share of the theatre's {basis if basis == 'population' else 'nodes'}\nheld by the government")
    fig.suptitle(f"Control over time: how much of the theatre the government still holds\n{s['title']}",
                 fontsize=10.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    _date_axis(ax, s["as_of"], right)
    return Chart(fig, {"days": days, **bands, "basis": basis, "right_day": right})


# --------------------------------------------------------------------------- 5. drivers

def _groups(x: np.ndarray) -> np.ndarray:
    """Group index of each draw: its value's rank among few distinct values, else its quintile (cut
    at the order statistics, found by partial sorting; tied draws share a group)."""
    if len(np.unique(x[:2_000])) <= DRIVER_GROUPS and len(values := np.unique(x)) <= DRIVER_GROUPS:
        return np.searchsorted(values, x)
    at = np.arange(1, DRIVER_GROUPS) * len(x) // DRIVER_GROUPS
    return np.searchsorted(np.partition(x, at)[at], x, side="right")


def drivers_data(outcomes, summary: dict, width: float) -> dict:
    """Per uncertain parameter, grouped by its draws (quintiles, or its values if few): the share
    of replications in which the capital fell by day T, was captured, collapsed; and the change in
    the first from the lowest group to the highest, with a 95% interval. T is the threshold among
    7, 14, 30, 90 days and the horizon whose overall probability is nearest 50%. A run of more than
    DRIVER_SAMPLE replications is read in its first DRIVER_SAMPLE (whole blocks, each an independent
    sample), one column at a time, so memory stays bounded whatever the run's size. ``outcomes`` is
    a run's :attr:`columns` (:class:`~sim.runs.folder.Columns`, or the in-memory mapping)."""
    def column(name: str) -> np.ndarray:
        return outcomes.head(name, DRIVER_SAMPLE)

    end_day, state = column("end_day"), column("end_state")
    horizon = summary["horizon_days"]
    candidates = [t for t in DRIVER_DAYS if t < horizon] + [horizon]
    within = {t: fell_within(end_day, t) for t in candidates}
    t = min(candidates, key=lambda t: abs(within[t].mean() - 0.5))
    fell = within[t]
    params = {}
    for path in sorted(c[len("param:"):] for c in outcomes if c.startswith("param:")):
        x = column(f"param:{path}")
        g = _groups(x)
        m = g.max() + 1
        size = np.bincount(g, minlength=m)
        rate = lambda v: np.bincount(g, weights=v, minlength=m) / size  # noqa: E731
        p = rate(fell)
        se = np.sqrt(p[0] * (1 - p[0]) / size[0] + p[-1] * (1 - p[-1]) / size[-1])
        params[path] = {"x": np.bincount(g, weights=x, minlength=m) / size, "n": size, "p_fall": p,
                        "p_captured": rate(state == 0), "p_collapsed": rate(state == 1),
                        "effect": p[-1] - p[0], "effect_ci": 1.96 * se, "unit": unit_of(path)}
    ranked = sorted(params, key=lambda q: -abs(params[q]["effect"]))
    return {"within_days": t, "p_fall": float(fell.mean()), "params": params, "ranked": ranked, "n": len(end_day)}


def _drawn_how(summary: dict) -> str:
    post = summary.get("posterior")
    if not post:
        return "Parameters are drawn independently"
    return (f"The posterior's {len(post['paths'])} parameters are drawn together (a row of {post['rows']:,}), "
            "the others independently")


def drivers(run: Run) -> Chart:
    """What the run was sensitive to: the capital's fall and end state against each uncertain
    parameter's draws (needs outcomes.parquet)."""
    s = run.summary
    d = drivers_data(run.columns, s, float(run.histograms.attrs["bin_days"]))
    t, ranked, params = d["within_days"], d["ranked"], d["params"]
    what = f"P(capital falls within {t} days)"
    caption = [_run_line(s),
               f"Top: change in {what} from the lowest fifth of a parameter's draws to the highest (for a 0/1 or "
               "few-valued parameter: its lowest value to its highest); whiskers: 95% intervals, so bars within "
               "them are sampling noise.",
               f"Below: the {min(DRIVER_PANELS, len(ranked))} largest, by fifths of the draws (points at each fifth's "
               f"mean draw). {_drawn_how(s)}; overall {what} = {d['p_fall']:.1%}"
               + (f" (in the first {d['n']:,} of the {s['reps']:,} replications)." if d["n"] < s["reps"] else ".")]
    panels = min(DRIVER_PANELS, len(ranked))
    cols, rows = min(3, panels), -(-panels // 3)
    shown = ranked[:DRIVER_BARS]
    # The ranking above the panels, not beside them: the figure stays DRIVER_WIDTH inches wide, so
    # its smallest text is still readable when a report scales it to the page's width.
    rank_height, panel_height = 1.4 + 0.22 * len(shown), 0.6 + 2.7 * rows
    fig = _figure(DRIVER_WIDTH, rank_height + panel_height + 0.6, caption)
    top, bottom = fig.subfigures(2, 1, height_ratios=[rank_height, panel_height])
    ax = top.add_subplot()
    effects = np.array([params[q]["effect"] for q in shown])
    ci = np.array([params[q]["effect_ci"] for q in shown])
    y = np.arange(len(shown))[::-1]
    ax.barh(y, effects, xerr=ci, color=np.where(effects > 0, COLOURS["captured"], COLOURS["holds"]),
            error_kw={"elinewidth": 0.8, "ecolor": GREY}, height=0.7)
    ax.set_yticks(y, shown, fontsize=8)
    ax.axvline(0, color=BLACK, lw=0.8)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(f"change in {what}\n(percentage points, highest vs lowest draws)", fontsize=8.5)
    rest = f"; {len(ranked) - len(shown)} smaller not shown" if len(ranked) > len(shown) else ""
    ax.set_title(f"Sensitivity ranking, largest {len(shown)}{rest}\n(vermillion: higher draws, earlier fall; "
                 "blue: later)", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    for i, path in enumerate(ranked[:DRIVER_PANELS]):
        pa = bottom.add_subplot(rows, cols, i + 1)
        q = params[path]
        pa.plot(q["x"], q["p_fall"], "o-", color=BLACK, lw=1.6, ms=4, label=what)
        pa.plot(q["x"], q["p_captured"], "s--", color=COLOURS["captured"], lw=1.2, ms=3.5, label="P(captured)")
        pa.plot(q["x"], q["p_collapsed"], "^:", color=COLOURS["collapsed"], lw=1.4, ms=3.5, label="P(collapsed)")
        pa.set_ylim(-0.02, 1.02)
        _pct(pa)
        pa.set_title(path, fontsize=8.5)
        pa.set_xlabel(q["unit"] or "value", fontsize=8)
        pa.tick_params(labelsize=7.5)
        pa.xaxis.set_major_locator(MaxNLocator(5))
        pa.xaxis.set_major_formatter(FuncFormatter(_compact))
        pa.grid(alpha=0.3)
        if i % cols == 0:
            pa.set_ylabel("probability", fontsize=8)
        if i == 0:
            bottom.legend(loc="outside upper center", ncols=3, fontsize=8.5, frameon=False)
    fig.suptitle(f"Drivers: what the capital's fate was sensitive to — {s['title']}", fontsize=11.5)
    return Chart(fig, d)


# --------------------------------------------------------------------------- a run's figures

def _control_missing(run: Run) -> str | None:
    if "control" not in run.histograms or "control_share" not in run.summary:
        return "the run's histograms have no control-share counts (its scenario gives no node a weight)"
    return None


def _drivers_missing(run: Run) -> str | None:
    if not run.has_outcomes:
        return "no per-replication outcomes in this run (outcomes.parquet); rerun with --save-outcomes"
    if not any(c.startswith("param:") for c in run.columns):
        return "the scenario has no uncertain parameters"
    return None


_DRAW = {"end_states": end_states, "fall_day": fall_day, "node_falls": node_falls, "control": control,
         "drivers": drivers}
_NEEDS = {"control": _control_missing, "drivers": _drivers_missing}


def skipped(run: Run) -> dict[str, str]:
    """The figures a run's files do not allow, each with the reason."""
    return {name: why for name, need in _NEEDS.items() if (why := need(run))}


def charts(run: Run):
    """Yield (stem, Chart) for each figure the run's files allow, in FIGURES order (one open at a time)."""
    leave_out = skipped(run)
    for name in FIGURES:
        if name not in leave_out:
            yield name, _DRAW[name](run)


def figures(run: Run) -> dict[str, plt.Figure]:
    """A run's figures as matplotlib Figures by name (FIGURES order, those its data allow: see
    :func:`skipped`), drawn with :func:`plotting`'s settings and written nowhere; for a
    :class:`~sim.runs.runner.RunResult` in memory as for a run folder. pyplot does not hold them:
    a notebook shows one when it is a cell's value, and ``fig.savefig`` writes one."""
    with plotting():
        drawn = {name: chart.figure for name, chart in charts(run)}
    for fig in drawn.values():
        plt.close(fig)  # let go by pyplot (a notebook would show every open figure): still drawable and savable
    return drawn


def plot_run(run_dir: Path, formats=RUN_FORMATS) -> list[Path]:
    """(Re)draw every figure of a run folder from its files, as PNG (and the other ``formats``);
    returns the files written."""
    run = RunFolder(run_dir)
    return [path for name, chart in charts(run) for path in chart.save(run.path, name, formats)]


@contextlib.contextmanager
def plotting():
    """Matplotlib settings for drawing a run's figures: text from a scenario (a title with two '$' in
    it) is never parsed as mathtext, and a glyph the font lacks is left out without a warning."""
    with matplotlib.rc_context({"text.parse_math": False}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        yield


def draw_run(run_dir: Path) -> list[Path]:
    """Draw a run folder's figures with :func:`plotting`'s settings (a ``write_run`` extra)."""
    with plotting():
        return plot_run(run_dir)


def redraw(run_dir, *, svg: bool = False) -> list[Path]:
    """Redraw the figures of a complete run folder from its files, as PNG (and SVG if ``svg``);
    returns the figures written.

    The figures are drawn in a hidden staging folder inside ``run_dir`` (holding copies of, or for
    large files links to, the run's other files) and each is then renamed over the old one, so an
    interrupted redraw never leaves a half-written figure.
    """
    run_dir = require_complete(run_dir)
    formats = {f".{ext}" for ext in FORMATS}
    stage = fresh_sibling(run_dir / "redraw", PARTIAL)  # .redraw.XXXXXXXX.partial in the run folder, named first
    try:
        os.mkdir(stage, 0o700)
    except OSError as exc:
        raise ResultsError(run_dir, f"cannot write figures here ({exc.strerror or exc})") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    try:
        inputs = set()
        for f in run_dir.iterdir():
            if f.is_file() and f.suffix not in formats and not f.name.startswith("."):
                if f.stat().st_size > 10_000_000:
                    os.symlink(f.resolve(), stage / f.name)  # read only: plots never write a data file
                else:
                    shutil.copyfile(f, stage / f.name)
                inputs.add(f.name)
        with plotting():
            plot_run(stage, FORMATS if svg else RUN_FORMATS)
        written = []
        for f in sorted(stage.iterdir()):
            if f.name not in inputs and f.is_file() and not f.is_symlink():
                os.chmod(f, mode(0o666))
                os.replace(f, run_dir / f.name)
                written.append(run_dir / f.name)
        return written
    except OSError as exc:
        raise ResultsError(run_dir, f"cannot redraw the figures ({exc.strerror or exc})") from None
    except (ValueError, KeyError) as exc:  # a damaged summary or histograms file
        raise ResultsError(run_dir, f"cannot read the run's files ({type(exc).__name__}: {exc})") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


# --------------------------------------------------------------------------- several runs

def _run_caption(runs: list[Run], labels: list[str]) -> list[str]:
    return [f"{label}: as of {style.date(r.summary['as_of'])} · horizon {r.summary['horizon_days']} days · "
            f"{r.summary['reps']:,} replications · seed {r.summary['seed']}" for label, r in zip(labels, runs)]


def compare_fall_day(runs: list[Run], labels: list[str]) -> Chart:
    """The cumulative fall-day curves of several runs, overlaid on calendar dates."""
    caption = _run_caption(runs, labels) + [
        "Each line: share of that run's replications in which the capital had fallen by the date; bands: pointwise "
        "95% Wilson intervals; ticks on the bottom edge: each run's as-of date."]
    fig = _figure(9.0, 5.0 + 0.3 * len(runs), caption)
    ax = fig.add_subplot()
    start = min(_x0(r.summary["as_of"]) for r in runs)
    end = start
    curves = {}
    for i, (label, r) in enumerate(zip(labels, runs)):
        s, h = r.summary, r.histograms
        width, hist = float(h.attrs["bin_days"]), h["capital_falls"].values
        edges, cdf = _cdf(hist, width, s["reps"])
        lo, hi = wilson(np.cumsum(hist), s["reps"])
        x = _x0(s["as_of"]) + edges
        style = _style(i)
        ax.fill_between(x, lo, hi, step="post", color=style["color"], alpha=0.2, lw=0)
        ax.plot(x, cdf, drawstyle="steps-post", lw=1.8, label=f"{label}: {pct(cdf[-1], 1)} by its horizon", **style)
        ax.plot([_x0(s["as_of"])], [0], marker="|", ms=14, mew=2, color=style["color"], clip_on=False)
        end = max(end, _x0(s["as_of"]) + _right_day(hist, width, s["horizon_days"]))
        curves[label] = cdf
    _calendar(ax, start, end)
    ax.set_ylim(0, 1.02)
    _pct(ax)
    ax.set_ylabel("P(capital fallen by date)")
    fig.suptitle("When the capital falls, run by run: cumulative probability of its fall", fontsize=10.5)
    ax.grid(alpha=0.3)
    _legend_below(ax, len(runs))
    return Chart(fig, {"cdf": curves})


def _legend_below(ax, n: int) -> None:
    """The runs' legend under the axes, where it hides no curve or bar."""
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncols=2 if n > 2 else n, frameon=False)


def compare_end_states(runs: list[Run], labels: list[str]) -> Chart:
    """The end-state probabilities of several runs side by side, with 95% Wilson intervals."""
    states = list(runs[0].summary["end_states"])
    fig = _figure(9.0, 4.8 + 0.3 * len(runs), _run_caption(runs, labels) + ["Whiskers: 95% Wilson score intervals."])
    ax = fig.add_subplot()
    width = 0.8 / len(runs)
    p = {}
    for i, (label, r) in enumerate(zip(labels, runs)):
        e = r.summary["end_states"]
        v, lo, hi = (np.array([e[k][c] for k in states]) for c in ("p", "ci_low", "ci_high"))
        x = np.arange(len(states)) - 0.4 + width * (i + 0.5)
        bars = ax.bar(x, v, width=width * 0.92, color=_style(i)["color"], yerr=[v - lo, hi - v], capsize=3,
                      error_kw={"elinewidth": 1.0}, label=label, hatch=["", "//", "..", "xx"][(i // len(SERIES)) % 4])
        if len(runs) <= 8:
            for bar, val, top in zip(bars, v, hi):
                ax.annotate(pct(val, 0 if len(runs) > 3 else 1), (bar.get_x() + bar.get_width() / 2, top),
                            xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7 if len(runs) > 3 else 7.5)
        p[label] = v
    ax.set_xticks(range(len(states)), [_END_LABELS.get(k, k) for k in states], fontsize=9)
    ax.set_ylim(0, 1.1)
    _pct(ax)
    ax.set_ylabel("probability (share of replications)")
    ax.set_xlabel("how the capital ends within each run's horizon")
    fig.suptitle("End states, run by run: captured, collapsed or holds", fontsize=10.5)
    ax.grid(axis="y", alpha=0.3)
    _legend_below(ax, len(runs))
    return Chart(fig, {"states": states, "p": p})
