"""Observed timelines: what happened after a scenario's as-of date, as validated, typed data.

A file holds calendar dates (or windows of dates, for uncertain ones), each with its source and a
confidence mark; scoring turns them into days counted from a scenario's ``as_of``::

    [observed]
    name = "case-a"
    until = 2024-12-31              # the record runs to here: what had not happened is censored

    [capital]
    end_state = "collapsed"         # captured | collapsed | holds (by `until`)
    date = 2024-12-08               # or earliest = ..., latest = ...
    source = "..."
    confidence = "WS"

    [nodes.town]
    fell = 2024-12-05               # or earliest / latest; a node not listed is not scored
    retaken = 2024-12-20            # optional: the government took it back (a date or a window)
    source = "..."

    [nodes.citadel]
    held = true                     # it never fell by `until` (scored as censored)
    source = "..."

    [leadership]
    fled = { earliest = 2024-12-07, latest = 2024-12-08, source = "...", confidence = "CF" }
    # or: stayed = { source = "..." }  (the ruler had not fled by `until`)

    [allies.patron]
    arrived = 2024-12-06            # its support arrived (a date or a window); optional
    withdrew = { earliest = 2024-12-09, latest = 2024-12-10 }   # optional
    source = "..."

    [allies.neighbour]
    absent = true                   # its support never arrived by `until`
    source = "..."

Allies are news for ``sim update``; backtests score the capital, the nodes and the ruler.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..engines.outcomes import END_STATES
from ..errors import ScenarioError
from ..scenario.load import SCENARIO_NAME, read_toml

CONFIDENCE = {"WS", "SS", "CL", "CF", "DER"}
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Window:
    """An event known to have happened between two dates (the same date when it is exact)."""

    earliest: dt.date
    latest: dt.date
    source: str
    confidence: str | None = None

    def days(self, as_of: dt.date) -> tuple[float, float]:
        """[low, high) in days after ``as_of``: a date covers the whole day it names."""
        return float((self.earliest - as_of).days), float((self.latest - as_of).days + 1)


@dataclass(frozen=True)
class Observed:
    name: str
    description: str
    until: dt.date
    capital_state: str
    capital: Window | None          # None when the capital held to ``until``
    capital_source: str
    nodes: dict[str, Window | None]  # a fall window, or None: the node held to ``until``
    fled: Window | None
    retaken: dict[str, Window] = field(default_factory=dict)
    source_path: str = ""
    arrived: dict[str, Window | None] = field(default_factory=dict)  # an arrival window, or None: absent to ``until``
    stayed: bool = False            # the ruler had not fled by ``until`` (said, not assumed)
    withdrew: dict[str, Window] = field(default_factory=dict)


def _date(v, file: str, key: str) -> dt.date:
    if not isinstance(v, dt.date) or isinstance(v, dt.datetime):
        raise ScenarioError(file, key, "must be a TOML date such as 2024-12-08")
    return v


def _window(table: dict, file: str, key: str, date_key: str, until: dt.date) -> Window:
    allowed = {date_key, "earliest", "latest", "source", "confidence", "note"}
    for k in table:
        if k not in allowed:
            raise ScenarioError(file, f"{key}.{k}", f"unknown key (expected one of: {', '.join(sorted(allowed))})")
    if date_key in table:
        if "earliest" in table or "latest" in table:
            raise ScenarioError(file, key, f"give either '{date_key}' or 'earliest' and 'latest', not both")
        earliest = latest = _date(table[date_key], file, f"{key}.{date_key}")
    elif "earliest" in table and "latest" in table:
        earliest = _date(table["earliest"], file, f"{key}.earliest")
        latest = _date(table["latest"], file, f"{key}.latest")
        if latest < earliest:
            raise ScenarioError(file, key, "latest is before earliest")
    else:
        raise ScenarioError(file, key, f"needs '{date_key}' or both 'earliest' and 'latest'")
    if latest > until:
        raise ScenarioError(file, key, f"dated after the record's end (observed.until = {until})")
    source, confidence = _attested(table, file, key)
    return Window(earliest, latest, source, confidence)


def _attested(table: dict, file: str, key: str) -> tuple[str, str | None]:
    """The source (required) and confidence mark (optional, one of CONFIDENCE) of a fact's table."""
    source = table.get("source")
    if not isinstance(source, str) or not source:
        raise ScenarioError(file, f"{key}.source", "every observed fact needs a source")
    confidence = table.get("confidence")
    if confidence is not None and confidence not in CONFIDENCE:
        raise ScenarioError(file, f"{key}.confidence", f"must be one of {', '.join(sorted(CONFIDENCE))}")
    return source, confidence


