"""Figures of sweeps and sensitivity analyses, drawn from their result files alone.

A grid sweep of one parameter gives a line with 95% bands (``sweep_line.png``); of two, heat maps
of each end state's probability (``sweep_heatmap.png``); of more, no figure. A sensitivity analysis
gives a bar chart of its indices with their bootstrap intervals (``indices.png``), a one-at-a-time
tornado chart (``tornado.png``), and by method Morris's mu*-sigma plane (``morris.png``) or Sobol's
second-order indices (``second_order.png``, when computed). An output that is the same at every
point gets no panel (the caption says so), and a warning of :func:`sim.studies.sensitivity.diagnose`
is printed on the figure.
"""

from __future__ import annotations

from pathlib import Path

from .style import offscreen

offscreen()
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..files import read_json  # noqa: E402
from . import style  # noqa: E402
from .style import BLUE, DARK, GREY, SKY, VERMILLION, pct  # noqa: E402
from .style import OUTPUTS as COLOURS  # noqa: E402

STATES = ("captured", "collapsed", "holds")


def _read(path: Path) -> dict:
    return read_json(path)


def _caption(fig, table: dict, extra: str = "") -> None:
    fig.text(0.01, 0.01, f"{table['scenario']} · as of {table['as_of']} · horizon {table['horizon_days']} days · "
             f"{table['reps']:,} replications a point"
             f" · seed {table['seed']} (common to all points){extra}", fontsize=7.5, color=GREY,
             ha="left", va="bottom")


def _save(fig, path: Path) -> Path:
    style.save(fig, path)
    plt.close(fig)
    return path


def _col(rows, key) -> np.ndarray:
    return np.array([np.nan if r[key] is None else r[key] for r in rows], dtype=float)


def plot_sweep(out_dir: Path) -> list[Path]:
    """Draw a grid sweep's figures from ``sweep.json`` in ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    table = _read(out_dir / "sweep.json")
    params = table["parameters"]
    if len(params) == 1:
        return [plot_line(table, out_dir / "sweep_line.png")]
    if len(params) == 2:
        return [plot_heatmaps(table, out_dir / "sweep_heatmap.png")]
    return []


def plot_line(table: dict, path: Path) -> Path:
    """End-state probabilities (95% Wilson bands) and fall-day quantiles against one parameter."""
    rows, p = table["rows"], table["parameters"][0]["path"]
    x = _col(rows, p)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7.0, 6.2), sharex=True, height_ratios=(3, 2))
    for state in STATES:
        ax1.plot(x, _col(rows, state), marker="o", ms=3.5, color=COLOURS[state], label=state)
        ax1.fill_between(x, _col(rows, f"{state}_lo"), _col(rows, f"{state}_hi"), color=COLOURS[state], alpha=0.25,
                         lw=0)
    by = [c for c in table["columns"] if c.startswith("falls_by_") and c.endswith("d")]
    if by:
        k = by[0]
        ax1.plot(x, _col(rows, k), ls="--", color=DARK, label=f"falls within {k[9:-1]} days")
        ax1.fill_between(x, _col(rows, f"{k}_lo"), _col(rows, f"{k}_hi"), color=DARK, alpha=0.12, lw=0)
    ax1.set_ylim(-0.02, 1.02)
    style.percent_axis(ax1)
    ax1.set_ylabel("probability")
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8, ncol=2, loc="best")
    ax1.set_title(f"{table['title']}\nsweep of {p} (bands: 95% intervals)", fontsize=10)
    ax2.fill_between(x, _col(rows, "fall_day_p10"), _col(rows, "fall_day_p90"), color=COLOURS["falls"], alpha=0.25,
                     lw=0, label="10–90% (where it fell)")
    ax2.plot(x, _col(rows, "fall_day_p50"), marker="o", ms=3.5, color=COLOURS["falls"], label="median (where it fell)")
    ax2.plot(x, _col(rows, "median_fall_day"), ls=":", color=DARK, label="median, held = horizon")
    ax2.set_ylabel("capital's fall day")
    ax2.set_xlabel(p)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8, loc="best")
    fig.subplots_adjust(left=0.11, right=0.97, top=0.9, bottom=0.13, hspace=0.08)
    _caption(fig, table)
    return _save(fig, path)


def plot_heatmaps(table: dict, path: Path) -> Path:
    """Heat maps of P(captured), P(collapsed), P(holds) and P(falls by the first day given) over two
    parameters (each cell a grid point; cells are equally sized whatever the spacing of the values)."""
    rows = table["rows"]
    (py, vy), (px, vx) = [(p["path"], p["values"]) for p in table["parameters"]]
    by = [c for c in table["columns"] if c.startswith("falls_by_") and c.endswith("d")]
    keys = [*STATES, *by[:1]]
    titles = {k: f"P({k})" for k in STATES}
    if by:
        titles[by[0]] = f"P(falls within {by[0][9:-1]} days)"
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 7.6), sharex=True, sharey=True)
    grid = {k: np.full((len(vy), len(vx)), np.nan) for k in keys}
    iy, ix = {v: i for i, v in enumerate(vy)}, {v: i for i, v in enumerate(vx)}
    for r in rows:
        for k in keys:
            grid[k][iy[r[py]], ix[r[px]]] = r[k]
    annotate = len(vx) <= 12 and len(vy) <= 12
    im = None
    for ax, k in zip(axes.flat, keys):
        im = ax.imshow(grid[k], origin="lower", cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_title(titles[k], fontsize=10)
        if annotate:
            for (i, j), v in np.ndenumerate(grid[k]):
                if not np.isnan(v):
                    ax.text(j, i, pct(v, 0), ha="center", va="center", fontsize=7,
                            color="black" if v > 0.6 else "white")
    for ax in axes.flat[len(keys):]:
        ax.set_visible(False)
    step_x, step_y = max(1, len(vx) // 8), max(1, len(vy) // 8)
    for ax in axes[-1]:
        ax.set_xticks(range(0, len(vx), step_x), [f"{v:.3g}" for v in vx[::step_x]], fontsize=8)
        ax.set_xlabel(px, fontsize=9)
    for ax in axes[:, 0]:
        ax.set_yticks(range(0, len(vy), step_y), [f"{v:.3g}" for v in vy[::step_y]], fontsize=8)
        ax.set_ylabel(py, fontsize=9)
    fig.suptitle(f"{table['title']}\nend states over {py} × {px}", fontsize=10)
    fig.subplots_adjust(left=0.1, right=0.88, top=0.88, bottom=0.11, wspace=0.08, hspace=0.16)
    cax = fig.add_axes((0.9, 0.2, 0.02, 0.6))
    fig.colorbar(im, cax=cax, label="probability")
    _caption(fig, table)
    return _save(fig, path)


def plot_sensitivity(out_dir: Path) -> list[Path]:
    """Draw a sensitivity analysis's figures from ``indices.json`` and ``tornado.json``."""
    out_dir = Path(out_dir)
    indices = _read(out_dir / "indices.json")
    paths = [plot_indices(indices, out_dir / "indices.png")]
    if indices["method"] == "morris" and _varying(indices):
        paths.append(plot_morris(indices, out_dir / "morris.png"))
    if indices["method"] == "sobol" and any(_varying(indices).get(o) for o in indices.get("second_order") or {}):
        paths.append(plot_second_order(indices, out_dir / "second_order.png"))
    if (out_dir / "tornado.json").is_file():
        paths.append(plot_tornado(_read(out_dir / "tornado.json"), out_dir / "tornado.png"))
    return paths


