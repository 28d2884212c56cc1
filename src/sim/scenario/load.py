"""Scenario files to :class:`~sim.scenario.schema.Scenario`: TOML parsing, ``extends``, ``--set`` overrides
and every validation check, in one place.

Files are only ever parsed as TOML and override values only as TOML literals: nothing is evaluated.
``extends`` names another regular file, relative to the file that names it. Every error is a
:class:`~sim.errors.ScenarioError` naming the file, the key path and the problem.

A scenario citing a source dated after its ``as_of`` is refused (the look-ahead rule,
:mod:`sim.scenario.provenance`) unless loaded with ``allow_lookahead``. An unknown key or ``--set``
path suggests the closest known one.

Besides each field's range (``sim/scenario/schema.py``), the loader bounds what the engines could not
simulate in finite numbers, time or memory: every number lies within +-MAX_MAGNITUDE, a log-normal's
sigma is at most MAX_LOGNORMAL_SIGMA, a theatre has at most MAX_NODES nodes, MAX_AXES axes and
MAX_ALLIES allies, and as_of + horizon_days is a calendar date.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import re
import tomllib
import warnings
from pathlib import Path

import numpy as np

from .distributions import DISTRIBUTIONS, Distribution, Fixed, LogNormal
from ..errors import ScenarioError, did_you_mean, did_you_mean_path
from ..files import read_bytes
from .provenance import PROVENANCE_KEYS, MODEL_DEFAULT, lookahead, period
from .schema import (
    SECTIONS, SIDES, GOVERNMENT, REBELS, Ally, Axis, JointSample, Node, Param, Road, Scenario, param_fields,
)
from .toml import dumps

__all__ = ["load_scenario", "load_document", "apply_overrides", "scenario_from_document", "parse_override", "read_toml",
           "read_param"]

NAME = re.compile(r"[a-z][a-z0-9_]*")  # used with fullmatch: "$" would accept "a\n"
TOP_LEVEL = {"extends", "scenario", "nodes", "roads", "rebels", "allies", "posterior", *SECTIONS}
POSTERIOR_KEYS = {"source", "cases", "paths", "rows"}
MAX_POSTERIOR_ROWS = 100_000
SCENARIO_KEYS = {"name", "title", "description", "as_of", "horizon_days", "capital"}
SCENARIO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # it names the results folder
MAX_HORIZON_DAYS = 100_000
MAX_FILE_BYTES = 5_000_000
MAX_EXTENDS = 16            # files in an extends chain
MAX_NESTING = 16            # tables and arrays within each other (a scenario needs 4)
MAX_MAGNITUDE = 1e12        # any number, in its own unit: products of a few stay far from overflow
MAX_LOGNORMAL_SIGMA = 10.0  # exp(10 z): draws already span dozens of orders of magnitude
MAX_NODES = 100             # the vectorised engine holds (replications x nodes x route legs) arrays
MAX_AXES = 16
MAX_ALLIES = 16

# Keys of model v1 (docs/MODEL.md, section 9, "From v1"): a v1 scenario gets one line saying what replaced each.
V1_SECTIONS = {
    "cohesion": "model v1's regime-wide cohesion was replaced by the common belief [belief] (initial, baseline) "
                "and the loyalty-class cascade [cascade]",
    "desertion": "model v1's desertion waves were replaced by the threshold cascade of garrisons [cascade]",
    "unrest": "model v1's unrest and uprising were replaced by latent groups: a [rebels.NAME] axis with rises_below",
}
V1_FIELDS = {
    ("rebels", "reinforcement_per_day"): "renamed joiners_per_day in model v2 (joiners now follow belief: rate x (1 - pi))",
    ("allies", "commit_probability"): "model v2 allies escalate with a hazard (commit_per_day) or start committed "
                                      "(committed = 1); there is no decision day",
    ("allies", "decision_day"): "model v2 allies escalate with a hazard (commit_per_day) or start committed "
                                "(committed = 1); there is no decision day",
    ("allies", "arrival_delay_days"): "renamed delay_days in model v2",
    ("allies", "cohesion_support"): "replaced by belief_support (log-odds of belief) in model v2",
    ("leadership", "flight_rate_per_day"): "model v2's ruler exits by a decision on his odds "
                                           "(exit_below, haven, handover_below, max_exit_per_day)",
    ("leadership", "handover_rate_per_day"): "model v2's hand-over is a decision on the ruler's odds (handover_below)",
    ("leadership", "threat_sensitivity"): "model v2's ruler reads belief and the local odds at the capital; "
                                          "the log-linear hazard is gone",
    ("leadership", "cohesion_sensitivity"): "model v2's ruler reads belief; the log-linear hazard is gone",
    ("leadership", "unrest_sensitivity"): "model v2 has no unrest; the log-linear hazard is gone",
    ("leadership", "flight_cohesion_shock"): "replaced by belief.flight_shock (log-odds) in model v2",
}


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = (), *,
                  posterior: str | Path | None = None, allow_lookahead: bool = False) -> Scenario:
    """Read, merge (``extends``), override (``PATH=VALUE`` strings) and validate a scenario file.
    ``posterior`` (a posterior file, or ``"none"``) replaces the scenario's own ``[posterior]``.
    ``allow_lookahead`` keeps a scenario that cites sources dated after its as_of (for exploration):
    it loads, with each such citation in :attr:`Scenario.lookahead`."""
    doc, origins = resolved_document(path, overrides, posterior=posterior)
    return scenario_from_document(doc, origins, str(path), allow_lookahead=allow_lookahead)


def resolved_document(path: str | Path, overrides=(), *, posterior: str | Path | None = None) -> tuple[dict, dict]:
    """A scenario file's document as it will be validated, and where each value came from: merged
    (``extends``), its posterior chosen (``posterior``) and inlined, ``overrides`` applied."""
    doc, origins = load_document(path)
    choose_posterior(doc, origins, posterior)
    apply_overrides(doc, origins, overrides)
    inline_posterior(doc, origins, str(path))
    return doc, origins


def choose_posterior(doc: dict, origins: dict, posterior: str | Path | None) -> None:
    """``--posterior FILE`` (or ``none``) in place of the scenario's own ``[posterior]``."""
    if posterior is None:
        return
    doc.pop("posterior", None)
    for p in [q for q in origins if q[:1] == ("posterior",)]:
        del origins[p]
    if str(posterior) != "none":
        doc["posterior"] = {"file": str(posterior)}
        origins[("posterior",)] = "--posterior"


