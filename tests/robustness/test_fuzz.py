"""Bad input, fuzzed: hypothesis mutates valid scenario files, ``--set`` arguments and the arguments
of every command, and the command line must answer each case with exit 0 and a valid result, or
exit 2 and one line that names the file (or flag) and the key, never a traceback, a hang or a NaN.

The bulk runs in-process through ``sim.cli.main`` (10 replications of the vectorised engine); a
fixed sample runs as real ``python -m sim.cli`` processes. ``SIM_FUZZ_EXAMPLES`` sets the number of
generated scenario cases (default 2,000; the --set fuzzer adds a quarter as many, the fuzzer of
every command's arguments an eighth). Examples are derandomized: the same cases on every run;
``SIM_FUZZ_EXPLORE=1`` draws fresh ones (to look for new bugs, e.g. with SIM_FUZZ_EXAMPLES=20000).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.cli import build_parser, main
from sim.scenario.load import MAX_MAGNITUDE, load_scenario
from sim.scenario import SECTIONS, Ally, Axis, Node, param_fields
from sim.scenario.toml import dumps

from tests.conftest import ROOT, SCENARIOS, base_doc
from tests.robustness.cli import call_main

EXAMPLES = int(os.environ.get("SIM_FUZZ_EXAMPLES", "2000"))


def fuzz_settings(n: int):
    """Derandomized (the same cases every run) unless SIM_FUZZ_EXPLORE=1 asks for fresh ones."""
    return settings(max_examples=n, derandomize=not os.environ.get("SIM_FUZZ_EXPLORE"), deadline=None,
                    database=None, print_blob=True, suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------------------------ base scenarios

def cycle_doc() -> dict:
    """A graph with a cycle (a-b-c-a), two axes on simple paths through it, allies on both sides."""
    return {
        "scenario": {"name": "cycle", "title": "A cycle", "as_of": dt.date(2024, 12, 7), "capital": "cap",
                     "horizon_days": 30},
        "nodes": {
            "base": {"controller": "rebels"},
            "a": {"garrison": 1500, "importance": 0.5},
            "b": {"garrison": {"dist": "uniform", "low": 500, "high": 2500}, "defense": 1.1},
            "c": {"garrison": {"dist": "normal", "mean": 1000, "sd": 300, "low": 0}},
            "cap": {"garrison": {"dist": "lognormal", "median": 6000, "sigma": 0.3}, "defense": 1.4,
                    "population": 2_000_000},
        },
        "roads": {"base-a": 40, "a-b": 30, "b-c": 25, "c-a": 35, "b-cap": 60, "c-cap": {"value": 50, "source": "s"}},
        "rebels": {
            "north": {"route": ["base", "a", "b", "cap"], "strength": 5000,
                      "momentum": {"dist": "triangular", "low": 1, "mode": 1.2, "high": 1.6}},
            "south": {"route": ["base", "a", "c", "b", "cap"], "strength": {"dist": "beta", "a": 2, "b": 2,
                                                                              "low": 2000, "high": 4000},
                      "assaulting": {"dist": "bernoulli", "p": 0.5}, "joiners_per_day": 20},
        },
        "allies": {
            "patron": {"side": "government", "commit_per_day": 0.6, "delay_days": 2, "air_support": 0.3,
                       "ground_forces": 800, "deploy_to": "b", "quit_below": 0.2},
            "backer": {"side": "rebels", "committed": 1, "capacity": 1, "ground_forces": 500,
                       "belief_support": 0.2},
        },
        "belief": {"initial": 0.5},
        "leadership": {"exit_below": 0.2},
    }


def flagship_doc() -> dict:
    return tomllib.loads((SCENARIOS / "syria-2024-12-07.toml").read_text(encoding="utf-8"))


BASES = {"line": base_doc, "cycle": cycle_doc, "flagship": flagship_doc}


def key_paths(doc: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for k, v in doc.items():
        out.append(prefix + (k,))
        if isinstance(v, dict):
            out += key_paths(v, prefix + (k,))
    return out


SCHEMA_PATHS = [("scenario", k) for k in ("name", "title", "description", "as_of", "horizon_days", "capital")] + [
    ("momentum", "cap"), ("momentum", "jump"), ("momentum", "decay_per_day"), ("momentum", "setback"),
    ("belief", "initial"), ("belief", "baseline"), ("belief", "loss_shock"), ("belief", "relax_per_day"),
    ("cascade", "contingent_threshold"), ("cascade", "spread"), ("cascade", "retreat_share"),
    ("combat", "kill_rate"), ("combat", "regroup_days"), ("combat", "defender_loss_tolerance"),
    ("combat", "counterattack_per_day"), ("leadership", "exit_below"), ("leadership", "max_exit_per_day"),
    ("leadership", "haven"), ("threat", "scale_km"), ("threat", "sharpness"), ("weather", "rain")]
ENTITY_FIELDS = {"nodes": ["garrison", "core_share", "defense", "population", "importance", "reserve",
                           "reserve_threat", "controller", "garison"],
                 "rebels": ["strength", "momentum", "speed_km_day", "position_km", "assaulting", "loss_tolerance",
                            "joiners_per_day", "culmination", "rises_below", "route"],
                 "allies": ["committed", "commit_per_day", "delay_days", "capacity", "air_support", "ground_forces",
                            "materiel", "belief_support", "quit_below", "withdraw_day", "side", "deploy_to"]}

# ------------------------------------------------------------------------------------ nasty values

NUMBERS = [math.nan, math.inf, -math.inf, 0, 0.0, -0.0, -1, -1.5, 1, 0.5, 2, 7, 100, 1e-300, 5e-324, -1e-300,
           1e12, 1e12 + 1, 1e15, 1e20, 1e308, -1e308, 1.7976931348623157e308, 2**53 + 1, 2**63, -2**63, 2**64,
           10**30, 10**400, -(10**400), 10_000, 100_000, 100_001]
OTHERS = [True, False, "", "0", "1.5", "nan", "rebels", "government", "cap", "base", "x\ny", "\x7f\x00", "😀", "$x^$",
          [], [1, 2], ["base", "cap"], {}, {"value": 1}, {"value": math.nan}, {"source": "s"}, {"dist": ["x"]},
          dt.date(2024, 12, 6), dt.date(9999, 12, 31), dt.date(1, 1, 1), dt.datetime(2024, 1, 1, 12), dt.time(12, 0)]
NAMES = ["base", "town", "cap", "a", "b", "c", "homs", "damascus", "nabk", "rastan", "nowhere", "Cap", ""]

numbers = st.one_of(st.sampled_from(NUMBERS), st.floats(), st.integers(), st.floats(0, 10), st.integers(0, 100))


def dist_tables(n=numbers):
    return st.one_of(
        st.fixed_dictionaries({"dist": st.just("uniform"), "low": n, "high": n}),
        st.fixed_dictionaries({"dist": st.just("triangular"), "low": n, "mode": n, "high": n}),
        st.fixed_dictionaries({"dist": st.just("normal"), "mean": n, "sd": n},
                              optional={"low": n, "high": n}),
        st.fixed_dictionaries({"dist": st.just("lognormal"), "median": n, "sigma": n}),
        st.fixed_dictionaries({"dist": st.just("beta"), "a": n, "b": n}, optional={"low": n, "high": n}),
        st.fixed_dictionaries({"dist": st.just("bernoulli"), "p": n}),
        st.fixed_dictionaries({"dist": st.sampled_from(["fixed", "gamma", "uniform"]), "value": n},
                              optional={"source": st.text(max_size=5), "date": st.sampled_from(OTHERS)}),
    )


values = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(OTHERS), numbers, st.text(max_size=12), dist_tables(),
                   st.lists(st.sampled_from(NAMES), max_size=6),
                   st.dictionaries(st.text(max_size=6), numbers, max_size=2))


# ------------------------------------------------------------------------------------ mutations

def set_path(doc: dict, path: tuple, value) -> None:
    table = doc
    for k in path[:-1]:
        if not isinstance(table.get(k), dict):
            table[k] = {}
        table = table[k]
    # a copy: OTHERS holds tables and lists that a later mutation of this document would change,
    # leaking into every later example (hypothesis then finds its data generation inconsistent)
    table[path[-1]] = copy.deepcopy(value)


def delete_path(doc: dict, path: tuple) -> None:
    table = doc
    for k in path[:-1]:
        table = table.get(k)
        if not isinstance(table, dict):
            return
    table.pop(path[-1], None)


def node_names(doc: dict) -> list[str]:
    nodes = doc.get("nodes")
    return list(nodes) if isinstance(nodes, dict) else []


def table(doc: dict, key: str) -> dict:
    """``doc[key]`` as a table (an earlier mutation may have made it a number)."""
    if not isinstance(doc.get(key), dict):
        doc[key] = {}
    return doc[key]


def mutate_graph(data, doc: dict) -> None:
    names = node_names(doc) + ["nowhere"]
    kind = data.draw(st.sampled_from(["empty_nodes", "empty_roads", "no_rebels", "route", "route", "add_road",
                                      "del_road", "controller", "capital", "many_nodes", "cycle_route"]))
    axes = [k for k, v in doc["rebels"].items() if isinstance(v, dict)] if isinstance(doc.get("rebels"), dict) else []
    if kind == "empty_nodes":
        doc["nodes"] = {}
    elif kind == "empty_roads":
        doc["roads"] = {}
    elif kind == "no_rebels":
        doc.pop("rebels", None)
    elif kind in ("route", "cycle_route") and axes:
        axis = data.draw(st.sampled_from(axes))
        if kind == "route":  # disconnected, revisiting, unknown: anything
            route = data.draw(st.lists(st.sampled_from(names), max_size=7))
        else:  # a walk that may close a cycle
            route = [data.draw(st.sampled_from(names))]
            for _ in range(data.draw(st.integers(1, 6))):
                route.append(data.draw(st.sampled_from(names)))
        doc["rebels"][axis]["route"] = route
    elif kind == "add_road":
        a, b = data.draw(st.sampled_from(names)), data.draw(st.sampled_from(names))
        table(doc, "roads")[f"{a}-{b}"] = data.draw(st.one_of(st.floats(0.1, 200), values))
    elif kind == "del_road" and isinstance(doc.get("roads"), dict) and doc["roads"]:
        doc["roads"].pop(data.draw(st.sampled_from(sorted(doc["roads"]))), None)
    elif kind == "controller" and names[:-1]:
        node = data.draw(st.sampled_from(names[:-1]))
        if isinstance(doc["nodes"].get(node), dict):
            doc["nodes"][node]["controller"] = data.draw(st.sampled_from(["rebels", "government", "neutral", 1]))
    elif kind == "capital":
        table(doc, "scenario")["capital"] = data.draw(st.sampled_from(names))
    elif kind == "many_nodes":
        n = data.draw(st.sampled_from([30, 99, 101, 400]))
        capital = table(doc, "scenario").get("capital", "cap")
        capital = capital if isinstance(capital, str) else "cap"
        chain = ["m0"] + [f"m{i}" for i in range(1, n)]
        doc["nodes"] = {**{m: {"garrison": 10} for m in chain}, **table(doc, "nodes")}
        doc["nodes"]["m0"] = {"controller": "rebels"}
        doc["roads"] = {**{f"{a}-{b}": 5 for a, b in zip(chain, chain[1:])}, f"{chain[-1]}-{capital}": 5}
        doc["rebels"] = {"long": {"route": [*chain, capital], "strength": 100_000}}


def extremes(meta: dict) -> list:
    """Valid but extreme values of a parameter: its bounds, a hair inside an open bound, the largest
    magnitude allowed, and distributions spanning the whole range."""
    low, high, positive = meta["low"], meta["high"], meta["positive"]
    lo = 5e-324 if positive else low
    hi = MAX_MAGNITUDE if high is None else high
    out = [lo, hi, 1e-300 if positive else 0.0, (lo + hi) / 2, {"dist": "uniform", "low": lo, "high": hi},
           {"dist": "triangular", "low": lo, "mode": lo, "high": hi}, {"value": hi, "source": "assumption"}]
    if high is None:
        out += [1e9, {"dist": "lognormal", "median": 1.0, "sigma": 10.0}]
    if (low, high) == (0.0, 1.0):
        out += [{"dist": "bernoulli", "p": 0.5}, {"dist": "beta", "a": 0.01, "b": 0.01}]
    return out


def extreme_paths(doc: dict) -> list[tuple[tuple, dict]]:
    """(path, field metadata) of every numeric parameter the document's entities and sections have."""
    out = []
    for section, cls in (("nodes", Node), ("rebels", Axis), ("allies", Ally)):
        for name in (doc.get(section) or {}):
            out += [((section, name, f.name), f.metadata) for f in param_fields(cls)]
    for section, cls in SECTIONS.items():
        out += [((section, f.name), f.metadata) for f in param_fields(cls)]
    return out


