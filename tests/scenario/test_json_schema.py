"""docs/scenario.schema.json, the JSON Schema editors check scenario files against, is the one the code
generates, and every shipped scenario passes it. Regenerate it with
``.venv/bin/python tests/scenario/test_json_schema.py > docs/scenario.schema.json``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest

from sim.scenario.json_schema import json_schema, json_schema_text
from sim.scenario.load import POSTERIOR_KEYS, SCENARIO_KEYS, read_toml

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "docs" / "scenario.schema.json"
FILES = sorted((ROOT / "scenarios").glob("*.toml"))


def as_json(value):
    """A TOML document as an editor hands it to a JSON Schema: dates as ISO strings."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SHIPPED.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_the_shipped_schema_is_the_generated_one():
    assert SHIPPED.read_text(encoding="utf-8") == json_schema_text(), \
        "docs/scenario.schema.json is stale: regenerate it (see this file's docstring)"


def test_it_names_every_key_the_loader_takes():
    props = json_schema()["properties"]
    assert set(props["scenario"]["properties"]) == SCENARIO_KEYS
    assert set(props["posterior"]["anyOf"][1]["properties"]) == POSTERIOR_KEYS


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_shipped_scenario_passes(validator, path):
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message[:200]}"
              for e in validator.iter_errors(as_json(read_toml(path)))]
    assert not errors, errors[:3]


def _flagship() -> dict:
    return as_json(read_toml(ROOT / "scenarios" / "syria-2024-12-07.toml"))


@pytest.mark.parametrize("change", [
    lambda d: d["rebels"]["north"].update(momentun=2.0),                    # a misspelt key
    lambda d: d["belief"].update(initial=1.5),                              # out of its range
    lambda d: d["nodes"]["homs"].update(garrison={"dist": "uniform", "low": 1}),  # a distribution missing a key
    lambda d: d["nodes"]["homs"].update(garrison={"value": 1, "date": "7 Dec"}),  # a date in no form it takes
    lambda d: d["scenario"].pop("as_of"),                                   # required in a file extending none
    lambda d: d["rebels"]["north"].pop("route"),
    lambda d: d.update(cohesion={"shock": 0.1}),                            # a model v1 section
])
def test_a_mistake_is_flagged(validator, change):
    doc = _flagship()
    assert not list(validator.iter_errors(doc))
    change(doc)
    assert list(validator.iter_errors(doc))


def test_a_variant_needs_only_what_it_changes(validator):
    assert not list(validator.iter_errors({"extends": "syria-2024-12-07.toml", "belief": {"initial": 0.4},
                                           "nodes": {"homs": {"core_share": {"value": 0.3, "date": 2024}}}}))


if __name__ == "__main__":
    print(json_schema_text(), end="")