def inline_posterior(doc: dict, origins: dict, file: str) -> None:
    """Replace ``[posterior] file = "F"`` (relative to the file that names it) by F's ``[posterior]``
    table, so the resolved scenario holds its rows and reruns without F."""
    table = doc.get("posterior")
    if not isinstance(table, dict) or "file" not in table:
        return
    named_by = origins.get(("posterior", "file")) or origins.get(("posterior",)) or file
    ck = _Checker(origins, file)
    ck.unknown(table, {"file"}, ("posterior",))
    name = table["file"]
    if not isinstance(name, str) or not name:
        ck.fail(("posterior", "file"), "must be the path of a posterior file")
    target = Path(name) if named_by == "--posterior" else Path(named_by).parent / name
    if not target.is_file():
        ck.fail(("posterior", "file"), f"{'not a file' if target.exists() else 'file not found'}: {name!r}")
    body = read_toml(target, "posterior.file", what="posterior")
    if set(body) != {"posterior"} or not isinstance(body["posterior"], dict):
        raise ScenarioError(str(target), "", "a posterior file holds one [posterior] table")
    doc["posterior"] = body["posterior"]
    for p in [q for q in origins if q[:1] == ("posterior",)]:
        del origins[p]
    origins[("posterior",)] = str(target)


# --------------------------------------------------------------------------- documents and extends

