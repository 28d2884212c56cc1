"""docs/MODEL.md stays true to the code.

Its parameter reference tables (section 9) are generated from the field metadata in
src/sim/scenario/schema.py; print them with ``.venv/bin/python tests/test_docs.py`` and paste the output over
the old tables. These tests fail when a parameter, its unit, range or default changes in the schema
but not in the doc, and when a rule function in src/sim/rules/ is not named in the doc.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from sim import rules
from sim.scenario import SECTIONS, Ally, Axis, Node, Road, param_fields

DOC = Path(__file__).resolve().parents[1] / "docs" / "MODEL.md"

# The TOML table each entity's numeric fields live in, in the order MODEL.md presents them.
TABLES: dict[str, type] = {"nodes.NAME": Node, "roads": Road, "rebels.NAME": Axis, "allies.NAME": Ally, **SECTIONS}


def _num(x: float) -> str:
    return f"{x:g}"


def fmt_range(meta: dict) -> str:
    """``[0, 1]``, ``(0, inf)``...: a round bracket where the bound is excluded or absent."""
    low, high = meta["low"], meta["high"]
    left = "(" if meta["positive"] or low is None else "["
    lo = "-inf" if low is None else _num(low)
    hi = "inf)" if high is None else f"{_num(high)}]"
    return f"{left}{lo}, {hi}"


def fmt_default(meta: dict) -> str:
    return "required" if meta["default"] is None else _num(meta["default"])


def render_tables() -> str:
    """The parameter reference tables, one per TOML table, from the schema's metadata."""
    out = []
    for key, cls in TABLES.items():
        out += [f"### `[{key}]`", "", "| field | unit | range | default | meaning |", "|---|---|---|---|---|"]
        for f in param_fields(cls):
            m = f.metadata
            out.append(f"| `{f.name}` | {m['unit']} | {fmt_range(m)} | {fmt_default(m)} | {m['doc']} |")
        out.append("")
    return "\n".join(out)


def doc_tables(text: str) -> dict[str, dict[str, list[str]]]:
    """Rows of the doc's tables under headings that name a TOML table, e.g. ``### `[cohesion]` ``:
    {table key: {field: [field, unit, range, default, meaning]}}."""
    tables: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("#"):
            m = re.match(r"^#+ `\[([A-Za-z_.]+)\]`\s*$", line)
            current = m.group(1) if m else None
            if current:
                tables.setdefault(current, {})
            continue
        if current and line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            tables[current][cells[0].strip("`")] = cells
    return tables


@pytest.fixture(scope="module")
def text() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tables(text) -> dict:
    return doc_tables(text)


PARAMETERS = [(key, f) for key, cls in TABLES.items() for f in param_fields(cls)]


@pytest.mark.parametrize("key, f", PARAMETERS, ids=[f"{k}.{f.name}" for k, f in PARAMETERS])
def test_every_parameter_is_in_the_reference_tables_with_its_default(tables, key, f):
    assert key in tables, f"docs/MODEL.md has no table headed `[{key}]`"
    row = tables[key].get(f.name)
    assert row is not None, f"docs/MODEL.md's `[{key}]` table does not list `{f.name}`"
    assert len(row) == 5, f"`[{key}].{f.name}`: expected 5 cells, got {row}"
    m = f.metadata
    expected = [m["unit"], fmt_range(m), fmt_default(m)]
    assert row[1:4] == expected, (
        f"`[{key}].{f.name}` in docs/MODEL.md says unit/range/default {row[1:4]}, the schema {expected}: "
        "regenerate the tables with `.venv/bin/python tests/test_docs.py`")


def test_the_reference_tables_list_no_parameter_the_schema_lacks(tables):
    for key, cls in TABLES.items():
        extra = set(tables.get(key, {})) - {f.name for f in param_fields(cls)}
        assert not extra, f"docs/MODEL.md's `[{key}]` table lists fields the schema does not have: {sorted(extra)}"


RULES = [(mod_name, name) for mod_name in rules.__all__
         for name, fn in inspect.getmembers(getattr(rules, mod_name), inspect.isfunction)
         if fn.__module__ == getattr(rules, mod_name).__name__]


def test_the_rule_modules_have_functions():
    assert len(RULES) >= len(rules.__all__)


@pytest.mark.parametrize("mod_name, name", RULES, ids=[f"{m}.{n}" for m, n in RULES])
def test_every_rule_function_is_named_in_the_doc(text, mod_name, name):
    assert f"{mod_name}.{name}" in text, f"docs/MODEL.md does not mention sim.rules.{mod_name}.{name}"


if __name__ == "__main__":
    print(render_tables())