def mutate_extremes(data, doc: dict) -> None:
    """Only valid changes: parameters at their extremes (which the run must take)."""
    paths = extreme_paths(doc)
    for _ in range(data.draw(st.integers(1, 5), label="extremes")):
        path, meta = data.draw(st.sampled_from(paths))
        set_path(doc, path, data.draw(st.sampled_from(extremes(meta))))


def mutate_doc(data, doc: dict) -> None:
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        kind = data.draw(st.sampled_from(["set", "set", "set", "entity", "delete", "unknown", "graph", "graph"]))
        paths = key_paths(doc)
        if kind == "set":
            path = data.draw(st.sampled_from(paths + SCHEMA_PATHS))
            set_path(doc, path, data.draw(values))
        elif kind == "entity":
            section = data.draw(st.sampled_from(sorted(ENTITY_FIELDS)))
            entities = [k for k, v in doc.get(section, {}).items() if isinstance(v, dict)] \
                if isinstance(doc.get(section), dict) else []
            if entities:
                name = data.draw(st.sampled_from(entities))
                set_path(doc, (section, name, data.draw(st.sampled_from(ENTITY_FIELDS[section]))), data.draw(values))
        elif kind == "delete" and paths:
            delete_path(doc, data.draw(st.sampled_from(paths)))
        elif kind == "unknown" and paths:
            tables = [p for p in paths if isinstance(_get(doc, p), dict)] or [()]
            path = data.draw(st.sampled_from(tables)) + (data.draw(st.text(min_size=1, max_size=8)),)
            set_path(doc, path, data.draw(values))
        elif kind == "graph":
            mutate_graph(data, doc)


