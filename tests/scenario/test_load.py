"""Scenario files are validated once; every error names the file, the key and the problem."""

import datetime as dt

import pytest

from sim.scenario.distributions import Fixed, Triangular
from sim.errors import ScenarioError
from sim.scenario.load import load_scenario
from sim.scenario.toml import dumps

from tests.conftest import base_doc, merge


def test_valid_scenario_loads_into_typed_objects(make_scenario):
    s = make_scenario(base_doc())
    assert s.capital == "cap" and s.as_of == dt.date(2024, 12, 7)
    assert [n.name for n in s.nodes] == ["base", "town", "cap"]
    assert s.nodes[2].garrison.dist == Triangular(5000, 8000, 15000)
    assert s.axes[0].route == ("base", "town", "cap")
    # Defaults fill what the file leaves out, labelled as assumptions.
    assert s.momentum.jump.dist == Fixed(0.25)
    assert "assumption" in s.momentum.jump.source


def test_extends_overrides_only_what_the_child_changes(tmp_path, write_scenario):
    write_scenario(base_doc(), "parent.toml")
    child = tmp_path / "child.toml"
    child.write_text('extends = "parent.toml"\n[scenario]\nname = "child"\n[belief]\ninitial = 0.2\n')
    s = load_scenario(child)
    assert s.name == "child" and s.belief.initial.dist == Fixed(0.2)
    assert s.nodes[1].garrison.dist == Fixed(2000)


def test_set_overrides_parse_toml_literals(make_scenario):
    s = make_scenario(base_doc(), ["rebels.north.momentum=1.4", "momentum.jump=0.5",
                                   'allies.friend.side="rebels"', "allies.friend.side=rebels",
                                   'nodes.cap.garrison={dist="uniform", low=1, high=2}'])
    assert s.axes[0].momentum.dist == Fixed(1.4)
    assert s.momentum.jump.dist == Fixed(0.5)
    assert s.allies[0].side == "rebels"
    assert s.nodes[2].garrison.dist.describe() == "uniform(1, 2)"


def test_resolved_toml_round_trips(tmp_path, make_scenario):
    s = make_scenario(base_doc(), ["cascade.retreat_share=0.25"])
    again = tmp_path / "resolved.toml"
    again.write_text(s.resolved_toml)
    t = load_scenario(again)
    assert t.parameters() == s.parameters()


BROKEN = [
    # (change to the base document, key in the message, words in the message)
    ({"belief": {"initial": 1.5}}, "belief.initial", "<= 1"),
    ({"nodes": {"town": {"garrison": -5}}}, "nodes.town.garrison", ">= 0"),
    ({"nodes": {"town": {"garrison": "many"}}}, "nodes.town.garrison", "must be a number"),
    ({"nodes": {"town": {"garison": 5}}}, "nodes.town.garison", "unknown key"),
    ({"rebels": {"north": {"route": ["base", "nowhere", "cap"]}}}, "rebels.north.route", "unknown node"),
    ({"rebels": {"north": {"route": ["base", "cap"]}}}, "rebels.north.route", "no road between"),
    ({"rebels": {"north": {"route": ["town", "cap"]}}}, "rebels.north.route", "rebel-held"),
    ({"scenario": {"capital": "paris"}}, "scenario.capital", "not a node"),
    ({"scenario": {"horizon_days": -1}}, "scenario.horizon_days", "must be in"),
    ({"scenario": {"horizon_days": 1.5}}, "scenario.horizon_days", "integer"),
    ({"scenario": {"as_of": "yesterday"}}, "scenario.as_of", "date"),
    ({"allies": {"friend": {"quit_below": 1.2}}}, "allies.friend.quit_below", "<= 1"),
    ({"allies": {"friend": {"side": "neutral"}}}, "allies.friend.side", "must be one of"),
    ({"allies": {"friend": {"deploy_to": "moon"}}}, "allies.friend.deploy_to", "unknown node"),
    ({"allies": {"friend": {"side": "rebels", "materiel": 0.1}}}, "allies.friend.materiel", "rebel-side ally's must be 0"),
    ({"roads": {"town-moon": 5}}, "roads.town-moon", "unknown node"),
    ({"roads": {"cap-town": 7}}, "roads.cap-town", "duplicate road"),
    ({"momentum": {"cap": 0}}, "momentum.cap", "> 0"),
    ({"nodes": {"cap": {"garrison": {"dist": "normal", "mean": 5, "sd": 1}}}}, "nodes.cap.garrison", "support"),
    ({"nodes": {"cap": {"garrison": {"dist": "gamma", "k": 2}}}}, "nodes.cap.garrison.dist", "unknown distribution"),
    ({"nodes": {"cap": {"garrison": {"dist": "uniform", "low": 5}}}}, "nodes.cap.garrison.high", "needs 'high'"),
    ({"nodes": {"cap": {"garrison": {"dist": "uniform", "low": 5, "high": 1}}}}, "nodes.cap.garrison", "low < high"),
    ({"rebels": {"north": {"assaulting": {"dist": "bernoulli", "p": 2}}}}, "rebels.north.assaulting.p", "probability"),
    ({"nodes": {"cap": {"controller": "rebels"}}}, "nodes.cap.controller", "government control"),
    ({"weather": {"rain": 1}}, "weather", "unknown key"),
    ({"nodes": {"Bad Name": {}}}, "nodes.Bad Name", "lower-case"),
    ({"nodes": None}, "nodes", "required table"),
    ({"belief": {"initial": {"source": "x"}}}, "belief.initial", "needs 'value' or 'dist'"),
    ({"belief": {"initial": {"value": 0.5, "date": "today"}}}, "belief.initial.date", "TOML date"),
]


