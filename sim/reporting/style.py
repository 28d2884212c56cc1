"""One palette and one set of formatters for every figure and table, so that a date or a
probability reads the same in a terminal, a figure, a comparison and a report.

The palette is Okabe and Ito's (colour-blind safe); end states keep one colour each everywhere.
"""

from __future__ import annotations

import datetime as dt
import math

# Okabe–Ito, in the order series take them.
BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, BLACK, YELLOW = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
SERIES = [BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, BLACK, YELLOW]
END_STATES = {"captured": VERMILLION, "collapsed": ORANGE, "holds": BLUE}
OUTPUTS = {**END_STATES, "falls": PURPLE, "median_fall_day": GREEN}   # a study's outputs
GREY = "#555555"      # captions and secondary text
DARK = "#333333"      # reference lines
DASH = "—"            # a value that is not defined

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
    """A probability as a percentage (``45.3%``); the dash when it is not defined."""
    return DASH if p is None else f"{p:.{digits}%}"


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
