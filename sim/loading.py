"""Scenario files to :class:`~sim.scenario.Scenario`: TOML parsing, ``extends``, ``--set`` overrides
and every validation check, in one place.

Files are only ever parsed as TOML and override values only as TOML literals: nothing is evaluated.
Every error is a :class:`~sim.errors.ScenarioError` naming the file, the key path and the problem.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import tomllib
from pathlib import Path

from .distributions import DISTRIBUTIONS, Distribution, Fixed
from .errors import ScenarioError
from .scenario import (
    SECTIONS, SIDES, GOVERNMENT, REBELS, Ally, Axis, Node, Param, Road, Scenario, param_fields,
)
from .toml_writer import dumps

__all__ = ["load_scenario", "load_document", "apply_overrides", "scenario_from_document", "parse_override"]

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
TOP_LEVEL = {"extends", "scenario", "nodes", "roads", "rebels", "allies", *SECTIONS}
SCENARIO_KEYS = {"name", "title", "description", "as_of", "horizon_days", "capital"}
PROVENANCE_KEYS = {"source", "date", "note"}
MAX_HORIZON_DAYS = 100_000
MAX_FILE_BYTES = 5_000_000


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, merge (``extends``), override (``PATH=VALUE`` strings) and validate a scenario file."""
    doc, origins = load_document(path)
    apply_overrides(doc, origins, overrides)
    return scenario_from_document(doc, origins, str(path))


# --------------------------------------------------------------------------- documents and extends

