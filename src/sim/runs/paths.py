"""The paths by which a run's outcomes came about, and what they say given an event.

A replication's path is the sequence of its decisive events in the order they happened, read from
its per-replication outcomes (outcomes.parquet): each city's fall and how it fell (``CITY falls
(assault)``, ``(abandoned)``, ``(rising)``, ``(collapse)``), an ally's arrival or withdrawal after
as_of, the ruler's flight and a hand-over, then how the regime ended (:data:`ENDS`: captured, one of
three ways of collapsing, or holds). Events on the same day keep a fixed order: falls, then allies,
then the ruler. A path of ``depth`` k is its first k events and its end, so paths of depth 1 say
which city fell first, and how.

Every replication has exactly one path, so the paths' probabilities sum to one; a condition
(:func:`parse_condition`: ``CITY<3``, ``CITY>=3``, ``not CITY``, ``CITY.abandoned<3``,
``CITY.assault``, ``ruler<5``, ``ALLY.arrives<10``) selects replications, and :func:`given` gives the
end states and the capital's falls within d days among them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engines.outcomes import CAPTURED, COLLAPSED, END_STATES, FALL_MODES, NOT_FALLEN
from ..files import manifest_base, staged_folder, write_json
from .summary import milestones, proportion

__all__ = ["Event", "events", "ENDS", "ends", "paths", "Condition", "parse_condition", "given", "paths_table",
           "write_paths", "KIND", "PATHS"]

FALL, HOW, ARRIVES, WITHDRAWS = "fall_day.", "fall_how.", "ally_arrival_day.", "ally_withdrawal_day."
RULER = {"leader_fled_day": "the ruler flees", "handover_day": "hand-over"}
CONDITION = re.compile(r"^\s*(not\s+)?([A-Za-z0-9_\-]+(?:\.(?:arrives|withdraws|" + "|".join(FALL_MODES) + r"))?)"
                       r"\s*(?:(<=|<|>=|>)\s*([0-9.]+))?\s*$")
# How a regime ended, from its end state, the ruler's flight and a hand-over (:func:`ends`).
ENDS = ("captured (assault)", "collapsed (ruler fled)", "collapsed (hand-over)", "collapsed (garrison dissolved)",
        "holds")


@dataclass(frozen=True)
class Event:
    """A kind of event: its column in the outcomes and how a path names it; ``how`` (a
    :data:`~sim.engines.outcomes.FALL_MODES` index) narrows a city's fall to one way of falling."""

    column: str
    label: str
    how: int | None = None


def events(columns: Mapping[str, np.ndarray]) -> list[Event]:
    """The events the outcomes record, in their order on a tied day."""
    found = [Event(c, f"{c[len(FALL):]} falls") for c in columns if c.startswith(FALL)]
    found += [Event(c, f"{c[len(ARRIVES):]} arrives") for c in columns if c.startswith(ARRIVES)]
    found += [Event(c, f"{c[len(WITHDRAWS):]} withdraws") for c in columns if c.startswith(WITHDRAWS)]
    found += [Event(c, label) for c, label in RULER.items() if c in columns]
    return found


def _days(columns: Mapping[str, np.ndarray], e: Event) -> np.ndarray:
    """The day of event ``e`` in each replication; NaN where it did not happen after as_of (an ally
    there from the start, day 0, is not news) or, for a fall narrowed to one way, where the city
    fell another way."""
    d = np.asarray(columns[e.column], dtype=float)
    if e.how is not None:
        return np.where(_how(columns, e, len(d)) == e.how, d, np.nan)
    return np.where(d > 0, d, np.nan) if e.column.startswith(ARRIVES) else d


def _how(columns: Mapping[str, np.ndarray], e: Event, n: int) -> np.ndarray:
    """How each of the ``n`` replications' city fell, for a fall event (a FALL_MODES index);
    NOT_FALLEN where it did not, for any other event, and where the outcomes do not say."""
    how = columns.get(HOW + e.column[len(FALL):]) if e.column.startswith(FALL) else None  # read once
    if how is not None:
        return np.asarray(how, dtype=np.int64)
    return np.full(n, NOT_FALLEN, dtype=np.int64)