def _varying(table: dict) -> dict:
    """The outputs (key -> label) that are not the same at every point."""
    constant = {r["output"] for r in table["rows"] if r["constant"]}
    return {k: v for k, v in _labels(table).items() if k not in constant}


def _omitted(table: dict, shown: dict) -> str:
    """The caption's note on the outputs that have no panel."""
    left = [k for k in table["outputs"] if k not in shown]
    return f" · no panel for {', '.join(left)} (the same at every point)" if left else ""


def _warn(fig, table: dict, top: float) -> None:
    """The diagnostics' warnings under the title, in red, so a figure read alone says it cannot be trusted."""
    notes = table.get("warnings") or []
    if notes:
        fig.text(0.5, top, "\n".join(f"warning: {n}" for n in notes[:3]), ha="center", va="top", fontsize=7.5,
                 color=VERMILLION, wrap=True)


MAX_FACTORS = 20  # factors drawn in a sensitivity figure (all are in the tables)


def _labels(table: dict) -> dict:
    """Output labels with the horizon written out."""
    h = f"{table['horizon_days']} days"
    return {k: v.replace("the horizon", h).replace("= horizon", f"= {h}") for k, v in table["outputs"].items()}


def _importance(rows, key: str) -> dict:
    """Each factor's largest share of an output's top index, over the outputs."""
    out: dict = {}
    for o in {r["output"] for r in rows}:
        block = [r for r in rows if r["output"] == o]
        top = max([r[key] or 0.0 for r in block] + [0.0])
        for r in block:
            out[r["parameter"]] = max(out.get(r["parameter"], 0.0), (r[key] or 0.0) / top if top > 0 else 0.0)
    return out


