"""The look-ahead rule: a scenario citing a source dated after its as_of does not load, whatever the
century and however the date is written, unless the loader is told to allow it."""

import datetime as dt

import pytest

from sim.errors import ScenarioError
from sim.scenario.load import load_scenario
from sim.scenario.provenance import dates_in, period
from sim.scenario.vary import Variant

from tests.conftest import base_doc, merge


@pytest.mark.parametrize("value,first,last,text", [
    (dt.date(2024, 12, 7), dt.date(2024, 12, 7), dt.date(2024, 12, 7), "2024-12-07"),
    ("2024-12-07", dt.date(2024, 12, 7), dt.date(2024, 12, 7), "2024-12-07"),
    ("1991-05", dt.date(1991, 5, 1), dt.date(1991, 5, 31), "1991-05"),
    ("1996-02", dt.date(1996, 2, 1), dt.date(1996, 2, 29), "1996-02"),
    (1958, dt.date(1958, 1, 1), dt.date(1958, 12, 31), "1958"),
    ("1958", dt.date(1958, 1, 1), dt.date(1958, 12, 31), "1958"),
    (812, dt.date(812, 1, 1), dt.date(812, 12, 31), "0812"),
])
def test_a_date_is_given_to_the_day_the_month_or_the_year(value, first, last, text):
    p = period(value)
    assert (p.first, p.last, p.text) == (first, last, text)


@pytest.mark.parametrize("value", ["1991-13", "2023-02-29", "1958-5", "May 1991", "", True, 0, 10_000, 19.58,
                                   dt.datetime(2024, 12, 7, 12)])
def test_what_is_no_calendar_date_is_refused(value):
    assert period(value) is None


def test_dates_written_in_a_text_are_found_in_any_century_and_form():
    text = ("Reuters, 7 Dec 2024; TT, Sep 2018; UPI, December 7, 1975; memorandum of 28 Jan. 1975; 1991-05 "
            "report; census 1898-09-22; Marquez-Sterling, 'Cuba 1952-1959'; 2500 fighters; range 2000-4000-8000; "
            "fiscal 1990-91; may 2000 more")
    assert [p.text for p in dates_in(text)] == ["7 Dec 2024", "Sep 2018", "December 7, 1975", "28 Jan. 1975",
                                                "1991-05", "1898-09-22"]
    assert dates_in(text)[1].first == dt.date(2018, 9, 1)
    assert [p.text for p in dates_in(text, words=False)] == ["1991-05", "1898-09-22"]


def _cited(as_of: dt.date, **provenance) -> dict:
    return merge(base_doc(), {"scenario": {"as_of": as_of},
                              "nodes": {"town": {"garrison": {"value": 2000, "source": "an outlet", **provenance}}}})


@pytest.mark.parametrize("as_of,provenance,key,cited", [
    (dt.date(2024, 12, 7), {"date": dt.date(2024, 12, 8)}, "date", "2024-12-08 is after"),
    (dt.date(1958, 12, 20), {"date": 1959}, "date", "1959 is after"),
    (dt.date(1991, 5, 14), {"date": "1991-06"}, "date", "1991-06 is after"),
    (dt.date(1958, 12, 20), {"source": "Bohemia, 2 Jan 1959"}, "source", "'2 Jan 1959'"),
    (dt.date(1975, 4, 2), {"source": "Foreign Service Journal, April 2015 issue"}, "source", "'April 2015'"),
    (dt.date(1991, 5, 14), {"source": "AP, 1991-05-21"}, "source", "'1991-05-21'"),
    (dt.date(2024, 12, 7), {"note": "as reported (Reuters, 2024-12-08)"}, "note", "'2024-12-08'"),
])
def test_a_citation_after_as_of_is_refused_naming_file_and_key(write_scenario, as_of, provenance, key, cited):
    path = write_scenario(_cited(as_of, **provenance))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: nodes.town.garrison.{key}: look-ahead: ")
    assert cited in message and f"as_of {as_of}" in message and "--allow-lookahead" in message


@pytest.mark.parametrize("as_of,provenance", [
    (dt.date(2024, 12, 7), {"date": dt.date(2024, 12, 7)}),       # the day itself
    (dt.date(1991, 5, 14), {"date": "1991-05"}),                  # a month that holds as_of
    (dt.date(1958, 12, 20), {"date": 1958}),                      # a year that holds as_of
    (dt.date(1958, 12, 20), {"source": "Marquez-Sterling, 'Cuba 1952-1959'"}),  # a span, not a date
    (dt.date(1975, 4, 2), {"source": "2500 fighters (UPI)"}),     # a count, not a year
    (dt.date(2024, 12, 7), {"note": "ends at the 20 Jan 2025 inauguration"}),  # scheduled, said in words
])
def test_what_was_known_at_as_of_loads(make_scenario, as_of, provenance):
    assert make_scenario(_cited(as_of, **provenance)).lookahead == ()


def test_allowed_look_ahead_loads_with_every_citation_listed(write_scenario):
    doc = merge(_cited(dt.date(2024, 12, 7), date=dt.date(2025, 1, 2), note="Reuters, 2024-12-09"),
                {"belief": {"initial": {"value": 0.6, "source": "AFP, 8 Dec 2024"}}})
    path = write_scenario(doc)
    s = load_scenario(path, allow_lookahead=True)
    assert s.lookahead == (
        f"{path}: nodes.town.garrison.date: look-ahead: 2025-01-02 is after the scenario's as_of 2024-12-07",
        f"{path}: nodes.town.garrison.note: look-ahead: cites '2024-12-09', after the scenario's as_of 2024-12-07",
        f"{path}: belief.initial.source: look-ahead: cites '8 Dec 2024', after the scenario's as_of 2024-12-07",
    )
    assert s.nodes[1].garrison.date.first == dt.date(2025, 1, 2)


def test_the_error_names_the_file_the_citation_came_from(tmp_path, write_scenario):
    parent = write_scenario(_cited(dt.date(2024, 12, 7), date=dt.date(2024, 12, 30)), "parent.toml")
    child = tmp_path / "child.toml"
    child.write_text('extends = "parent.toml"\n[scenario]\nname = "child"\n')
    with pytest.raises(ScenarioError, match=f"^{parent}: nodes.town.garrison.date: look-ahead"):
        load_scenario(child)
    # A child that moves as_of later makes the parent's citation known by then.
    child.write_text('extends = "parent.toml"\n[scenario]\nname = "child"\nas_of = 2024-12-31\n')
    assert load_scenario(child).lookahead == ()


def test_an_override_is_held_to_the_rule_and_named_as_the_option(make_scenario):
    with pytest.raises(ScenarioError, match="^--set: belief.initial.date: look-ahead: 2025-03 is after"):
        make_scenario(base_doc(), ['belief.initial={value = 0.5, source = "x", date = "2025-03"}'])


def test_a_variant_keeps_the_choice_for_every_point(write_scenario):
    path = write_scenario(_cited(dt.date(2024, 12, 7), date=dt.date(2024, 12, 8)))
    with pytest.raises(ScenarioError, match="look-ahead"):
        Variant.load(path)
    v = Variant.load(path, allow_lookahead=True)
    point = v.scenario({"belief.initial": 0.3})
    assert point.belief.initial.mean == 0.3 and len(point.lookahead) == 1
