"""Help for scenario writers: sim validate, sim params, --allow-lookahead and did-you-mean errors."""

import datetime as dt
import json

import pytest

from sim.cli import build_parser, main
from sim.scenario.load import load_scenario

from tests.conftest import SCENARIOS, base_doc, merge

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"


def sourced(**garrison) -> dict:
    """The synthetic theatre with two cited figures (one a distribution) and one assumption."""
    return merge(base_doc(), {"nodes": {"town": {"garrison": {"value": 2000, "source": "Some outlet, 'A title'",
                                                              "date": dt.date(2024, 12, 5), **garrison}}},
                              "rebels": {"north": {"strength": {"dist": "uniform", "low": 5000, "high": 7000,
                                                                "source": "Another outlet", "date": "2024-11"}}},
                              "belief": {"initial": {"value": 0.6, "source": "assumption", "note": "why"}}})


def call(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_says_valid_with_the_counts(capsys, write_scenario):
    path = write_scenario(sourced())
    code, out, err = call(capsys, "validate", path)
    n = len(load_scenario(path).parameters())
    assert code == 0 and out == f"{path}: valid ({n} parameters, 2 sources, as of 2024-12-07)\n"
    # The figures the file gives bare are named, with the keys that would source them.
    assert err.startswith(f"sim: warning: {path}: ") and "nodes.town.defense" in err
    assert all(f"{key} =" in err for key in ("source", "date", "note")) and len(err.splitlines()) == 1


def test_validate_refuses_a_look_ahead_and_allows_it_with_a_warning(capsys, write_scenario):
    path = write_scenario(sourced(date=dt.date(2024, 12, 8)))
    code, out, err = call(capsys, "validate", path)
    assert code == 1 and out == ""
    assert err == (f"sim: error: {path}: nodes.town.garrison.date: look-ahead: 2024-12-08 is after the scenario's "
                   "as_of 2024-12-07; only what was known at as_of may go in (--allow-lookahead loads it anyway, "
                   "for exploration)\n")
    code, out, err = call(capsys, "validate", path, "--allow-lookahead")
    assert code == 0 and out.startswith(f"{path}: valid (")
    assert err.splitlines()[0] == (f"sim: warning: {path}: nodes.town.garrison.date: look-ahead: 2024-12-08 is "
                                   "after the scenario's as_of 2024-12-07")


def test_run_refuses_a_look_ahead_unless_allowed(capsys, tmp_path, write_scenario):
    path = write_scenario(sourced(source="Reuters, 9 Dec 2024"))
    code, out, err = call(capsys, "run", path, "--reps", 200, "--seed", 1, "--no-plots", "--out", tmp_path / "a")
    assert code == 2 and "look-ahead: cites '9 Dec 2024'" in err and not (tmp_path / "a").exists()
    code, out, err = call(capsys, "run", path, "--reps", 200, "--seed", 1, "--no-plots", "--out", tmp_path / "b",
                          "--allow-lookahead", "--quiet")
    assert code == 0 and (tmp_path / "b" / "summary.json").is_file()
    assert err.startswith("sim: warning: ") and "nodes.town.garrison.source: look-ahead" in err
    # The run was made: its folder reruns, saying what it let through.
    code, out, err = call(capsys, "rerun", tmp_path / "b", "--workers", 1)
    assert code == 0 and "MATCH" in out and "note: the scenario cites 1 source(s) dated after its as_of" in out


@pytest.mark.parametrize("command", [["run", "S"], ["backtest", "S", "--observed", "O"], ["sweep", "S", "--param", "P"],
                                     ["sensitivity", "S", "--method", "morris"], ["validate", "S"], ["params", "S"]])
def test_every_command_that_loads_a_scenario_takes_allow_lookahead(command):
    assert build_parser().parse_args([*command, "--allow-lookahead"]).allow_lookahead is True
    assert build_parser().parse_args(command).allow_lookahead is False


def test_validate_suggests_the_key_meant(capsys, write_scenario):
    path = write_scenario(merge(base_doc(), {"rebels": {"north": {"momentun": 1.5}}}))
    code, out, err = call(capsys, "validate", path)
    assert code == 1 and out == ""
    assert err.startswith(f"sim: error: {path}: rebels.north.momentun: unknown key (did you mean "
                          "'rebels.north.momentum'?)")
    code, out, err = call(capsys, "validate", FLAGSHIP, "--set", "allies.rusia.capacity=0.5")
    assert code == 1 and "unknown parameter path (did you mean 'allies.russia.capacity'?)" in err


def test_params_lists_each_path_with_value_distribution_unit_and_provenance(capsys, write_scenario):
    path = write_scenario(sourced())
    code, out, err = call(capsys, "params", path)
    assert code == 0 and err == ""
    lines = {line.split()[0]: line for line in out.splitlines()[4:]}
    assert set(lines) == {p for p, _ in load_scenario(path).parameters()}
    assert lines["nodes.town.garrison"].split() == ["nodes.town.garrison", "2,000", "fixed", "fighters",
                                                    "2024-12-05", "·", "Some", "outlet,", "'A", "title'"]
    assert lines["rebels.north.strength"].split()[1:4] == ["~6,000", "uniform(low=5000,", "high=7000)"]
    assert lines["belief.initial"].split()[-3:] == ["assumption", "·", "why"]
    assert "model default (assumption)" in lines["momentum.jump"]
    # The columns line up: each row's unit starts where the header's does.
    header = out.splitlines()[3]
    assert lines["nodes.town.garrison"].index("fighters") == header.index("unit")


def test_params_json_is_every_parameter_in_full(capsys):
    code, out, _ = call(capsys, "params", FLAGSHIP, "--json")
    rows = {r["path"]: r for r in json.loads(out)}
    assert code == 0 and len(rows) == len(load_scenario(FLAGSHIP).parameters())
    g = rows["nodes.damascus.garrison"]
    assert g["distribution"] == {"dist": "triangular", "low": 10000.0, "mode": 20000.0, "high": 40000.0}
    assert g["value"] is None and g["mean"] == pytest.approx(70000 / 3) and g["unit"] == "fighters"
    assert g["source"].startswith("Middle East Intelligence Bulletin") and g["date"] == "2000-08-05"
    # Structural parameters come from the shipped posterior's rows, and say so.
    shock = rows["belief.loss_shock"]
    assert shock["posterior"] is True and shock["value"] is None and shock["source"].startswith("sim calibrate")
    assert rows["nodes.damascus.garrison"]["posterior"] is False