def read_toml(path, key: str = "", *, what: str = "scenario") -> dict:
    """The TOML document in the file ``path``: the one guarded reader of every input file (scenarios,
    observed timelines, calibration specs). A regular file only (never a FIFO or a device), at most
    MAX_FILE_BYTES, UTF-8, tables nested at most MAX_NESTING deep; every failure is a
    :class:`ScenarioError` naming the file (and ``key``, the key that named it, if any)."""
    shown = str(path)
    raw = read_bytes(path, limit=MAX_FILE_BYTES, error=lambda m: ScenarioError(shown, key, m), what=f"{what} file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(shown, "", f"not UTF-8 text (byte {exc.start})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(shown, "", f"invalid TOML: {exc}") from None
    except ValueError:  # an integer of thousands of digits (Python's limit on int conversion)
        raise ScenarioError(shown, "", "invalid TOML: a number with more digits than any parameter could use") from None
    except RecursionError:
        raise ScenarioError(shown, "", f"invalid TOML: nested more than {MAX_NESTING} deep") from None
    _check_nesting(doc, shown)
    return doc


def _check_nesting(value, source: str, path: tuple = (), depth: int = 0) -> None:
    """Reject tables and arrays nested more than MAX_NESTING deep (copying them would recurse)."""
    if depth > MAX_NESTING:
        raise ScenarioError(source, ".".join(map(str, path)), f"nested more than {MAX_NESTING} deep")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        if isinstance(v, (dict, list)):
            _check_nesting(v, source, path + (k,), depth + 1)


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
    try:
        resolved = path.resolve()
    except (OSError, ValueError, RuntimeError):
        raise ScenarioError(str(path), "", "not a valid file path") from None
    if resolved in _chain:
        loop = " -> ".join(p.name for p in (*_chain, resolved))
        raise ScenarioError(str(path), "extends", f"extends loop: {loop}")
    if len(_chain) >= MAX_EXTENDS:
        raise ScenarioError(str(path), "extends", f"extends chain longer than {MAX_EXTENDS} files")
    doc = read_toml(path)
    origins: dict = {}
    parent = doc.pop("extends", None)
    if parent is None:
        _merge(base := {}, doc, origins, str(path))
        return base, origins
    if not isinstance(parent, str) or not parent:
        raise ScenarioError(str(path), "extends", "must be the path of another scenario file")
    parent_path = (path.parent / parent)
    if not parent_path.is_file():
        problem = "not a file" if parent_path.exists() else "file not found"
        raise ScenarioError(str(path), "extends", f"{problem}: {parent!r}")
    base, origins = load_document(parent_path, (*_chain, resolved))
    _merge(base, doc, origins, str(path))
    return base, origins


# --------------------------------------------------------------------------- overrides

def parse_override(text: str) -> tuple[list[str], object]:
    """``a.b.c=VALUE`` to (["a", "b", "c"], value); the value is read as a TOML literal, or as a bare string."""
    if "=" not in text:
        raise ScenarioError("--set", text if text.strip() else repr(text), "expected PATH=VALUE")
    path, _, value = text.partition("=")
    keys = [k.strip() for k in path.strip().split(".")]
    if not path.strip() or any(not k for k in keys):
        raise ScenarioError("--set", path if path.strip() else repr(text), "empty key in parameter path")
    value = value.strip()
    try:
        doc = tomllib.loads(f"v = {value}")
        if list(doc) != ["v"]:  # "1\nw = 2" would smuggle in a second key
            raise tomllib.TOMLDecodeError("more than one value")
        parsed = doc["v"]
    except ValueError as exc:  # TOMLDecodeError, or an integer of thousands of digits
        if not isinstance(exc, tomllib.TOMLDecodeError):
            raise ScenarioError("--set", ".".join(keys), "the number has more digits than any parameter could use") \
                from None
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ -]*", value):
            parsed = value  # a bare word such as a side or a node name
        else:
            raise ScenarioError("--set", ".".join(keys), f"value {value!r} is not a TOML literal") from None
    except RecursionError:
        raise ScenarioError("--set", ".".join(keys), f"value nested more than {MAX_NESTING} deep") from None
    _check_nesting(parsed, "--set", tuple(keys))
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
                    hint = did_you_mean_path(where, _paths(doc))
                    raise ScenarioError("--set", where, f"unknown parameter path{hint}: "
                                                        f"no table {'.'.join(keys[: i + 1])!r}")
            if not isinstance(table[k], dict):
                raise ScenarioError("--set", where, f"{'.'.join(keys[: i + 1])!r} is a value, not a table")
            table = table[k]
        leaf = keys[-1]
        if leaf not in table and not _known_field(keys):
            raise ScenarioError("--set", where, f"unknown parameter path{did_you_mean_path(where, _paths(doc))}")
        table[leaf] = value
        origins[tuple(keys)] = "--set"


