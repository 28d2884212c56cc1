"""The paths figure (``paths.png``), drawn from a paths folder's ``paths.json``: an alluvial diagram
whose columns are the first, second, ... event of a replication's path and then its end, each
block as tall as the share of replications it holds, the bands between columns the replications
that went from one to the other. Rare events of a column are merged into "other events" so that
every label can be read."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .style import offscreen

offscreen()
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..files import read_json  # noqa: E402
from . import style  # noqa: E402
from .style import BLACK, END_STATES, GREEN, GREY, PURPLE, SKY, YELLOW, pct  # noqa: E402

SHOWN = 6            # blocks a column shows; the rest are "other events"
EVENT_COLOURS = [GREEN, PURPLE, SKY, YELLOW, "#8c8c8c", BLACK]  # none of the end states' colours
NONE = "no further event"
OTHER = "other events"
GAP = 0.012          # between blocks, as a share of all replications
WIDTH = 0.16         # a block's width, in column spacings


def _end(p: dict) -> str:
    """How a path's regime ended (its end state alone in a paths.json written before it said how)."""
    return p.get("end", p["end_state"])


def _columns(table: dict) -> tuple[list[tuple[tuple[str, ...], float]], int]:
    """Each path as its column labels (events padded to the depth, then how the regime ended) and its
    share; rare labels of a column merged."""
    depth = table["depth"]
    rows = [(tuple(p["events"] + [NONE] * (depth - len(p["events"])) + [_end(p)]), p["p"]) for p in table["paths"]]
    merged = []
    keep = []
    for c in range(depth + 1):
        weight = defaultdict(float)
        for labels, w in rows:
            weight[labels[c]] += w
        keep.append({k for k, _ in sorted(weight.items(), key=lambda kv: -kv[1])[:SHOWN]} | {NONE})
    for labels, w in rows:
        merged.append((tuple(x if x in keep[c] else OTHER for c, x in enumerate(labels)), w))
    return merged, depth


def _colour(label: str, i: int, ends: dict[str, str]) -> str:
    """An end in its end state's colour (``ends``: end -> end state), an event in the i-th event colour."""
    if label in ends:
        return END_STATES[ends[label]]
    return "#dddddd" if label in (NONE, OTHER) else EVENT_COLOURS[i % len(EVENT_COLOURS)]


def paths_figure(table: dict):
    """The alluvial figure of a paths table (:func:`sim.runs.paths.paths` with its header)."""
    rows, depth = _columns(table)
    ends = {_end(p): p["end_state"] for p in table["paths"]}
    ncol = depth + 1
    fig, ax = plt.subplots(figsize=(3.0 * ncol + 1.5, 6.5), layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))
    blocks = []  # per column: label -> (bottom, height)
    for c in range(ncol):
        weight = defaultdict(float)
        for labels, w in rows:
            weight[labels[c]] += w
        order = sorted(weight, key=lambda k: (k in (NONE, OTHER), -weight[k]))
        top, placed = 1.0 + GAP * (len(order) - 1), {}
        for k in order:
            placed[k] = (top - weight[k], weight[k])
            top -= weight[k] + GAP
        blocks.append(placed)
    colours = {}
    for c, placed in enumerate(blocks):
        for i, (k, (bottom, h)) in enumerate(placed.items()):
            colours.setdefault(k, _colour(k, sum(x not in ends for x in colours), ends))
            ax.add_patch(plt.Rectangle((c - WIDTH / 2, bottom), WIDTH, h, color=colours[k], lw=0, zorder=2))
            if h > 0.012:
                ax.text(c + WIDTH / 2 + 0.02, bottom + h / 2, f"{k}  {pct(h, 0)}", va="center", fontsize=8,
                        zorder=4, bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 1})
    # Bands between consecutive columns, stacked within each block in the order of the other side.
    t = np.linspace(0, 1, 40)
    ease = 3 * t**2 - 2 * t**3
    for c in range(ncol - 1):
        flows = defaultdict(float)
        for labels, w in rows:
            flows[(labels[c], labels[c + 1])] += w
        rank = [{k: i for i, k in enumerate(blocks[c + j])} for j in (0, 1)]
        tops = [{}, {}]
        for j in (0, 1):  # each side stacks its flows in the order of the other side's blocks
            at = {k: b + h for k, (b, h) in blocks[c + j].items()}
            for (pair, w) in sorted(flows.items(), key=lambda kv: (rank[j][kv[0][j]], rank[1 - j][kv[0][1 - j]])):
                tops[j][pair] = at[pair[j]]
                at[pair[j]] -= w
        x = c + WIDTH / 2 + (1 - WIDTH) * t
        for (a, b), w in flows.items():
            y0, y1 = tops[0][(a, b)], tops[1][(a, b)]
            top = y0 + (y1 - y0) * ease
            ax.fill_between(x, top - w, top, color=colours[b] if b in ends else colours[a], alpha=0.35,
                            lw=0, zorder=1)
    ax.set_xlim(-0.4, ncol - 1 + 1.1)
    ax.set_ylim(-0.02, 1.0 + GAP * SHOWN + 0.04)
    ax.set_xticks(range(ncol), [f"event {c + 1}" for c in range(depth)] + ["end"], fontsize=9)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.suptitle(f"{table['title']}: the paths to the end, {table['reps']:,} replications", fontsize=10.5)
    fig.text(0.01, 0.01, f"{table['scenario']} · as of {style.date(table['as_of'])} · horizon {table['horizon_days']} "
             f"days · seed {table['seed']} · each column the replications' k-th event (a city's fall and how, an "
             f"ally's arrival or withdrawal, the ruler's flight, a hand-over), then how the regime ended; heights "
             f"are shares of all replications", fontsize=7.5, color=GREY, ha="left", va="bottom", wrap=True)
    return fig


def plot_paths(folder: Path) -> list[Path]:
    """paths.png from the folder's paths.json."""
    folder = Path(folder)
    fig = paths_figure(read_json(folder / "paths.json"))
    path = folder / "paths.png"
    style.save(fig, path)
    plt.close(fig)
    return [path]