def _get(doc, path):
    for k in path:
        doc = doc.get(k) if isinstance(doc, dict) else None
    return doc


def mutate_bytes(data, raw: bytes) -> bytes:
    kind = data.draw(st.sampled_from(["duplicate_node", "truncate", "insert_text", "insert_bytes", "bom", "pad"]))
    if kind == "duplicate_node":
        m = re.search(rb"^\[nodes\.[a-z0-9_]+\]\n", raw, re.M)
        return raw + b"\n" + m.group(0) + b"garrison = 1\n" if m else raw
    at = data.draw(st.integers(0, len(raw)))
    if kind == "truncate":
        return raw[:at]
    if kind == "insert_text":
        return raw[:at] + data.draw(st.text(max_size=20)).encode("utf-8", "surrogatepass") + raw[at:]
    if kind == "insert_bytes":
        return raw[:at] + data.draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + raw
    size = data.draw(st.sampled_from([100_000, 4_900_000, 5_000_001, 6_000_000]))
    return raw + b"\n#" + b"x" * size + b"\n"


def encode(doc: dict) -> bytes:
    return dumps(doc).encode("utf-8", "surrogatepass")


# ------------------------------------------------------------------------------------ one case

WHOLE_FILE = ("file not found", "not UTF-8", "invalid TOML", "file is larger", "is a directory",
              "is not a regular file", "not a valid file path", "cannot be read")


def check_error(status, stderr: str, sources: list[str], case) -> None:
    """Exit 2 and one line: ``sim: error: SOURCE: KEY: problem`` (or an argument's name)."""
    assert status == 2, f"{case}\nexit {status!r}\n{stderr}"
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sim: error: "), f"{case}\n{stderr}"
    assert "Traceback" not in stderr
    line = lines[0][len("sim: error: "):]
    if "argument " in line or line.startswith(("unrecognized arguments", "the following arguments")):
        return  # argparse: names the flag
    source = next((s for s in sorted(sources, key=len, reverse=True) if line.startswith(f"{s}: ")), None)
    assert source is not None, f"{case}\nthe error names none of {sources}: {line}"
    rest = line[len(source) + 2:]
    if not rest.startswith(WHOLE_FILE):
        key, sep, problem = rest.partition(": ")
        assert sep and key.strip() and problem.strip(), f"{case}\nno key in: {line}"