def _paths(doc: dict) -> list[str]:
    """Every path ``--set`` accepts in ``doc``: the keys it holds and the fields the schema knows."""
    out = [f"scenario.{k}" for k in SCENARIO_KEYS]
    out += [f"{section}.{f.name}" for section, cls in SECTIONS.items() for f in param_fields(cls)]
    out += [f"roads.{k}" for k in doc.get("roads", {}) if isinstance(doc.get("roads"), dict)]
    for kind, cls, extra in (("nodes", Node, ("controller",)), ("rebels", Axis, ("route",)),
                             ("allies", Ally, ("side", "deploy_to"))):
        table = doc.get(kind)
        for name in table if isinstance(table, dict) else ():
            out += [f"{kind}.{name}.{k}" for k in (*extra, *(f.name for f in param_fields(cls)))]
    return out


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

    def error(self, path: tuple, message: str) -> ScenarioError:
        """The error for the key at ``path``, naming the file (or option) that key came from."""
        file = self.default_file
        for n in range(len(path), 0, -1):
            if path[:n] in self.origins:
                file = self.origins[path[:n]]
                break
        return ScenarioError(file, ".".join(path), message)

    def fail(self, path: tuple, message: str):
        raise self.error(path, message)

    def table(self, doc, path: tuple, *, required=False) -> dict:
        v = doc.get(path[-1]) if isinstance(doc, dict) else None
        if v is None:
            if required:
                self.fail(path, "required table is missing")
            return {}
        if not isinstance(v, dict):
            self.fail(path, f"must be a table, not {_type_name(v)}")
        return v

    def unknown(self, table: dict, allowed, path: tuple) -> None:
        for k in table:
            if k not in allowed:
                hint = did_you_mean(k, allowed, prefix="".join(f"{p}." for p in path))
                self.fail(path + (k,), f"unknown key{hint} (expected one of: {', '.join(sorted(allowed))})")

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
        if isinstance(v, float) and not math.isfinite(v):
            self.fail(path, f"must be finite, not {v}")
        if abs(v) > MAX_MAGNITUDE:  # an int too large for a float lands here too
            shown = f"{v:.3g}" if isinstance(v, float) or abs(v) < 10**300 else "an integer that large"
            self.fail(path, f"must be within +-{MAX_MAGNITUDE:g}, not {shown}")
        return float(v)

    def param(self, table: dict, f, path: tuple) -> Param:
        meta = f.metadata
        key_path = path + (f.name,)
        if f.name not in table:
            if meta["default"] is None:
                self.fail(key_path, "required parameter is missing")
            return Param(Fixed(float(meta["default"])), source=MODEL_DEFAULT)
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
                self.unknown(body, {"value", *PROVENANCE_KEYS}, path)
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
        if date is not None and (date := period(date)) is None:
            self.fail(path + ("date",), 'must be a TOML date such as 2024-12-06, or a month or a year '
                                        'such as "1991-05" or 1958')
        note = extra.get("note")
        if note is not None and not isinstance(note, str):
            self.fail(path + ("note",), "must be a string")
        return source, date, note

    def distribution(self, body: dict, path: tuple) -> Distribution:
        name = body["dist"]
        if not isinstance(name, str):
            self.fail(path + ("dist",), f"must be the name of a distribution, not {_type_name(name)}")
        if name not in DISTRIBUTIONS:
            self.fail(path + ("dist",), f"unknown distribution {name!r} (expected one of: {', '.join(DISTRIBUTIONS)})")
        cls, required, optional = DISTRIBUTIONS[name]
        self.unknown(body, {"dist", *required, *optional, *PROVENANCE_KEYS}, path)
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
        if name == "lognormal" and args["sigma"] > MAX_LOGNORMAL_SIGMA:
            self.fail(p + ("sigma",), f"must be at most {MAX_LOGNORMAL_SIGMA:g}, not {args['sigma']:g}")
        if name == "beta":
            if args["a"] <= 0 or args["b"] <= 0:
                self.fail(p, "beta needs a > 0 and b > 0")
            if args.get("low", 0.0) >= args.get("high", 1.0):
                self.fail(p, "beta needs low < high")
        if name == "bernoulli" and not 0 <= args["p"] <= 1:
            self.fail(p + ("p",), f"must be a probability in [0, 1], not {args['p']:g}")
        dist = cls(**args)
        # A normal truncated far out in its tail (sd 1e-300, low 1) has NaN quantiles and mean: its
        # draws, taken through the quantile function, would be NaN.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                q = np.asarray(dist.ppf(np.array([1e-9, 0.5, 1.0 - 1e-9])), dtype=float)
                mean = float(dist.mean)
            except (ArithmeticError, ValueError):  # scipy's beta(5e-324, 5e-324): "Error in function boost..."
                q, mean = np.array([math.nan]), math.nan
        if not (np.isfinite(q).all() and math.isfinite(mean)):
            self.fail(p, f"this {name} distribution has no finite draws or mean (its bounds too far in its tail?)")
        return dist

    def check_range(self, dist: Distribution, path: tuple, meta: dict) -> None:
        lo, hi = dist.support
        low, high, positive = meta["low"], meta["high"], meta["positive"]
        what = "value" if isinstance(dist, Fixed) else f"{dist.name} distribution's support"
        # A log-normal never draws its support's bound 0 (its draws stay far above 1e-300: 40 sd
        # below the median), so it suits a parameter that must be > 0.
        open_at_zero = isinstance(dist, LogNormal) and math.log(dist.median) - 40.0 * dist.sigma > -690.0
        if low is not None and (lo < low or (positive and lo <= low and not (open_at_zero and low == 0.0))):
            bound = f"> {low:g}" if positive else f">= {low:g}"
            shown = f"{lo:g}" if isinstance(dist, Fixed) else f"[{lo:g}, {hi:g}]"
            self.fail(path, f"{what} must be {bound} ({meta['unit']}), got {shown}")
        if high is not None and hi > high:
            shown = f"{hi:g}" if isinstance(dist, Fixed) else f"[{lo:g}, {hi:g}]"
            self.fail(path, f"{what} must be <= {high:g} ({meta['unit']}), got {shown}")


