"""The news: what an observed timeline says had happened by a date, as facts a replication's
history either agrees with or not.

Each fact is an event known to have happened in a window of days [low, high) after the scenario's
``as_of`` (a city's fall, its retaking, the ruler's flight, an ally's arrival or withdrawal), or
known not to have happened before the record's end (``low`` = the day after ``until``, ``high`` =
infinity: a city that held, an ally that never came). By the end of a day (``now`` days after
``as_of``) a fact rules out a history in which the event

- happened before its window (and before ``now``);
- happened after its window closed (and before ``now``);
- had not happened by ``now`` although its window had closed.

So the same facts, read at the end of each day, say exactly what was known on that day (that a city
still stood on the 3rd, that it fell on the 9th), and a history that agrees with them at ``now`` is one
the news of that day cannot tell from what happened. Events after ``now`` are never read.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from ..errors import ScenarioError
from .observed import Observed, Window, censored

NODE, RETAKEN, FLED, ARRIVED, WITHDREW = "fall", "retaken", "fled", "arrived", "withdrew"


@dataclass(frozen=True)
class Fact:
    """An event of kind ``what`` (of node or ally ``index``; the ruler's is -1) in [low, high) days
    after as_of; ``opens`` is the first date it may have happened on (None for one that did not
    happen), ``known`` the date from which it is certain (its window's last day, or the record's
    end); ``label`` names it in tables."""

    what: str
    index: int
    low: float
    high: float
    opens: dt.date | None
    known: dt.date
    label: str


@dataclass(frozen=True)
class Histories:
    """Each row's event days (days after as_of, NaN for not yet or never): node falls and retakings
    (nodes, rows), the ruler's flight (rows,), allies' arrivals and withdrawals (allies, rows)."""

    fall: np.ndarray
    retaken: np.ndarray
    fled: np.ndarray
    arrived: np.ndarray
    withdrew: np.ndarray

    @classmethod
    def of_outcomes(cls, out) -> "Histories":
        """From finished replications (:class:`sim.engines.outcomes.Outcomes`)."""
        return cls(out.node_fall_day.T, out.node_retaken_day.T, out.leader_fled_day, out.ally_arrival_day.T,
                   out.ally_withdrawal_day.T)

    def day(self, what: str, index: int) -> np.ndarray:
        return {NODE: self.fall, RETAKEN: self.retaken, ARRIVED: self.arrived,
                WITHDREW: self.withdrew}[what][index] if what != FLED else self.fled


def facts(observed: Observed, scenario, tolerance: int = 0) -> list[Fact]:
    """The facts of ``observed`` about ``scenario``'s nodes, ruler and allies, in the order they
    became certain; each dated window widened by ``tolerance`` days on either side (an event the
    model puts a day or two off still agrees). A node or ally the scenario does not have is a
    one-line error naming it."""
    file, as_of = observed.source_path, scenario.as_of
    slack = dt.timedelta(days=tolerance)
    nodes = [n.name for n in scenario.nodes]
    allies = [a.name for a in scenario.allies]
    never = censored(observed.until, as_of)[0]
    out: list[Fact] = []

    def add(what, index, window: Window | None, label):
        if window is None:
            out.append(Fact(what, index, never, math.inf, None, observed.until, label))
            return
        low, high = window.days(as_of)
        if window.latest > window.earliest:
            label += f" ({window.earliest.day} {window.earliest:%b}–{window.latest.day} {window.latest:%b})"
        if high > 0:  # an event over before as_of is the scenario's own starting state
            out.append(Fact(what, index, low - tolerance, high + tolerance, max(window.earliest - slack, as_of),
                            window.latest + slack, label))

    def index_of(name, names, key, kind):
        if name not in names:
            raise ScenarioError(file, key, f"scenario {scenario.name!r} has no {kind} {name!r} "
                                           f"(its {kind}s: {', '.join(names) or 'none'})")
        return names.index(name)

    for name, window in observed.nodes.items():
        i = index_of(name, nodes, f"nodes.{name}", "node")
        add(NODE, i, window, f"{name} falls" if window else f"{name} holds")
    for name, window in observed.retaken.items():
        add(RETAKEN, index_of(name, nodes, f"nodes.{name}.retaken", "node"), window, f"{name} retaken")
    if scenario.capital not in observed.nodes:
        add(NODE, nodes.index(scenario.capital), observed.capital,
            f"{scenario.capital} falls" if observed.capital else f"{scenario.capital} holds")
    if observed.fled is not None or observed.stayed:
        add(FLED, -1, observed.fled, "the ruler flees" if observed.fled else "the ruler stays")
    for name, window in observed.arrived.items():
        add(ARRIVED, index_of(name, allies, f"allies.{name}", "ally"), window,
            f"{name} arrives" if window else f"{name} stays away")
    for name, window in observed.withdrew.items():
        add(WITHDREW, index_of(name, allies, f"allies.{name}", "ally"), window, f"{name} withdraws")
    return sorted(out, key=lambda f: (f.known, f.label))


def agrees(fact: Fact, days: np.ndarray, now: float) -> np.ndarray:
    """Which histories (event days ``days``) agree with ``fact`` as known at ``now`` days after as_of."""
    happened = days < now
    early = happened & (days < fact.low)
    late = happened & (days >= fact.high)
    missing = ~happened & (now >= fact.high)
    return ~(early | late | missing)


def consistent(fs: list[Fact], histories: Histories, now: float) -> np.ndarray:
    """Which rows agree with every fact in ``fs`` at ``now``."""
    ok = np.ones(histories.fled.shape[-1], dtype=bool)
    for f in fs:
        ok &= agrees(f, histories.day(f.what, f.index), now)
    return ok


def day_end(date: dt.date, as_of: dt.date) -> float:
    """The end of ``date`` in days after as_of: what happened on that date is known by then."""
    return float((date - as_of).days + 1)