def plot_indices(table: dict, path: Path) -> Path:
    """One panel per output: Morris mu* (with sigma as a marker) or Sobol S1 and ST, with the
    95% bootstrap intervals as error bars; factors ordered by importance, at most MAX_FACTORS."""
    method, rows, outputs = table["method"], table["rows"], _labels(table)
    names = [f["path"] for f in table["factors"]]
    key = "mu_star" if method == "morris" else "ST"
    weight = _importance(rows, key)
    names.sort(key=lambda n: -weight.get(n, 0.0))
    shown = names[:MAX_FACTORS][::-1]
    note = f" · {len(shown)} of {len(names)} factors shown (all in indices.csv)" if len(shown) < len(names) else ""
    names = shown
    y = np.arange(len(names))
    shown_outputs = _varying(table) or dict(list(outputs.items())[:1])
    note += _omitted(table, shown_outputs)
    warned = len(table.get("warnings") or [])
    fig, axes = plt.subplots(1, len(shown_outputs), figsize=(2.9 * len(shown_outputs) + 2.4,
                                                             0.3 * len(names) + 1.9 + 0.15 * warned), sharey=True)
    for ax, (out, label) in zip(np.atleast_1d(axes), shown_outputs.items()):
        by = {r["parameter"]: r for r in rows if r["output"] == out}
        get = lambda k: np.array([np.nan if by[n][k] is None else by[n][k] for n in names], dtype=float)  # noqa: E731
        if method == "morris":
            ax.barh(y, get("mu_star"), xerr=get("mu_star_conf"), color=COLOURS.get(out, BLUE), alpha=0.8,
                    capsize=2.5, error_kw={"elinewidth": 0.9}, label="mu*")
            ax.plot(get("sigma"), y, "k|", ms=9, label="sigma")
            ax.set_xlabel("mu* (per full quantile range)", fontsize=8)
        else:
            h = 0.38
            ax.barh(y + h / 2, get("S1"), height=h, xerr=get("S1_conf"), color=COLOURS.get(out, BLUE),
                    alpha=0.55, capsize=2, error_kw={"elinewidth": 0.8}, label="first order S1")
            ax.barh(y - h / 2, get("ST"), height=h, xerr=get("ST_conf"), color=COLOURS.get(out, BLUE),
                    capsize=2, error_kw={"elinewidth": 0.8}, label="total ST")
            ax.axvline(0, color=DARK, lw=0.6)
            ax.set_xlabel("Sobol' index", fontsize=8)
        if by and next(iter(by.values()))["constant"]:
            ax.text(0.5, 0.5, "the same at every point", transform=ax.transAxes, ha="center", fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7.5, loc="lower right")
    np.atleast_1d(axes)[0].set_yticks(y, names, fontsize=8)
    what = "Morris screening" if method == "morris" else "Sobol' indices"
    fig.suptitle(f"{table['title']}: {what}, {table['n_points']:,} points (bars: 95% bootstrap intervals)",
                 fontsize=10)
    head = 0.96 - 0.035 * min(warned, 3)
    fig.tight_layout(rect=(0, 0.04, 1, head))
    _warn(fig, table, head + 0.005)
    _caption(fig, table, note)
    return _save(fig, path)