def _type_name(v) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}.get(type(v), type(v).__name__)


def read_param(value, *, file: str, key: tuple, spec: dict) -> Param:
    """One parameter's value (a number, ``{ value = ... }`` or a distribution, with provenance) as
    the loader reads it for a field with metadata ``spec``, range checks included; a
    :class:`ScenarioError` names ``file`` and ``key``."""
    return _Checker({}, file).param_value(value, tuple(key), spec)


def scenario_from_document(doc: dict, origins: dict, file: str, *, allow_lookahead: bool = False) -> Scenario:
    """Validate a merged document into a :class:`Scenario`; a citation dated after its as_of is an
    error unless ``allow_lookahead`` (:func:`sim.scenario.provenance.lookahead`)."""
    ck = _Checker(origins, file)
    _check_v1(ck, doc)
    ck.unknown(doc, TOP_LEVEL, ())

    head = ck.table(doc, ("scenario",), required=True)
    ck.unknown(head, SCENARIO_KEYS, ("scenario",))
    name = ck.string(head, "name", ("scenario",))
    if not SCENARIO_NAME.fullmatch(name):
        ck.fail(("scenario", "name"), "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter "
                                      f"or digit (it names the results folder), not {name!r}")
    title = ck.string(head, "title", ("scenario",), default=name)
    description = ck.string(head, "description", ("scenario",), default="")
    for key, text in (("title", title), ("description", description)):
        bad = next((c for c in text if not c.isprintable() and c not in "\n\t"), None)
        if bad is not None:  # printed on terminals: an escape sequence would act on them
            ck.fail(("scenario", key), f"must not contain control characters, found {bad!r}")
    as_of = head.get("as_of")
    if as_of is None:
        ck.fail(("scenario", "as_of"), "required key is missing")
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        ck.fail(("scenario", "as_of"), "must be a TOML date such as 2024-12-07")
    horizon = head.get("horizon_days", 180)
    if isinstance(horizon, bool) or not isinstance(horizon, int):
        ck.fail(("scenario", "horizon_days"), f"must be an integer number of days, not {_type_name(horizon)}")
    if not 0 <= horizon <= MAX_HORIZON_DAYS:
        shown = horizon if abs(horizon) < 10**30 else "an integer that large"
        ck.fail(("scenario", "horizon_days"), f"must be in [0, {MAX_HORIZON_DAYS}], got {shown}")
    if as_of.toordinal() + horizon > dt.date.max.toordinal():
        ck.fail(("scenario", "horizon_days"), f"as_of + horizon_days is past {dt.date.max}, the last calendar date")
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

    posterior = _posterior(ck, doc)

    scenario = Scenario(
        name=name, title=title, description=description, as_of=as_of, horizon_days=horizon,
        capital=capital, nodes=nodes, roads=roads, axes=axes, allies=allies, **sections,
        posterior=posterior, source_path=file, resolved_toml=dumps(doc),
    )
    found = lookahead(scenario.parameters(), as_of)
    if found and not allow_lookahead:
        path, what = found[0]
        ck.fail(path, f"look-ahead: {what}; only what was known at as_of may go in (--allow-lookahead loads it "
                      "anyway, for exploration)")
    return dataclasses.replace(scenario, lookahead=tuple(str(ck.error(path, f"look-ahead: {what}"))
                                                         for path, what in found)) if found else scenario


