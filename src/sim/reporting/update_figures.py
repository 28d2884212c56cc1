"""The figures of an update (``update.png``: how the odds moved with each piece of news) and of a
timeline (``timeline.png``: the forecast day by day against what happened), drawn from the
folder's JSON."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from .style import offscreen

offscreen()
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from ..files import read_json  # noqa: E402
from . import style  # noqa: E402
from .style import DARK, END_STATES, GREEN, GREY, PURPLE, VERMILLION  # noqa: E402

WITHIN = {"7": VERMILLION, "30": PURPLE, "90": GREEN}


def _dates(rows) -> list[dt.date]:
    return [dt.date.fromisoformat(r["date"]) for r in rows]


def _label(row: dict) -> str:
    """A column's label: its date, then its news wrapped to a narrow column."""
    news = [textwrap.fill(n, 18) for n in row["news"][:3]] + (["…"] if len(row["news"]) > 3 else [])
    return "\n".join([style.date(row["date"]).rsplit(" ", 1)[0], *news])


def update_figure(data: dict):
    """Top: P(the capital falls within 7, 30, 90 days of each update); bottom: the end states by
    the horizon; one column per update, labelled with its date and the news it brought. 10 inches
    wide, its smallest text 8 pt, so that it reads at a report's width."""
    rows = data["forecasts"]
    x = list(range(len(rows)))
    labels = [_label(r) for r in rows]
    fig, (left, right) = plt.subplots(2, 1, figsize=(10, 10), layout="constrained", sharex=True)
    for d, colour in WITHIN.items():
        left.plot(x, [r["falls_within"][d] for r in rows], "o-", color=colour, label=f"falls within {d} days")
    left.set_ylim(0, 1)
    left.set_ylabel(f"P({data['capital']['name']} falls within d days of the update)")
    left.legend(loc="upper left", frameon=False)
    bottom = [0.0] * len(rows)
    for state, colour in END_STATES.items():
        h = [r[state] for r in rows]
        right.bar(x, h, bottom=bottom, color=colour, label=state, width=0.7)
        bottom = [b + v for b, v in zip(bottom, h)]
    right.set_ylim(0, 1)
    right.set_ylabel(f"end state by the horizon ({data['horizon_days']} days after as_of)")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, 1.1), frameon=False, ncols=3)
    right.set_xticks(x, labels, fontsize=8)
    for ax in (left, right):
        style.percent_axis(ax)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(textwrap.fill(f"{data['title']}: the forecast updated on the news ({data['observed']}, "
                               f"{data['particles']:,} particles, seed {data['seed']})", 100), fontsize=11)
    return fig


def timeline_figure(data: dict):
    """P(the capital falls within 7 and 30 days) as of each day, the dated news marked, and the
    day it fell."""
    rows = data["forecasts"][1:] or data["forecasts"]  # the scenario's own forecast shares the first day
    days = _dates(rows)
    fig, ax = plt.subplots(figsize=(11, 5.5), layout="constrained")  # smallest text 8 pt: readable in a report
    for d, colour in list(WITHIN.items())[:2]:
        ax.plot(days, [r["falls_within"][d] for r in rows], "o-", color=colour, ms=4,
                label=f"P(falls within {d} days)")
    on_day: dict[dt.date, list[str]] = {}
    for f in data["facts"]:
        if f["opens"] is not None:
            on_day.setdefault(dt.date.fromisoformat(f["opens"]), []).append(f["label"])
    for day, labels in on_day.items():
        if days[0] <= day <= days[-1]:
            ax.axvline(day, color=GREY, lw=0.8, ls=":")
            ax.text(day, 0.98, " " + "\n".join(labels), rotation=90, va="top", ha="right", fontsize=8, color=GREY)
    fell = data["capital"]["fell"]
    if fell:
        when = dt.date.fromisoformat(fell[0])
        ax.axvline(when, color=DARK, lw=1.5)
        ax.text(when, 0.02, f" {data['capital']['name']} {data['capital']['end_state']} {style.date(when)}",
                rotation=90, va="bottom", ha="left", fontsize=8, color=DARK)
        ax.set_xlim(days[0] - dt.timedelta(days=0.5), max(days[-1], when) + dt.timedelta(days=1))
    ax.set_ylim(0, 1)
    style.percent_axis(ax)
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, len(days) // 12)))
    style.date_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=False)
    ax.set_ylabel("as of the end of each day, given the news to then")
    ax.set_title(textwrap.fill(f"{data['title']}: the forecast day by day ({data['observed']}, "
                               f"{data['particles']:,} particles, seed {data['seed']})", 110), fontsize=10)
    return fig


def plot_update(folder: Path) -> None:
    """Draw ``update.png`` or ``timeline.png`` from the folder's JSON."""
    folder = Path(folder)
    kind = "timeline" if (folder / "timeline.json").is_file() else "update"
    data = read_json(folder / f"{kind}.json")
    fig = (timeline_figure if kind == "timeline" else update_figure)(data)
    style.save(fig, folder / f"{kind}.png")
    plt.close(fig)