def ends(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """How each replication ended, an index of :data:`ENDS`: captured (the capital taken by force);
    collapsed by a hand-over (the ruler's, or his successor's after a flight), after the ruler's
    flight (the garrison dissolved once he had gone) or with the ruler still there (the garrison
    dissolved); or holds."""
    end = np.asarray(columns["end_state"])
    nan = np.full(len(end), np.nan)
    fled = ~np.isnan(np.asarray(columns.get("leader_fled_day", nan), dtype=float))
    handed = ~np.isnan(np.asarray(columns.get("handover_day", nan), dtype=float))
    collapsed = end == COLLAPSED
    way = [end == CAPTURED, collapsed & handed, collapsed & fled, collapsed]
    labels = ["captured (assault)", "collapsed (hand-over)", "collapsed (ruler fled)", "collapsed (garrison dissolved)"]
    return np.select(way, [ENDS.index(label) for label in labels], default=ENDS.index("holds"))


def paths(columns: Mapping[str, np.ndarray], *, depth: int = 3) -> list[dict]:
    """Every path of ``depth`` events and its end, most frequent first: ``events`` (labels, a fall
    with how the city fell where the outcomes say), ``end_state`` (captured, collapsed or holds),
    ``end`` (how, :data:`ENDS`), ``count`` and ``p`` with its 95% Wilson interval (``ci_low``,
    ``ci_high``)."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    kinds = events(columns)
    n = len(columns["end_state"])
    days = np.column_stack([_days(columns, e) for e in kinds]) if kinds else np.zeros((n, 0))
    how = np.column_stack([_how(columns, e, n) for e in kinds]) if kinds else np.zeros((n, 0), dtype=np.int64)
    # Sort each replication's events by day (ties in the fixed order); NaN (never) sorts last.
    order = np.argsort(np.where(np.isnan(days), np.inf, days), axis=1, kind="stable")[:, :depth]
    happened = ~np.isnan(np.take_along_axis(days, order, axis=1))
    # An event and the way a city fell as one code: event x (modes + 1) + mode + 1; -1 for none.
    width = len(FALL_MODES) + 1
    codes = np.where(happened, order * width + np.take_along_axis(how, order, axis=1) + 1, -1)
    end, end_how = np.asarray(columns["end_state"]), ends(columns)
    counts = Counter(zip(map(tuple, codes.tolist()), end.tolist(), end_how.tolist()))
    out = []
    for (code, state, e), k in counts.most_common():
        labels = [kinds[c // width].label + (f" ({FALL_MODES[c % width - 1]})" if c % width else "")
                  for c in code if c >= 0]
        out.append({"events": labels, "end_state": END_STATES[state], "end": ENDS[e], "count": k,
                    **proportion(k, n)})
    return out


@dataclass(frozen=True)
class Condition:
    """``event`` happened before day ``day`` (``op`` "<" or "<="), or not (">=", ">": not by then,
    or never); ``op`` None: it happened at all (``negate``: it never did)."""

    text: str
    event: Event
    op: str | None
    day: float | None
    negate: bool

    def mask(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        d = _days(columns, self.event)
        if self.op is None:
            m = ~np.isnan(d)
        elif self.op in ("<", "<="):
            m = (d < self.day) if self.op == "<" else (d <= self.day)
        else:  # not by that day: later, or never
            m = ~((d < self.day) if self.op == ">=" else (d <= self.day))
        return ~m if self.negate else m


def parse_condition(text: str, columns: Mapping[str, np.ndarray]) -> Condition:
    """A condition on an event: ``NAME`` (a city, ``CITY.MODE`` for a city that fell one way, MODE one
    of assault, abandoned, rising, collapse; ``ruler``, ``handover`` or ``ALLY.arrives`` /
    ``ALLY.withdraws``), optionally ``< D``, ``<= D``, ``>= D`` or ``> D`` (days after as_of), or
    ``not NAME``. ``CITY.MODE>=D`` holds unless the city fell that way before day D. Raises
    ``ValueError`` naming what is wrong."""
    m = CONDITION.match(text)
    if not m:
        raise ValueError(f"{text!r}: expected NAME, NAME<DAY, NAME>=DAY or not NAME (a city of the run, "
                         f"CITY.MODE with MODE one of {', '.join(FALL_MODES)}, ruler, handover, ALLY.arrives or "
                         "ALLY.withdraws; e.g. CITY<3)")
    negate, name, op, day = bool(m.group(1)), m.group(2), m.group(3), m.group(4)
    if negate and op:
        raise ValueError(f"{text!r}: 'not' takes a name alone (not {name}); write {name}>=DAY for 'not by DAY'")
    by_name = {"ruler": Event("leader_fled_day", RULER["leader_fled_day"]),
               "handover": Event("handover_day", RULER["handover_day"])}
    names = set(columns)  # the columns' names, none read
    for e in events(columns):
        if e.column.startswith(FALL):
            city = e.column[len(FALL):]
            by_name[city] = e
            if HOW + city in names:
                by_name.update({f"{city}.{mode}": Event(e.column, f"{e.label} ({mode})", k)
                                for k, mode in enumerate(FALL_MODES)})
        elif e.column.startswith(ARRIVES):
            by_name[f"{e.column[len(ARRIVES):]}.arrives"] = e
        elif e.column.startswith(WITHDRAWS):
            by_name[f"{e.column[len(WITHDRAWS):]}.withdraws"] = e
    if name not in by_name or by_name[name].column not in columns:
        import difflib
        near = difflib.get_close_matches(name, list(by_name), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        city, _, mode = name.rpartition(".")
        if mode in FALL_MODES and city in by_name:
            raise ValueError(f"{text!r}: these outcomes do not record how {city} fell")
        raise ValueError(f"{text!r}: no event {name!r} in this run{hint}; expected a city, CITY.MODE, ruler, "
                         "handover, ALLY.arrives or ALLY.withdraws")
    return Condition(text.strip(), by_name[name], op, float(day) if day is not None else None, negate)


def given(columns: Mapping[str, np.ndarray], conditions: list[Condition], within_days: list[int]) -> dict:
    """The replications meeting every condition: how many (``n``, and their share ``p`` of the run
    with its interval), their end states and P(capital falls within d days) for ``within_days``, each
    with its 95% Wilson interval (None where no replication meets them)."""
    end = np.asarray(columns["end_state"])
    keep = np.ones(len(end), dtype=bool)
    for c in conditions:
        keep &= c.mask(columns)
    n = int(keep.sum())
    end_day = np.asarray(columns["end_day"], dtype=float)[keep]
    fell = end[keep] != END_STATES.index("holds")
    return {"conditions": [c.text for c in conditions], "n": n, "share": proportion(n, len(end)),
            "end_states": {s: proportion(int((end[keep] == i).sum()), n) for i, s in enumerate(END_STATES)},
            "capital_falls_within": {str(d): proportion(int((fell & (end_day <= d)).sum()), n) for d in within_days}}


KIND = "paths"
PATHS = "paths.json"


def paths_table(run, *, depth: int = 3, conditions: list[Condition] = (), name: str = "") -> dict:
    """What ``sim paths`` writes of a run (a :class:`sim.runs.folder.RunFolder`, or a RunResult with
    its outcomes): the run's header, every path of ``depth`` events (:func:`paths`) and, for
    ``conditions`` (:func:`parse_condition`), what :func:`given` says of the milestones."""
    cols, s = run.columns, run.summary
    return {"run": name, **{k: s[k] for k in ("scenario", "title", "as_of", "horizon_days", "reps", "seed")},
            "depth": depth, "paths": paths(cols, depth=depth),
            "given": given(cols, list(conditions), milestones(s["horizon_days"])) if conditions else None}


def write_paths(table: dict, out_dir, *, extras=(), command=None) -> Path:
    """Write a paths folder: ``paths.json`` (``table``), then each of ``extras`` (``extra(folder)``:
    the figure), then manifest.json, staged so that the folder is whole or absent."""
    out_dir = Path(out_dir)
    with staged_folder(out_dir, kind=KIND, error="cannot write the paths folder") as tmp:
        write_json(tmp / PATHS, table, allow_nan=False)
        for extra in extras:
            extra(tmp)
        write_json(tmp / "manifest.json", {**manifest_base(KIND, command), "run": table["run"]})
    return out_dir
