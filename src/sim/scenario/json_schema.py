"""A JSON Schema (draft 7) of scenario files, for editors that check TOML against one (Taplo, Even
Better TOML): generated from the field metadata in :mod:`sim.scenario.schema` and the loader's limits,
so it cannot drift from them. docs/scenario.schema.json holds :func:`json_schema_text`.

The schema checks what a file can say on its own: keys (a misspelt one is flagged), types, names,
the ranges of plain numbers, the keys each distribution takes, and the required keys of a file that
does not ``extends`` another. The loader checks the rest (routes along roads, distributions' supports
within range, look-ahead). TOML dates are strings to the schema, as editors present them.
"""

from __future__ import annotations

import json

from .distributions import DISTRIBUTIONS
from .load import (
    MAX_ALLIES, MAX_AXES, MAX_HORIZON_DAYS, MAX_MAGNITUDE, MAX_NODES, NAME, SCENARIO_NAME,
)
from .provenance import PROVENANCE_KEYS
from .schema import SECTIONS, SIDES, Ally, Axis, Node, Road, param_fields

__all__ = ["json_schema", "json_schema_text"]

DATE = r"^\d{4}-\d{2}-\d{2}$"


def _ref(name: str) -> dict:
    return {"$ref": f"#/definitions/{name}"}


def _number(meta: dict | None = None) -> dict:
    """A number within the loader's magnitude limit and, given ``meta``, the field's range."""
    out = {"type": "number", "minimum": -MAX_MAGNITUDE, "maximum": MAX_MAGNITUDE}
    if meta is not None and meta["low"] is not None:
        out["exclusiveMinimum" if meta["positive"] else "minimum"] = meta["low"]
        if meta["positive"]:
            del out["minimum"]
    if meta is not None and meta["high"] is not None:
        out["maximum"] = meta["high"]
    return out


def _figure(meta: dict) -> dict:
    """A numeric parameter: a number, ``{ value = ... }`` or a distribution, with provenance."""
    default = "required" if meta["default"] is None else f"default {meta['default']:g}"
    out = {"description": f"{meta['doc']} ({meta['unit']}; {default})"}
    if meta["default"] is not None:
        out["default"] = meta["default"]
    value = {"type": "object", "required": ["value"], "additionalProperties": False,
             "properties": {"value": _number(meta), **{k: _ref(k) for k in PROVENANCE_KEYS}}}
    return {**out, "anyOf": [_number(meta), value, _ref("distribution")]}


def _distributions() -> dict:
    """``{ dist = "NAME", ... }`` for each distribution, with provenance."""
    out = []
    for name, (_, required, optional) in DISTRIBUTIONS.items():
        out.append({"type": "object", "required": ["dist", *required], "additionalProperties": False,
                    "properties": {"dist": {"const": name}, **{k: _number() for k in (*required, *optional)},
                                   **{k: _ref(k) for k in PROVENANCE_KEYS}}})
    return {"description": f"a distribution, drawn once per replication: {', '.join(DISTRIBUTIONS)}", "anyOf": out}


def _entity(cls, extra: dict) -> dict:
    fields = {f.name: _figure(f.metadata) for f in param_fields(cls)}
    return {"type": "object", "additionalProperties": False, "properties": {**extra, **fields}}


def _named(item: dict, most: int, what: str) -> dict:
    return {"type": "object", "description": what, "maxProperties": most,
            "propertyNames": {"pattern": f"^{NAME.pattern}$"}, "additionalProperties": item}


def json_schema() -> dict:
    """The JSON Schema of a scenario file."""
    node = _entity(Node, {"controller": {"enum": list(SIDES), "default": SIDES[0]}})
    axis = _entity(Axis, {"route": {"type": "array", "minItems": 2, "uniqueItems": True,
                                    "items": {"type": "string", "pattern": f"^{NAME.pattern}$"},
                                    "description": "node names from the axis's base to its goal, joined by roads"}})
    ally = _entity(Ally, {"side": {"enum": list(SIDES)},
                          "deploy_to": {"type": "string", "pattern": f"^{NAME.pattern}$"}})
    km = next(f for f in param_fields(Road) if f.name == "km").metadata
    head = {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": "string", "pattern": f"^{SCENARIO_NAME.pattern}$", "description": "names the results folder"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "as_of": {"type": "string", "pattern": DATE, "description": "day 0; nothing known later may go in"},
        "horizon_days": {"type": "integer", "minimum": 0, "maximum": MAX_HORIZON_DAYS, "default": 180},
        "capital": {"type": "string", "pattern": f"^{NAME.pattern}$"},
    }}
    posterior = {"type": "object", "anyOf": [
        {"required": ["file"], "additionalProperties": False,
         "properties": {"file": {"type": "string", "minLength": 1,
                                 "description": "a posterior file, relative to this one"}}},
        {"required": ["paths", "rows"], "additionalProperties": False, "properties": {
            "source": {"type": "string"}, "cases": {"type": "array"},
            "paths": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}},
            "rows": {"type": "array", "minItems": 1, "items": {"type": "array", "items": {"type": "number"}}}}},
    ]}
    properties = {
        "extends": {"type": "string", "minLength": 1, "description": "another scenario file, relative to this one"},
        "scenario": head,
        "nodes": {**_named(node, MAX_NODES, "cities or regions of the front graph"), "minProperties": 1},
        "roads": {"type": "object", "description": "road distances, keyed 'a-b' by the nodes they join",
                  "propertyNames": {"pattern": f"^{NAME.pattern}-{NAME.pattern}$"},
                  "additionalProperties": _figure(km)},
        "rebels": _named(axis, MAX_AXES, "rebel axes of advance (and latent groups)"),
        "allies": _named(ally, MAX_ALLIES, "outside parties"),
        "posterior": posterior,
        **{section: _entity(cls, {}) for section, cls in SECTIONS.items()},
    }
    required_axis = ["route", *(f.name for f in param_fields(Axis) if f.metadata["default"] is None)]
    whole = {  # a file that extends none must say all this itself
        "required": ["scenario", "nodes"],
        "properties": {"scenario": {"required": ["name", "as_of", "capital"]},
                       "rebels": {"additionalProperties": {"required": required_axis}},
                       "allies": {"additionalProperties": {"required": ["side"]}}},
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "sim scenario",
        "description": "A scenario file of sim (docs/MODEL.md section 9). Generated by "
                       "sim.scenario.json_schema; do not edit.",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "if": {"not": {"required": ["extends"]}},
        "then": whole,
        "definitions": {
            "source": {"type": "string", "description": 'outlet, title and date; or "assumption" (with a note)'},
            "date": {"description": "the source's date, to the day (a TOML date), the month or the year; "
                                    "no later than as_of",
                     "anyOf": [{"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$"},
                               {"type": "integer", "minimum": 1, "maximum": 9999}]},
            "note": {"type": "string"},
            "distribution": _distributions(),
        },
    }


def json_schema_text() -> str:
    """:func:`json_schema` as docs/scenario.schema.json holds it."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