def load_observed(path: str | Path) -> Observed:
    """Read and validate an observed-timeline file."""
    file = str(path)
    doc = read_toml(path, what="observed timeline")
    for k in doc:
        if k not in {"observed", "capital", "nodes", "leadership", "allies"}:
            raise ScenarioError(file, k, "unknown key (expected observed, capital, nodes, leadership, allies)")
    head = doc.get("observed")
    if not isinstance(head, dict):
        raise ScenarioError(file, "observed", "required table is missing")
    for k in head:
        if k not in {"name", "description", "until"}:
            raise ScenarioError(file, f"observed.{k}", "unknown key (expected name, description, until)")
    name = head.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError(file, "observed.name", "required string is missing")
    if not SCENARIO_NAME.fullmatch(name):
        raise ScenarioError(file, "observed.name", "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a "
                                                   f"letter or digit (it names the backtest folder), not {name!r}")
    until = _date(head.get("until"), file, "observed.until")

    cap = doc.get("capital")
    if not isinstance(cap, dict):
        raise ScenarioError(file, "capital", "required table is missing")
    state = cap.get("end_state")
    if state not in END_STATES:
        raise ScenarioError(file, "capital.end_state", f"must be one of {', '.join(END_STATES)}")
    if state == "holds":
        if "date" in cap or "earliest" in cap:
            raise ScenarioError(file, "capital", "a capital that held has no fall date")
        window = None
        source, _ = _attested(cap, file, "capital")
    else:
        body = {k: v for k, v in cap.items() if k != "end_state"}
        window = _window(body, file, "capital", "date", until)
        source = window.source

    nodes: dict[str, Window | None] = {}
    retaken: dict[str, Window] = {}
    node_table = doc.get("nodes", {})
    if not isinstance(node_table, dict):
        raise ScenarioError(file, "nodes", "must be a table of nodes")
    for node, body in node_table.items():
        if not NAME.match(node) or not isinstance(body, dict):
            raise ScenarioError(file, f"nodes.{node}", "each node is a table named like the scenario's nodes")
        key = f"nodes.{node}"
        body = dict(body)
        retaken_at = body.pop("retaken", None)
        if "held" in body:
            if body["held"] is not True:
                raise ScenarioError(file, f"{key}.held", "must be true (a node that held has no fall date)")
            if retaken_at is not None or any(k in body for k in ("fell", "earliest", "latest")):
                raise ScenarioError(file, key, "a node that held has no fall or retaken date")
            for k in body:
                if k not in {"held", "source", "confidence", "note"}:
                    raise ScenarioError(file, f"{key}.{k}", "unknown key (expected held, source, confidence, note)")
            _attested(body, file, key)
            nodes[node] = None
            continue
        nodes[node] = _window(body, file, key, "fell", until)
        if retaken_at is not None:
            when = retaken_at if isinstance(retaken_at, dict) else {"date": retaken_at}
            if not isinstance(when, dict) or "source" in when and not isinstance(when["source"], str):
                raise ScenarioError(file, f"{key}.retaken", "must be a date or a table with a date or a window")
            retaken[node] = _window({"source": nodes[node].source, **when}, file, f"{key}.retaken", "date", until)
            if retaken[node].earliest < nodes[node].earliest:
                raise ScenarioError(file, f"{key}.retaken", "retaken before it fell")

    fled = None
    lead = doc.get("leadership", {})
    if not isinstance(lead, dict):
        raise ScenarioError(file, "leadership", "must be a table")
    for k in lead:
        if k not in ("fled", "stayed"):
            raise ScenarioError(file, f"leadership.{k}", "unknown key (expected fled or stayed)")
    if "fled" in lead and "stayed" in lead:
        raise ScenarioError(file, "leadership", "give fled or stayed, not both")
    stayed = "stayed" in lead
    if stayed:
        body = lead["stayed"]
        if not isinstance(body, dict) or set(body) - {"source", "confidence", "note"}:
            raise ScenarioError(file, "leadership.stayed", "must be a table with its source (and optionally "
                                                           "confidence, note): the ruler had not fled by until")
        _attested(body, file, "leadership.stayed")
    if "fled" in lead:
        if not isinstance(lead["fled"], dict):
            raise ScenarioError(file, "leadership.fled", "must be a table with a date or a window")
        fled = _window(lead["fled"], file, "leadership.fled", "date", until)
    arrived, withdrew = _allies(doc.get("allies", {}), file, until)
    return Observed(name, head.get("description", ""), until, state, window, source, nodes, fled,
                    retaken=retaken, source_path=file, arrived=arrived, withdrew=withdrew, stayed=stayed)