def strict_json(path: Path):
    def reject(c):
        raise AssertionError(f"{path} holds {c}")
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


def check_run(out: Path, reps: int, case) -> None:
    """A complete, valid results folder: finite numbers, probabilities that sum to 1, days in range."""
    assert (out / "manifest.json").is_file() and not (out / "INCOMPLETE").exists(), case
    s = strict_json(out / "summary.json")
    m = strict_json(out / "manifest.json")
    assert s["reps"] == reps == m["reps"], case
    ps = [s["end_states"][k]["p"] for k in ("captured", "collapsed", "holds")]
    assert abs(sum(ps) - 1.0) < 1e-9 and all(0.0 <= p <= 1.0 for p in ps), case
    for v in s["end_states"].values():
        assert v["ci_low"] <= v["p"] <= v["ci_high"], case
    horizon = s["horizon_days"]
    f = s["capital_fall_day"]
    days = [f[q] for q in ("p10", "p50", "p90") if f[q] is not None]
    assert days == sorted(days) and all(0 <= d <= horizon for d in days), case
    assert f["n"] == round((ps[0] + ps[1]) * reps), case
    for node in s["nodes"].values():
        assert 0.0 <= node["fallen"]["p"] <= 1.0, case
        assert node["median_day"] is None or 0 <= node["median_day"] <= horizon, case
    assert s["mean_dispersed"] >= 0, case
    if (out / "outcomes.parquet").is_file():  # every drawn parameter and every outcome: finite or NaN for never
        import numpy as np

        from sim.runs.folder import Columns
        z = Columns(out / "outcomes.parquet")
        for name in z:
            col = z[name]
            ok = np.isfinite(col) if name.startswith("param:") or name in ("dispersed", "final_belief") \
                else np.isfinite(col) | np.isnan(col)
            assert ok.all(), f"{case}\n{name}: {col[~ok][:5]}"
    # The resolved scenario in the folder loads again, to the same scenario.
    again = load_scenario(out / "scenario.toml")
    assert again.name == s["scenario"] and again.horizon_days == horizon, case


def no_leftovers(tmp: Path, case) -> None:
    left = [p.name for p in tmp.rglob("*") if p.name.endswith(".partial") or p.name == "INCOMPLETE"]
    assert not left, f"{case}\nleft behind: {left}"


# ------------------------------------------------------------------------------------ the fuzzers

def extends_setup(data, tmp: Path, raw: bytes) -> tuple[Path, list[Path]]:
    """Maybe wrap the scenario in an extends chain (or break one); returns the file to run and every file."""
    kind = data.draw(st.sampled_from(["none"] * 12 + ["child"] * 3 + ["missing", "loop", "self", "directory",
                                                                      "not_string", "absolute", "parent_dir"]))
    main_file = tmp / "scenario.toml"
    main_file.write_bytes(raw)
    if kind == "none":
        return main_file, [main_file]
    child = tmp / "variant.toml"
    body = data.draw(st.sampled_from(['[scenario]\nname = "variant"\n', "[belief]\ninitial = 0.3\n",
                                      "[momentum]\ncap = 0\n", ""]))
    target = {"child": '"scenario.toml"', "missing": '"missing.toml"', "loop": '"scenario.toml"',
              "self": '"variant.toml"', "directory": '"."', "not_string": "5",
              "absolute": json.dumps(str(main_file)), "parent_dir": '"../scenario.toml"'}[kind]
    child.write_text(f"extends = {target}\n{body}", encoding="utf-8")
    if kind == "loop":
        main_file.write_bytes(b'extends = "variant.toml"\n' + raw)
    return child, [child, main_file]


SET_LITERALS = ["1", "-1", "0", "nan", "inf", "-inf", "1e400", "1e308", "1e12", "0.5", "true", '"x"', "[1, 2]",
                '{dist="uniform", low=1, high=2}', '{dist="uniform", low=2, high=1}', "2024-01-01", "rebels",
                "bare word", "1\nx = 2", "[[[[", "", "=", "99999999999999999999999", "'str'",
                '{ value = 1, source = "s" }', "[" * 50 + "]" * 50, "12:00:00",
                '{dist="lognormal", median=1, sigma=50}']


def set_args(data, doc: dict) -> list[str]:
    paths = [".".join(map(str, p)) for p in key_paths(doc)] + [".".join(p) for p in SCHEMA_PATHS] + \
        ["rebels.nobody.momentum", "scenario..name", "", "nodes.cap.garrison.low", "extends"]
    out = []
    for _ in range(data.draw(st.integers(0, 3), label="sets")):
        path = data.draw(st.one_of(st.sampled_from(paths), st.text(max_size=10)))
        value = data.draw(st.one_of(st.sampled_from(SET_LITERALS), st.text(max_size=10)))
        out.append(data.draw(st.sampled_from([f"{path}={value}", path, f"{path}={value}"])))
    return [a for s in out for a in ("--set", s)]


