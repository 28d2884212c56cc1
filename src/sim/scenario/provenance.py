"""Where a figure comes from, and the look-ahead rule: nothing known only after ``as_of`` goes in.

A parameter's provenance is its ``source`` (an outlet, a title, a date; or ``"assumption"``), its
``date`` and a ``note``. A forecast as of a date may use only what was known then, so a scenario is
refused (:func:`lookahead`) when any figure cites a source dated after its ``as_of``:

- the ``date`` key, a calendar date given to the day (``2024-12-07``), the month (``"1991-05"``)
  or the year (``1958``);
- a date written in the ``source`` text: ``2024-12-07``, ``1991-05``, ``7 Dec 2024``, ``Dec 2024``,
  ``December 7, 2024``, any century;
- a date written in ISO form (``2024-12-07``, ``1991-05``) in the ``note``, the form in which notes
  cite their sources. Words in a note may name what was scheduled at as_of (an inauguration on
  20 Jan 2025, a withdrawal deadline) and are not read.

A date given to a month or a year is after ``as_of`` when its first day is. A bare four-digit
number in a text is not read as a year (it may be a count: ``2500 fighters``), nor is the end of a
span (``'Cuba 1952-1959'``): a source known only to its year says so in ``date``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["PROVENANCE_KEYS", "PROVENANCE_HINT", "MODEL_DEFAULT", "Period", "period", "dates_in", "lookahead",
           "unsourced"]

PROVENANCE_KEYS = ("source", "date", "note")
MODEL_DEFAULT = "model default (assumption)"  # the source of a value the file leaves to its default
# The keys a figure without provenance is missing, as a hint: { value = ..., source = ..., date = ... }.
PROVENANCE_HINT = ('write each as { value = ..., source = "OUTLET, TITLE", date = YYYY-MM-DD } (date may be '
                   '"YYYY-MM" or a year), or with source = "assumption" and note = "WHY"')

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m} | \
          {m.lower(): i for i, m in enumerate(calendar.month_name) if m} | {"sept": 9}
_MONTH = r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?" \
         r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
# Each form names its groups: y (year), m (month number), mon (month name), d (day).
_ISO = re.compile(r"(?<![\d-])(?P<y>\d{4})-(?P<m>\d{2})(?:-(?P<d>\d{2}))?(?![\d-])")
_WORDS = (
    re.compile(rf"(?<![\w-])(?P<d>\d{{1,2}}) {_MONTH.replace('(', '(?P<mon>', 1)},? (?P<y>\d{{4}})(?![\w-])"),
    re.compile(rf"(?<![\w-]){_MONTH.replace('(', '(?P<mon>', 1)} (?P<d>\d{{1,2}}), (?P<y>\d{{4}})(?![\w-])"),
    re.compile(rf"(?<![\w-]){_MONTH.replace('(', '(?P<mon>', 1)},? (?P<y>\d{{4}})(?![\w-])"),
)


@dataclass(frozen=True)
class Period:
    """A calendar date given to a day, a month or a year: the days from ``first`` to ``last``."""

    first: dt.date
    last: dt.date
    text: str  # as written: 2024-12-07, 1991-05, 1958 (ISO form), or the words found in a text

    def isoformat(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def _period(year: int, month: int | None = None, day: int | None = None, text: str = "") -> Period | None:
    """The period, or None if it is no calendar date (month 13, 30 February, year 0)."""
    try:
        if day is not None:
            first = last = dt.date(year, month, day)
        elif month is not None:
            first, last = dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
        else:
            first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    except ValueError:
        return None
    return Period(first, last, text or first.isoformat()[: 4 + 3 * (month is not None) + 3 * (day is not None)])


def period(value) -> Period | None:
    """A ``date`` value as a :class:`Period`: a TOML date, an integer year, or a string ``"YYYY"``,
    ``"YYYY-MM"`` or ``"YYYY-MM-DD"``; None for anything else."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return _period(value.year, value.month, value.day)
    if isinstance(value, int) and not isinstance(value, bool):
        return _period(value) if 1 <= value <= 9999 else None
    if isinstance(value, str) and (m := _ISO.fullmatch(value) or re.fullmatch(r"(?P<y>\d{4})", value)):
        g = m.groupdict()
        return _period(int(g["y"]), g.get("m") and int(g["m"]), g.get("d") and int(g["d"]))
    return None


def dates_in(text: str, *, words: bool = True) -> list[Period]:
    """The dates written in ``text``, in ISO form and (with ``words``) with the month's name
    (``7 Dec 2024``, ``Dec 2024``, ``December 7, 2024``); what is no calendar date is skipped."""
    found: dict[tuple[int, int], Period] = {}  # by place in the text
    for form in (_ISO, *(_WORDS if words else ())):
        for m in form.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in found):  # "7 Dec 2024" is not also "Dec 2024"
                continue
            g = m.groupdict()
            month = _MONTHS[g["mon"].lower()] if g.get("mon") else int(g["m"]) if g.get("m") else None
            p = _period(int(g["y"]), month, g.get("d") and int(g["d"]), m.group(0))
            if p is not None:
                found[m.span()] = p
    return [found[span] for span in sorted(found)]


def lookahead(parameters, as_of: dt.date) -> list[tuple[tuple[str, ...], str]]:
    """Every citation in ``parameters`` (``(dotted path, Param)`` pairs) dated after ``as_of``:
    ``(key path, what is wrong)``, in the parameters' order."""
    out = []
    for path, p in parameters:
        keys = tuple(path.split("."))
        if p.date is not None and p.date.first > as_of:
            out.append((keys + ("date",), f"{p.date} is after the scenario's as_of {as_of}"))
        for key, text, words in (("source", p.source, True), ("note", p.note, False)):
            for d in dates_in(text or "", words=words):
                if d.first > as_of:
                    out.append((keys + (key,), f"cites {d.text!r}, after the scenario's as_of {as_of}"))
    return out


def unsourced(parameters) -> list[str]:
    """The paths of the figures a file gives without a source (left to a model default is not one)."""
    return [path for path, p in parameters if not p.source]