def _posterior(ck: _Checker, doc: dict) -> JointSample | None:
    """The ``[posterior]`` table: rows of model-wide parameter values. A parameter the scenario sets
    itself (in its file or with --set) keeps that value; the posterior supplies the others."""
    table = ck.table(doc, ("posterior",))
    if not table:
        return None
    ck.unknown(table, POSTERIOR_KEYS, ("posterior",))
    source = ck.string(table, "source", ("posterior",), default="")
    paths = table.get("paths")
    if not isinstance(paths, list) or not paths or not all(isinstance(x, str) for x in paths) \
            or len(set(paths)) != len(paths):
        ck.fail(("posterior", "paths"), "must be a non-empty array of distinct parameter paths")
    specs = []
    for path in paths:
        section, _, name = path.partition(".")
        fields = {f.name: f.metadata for f in param_fields(SECTIONS[section])} if section in SECTIONS else {}
        if name not in fields:
            ck.fail(("posterior", "paths"), f"{path!r} is not a model-wide parameter (e.g. belief.loss_shock)")
        specs.append(fields[name])
    rows = table.get("rows")
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_POSTERIOR_ROWS:
        ck.fail(("posterior", "rows"), f"must be an array of 1 to {MAX_POSTERIOR_ROWS} rows")
    for k, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(paths) \
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row):
            ck.fail(("posterior", "rows", str(k)), f"each row is an array of {len(paths)} numbers, one per path")
    values = np.array(rows, dtype=float)
    if not np.isfinite(values).all():
        ck.fail(("posterior", "rows"), "every value must be a finite number")
    for j, (path, meta) in enumerate(zip(paths, specs)):
        col = values[:, j]
        low, high = meta["low"], meta["high"]
        if (low is not None and (col.min() < low or (meta["positive"] and col.min() <= low))) \
                or (high is not None and col.max() > high):
            ck.fail(("posterior", "rows"), f"{path} runs over [{col.min():g}, {col.max():g}], outside its range")
    keep = [j for j, path in enumerate(paths) if path.partition(".")[2] not in doc.get(path.partition(".")[0], {})]
    if not keep:
        return None
    rows_kept = values[:, keep].copy()
    rows_kept.flags.writeable = False
    return JointSample(tuple(paths[j] for j in keep), rows_kept, source)