@fuzz_settings(EXAMPLES)
@given(st.data())
def test_fuzzed_scenarios_give_a_valid_result_or_one_line_naming_file_and_key(data):
    doc = BASES[data.draw(st.sampled_from(sorted(BASES)), label="base")]()
    mode = data.draw(st.sampled_from(["valid", "extremes", "extremes", "extremes", "nasty", "nasty", "nasty",
                                      "nasty", "nasty", "nasty"]), label="mode")
    if mode == "extremes":
        mutate_extremes(data, doc)
    elif mode == "nasty":
        mutate_doc(data, doc)
    raw = encode(doc)
    if data.draw(st.integers(0, 7)) == 0:
        raw = mutate_bytes(data, raw)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path, files = extends_setup(data, tmp, raw)
        argv = ["run", path, "--reps", 10, "--seed", 1, "--out", tmp / "out", "--quiet", "--no-plots",
                *data.draw(st.sampled_from([[]] * 6 + [["--no-save-outcomes"], ["--horizon", "0"], ["--horizon", "1"],
                                                        ["--engine", "reference"], ["--engine", "reference"],
                                                        ["--horizon", "-1"]]), label="flags")]
        argv += set_args(data, doc) if data.draw(st.integers(0, 3)) == 0 else []
        status, stdout, stderr = call_main(argv, tmp)
        case = f"argv {argv}\n--- {path.name} ---\n{path.read_bytes()[:3000]!r}"
        event(f"{mode}: exit {status}" if isinstance(status, int) else "exception")
        if status == 2:  # what the errors were about (pytest --hypothesis-show-statistics)
            event(re.sub(r"^sim: error: \S+: ", "", stderr.strip())[:45])
        if status == 0:
            assert stderr == "", f"{case}\n{stderr}"
            check_run(tmp / "out", 10, case)
        else:
            check_error(status, stderr, [str(f) for f in files] + ["--set"], case)
            assert not (tmp / "out").exists(), case
        no_leftovers(tmp, case)


