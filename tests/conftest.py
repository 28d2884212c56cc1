"""Shared fixtures: small synthetic theatres written as real TOML files."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest

from sim.scenario.load import load_scenario
from sim.scenario.toml import dumps

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

# Structural parameters that switch the belief-driven mechanisms off (no exits, no abandonment, no
# counter-attacks), so tests can turn on one mechanism at a time.
QUIET = {
    "leadership": {"max_exit_per_day": 0.0},
    "cascade": {"contingent_threshold": 100.0, "core_threshold": 100.0},
    "combat": {"counterattack_per_day": 0.0},
}


def base_doc(**extra) -> dict:
    """A three-node line: a rebel base, a town, the capital; one axis; one government ally."""
    doc = {
        "scenario": {"name": "synthetic", "as_of": dt.date(2024, 12, 7), "capital": "cap", "horizon_days": 60},
        "nodes": {
            "base": {"controller": "rebels"},
            "town": {"garrison": 2000, "defense": 1.2},
            "cap": {"garrison": {"dist": "triangular", "low": 5000, "mode": 8000, "high": 15000}, "defense": 1.5},
        },
        "roads": {"base-town": 50, "town-cap": 100},
        "rebels": {"north": {"route": ["base", "town", "cap"], "strength": 6000,
                             "momentum": {"dist": "uniform", "low": 1.0, "high": 1.8}}},
        "allies": {"friend": {"side": "government", "commit_per_day": 0.3, "delay_days": 3, "air_support": 0.5,
                              "ground_forces": 1000, "belief_support": 0.4}},
        "belief": {"initial": 0.6},
    }
    return merge(doc, extra)


def merge(doc: dict, extra: dict) -> dict:
    out = copy.deepcopy(doc)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and "dist" not in v and "value" not in v:
            out[k] = merge(out[k], v)
        elif v is None:
            out.pop(k, None)
        else:
            out[k] = copy.deepcopy(v)
    return out


@pytest.fixture
def write_scenario(tmp_path):
    """Write a document as a TOML file and return its path."""
    def write(doc: dict, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        path.write_text(dumps(doc), encoding="utf-8")
        return path
    return write


@pytest.fixture
def make_scenario(write_scenario):
    """Load a scenario from a document (with optional overrides)."""
    def make(doc: dict, overrides=()):
        return load_scenario(write_scenario(doc), overrides)
    return make


REFERENCE_CLASS = SCENARIOS / "calibration" / "reference-class.toml"


def small_reference_class(folder: Path, stems=("kabul-2021-08-06", "mosul-2014-06-06", "syria-2024-12-07")) -> Path:
    """The shipped reference-class spec cut to a few of its cases (three wars: two calibrate, one is scored
    only), written in ``folder`` with absolute paths: the whole calibration in seconds, for tests of what
    the command writes rather than what it learns."""
    lines = []
    for line in REFERENCE_CLASS.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("{ scenario ="):
            if not any(f'"../{stem}.toml"' in line for stem in stems):
                continue
            line = line.replace('"../', f'"{SCENARIOS.as_posix()}/')
        lines.append(line)
    path = folder / "small-reference-class.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