def _read_toml(path: Path, key: str = "") -> dict:
    shown = str(path)
    try:
        if path.is_dir():
            raise ScenarioError(shown, key, "is a directory, not a scenario file")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(shown, key, "file not found") from None
    except OSError as exc:
        raise ScenarioError(shown, key, f"cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(shown, "", f"file is {len(raw)} bytes; scenarios are limited to {MAX_FILE_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(shown, "", f"not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(shown, "", f"invalid TOML: {exc}") from None


def _is_param_table(v) -> bool:
    return isinstance(v, dict) and ("dist" in v or "value" in v)


def _merge(base: dict, over: dict, origins: dict, file: str, prefix: tuple = ()) -> None:
    """Merge ``over`` into ``base`` in place; parameter tables and arrays replace, other tables merge."""
    for k, v in over.items():
        path = prefix + (k,)
        if isinstance(v, dict) and not _is_param_table(v) and isinstance(base.get(k), dict) \
                and not _is_param_table(base[k]):
            _merge(base[k], v, origins, file, path)
        else:
            base[k] = copy.deepcopy(v)
            for p in [q for q in origins if q[: len(path)] == path]:
                del origins[p]
            origins[path] = file


def load_document(path: str | Path, _chain: tuple[Path, ...] = ()) -> tuple[dict, dict]:
    """The merged TOML document of ``path`` and its ``extends`` chain, and the file each key came from."""
    path = Path(path)
    resolved = path.resolve()
    if resolved in _chain:
        loop = " -> ".join(p.name for p in (*_chain, resolved))
        raise ScenarioError(str(path), "extends", f"extends loop: {loop}")
    doc = _read_toml(path)
    origins: dict = {}
    parent = doc.pop("extends", None)
    if parent is None:
        _merge(base := {}, doc, origins, str(path))
        return base, origins
    if not isinstance(parent, str) or not parent:
        raise ScenarioError(str(path), "extends", "must be the path of another scenario file")
    parent_path = (path.parent / parent)
    if not parent_path.is_file():
        raise ScenarioError(str(path), "extends", f"file not found: {parent}")
    base, origins = load_document(parent_path, (*_chain, resolved))
    _merge(base, doc, origins, str(path))
    return base, origins


# --------------------------------------------------------------------------- overrides

def parse_override(text: str) -> tuple[list[str], object]:
    """``a.b.c=VALUE`` to (["a", "b", "c"], value); the value is read as a TOML literal, or as a bare string."""
    if "=" not in text:
        raise ScenarioError("--set", text, "expected PATH=VALUE")
    path, _, value = text.partition("=")
    keys = [k.strip() for k in path.strip().split(".")]
    if not path.strip() or any(not k for k in keys):
        raise ScenarioError("--set", path, "empty key in parameter path")
    value = value.strip()
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ -]*", value):
            parsed = value  # a bare word such as a side or a node name
        else:
            raise ScenarioError("--set", ".".join(keys), f"value {value!r} is not a TOML literal") from None
    return keys, parsed


def apply_overrides(doc: dict, origins: dict, overrides) -> None:
    """Apply ``PATH=VALUE`` overrides in order. The path must name an existing table or a known field."""
    for text in overrides:
        keys, value = parse_override(text)
        where = ".".join(keys)
        table = doc
        for i, k in enumerate(keys[:-1]):
            if k not in table:
                if i == 0 and k in SECTIONS:
                    table[k] = {}
                else:
                    raise ScenarioError("--set", where, f"unknown parameter path: no table {'.'.join(keys[: i + 1])!r}")
            if not isinstance(table[k], dict):
                raise ScenarioError("--set", where, f"{'.'.join(keys[: i + 1])!r} is a value, not a table")
            table = table[k]
        leaf = keys[-1]
        if leaf not in table and not _known_field(keys):
            raise ScenarioError("--set", where, "unknown parameter path")
        table[leaf] = value
        origins[tuple(keys)] = "--set"


def _known_field(keys: list[str]) -> bool:
    """Whether ``keys`` names a field the schema knows, though the file left it to its default."""
    if len(keys) == 2 and keys[0] in SECTIONS:
        return keys[1] in {f.name for f in param_fields(SECTIONS[keys[0]])}
    if len(keys) == 2 and keys[0] == "scenario":
        return keys[1] in SCENARIO_KEYS
    kinds = {"nodes": Node, "rebels": Axis, "allies": Ally}
    if len(keys) == 3 and keys[0] in kinds:
        return keys[2] in {f.name for f in param_fields(kinds[keys[0]])} | {"deploy_to", "controller"}
    return False


# --------------------------------------------------------------------------- validation

class _Checker:
    """Validation helpers that know which file each key came from."""

    def __init__(self, origins: dict, default_file: str):
        self.origins = origins
        self.default_file = default_file

    def fail(self, path: tuple, message: str):
        file = self.default_file
        for n in range(len(path), 0, -1):
            if path[:n] in self.origins:
                file = self.origins[path[:n]]
                break
        raise ScenarioError(file, ".".join(path), message)

    def table(self, doc, path: tuple, *, required=False) -> dict:
        v = doc.get(path[-1]) if isinstance(doc, dict) else None
        if v is None:
            if required:
                self.fail(path, "required table is missing")
            return {}
        if not isinstance(v, dict):
            self.fail(path, f"must be a table, not {_type_name(v)}")
        return v

    def unknown(self, table: dict, allowed: set, path: tuple) -> None:
        for k in table:
            if k not in allowed:
                self.fail(path + (k,), f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def string(self, table, key, path, *, default=None, choices=None) -> str:
        v = table.get(key, default)
        if v is None:
            self.fail(path + (key,), "required key is missing")
        if not isinstance(v, str):
            self.fail(path + (key,), f"must be a string, not {_type_name(v)}")
        if choices and v not in choices:
            self.fail(path + (key,), f"must be one of {', '.join(choices)}, not {v!r}")
        return v

    def number(self, v, path) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(path, f"must be a number, not {_type_name(v)}")
        if not math.isfinite(v):
            self.fail(path, f"must be finite, not {v}")
        return float(v)

    def param(self, table: dict, f, path: tuple) -> Param:
        meta = f.metadata
        key_path = path + (f.name,)
        if f.name not in table:
            if meta["default"] is None:
                self.fail(key_path, "required parameter is missing")
            return Param(Fixed(float(meta["default"])), source="model default (assumption)")
        return self.param_value(table[f.name], key_path, meta)

    def param_value(self, v, path: tuple, meta: dict) -> Param:
        source = date = note = None
        if isinstance(v, dict):
            extra = {k: v[k] for k in v if k in PROVENANCE_KEYS}
            body = {k: x for k, x in v.items() if k not in PROVENANCE_KEYS}
            source, date, note = self.provenance(extra, path)
            if "dist" in body:
                dist = self.distribution(body, path)
            elif "value" in body:
                self.unknown(body, {"value"}, path)
                dist = Fixed(self.number(body["value"], path + ("value",)))
            else:
                self.fail(path, "a parameter table needs 'value' or 'dist'")
        else:
            dist = Fixed(self.number(v, path))
        self.check_range(dist, path, meta)
        return Param(dist, source, date, note)

    def provenance(self, extra: dict, path: tuple):
        source = extra.get("source")
        if source is not None and not isinstance(source, str):
            self.fail(path + ("source",), "must be a string")
        date = extra.get("date")
        if date is not None and (not isinstance(date, dt.date) or isinstance(date, dt.datetime)):
            self.fail(path + ("date",), "must be a TOML date such as 2024-12-06")
        note = extra.get("note")
        if note is not None and not isinstance(note, str):
            self.fail(path + ("note",), "must be a string")
        return source, date, note

    def distribution(self, body: dict, path: tuple) -> Distribution:
        name = body["dist"]
        if name not in DISTRIBUTIONS:
            self.fail(path + ("dist",), f"unknown distribution {name!r} (expected one of: {', '.join(DISTRIBUTIONS)})")
        cls, required, optional = DISTRIBUTIONS[name]
        self.unknown(body, {"dist", *required, *optional}, path)
        args = {}
        for k in required:
            if k not in body:
                self.fail(path + (k,), f"{name} distribution needs '{k}'")
        for k in (*required, *optional):
            if k in body:
                args["mean_" if k == "mean" else k] = self.number(body[k], path + (k,))
        p = path
        if name == "uniform" and not args["low"] < args["high"]:
            self.fail(p, "uniform needs low < high")
        if name == "triangular" and not args["low"] <= args["mode"] <= args["high"]:
            self.fail(p, "triangular needs low <= mode <= high")
        if name == "normal":
            if args["sd"] <= 0:
                self.fail(p + ("sd",), "must be > 0")
            if args.get("low", -math.inf) >= args.get("high", math.inf):
                self.fail(p, "normal needs low < high")
        if name == "lognormal" and (args["median"] <= 0 or args["sigma"] <= 0):
            self.fail(p, "lognormal needs median > 0 and sigma > 0")
        if name == "beta":
            if args["a"] <= 0 or args["b"] <= 0:
                self.fail(p, "beta needs a > 0 and b > 0")
            if args.get("low", 0.0) >= args.get("high", 1.0):
                self.fail(p, "beta needs low < high")
        if name == "bernoulli" and not 0 <= args["p"] <= 1:
            self.fail(p + ("p",), f"must be a probability in [0, 1], not {args['p']:g}")
        return cls(**args)

    def check_range(self, dist: Distribution, path: tuple, meta: dict) -> None:
        lo, hi = dist.support
        low, high, positive = meta["low"], meta["high"], meta["positive"]
        what = "value" if isinstance(dist, Fixed) else f"{dist.name} distribution's support"
        if low is not None and (lo < low or (positive and lo <= low)):
            bound = f"> {low:g}" if positive else f">= {low:g}"
            shown = f"{lo:g}" if isinstance(dist, Fixed) else f"[{lo:g}, {hi:g}]"
            self.fail(path, f"{what} must be {bound} ({meta['unit']}), got {shown}")
        if high is not None and hi > high:
            shown = f"{hi:g}" if isinstance(dist, Fixed) else f"[{lo:g}, {hi:g}]"
            self.fail(path, f"{what} must be <= {high:g} ({meta['unit']}), got {shown}")


def _type_name(v) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}.get(type(v), type(v).__name__)


def scenario_from_document(doc: dict, origins: dict, file: str) -> Scenario:
    """Validate a merged document into a :class:`Scenario`."""
    ck = _Checker(origins, file)
    ck.unknown(doc, TOP_LEVEL, ())

    head = ck.table(doc, ("scenario",), required=True)
    ck.unknown(head, SCENARIO_KEYS, ("scenario",))
    name = ck.string(head, "name", ("scenario",))
    title = ck.string(head, "title", ("scenario",), default=name)
    description = ck.string(head, "description", ("scenario",), default="")
    as_of = head.get("as_of")
    if as_of is None:
        ck.fail(("scenario", "as_of"), "required key is missing")
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        ck.fail(("scenario", "as_of"), "must be a TOML date such as 2024-12-07")
    horizon = head.get("horizon_days", 180)
    if isinstance(horizon, bool) or not isinstance(horizon, int):
        ck.fail(("scenario", "horizon_days"), f"must be an integer number of days, not {_type_name(horizon)}")
    if not 0 <= horizon <= MAX_HORIZON_DAYS:
        ck.fail(("scenario", "horizon_days"), f"must be in [0, {MAX_HORIZON_DAYS}], got {horizon}")
    capital = ck.string(head, "capital", ("scenario",))

    nodes = _nodes(ck, ck.table(doc, ("nodes",), required=True))
    names = [n.name for n in nodes]
    if capital not in names:
        ck.fail(("scenario", "capital"), f"capital {capital!r} is not a node (nodes: {', '.join(names)})")
    if nodes[names.index(capital)].controller != GOVERNMENT:
        ck.fail(("nodes", capital, "controller"), "the capital must start under government control")
    roads = _roads(ck, ck.table(doc, ("roads",)), names)
    axes = _axes(ck, ck.table(doc, ("rebels",)), nodes, roads)
    allies = _allies(ck, ck.table(doc, ("allies",)), names)
    sections = {}
    for section, cls in SECTIONS.items():
        table = ck.table(doc, (section,))
        ck.unknown(table, {f.name for f in param_fields(cls)}, (section,))
        sections[section] = cls(**{f.name: ck.param(table, f, (section,)) for f in param_fields(cls)})

    return Scenario(
        name=name, title=title, description=description, as_of=as_of, horizon_days=horizon,
        capital=capital, nodes=nodes, roads=roads, axes=axes, allies=allies, **sections,
        source_path=file, resolved_toml=dumps(doc),
    )


def _named_entries(ck: _Checker, table: dict, section: str):
    for key, body in table.items():
        if not NAME.match(key):
            ck.fail((section, key), "names must be lower-case letters, digits and underscores, starting with a letter")
        if not isinstance(body, dict):
            ck.fail((section, key), f"must be a table, not {_type_name(body)}")
        yield key, body


def _params(ck: _Checker, cls, body: dict, path: tuple) -> dict:
    return {f.name: ck.param(body, f, path) for f in param_fields(cls)}


def _nodes(ck: _Checker, table: dict) -> tuple[Node, ...]:
    if not table:
        ck.fail(("nodes",), "a scenario needs at least one node")
    out = []
    for key, body in _named_entries(ck, table, "nodes"):
        path = ("nodes", key)
        ck.unknown(body, {"controller", *(f.name for f in param_fields(Node))}, path)
        controller = ck.string(body, "controller", path, default=GOVERNMENT, choices=SIDES)
        out.append(Node(name=key, controller=controller, **_params(ck, Node, body, path)))
    return tuple(out)


def _roads(ck: _Checker, table: dict, names: list[str]) -> tuple[Road, ...]:
    out, seen = [], set()
    meta = next(f for f in param_fields(Road) if f.name == "km").metadata
    for key, value in table.items():
        path = ("roads", key)
        parts = key.split("-")
        if len(parts) != 2 or not all(NAME.match(p) for p in parts):
            ck.fail(path, "a road is keyed 'a-b' by the names of the two nodes it joins")
        a, b = parts
        for n in (a, b):
            if n not in names:
                ck.fail(path, f"road joins unknown node {n!r}")
        if a == b:
            ck.fail(path, "a road must join two different nodes")
        pair = frozenset((a, b))
        if pair in seen:
            ck.fail(path, f"duplicate road between {a} and {b}")
        seen.add(pair)
        out.append(Road(a=a, b=b, km=ck.param_value(value, path, meta)))
    return tuple(out)


def _axes(ck: _Checker, table: dict, nodes, roads) -> tuple[Axis, ...]:
    control = {n.name: n.controller for n in nodes}
    pairs = {frozenset((r.a, r.b)) for r in roads}
    out = []
    for key, body in _named_entries(ck, table, "rebels"):
        path = ("rebels", key)
        ck.unknown(body, {"route", *(f.name for f in param_fields(Axis))}, path)
        route = body.get("route")
        if route is None:
            ck.fail(path + ("route",), "required key is missing")
        if not isinstance(route, list) or not all(isinstance(r, str) for r in route):
            ck.fail(path + ("route",), "must be an array of node names")
        if len(route) < 2:
            ck.fail(path + ("route",), "a route needs at least two nodes (the base and a target)")
        for r in route:
            if r not in control:
                ck.fail(path + ("route",), f"route passes through unknown node {r!r}")
        if len(set(route)) != len(route):
            ck.fail(path + ("route",), "a route may not visit a node twice")
        for a, b in zip(route, route[1:]):
            if frozenset((a, b)) not in pairs:
                ck.fail(path + ("route",), f"no road between {a} and {b}")
        if control[route[0]] != REBELS:
            ck.fail(path + ("route",), f"the route's first node {route[0]!r} must be rebel-held (the axis's base)")
        out.append(Axis(name=key, route=tuple(route), **_params(ck, Axis, body, path)))
    return tuple(out)


def _allies(ck: _Checker, table: dict, names: list[str]) -> tuple[Ally, ...]:
    out = []
    for key, body in _named_entries(ck, table, "allies"):
        path = ("allies", key)
        ck.unknown(body, {"side", "deploy_to", *(f.name for f in param_fields(Ally))}, path)
        side = ck.string(body, "side", path, choices=SIDES)
        deploy_to = body.get("deploy_to")
        if deploy_to is not None:
            deploy_to = ck.string(body, "deploy_to", path)
            if deploy_to not in names:
                ck.fail(path + ("deploy_to",), f"unknown node {deploy_to!r}")
        out.append(Ally(name=key, side=side, deploy_to=deploy_to, **_params(ck, Ally, body, path)))
    return tuple(out)