def _check_v1(ck: _Checker, doc: dict) -> None:
    """A key of a model v1 scenario gets one line naming what replaced it."""
    for section, why in V1_SECTIONS.items():
        if section in doc:
            ck.fail((section,), why)
    for (section, key), why in V1_FIELDS.items():
        table = doc.get(section)
        if not isinstance(table, dict):
            continue
        if section in ("rebels", "allies"):
            for name, body in table.items():
                if isinstance(body, dict) and key in body:
                    ck.fail((section, name, key), why)
        elif key in table:
            ck.fail((section, key), why)


def _limit(ck: _Checker, table: dict, section: str, most: int, what: str) -> None:
    if len(table) > most:
        ck.fail((section,), f"{len(table)} {what}; a scenario may have at most {most}")


def _named_entries(ck: _Checker, table: dict, section: str):
    for key, body in table.items():
        if not NAME.fullmatch(key):
            ck.fail((section, key), "names must be lower-case letters, digits and underscores, starting with a letter")
        if not isinstance(body, dict):
            ck.fail((section, key), f"must be a table, not {_type_name(body)}")
        yield key, body


def _params(ck: _Checker, cls, body: dict, path: tuple) -> dict:
    return {f.name: ck.param(body, f, path) for f in param_fields(cls)}


def _nodes(ck: _Checker, table: dict) -> tuple[Node, ...]:
    if not table:
        ck.fail(("nodes",), "a scenario needs at least one node")
    _limit(ck, table, "nodes", MAX_NODES, "nodes")
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
        if len(parts) != 2 or not all(NAME.fullmatch(p) for p in parts):
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
    _limit(ck, table, "rebels", MAX_AXES, "axes")
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
        params = _params(ck, Axis, body, path)
        latent = params["rises_below"].dist.support[1] < 1.0
        if control[route[0]] != REBELS and not latent:
            ck.fail(path + ("route",), f"the route's first node {route[0]!r} must be rebel-held (the axis's base), "
                                       "unless the axis is a latent group (rises_below < 1)")
        out.append(Axis(name=key, route=tuple(route), **params))
    return tuple(out)


def _allies(ck: _Checker, table: dict, names: list[str]) -> tuple[Ally, ...]:
    _limit(ck, table, "allies", MAX_ALLIES, "allies")
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
        params = _params(ck, Ally, body, path)
        if side == REBELS and params["materiel"].dist.support[1] > 0.0:
            ck.fail(path + ("materiel",), "materiel steadies government garrisons (docs/MODEL.md section 4.8); "
                                          "a rebel-side ally's must be 0 (its help is ground_forces, air_support "
                                          "and belief_support)")
        out.append(Ally(name=key, side=side, deploy_to=deploy_to, **params))
    return tuple(out)