def _allies(table, file: str, until: dt.date) -> tuple[dict[str, Window | None], dict[str, Window]]:
    """``[allies.NAME]``: when its support arrived (or ``absent = true``) and when it withdrew."""
    if not isinstance(table, dict):
        raise ScenarioError(file, "allies", "must be a table of allies")
    arrived: dict[str, Window | None] = {}
    withdrew: dict[str, Window] = {}
    for ally, body in table.items():
        key = f"allies.{ally}"
        if not NAME.match(ally) or not isinstance(body, dict):
            raise ScenarioError(file, key, "each ally is a table named like the scenario's allies")
        for k in body:
            if k not in {"arrived", "absent", "withdrew", "source", "confidence", "note"}:
                raise ScenarioError(file, f"{key}.{k}", "unknown key (expected arrived, absent, withdrew, source, "
                                                        "confidence, note)")
        source, confidence = _attested(body, file, key)
        extra = {"source": source, **({"confidence": confidence} if confidence is not None else {})}
        if "absent" in body:
            if body["absent"] is not True or "arrived" in body or "withdrew" in body:
                raise ScenarioError(file, f"{key}.absent", "must be true, with no arrived or withdrew date "
                                                           "(its support never came)")
            arrived[ally] = None
            continue
        if "arrived" not in body and "withdrew" not in body:
            raise ScenarioError(file, key, "needs 'arrived', 'withdrew' or 'absent = true'")
        for what, into in (("arrived", arrived), ("withdrew", withdrew)):
            if what in body:
                when = body[what] if isinstance(body[what], dict) else {"date": body[what]}
                into[ally] = _window({**extra, **when}, file, f"{key}.{what}", "date", until)
    return arrived, withdrew


def censored(until: dt.date, as_of: dt.date) -> tuple[float, float]:
    """The observation 'not by ``until``': [days to the day after until, infinity)."""
    return float((until - as_of).days + 1), math.inf


def check_against(observed: Observed, scenario) -> None:
    """Refuse an observed record that contradicts the scenario it scores (one line, naming the
    observed file and key): a record ending before the scenario's as_of, a capital that fell before
    it, or a ``[nodes.CAPITAL]`` entry other than ``[capital]``'s."""
    file, as_of = observed.source_path, scenario.as_of
    if observed.until < as_of:
        raise ScenarioError(file, "observed.until", f"the record ends ({observed.until}) before the scenario's "
                                                    f"as_of ({as_of}): nothing after as_of was observed")
    if observed.capital is not None and observed.capital.latest < as_of:
        raise ScenarioError(file, "capital", f"the capital fell ({observed.capital.latest}) before the scenario's "
                                             f"as_of ({as_of}): there is nothing left to forecast")
    node = observed.nodes.get(scenario.capital)
    if node is None and scenario.capital in observed.nodes and observed.capital is not None:
        raise ScenarioError(file, f"nodes.{scenario.capital}", "says it held, but [capital] says it fell; "
                                                               "give the capital's fall once, under [capital]")
    if node is not None:
        cap = observed.capital
        if cap is None or (node.earliest, node.latest) != (cap.earliest, cap.latest):
            said = "held" if cap is None else f"fell {cap.earliest}" + ("" if cap.latest == cap.earliest else
                                                                        f" to {cap.latest}")
            raise ScenarioError(file, f"nodes.{scenario.capital}", f"contradicts [capital] (which says it {said}); "
                                                                   "give the capital's fall once, under [capital]")