@fuzz_settings(max(EXAMPLES // 4, 10))
@given(st.data())
def test_fuzzed_set_arguments(data):
    doc = BASES[data.draw(st.sampled_from(sorted(BASES)), label="base")]()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = tmp / "scenario.toml"
        path.write_bytes(encode(doc))
        argv = ["run", path, "--reps", 10, "--seed", 2, "--out", tmp / "out", "--quiet", "--no-plots"]
        argv += set_args(data, doc) or ["--set", "belief.initial=0.4"]
        status, _, stderr = call_main(argv, tmp)
        case = f"argv {argv}"
        if status == 0:
            check_run(tmp / "out", 10, case)
        else:
            check_error(status, stderr, [str(path), "--set"], case)
        no_leftovers(tmp, case)


# ------------------------------------------------------------------------------------ every command

def commands() -> dict[str, dict]:
    """Each command's positionals and options, read from the parser itself (new commands are fuzzed too)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    out = {}
    for name, p in sub.choices.items():
        options, positionals = {}, []
        for a in p._actions:
            if a.option_strings:
                if "--scheduler" in a.option_strings or "-h" in a.option_strings:
                    continue  # a Dask address would be dialled
                options[a.option_strings[0]] = a.nargs != 0
                for extra in a.option_strings[1:]:
                    options[extra] = a.nargs != 0
            else:
                positionals.append(a.nargs)
        out[name] = {"options": options, "positionals": positionals}
    return out


COMMANDS = commands()
TOKENS = ["", "-1", "0", "1", "2", "3", "x", "1e3", "9" * 60, "nan", "-", "--", "\x7f", "😀", "1:2:3", "x=1",
          "rebels.north.momentum=1:2:2", "belief.initial=0.2,0.3", "morris", "sobol", "vectorised",
          "reference", "rebels.north.momentum", "{scenario}", "{broken}", "{notutf8}", "{dir}", "{run}",
          "{partial}", "{missing}", "{file}", "{observed}", "{news}", "{out}"]
# Half the cases start from arguments that work, so that the fuzzed flags meet a running command.
GOOD = {"run": ["{scenario}"], "plot": ["{run}"], "rerun": ["{run}"], "report": ["{run}"],
        "compare": ["{run}", "{run}"],
        "backtest": ["{scenario}", "--observed", "{observed}"], "calibrate": ["{file}"],
        "sweep": ["{scenario}", "--param", "rebels.north.momentum=1,1.5"],
        "sensitivity": ["{scenario}", "--method", "morris"], "validate": ["{scenario}"], "params": ["{scenario}"],
        "update": ["{scenario}", "--observed", "{news}"], "timeline": ["{run}", "--observed", "{news}"]}
# Appended last, so that a valid command stays small and writes only under the case's folder.
SAFE = {"--reps": "3", "--proposals": "2", "--samples": "2", "--resamples": "2", "--horizon": "5", "--particles": "20"}


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    """Files and folders the argument fuzzer hands to commands: a scenario, broken files, a finished
    run and a run folder left incomplete."""
    root = tmp_path_factory.mktemp("fuzzargs")
    scenario = root / "scenario.toml"
    scenario.write_text(dumps(base_doc()), encoding="utf-8")
    (root / "broken.toml").write_text("[scenario\n", encoding="utf-8")
    (root / "notutf8.toml").write_bytes(b"\xff\xfe[")
    (root / "file.txt").write_text("hello\n", encoding="utf-8")
    run = root / "run"
    assert main(["run", str(scenario), "--reps", "20", "--seed", "3", "--out", str(run), "--quiet", "--no-plots"]) == 0
    news = root / "news.toml"  # what happened in the scenario's theatre: news for update and timeline
    news.write_text(dumps({"observed": {"name": "news", "until": dt.date(2024, 12, 12)},
                           "capital": {"end_state": "holds", "source": "test"},
                           "nodes": {"town": {"earliest": dt.date(2024, 12, 9), "latest": dt.date(2024, 12, 11),
                                              "source": "test"}}}), encoding="utf-8")
    partial = root / ".run.abc.partial"
    partial.mkdir()
    (partial / "INCOMPLETE").write_text("")
    (partial / "summary.json").write_text((run / "summary.json").read_text())
    return {"{scenario}": scenario, "{broken}": root / "broken.toml", "{notutf8}": root / "notutf8.toml",
            "{dir}": root, "{run}": run, "{partial}": partial, "{missing}": root / "missing.toml",
            "{file}": root / "file.txt", "{observed}": SCENARIOS / "observed" / "syria-2024.toml",
            "{news}": news}


@fuzz_settings(max(EXAMPLES // 8, 10))
@given(st.data())
def test_fuzzed_arguments_of_every_command(fixtures, data):
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        names = {**{k: str(v) for k, v in fixtures.items()}, "{out}": str(tmp / "out")}
        token = st.sampled_from(TOKENS).map(lambda t: names.get(t, t))
        name = data.draw(st.sampled_from(sorted(COMMANDS) + ["", "fly", "-x"]), label="command")
        argv = [name]
        spec = COMMANDS.get(name, {"options": {}, "positionals": []})
        if name in GOOD and data.draw(st.booleans(), label="good start"):
            argv += [names.get(t, t) for t in GOOD[name]]
        else:
            for nargs in spec["positionals"]:
                argv += data.draw(st.lists(token, min_size=0 if nargs in ("?", "*") else 1,
                                           max_size=3 if nargs in ("+", "*") else 1), label="positional")
        options = sorted(spec["options"])
        for _ in range(data.draw(st.sampled_from([0, 0, 1, 1, 2, 3]), label="n options") if options else 0):
            flag = data.draw(st.sampled_from(options))
            argv += [flag, data.draw(token)] if spec["options"][flag] else [flag]
        if data.draw(st.integers(0, 9)) == 0:
            argv.insert(data.draw(st.integers(1, len(argv))), "--frobnicate")
        for flag, value in SAFE.items():
            if flag in spec["options"]:
                argv += [flag, value]
        if "--out" in spec["options"]:
            argv += ["--out", str(tmp / "out")]
        if "--no-plots" in spec["options"]:
            argv += ["--no-plots"]
        status, stdout, stderr = call_main(argv, tmp)
        case = f"argv {argv}"
        event(f"{name or '(none)'}: exit {status}" if isinstance(status, int) else "exception")
        if status == 2:
            event(f"{name}: " + re.sub(r"^sim: error: (sim \w+: )?", "", stderr.strip())[:60])
        assert isinstance(status, int), f"{case}\n{status}"
        assert "Traceback" not in stderr + stdout, f"{case}\n{stderr}"
        if status == 0 and name != "validate":  # which warns of figures without provenance
            # The warnings a fuzzed command may give: a sensitivity analysis of a few samples says it
            # is too small to rank the factors, an update of a few particles that they are too few
            # (each such line names the remedy).
            unexpected = [line for line in stderr.strip().splitlines()
                          if "warning" in line.lower() and "too few samples to rank the factors" not in line
                          and "raise --particles" not in line]
            assert not unexpected, f"{case}\n{stderr}"
        elif status != 0:
            # rerun: the summaries differ; validate: the scenario is not valid (its one-line error)
            assert status == 2 or (name in ("rerun", "validate") and status == 1), f"{case}\nexit {status}\n{stderr}"
            if status == 2 or name == "validate":
                lines = stderr.splitlines()
                assert len(lines) == 1 and lines[0].startswith("sim: error: "), f"{case}\n{stderr}"


# ------------------------------------------------------------------------------------ real processes

def _subprocess_cases(tmp: Path) -> list[tuple[list[str], set[int]]]:
    good = tmp / "good.toml"
    good.write_text(dumps(base_doc()), encoding="utf-8")
    cases = {
        "nan": dumps(base_doc()).replace("initial = 0.6", "initial = nan"),
        "huge": dumps(base_doc()).replace("strength = 6000", "strength = 1e308"),
        "bigint": dumps(base_doc()).replace("strength = 6000", "strength = " + "9" * 400),
        "no_nodes": '[scenario]\nname = "x"\nas_of = 2024-12-07\ncapital = "cap"\n[nodes]\n',
        "duplicate": dumps(base_doc()) + "\n[nodes.town]\ngarrison = 1\n",
        "loop": 'extends = "loop.toml"\n',
        "missing_parent": 'extends = "nowhere.toml"\n',
        "title": dumps(base_doc()).replace('name = "synthetic"',
                                           'name = "synthetic"\ntitle = "costs $x^$ and \\u0007"'),
        "revisit": dumps(base_doc()).replace('["base", "town", "cap"]', '["base", "town", "base", "cap"]'),
        "far_future": dumps(base_doc()).replace("as_of = 2024-12-07", "as_of = 9999-12-01"),
    }
    for name, text in cases.items():
        (tmp / f"{name}.toml").write_text(text, encoding="utf-8")
    (tmp / "binary.toml").write_bytes(b"\x00\xff\xfe garbage \x80")
    run = ["run", "--reps", "10", "--seed", "1", "--quiet"]
    out = []
    for name in [*cases, "binary"]:
        out.append(([*run[:1], str(tmp / f"{name}.toml"), *run[1:], "--out", str(tmp / f"o-{name}")], {2}))
    out += [
        ([*run[:1], str(good), *run[1:], "--out", str(tmp / "o-good")], {0}),
        ([*run[:1], str(good), *run[1:], "--set", "momentum.cap=1e400"], {2}),
        ([*run[:1], str(good), *run[1:], "--set", "nodes.cap.garrison=[[[["], {2}),
        ([*run[:1], str(good), *run[1:], "--workers", "100000"], {2}),
        ([*run[:1], str(good), *run[1:], "--seed", "9" * 200], {2}),
        ([*run[:1], str(good), *run[1:], "--out", str(good)], {2}),
        (["plot", str(tmp)], {2}),
        (["rerun", str(tmp / "nowhere")], {2}),
    ]
    return out


def test_real_processes_never_print_a_traceback(tmp_path):
    cases = _subprocess_cases(tmp_path)

    def one(case):
        argv, expected = case
        proc = subprocess.run([sys.executable, "-m", "sim.cli", *argv], capture_output=True, text=True, cwd=tmp_path,
                              timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
        return argv, expected, proc

    with ThreadPoolExecutor(2) as pool:
        for argv, expected, proc in pool.map(one, cases):
            assert proc.returncode in expected, f"{argv}\n{proc.stderr}"
            assert "Traceback" not in proc.stderr, f"{argv}\n{proc.stderr}"
            if proc.returncode == 2:
                lines = proc.stderr.splitlines()
                assert len(lines) == 1 and lines[0].startswith("sim: error: "), f"{argv}\n{proc.stderr}"


# ------------------------------------------------------------------------------------ what the fuzzer found
# Each case once crashed, hung, wrote a wrong number or was wrongly rejected; now a one-line error
# naming the file and key (or a valid run).

def _deep(n: int):
    v = 1
    for _ in range(n):
        v = [v]
    return v


FOUND = [
    # (change to the base document, key, words)
    ({"rebels": {"north": {"strength": 10**400}}}, "rebels.north.strength", "must be within"),  # OverflowError
    ({"rebels": {"north": {"strength": 1e308}}}, "rebels.north.strength", "must be within"),  # inf x 0 = NaN
    ({"combat": {"kill_rate": 1e300}}, "combat.kill_rate", "must be within"),  # Poisson "lam value too large"
    ({"nodes": {"cap": {"garrison": {"dist": ["uniform"]}}}}, "nodes.cap.garrison.dist", "name of a distribution"),
    ({"nodes": {"cap": {"garrison": {"dist": "lognormal", "median": 1, "sigma": 1e6}}}}, "nodes.cap.garrison.sigma",
     "at most 10"),  # draws of inf
    ({"nodes": {"town\n": {}}}, "nodes.town\\n", "lower-case"),  # "$" matched before a final newline
    ({"scenario": {"name": "../elsewhere"}}, "scenario.name", "names the results folder"),
    ({"scenario": {"name": "x" * 300}}, "scenario.name", "names the results folder"),  # file name too long
    ({"scenario": {"title": "a\x1b[2Jb"}}, "scenario.title", "control characters"),  # a terminal escape
    ({"scenario": {"as_of": dt.date(9999, 12, 31)}}, "scenario.horizon_days", "last calendar date"),  # date overflow
    ({"desertion": {"base_rate_per_day": 1e6}}, "desertion", "threshold cascade"),  # a model v1 section
    ({"leadership": {"threat_sensitivity": 3}}, "leadership.threat_sensitivity", "log-linear hazard is gone"),  # v1
    ({"rebels": {"north": {"reinforcement_per_day": 5}}}, "rebels.north.reinforcement_per_day", "joiners_per_day"),
    ({"threat": {"sharpness": 1e6}}, "threat.sharpness", "<= 100"),  # overflow of r ** lambda
    ({"nodes": {f"n{i}": {} for i in range(101)}}, "nodes", "at most 100"),  # memory grows with nodes
    ({"belief": {"initial": {"value": _deep(40)}}}, "belief.initial.value", "nested more than"),
]


@pytest.mark.parametrize("change,key,words", FOUND, ids=[f"{k}:{w}" for _, k, w in FOUND])
def test_what_the_fuzzer_found(write_scenario, change, key, words):
    from sim.errors import ScenarioError

    from tests.conftest import merge
    path = write_scenario(merge(base_doc(), change))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: {key}") and words in message, message


@pytest.mark.parametrize("override,words", [
    ("=1", "'=1': empty key"),
    ("belief.initial=0.5\nw = 2", "not a TOML literal"),  # a second key smuggled in
    ("belief.initial=" + "[" * 200 + "]" * 200, "nested more than"),
    ("belief.initial=1e400", "must be finite"),
])
def test_what_the_fuzzer_found_in_set_arguments(write_scenario, override, words):
    from sim.errors import ScenarioError
    with pytest.raises(ScenarioError) as info:
        load_scenario(write_scenario(base_doc()), [override])
    assert str(info.value).startswith("--set: ") and words in str(info.value) and "\n" not in str(info.value)


def test_a_lognormal_suits_a_parameter_that_must_be_positive(write_scenario):
    """It was rejected: its support's bound 0 is never drawn."""
    from tests.conftest import merge
    s = load_scenario(write_scenario(merge(base_doc(), {
        "rebels": {"north": {"momentum": {"dist": "lognormal", "median": 1.2, "sigma": 0.2}}},
        "nodes": {"cap": {"defense": {"dist": "lognormal", "median": 1.5, "sigma": 0.3}}}})))
    assert s.axes[0].momentum.dist.name == "lognormal"


def test_unreadable_paths(tmp_path):
    from sim.errors import ScenarioError
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(fifo)  # reading it would wait forever
    (tmp_path / "dir.toml").mkdir()
    child = tmp_path / "child.toml"
    child.write_text('extends = "dir.toml"\n')
    with pytest.raises(ScenarioError, match=r"child.toml: extends: not a file: 'dir.toml'"):
        load_scenario(child)
    for i in range(20):
        (tmp_path / f"c{i}.toml").write_text(f'extends = "c{i + 1}.toml"\n')
    (tmp_path / "c20.toml").write_text(dumps(base_doc()))
    with pytest.raises(ScenarioError, match="extends chain longer than 16"):
        load_scenario(tmp_path / "c0.toml")


def test_resolved_scenarios_round_trip_any_key_or_string():
    """The writer of scenario.toml once wrote a key with a final newline bare, DEL raw and characters
    beyond U+FFFF as surrogate pairs: TOML that no reader accepts."""
    doc = {"a\n": 1, "😀": {"k": "x\x7fy😀\n"}, "t": {"when": dt.time(12, 30), "day": dt.date(2024, 1, 2)}}
    assert tomllib.loads(dumps(doc)) == doc


def test_huge_forces_lose_their_mean_not_crash():
    """Poisson means past numpy's limit (about 9.2e18) are taken as exact; infinite means rout the side."""
    import numpy as np

    from sim.rules.combat import draw_losses
    rng = np.random.default_rng(0)
    losses = draw_losses(np.array([5.0, 1e30, np.inf]), np.array([1e9, 1e40, 7.0]), rng=rng)
    assert losses[1] == 1e30 and losses[2] == 7.0 and 0 <= losses[0] < 30


def test_a_title_with_dollar_signs_is_drawn_as_text(tmp_path):
    """Matplotlib parsed "$x^$" in a title as mathtext and raised while saving the figure."""
    from tests.conftest import merge
    path = tmp_path / "s.toml"
    path.write_text(dumps(merge(base_doc(), {"scenario": {"title": "costs $x^$ and $$"}})))
    status, _, stderr = call_main(["run", path, "--reps", 10, "--seed", 1, "--out", tmp_path / "out", "--quiet"],
                                  tmp_path)
    assert status == 0, stderr
    assert (tmp_path / "out" / "fall_day.png").is_file()


# ------------------------------------------------------------------------------------ untrusted files stay data

CODE_PATHS = re.compile(r"(?<![\w.])(eval|exec|compile|__import__)\(|import_module\(|pickle|allow_pickle\s*=\s*True"
                        r"|shell\s*=\s*True|os\.system\(|os\.popen\(|yaml\.(unsafe_)?load\(")


def test_no_code_path_evaluates_text():
    """Scenario files are only ever parsed as TOML, --set values only as TOML literals; nothing in
    the package evaluates text, unpickles or hands a string to a shell."""
    bad = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in sorted((ROOT / "src" / "sim").rglob("*.py"))
           for m in CODE_PATHS.finditer(p.read_text(encoding="utf-8"))]
    assert not bad, bad


def test_text_that_looks_like_code_stays_text(tmp_path):
    marker = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {marker}')"
    path = tmp_path / "s.toml"
    from tests.conftest import merge
    path.write_text(dumps(merge(base_doc(), {"scenario": {"title": payload, "description": payload}})))
    status, _, stderr = call_main(["run", path, "--reps", 5, "--seed", 1, "--out", tmp_path / "out", "--quiet",
                                   "--no-plots", "--set", f"belief.initial={payload}",
                                   "--set", f"scenario.title={payload}"], tmp_path)
    assert status == 2 and "belief.initial" in stderr and "not a TOML literal" in stderr, stderr
    status, _, stderr = call_main(["run", path, "--reps", 5, "--seed", 1, "--out", tmp_path / "out", "--quiet",
                                   "--no-plots", "--set", f"scenario.title={json.dumps(payload)}"], tmp_path)
    assert status == 0, stderr
    assert load_scenario(tmp_path / "out" / "scenario.toml").title == payload
    assert not marker.exists()


@pytest.mark.parametrize("target,words", [
    ("https://example.com/x.toml", "file not found"),
    ("missing.toml", "file not found: 'missing.toml'"),
    (".", "not a file: '.'"),
])
def test_extends_resolves_only_to_files(tmp_path, target, words):
    child = tmp_path / "child.toml"
    child.write_text(f"extends = {json.dumps(target)}\n")
    from sim.errors import ScenarioError
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    assert str(info.value).startswith(f"{child}: extends: ") and words in str(info.value)


# ------------------------------------------------------------------------------------ distributions

RANGES = [f.metadata for f in (*param_fields(Node), *param_fields(Axis), *param_fields(Ally))]


EDGY = st.one_of(st.sampled_from([0, 1, 0.5, 5e-324, 1e-300, 1e-12, 1e12, -1, 30, 1e6, 1 - 1e-16]),
                 st.floats(0, 1), st.floats(-10, 1e6), st.floats(0, 1e12))


@fuzz_settings(max(EXAMPLES // 2, 10))
@given(dist_tables(EDGY), st.sampled_from(RANGES))
def test_every_distribution_the_loader_accepts_draws_finite_numbers_in_range(body, meta):
    """The loader accepts a distribution only if its every draw is a finite number in the parameter's
    range (a normal truncated 1e300 sds out once drew NaN)."""
    import numpy as np

    from sim.errors import ScenarioError
    from sim.scenario.load import _Checker
    try:
        param = _Checker({}, "f").param_value(body, ("x",), meta)
    except ScenarioError:
        event("rejected")
        return
    event(f"accepted {param.dist.name}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        draws = param.dist.sample(500, rng=np.random.default_rng(0))
    assert np.isfinite(draws).all() and math.isfinite(param.dist.mean), (param, draws[:5])
    if meta["low"] is not None:
        assert (draws > meta["low"]).all() if meta["positive"] else (draws >= meta["low"]).all(), (param, draws.min())
    if meta["high"] is not None:
        assert (draws <= meta["high"]).all(), (param, draws.max())
