"""The house style: one palette, one set of formatters and one way of saving for every figure and
table, so that a date or a probability reads the same in a terminal, a figure, a comparison and a
report, and every PNG has the same resolution.

The palette is Okabe and Ito's (colour-blind safe); end states keep one colour each everywhere. A
probability strictly between 0 and 1 is never written as 0% or 100%: 99.8% at no decimals is
">99%", not "100%".
"""

from __future__ import annotations

import datetime as dt
import math
import sys

# Okabe–Ito, in the order series take them.
BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, BLACK, YELLOW = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
SERIES = [BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, BLACK, YELLOW]
END_STATES = {"captured": VERMILLION, "collapsed": ORANGE, "holds": BLUE}
OUTPUTS = {**END_STATES, "falls": PURPLE, "median_fall_day": GREEN}   # a study's outputs
GREY = "#555555"      # captions and secondary text
DARK = "#333333"      # reference lines
DASH = "—"            # a value that is not defined
DPI = 144             # every figure's PNG: 1,296 pixels across a 9-inch figure
SCORERS = {"model": "model", "always_holds": "always holds", "uniform_hazard": "uniform hazard",
           "survival": "survival"}   # a backtest's forecasters, as tables and figures name them

DAY_MONTH = "%-d %b"            # 8 Dec: date ticks of spans under a year
MONTH_YEAR = "%b %Y"            # Dec 2024: date ticks of longer spans, and spans in labels
DATE = "%-d %b %Y"              # 8 Dec 2024
LONG_DATE = "%-d %B %Y"         # 8 December 2024


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def number(v, digits: int = 4) -> str:
    """A number for people: ``23,333``, ``0.35``, ``1.255``: thousands separators, at most ``digits``
    significant digits (a number of ``digits`` or more whole digits in full), trailing zeros dropped,
    ``1.2 × 10⁻⁶`` below a millionth, never ``2.333e+04``; the dash when it is not defined."""
    if v is None or not math.isfinite(float(v)):
        return DASH if v is None or math.isnan(float(v)) else ("∞" if v > 0 else "−∞")
    v = float(v)
    if v == 0:
        return "0"
    decimals = digits - 1 - math.floor(math.log10(abs(v)))
    if decimals <= 0:
        return f"{v:,.0f}"
    if abs(v) < 1e-6:
        mantissa, exponent = f"{v:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    text = f"{v:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def pct(p, digits: int = 1) -> str:
    """A probability as a percentage (``45.3%``); the dash when it is not defined; ``<0.1%`` or
    ``>99.9%`` where rounding would say 0% or 100% of something that is neither."""
    if p is None:
        return DASH
    text = f"{p:.{digits}%}"
    step = 10.0 ** -digits
    if 0 < p < 1 and float(text[:-1]) <= 0:
        return f"<{step:.{digits}f}%"
    if 0 < p < 1 and float(text[:-1]) >= 100:
        return f">{100 - step:.{digits}f}%"
    return text


def pct_interval(p, low, high, digits: int = 1) -> str:
    """``45.3% (44.9%–45.7%)``: a probability with its interval."""
    return f"{pct(p, digits)} ({pct(low, digits)}–{pct(high, digits)})"


def date(d: dt.date | str) -> str:
    """``8 Dec 2024``."""
    d = dt.date.fromisoformat(d) if isinstance(d, str) else d
    return f"{d:{DATE}}"


def long_date(d: dt.date | str) -> str:
    """``8 December 2024``."""
    d = dt.date.fromisoformat(d) if isinstance(d, str) else d
    return f"{d:{LONG_DATE}}"


def on_day(as_of: dt.date | str, day: float) -> dt.date:
    """The calendar date ``day`` days after ``as_of`` (day 0)."""
    as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    return as_of + dt.timedelta(days=float(day))


def day_date(as_of: dt.date | str, day: float | None) -> str:
    """``15 Dec 2024 (day 8)``; the dash when there is no day."""
    return DASH if day is None else f"{date(on_day(as_of, day))} (day {day:g})"


def short_day_date(as_of: dt.date | str, day: float) -> str:
    """``15 Dec (day 8)``, for figure legends."""
    return f"{on_day(as_of, day):{DAY_MONTH}} (day {day:g})"


def percent_axis(ax, axis: str = "y") -> None:
    """Tick labels of a probability axis as percentages."""
    from matplotlib.ticker import PercentFormatter

    getattr(ax, f"{axis}axis").set_major_formatter(PercentFormatter(1.0, decimals=None))


def date_axis(ax, axis: str = "x") -> None:
    """Tick labels of a calendar axis (matplotlib dates): ``8 Dec`` under a year, ``Dec 2024`` beyond."""
    import matplotlib.dates as mdates

    target = getattr(ax, f"{axis}axis")
    lo, hi = sorted(getattr(ax, f"get_{axis}lim")())
    target.set_major_formatter(mdates.DateFormatter(DAY_MONTH if hi - lo <= 366 else MONTH_YEAR))


def save(fig, path) -> None:
    """Write ``fig`` to ``path`` (PNG at :data:`DPI`, or SVG by the suffix)."""
    fig.savefig(path, dpi=DPI)


def offscreen() -> None:
    """Draw with Agg (no display), unless in a notebook's kernel, whose inline backend then shows a
    Figure that is a cell's value. Called by every figure module before it imports pyplot."""
    import matplotlib

    if "ipykernel" not in sys.modules:
        matplotlib.use("Agg")