def plot_morris(table: dict, path: Path) -> Path:
    """Morris's mu*-sigma plane, one panel per output that varies: a factor far right matters; one
    above the line sigma = mu* acts through interactions or non-linearly (Campolongo et al. 2007);
    one near the origin can be fixed. The ten most influential are labelled."""
    outputs = _varying(table)
    fig, axes = plt.subplots(1, len(outputs), figsize=(4.6 * len(outputs) + 0.6, 4.6))
    for ax, (out, label) in zip(np.atleast_1d(axes), outputs.items()):
        block = [r for r in table["rows"] if r["output"] == out]
        x = np.array([r["mu_star"] for r in block], dtype=float)
        y = np.array([r["sigma"] for r in block], dtype=float)
        ax.scatter(x, y, s=22, color=COLOURS.get(out, BLUE), zorder=3)
        top = max(float(np.nanmax(x)), float(np.nanmax(y)), 1e-12) * 1.08
        ax.plot([0, top], [0, top], color=GREY, lw=0.8, ls="--", label="sigma = mu*")
        ax.plot([0, top], [0, 0.1 * top], color=GREY, lw=0.8, ls=":", label="sigma = 0.1 mu*")
        for i in np.argsort(-x)[:10]:
            ax.annotate(block[i]["parameter"], (x[i], y[i]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlim(0, 1.3 * top)  # room for the labels
        ax.set_ylim(0, top)
        ax.set_xlabel("mu* (mean |elementary effect|, per full quantile range)", fontsize=8)
        ax.set_ylabel("sigma (spread of the effects)", fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{table['title']}: Morris screening, {table['n_points']:,} points", fontsize=10)
    warned = min(len(table.get("warnings") or []), 3)
    head = 0.94 - 0.035 * warned
    fig.tight_layout(rect=(0, 0.04, 1, head))
    _warn(fig, table, head + 0.005)
    _caption(fig, table, _omitted(table, outputs))
    return _save(fig, path)


def plot_second_order(table: dict, path: Path) -> Path:
    """Sobol's second-order indices S2 of each pair of factors, one heat map per output that varies:
    the share of the output's variance that the pair explains together and neither alone."""
    second = {o: v for o, v in table["second_order"].items() if o in _varying(table)}
    labels = _labels(table)
    names = next(iter(second.values()))["names"]
    k = len(names)
    fig, axes = plt.subplots(1, len(second), figsize=(0.5 * k * len(second) + 1.6 * len(second) + 2.6,
                                                      0.5 * k + 3.4), squeeze=False, layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))  # room for the caption
    scale = max([abs(v) for s in second.values() for row in s["S2"] for v in row if v is not None] + [1e-12])
    for n, (ax, (out, s)) in enumerate(zip(axes[0], second.items())):
        m = np.array([[np.nan if v is None else v for v in row] for row in s["S2"]], dtype=float)
        conf = np.array([[np.nan if v is None else v for v in row] for row in s["S2_conf"]], dtype=float)
        m[np.tril_indices(k)] = np.nan  # SALib fills the upper triangle: pair (i, j), i < j
        m, conf = m[:-1, 1:], conf[:-1, 1:]  # the first column and the last row are empty
        im = ax.imshow(m, cmap="RdBu_r", vmin=-scale, vmax=scale)
        if k <= 9:
            for i, j in zip(*np.nonzero(np.isfinite(m))):
                ax.text(j, i, f"{m[i, j]:.2f}\n±{conf[i, j]:.2f}", ha="center", va="center", fontsize=6.5,
                        color="white" if abs(m[i, j]) > 0.6 * scale else DARK)
        ax.set_xticks(range(k - 1), names[1:], rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(k - 1), names[:-1] if n == 0 else [], fontsize=7)
        ax.set_title(labels[out], fontsize=9)
    fig.colorbar(im, ax=list(axes[0]), label="S2 (95% half-widths below the values)", shrink=0.8)
    fig.suptitle(f"{table['title']}: Sobol' second-order indices, {table['n_points']:,} points", fontsize=10)
    _caption(fig, table, _omitted(table, second))
    return _save(fig, path)


def plot_tornado(table: dict, path: Path) -> Path:
    """One panel per output: each factor moved alone from its 5% to its 95% quantile, the others at
    their medians; bars from the output at the centre, widest swing on top."""
    rows, labels = table["rows"], _labels(table)
    n = len(rows) // max(1, len(labels))
    outputs = {o: v for o, v in labels.items() if any(r["swing"] > 0 for r in rows if r["output"] == o)} \
        or dict(list(labels.items())[:1])
    shown = min(n, MAX_FACTORS)
    # One panel under another: each has its own factor labels, and side by side they would make the
    # figure too wide for its text to be read at a page's width.
    fig, axes = plt.subplots(len(outputs), 1, figsize=(8.0, len(outputs) * (0.26 * shown + 1.3) + 0.8))
    for ax, (out, label) in zip(np.atleast_1d(axes), outputs.items()):
        block = sorted([r for r in rows if r["output"] == out], key=lambda r: r["swing"])[-shown:]
        y = np.arange(len(block))
        centre = block[0]["at_central"] if block else 0.0
        lo = np.array([r["at_low"] for r in block])
        hi = np.array([r["at_high"] for r in block])
        ax.barh(y, lo - centre, left=centre, color=SKY, label="at the 5% quantile")
        ax.barh(y, hi - centre, left=centre, color=VERMILLION, alpha=0.8, label="at the 95% quantile")
        ax.axvline(centre, color=DARK, lw=0.8)
        ax.set_yticks(y, [r["parameter"] for r in block], fontsize=8)
        probability = not out.endswith("_day")  # every output but the fall day is a probability
        if probability:
            style.percent_axis(ax, "x")
        at = pct(centre) if probability else f"day {centre:.3g}"
        ax.set_title(f"{label}\n(all factors at their medians: {at})", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=7.5)
    np.atleast_1d(axes)[0].legend(fontsize=7.5, loc="best")
    fig.suptitle(f"{table['title']}: one factor at a time, from its 5% to its 95% quantile", fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    _caption(fig, table, (f" · the {shown} widest swings of {n} factors" if shown < n else "")
             + _omitted(table, outputs))
    return _save(fig, path)