@pytest.mark.parametrize("change,key,words", BROKEN, ids=[b[1] + ":" + b[2] for b in BROKEN])
def test_broken_scenarios_name_file_key_and_problem(write_scenario, change, key, words):
    path = write_scenario(merge(base_doc(), change))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert key in message and words in message, message


def test_non_finite_values_are_rejected(tmp_path):
    text = dumps(base_doc()).replace("initial = 0.6", "initial = nan")
    path = tmp_path / "nan.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match="belief.initial: must be finite"):
        load_scenario(path)


@pytest.mark.parametrize("content,words", [
    (b"[scenario\nname = 1", "invalid TOML"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'[nodes.a]\n[nodes.a]\n', "invalid TOML"),
])
def test_unreadable_files(tmp_path, content, words):
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    with pytest.raises(ScenarioError, match=words):
        load_scenario(path)


def test_extends_errors(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('extends = "b.toml"\n')
    b.write_text('extends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="extends loop"):
        load_scenario(a)
    c = tmp_path / "c.toml"
    c.write_text('extends = "missing.toml"\n')
    with pytest.raises(ScenarioError, match="c.toml: extends: file not found"):
        load_scenario(c)
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.toml")


def test_error_names_the_file_the_bad_value_came_from(tmp_path, write_scenario):
    parent = write_scenario(merge(base_doc(), {"momentum": {"setback": 3}}), "parent.toml")
    child = tmp_path / "child.toml"
    child.write_text('extends = "parent.toml"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    assert str(info.value).startswith(str(parent))


@pytest.mark.parametrize("override,words", [
    ("rebels.south.momentum=1", "unknown parameter path"),
    ("belief.bogus=1", "unknown parameter path"),
    ("nodes.town.garrison.x.y=1", "is a value, not a table"),
    ("belief.initial", "PATH=VALUE"),
    ("belief.initial=[1,", "not a TOML literal"),
    ("belief.initial=2", "<= 1"),
    ("belief..initial=2", "empty key"),
])
def test_bad_overrides(make_scenario, override, words):
    with pytest.raises(ScenarioError) as info:
        make_scenario(base_doc(), [override])
    assert str(info.value).startswith("--set") and words in str(info.value)


@pytest.mark.parametrize("change,key,suggested", [
    ({"rebels": {"north": {"momentun": 1.2}}}, "rebels.north.momentun", "rebels.north.momentum"),
    ({"beleif": {"initial": 0.5}}, "beleif", "belief"),
    ({"belief": {"initial": {"value": 0.5, "sorce": "AFP"}}}, "belief.initial.sorce", "belief.initial.source"),
    ({"belief": {"initial": {"dist": "uniform", "low": 0.4, "high": 0.6, "nte": "why"}}}, "belief.initial.nte",
     "belief.initial.note"),
])
def test_an_unknown_key_suggests_the_one_meant(make_scenario, change, key, suggested):
    with pytest.raises(ScenarioError) as info:
        make_scenario(merge(base_doc(), change))
    assert f": {key}: unknown key (did you mean {suggested!r}?) (expected one of: " in str(info.value)


def test_a_parameter_table_lists_the_provenance_keys_it_takes(make_scenario):
    with pytest.raises(ScenarioError) as info:
        make_scenario(merge(base_doc(), {"belief": {"initial": {"value": 0.5, "origin": "AFP"}}}))
    assert str(info.value).endswith("belief.initial.origin: unknown key (expected one of: date, note, source, value)")


@pytest.mark.parametrize("override,suggested", [
    ("rebels.north.momentun=1", "rebels.north.momentum"),
    ("rebels.nort.momentum=1", "rebels.north.momentum"),
    ("belief.intial=0.5", "belief.initial"),
    ("nodes.cap.garison=10", "nodes.cap.garrison"),
])
def test_an_unknown_override_path_suggests_the_one_meant(make_scenario, override, suggested):
    with pytest.raises(ScenarioError) as info:
        make_scenario(base_doc(), [override])
    assert str(info.value).startswith(f"--set: {override.split('=')[0]}: unknown parameter path "
                                      f"(did you mean {suggested!r}?)")


def test_no_suggestion_when_nothing_is_close(make_scenario):
    with pytest.raises(ScenarioError) as info:
        make_scenario(base_doc(), ["weather.rain=1"])
    assert "did you mean" not in str(info.value)
