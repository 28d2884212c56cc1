"""Paths (sim paths): each replication's events in order (a city's fall with how it fell), then how
its regime ended; the paths' probabilities sum to one and match counts made directly from the
outcomes; conditions (on an event, or on a city falling one way) select the replications a query
asks about."""

import json

import numpy as np
import pytest

from sim.cli import main
from sim.engines.outcomes import ABANDONED, ASSAULT, END_STATES, NOT_FALLEN, RISING
from sim.runs.folder import RunFolder
from sim.runs.paths import ENDS, ends, given, parse_condition, paths

from tests.conftest import SCENARIOS

NAN = np.nan
CAPTURED, COLLAPSED, HOLDS = (END_STATES.index(s) for s in ("captured", "collapsed", "holds"))


def hand_made():
    """Five replications whose paths are known by construction."""
    return {
        "end_state": np.array([CAPTURED, CAPTURED, HOLDS, COLLAPSED, CAPTURED], dtype=np.int8),
        "end_day": np.array([5.0, 6.0, NAN, 2.0, 9.0]),
        "fall_day.a": np.array([1.0, 2.0, NAN, 1.0, 3.0]),
        "fall_day.cap": np.array([5.0, 6.0, NAN, NAN, 9.0]),
        "ally_arrival_day.x": np.array([0.0, 1.0, 4.0, NAN, NAN]),   # day 0: there from the start, no news
        "ally_withdrawal_day.x": np.array([NAN, NAN, NAN, NAN, 3.0]),
        "leader_fled_day": np.array([NAN, NAN, NAN, 1.5, NAN]),
        "handover_day": np.array([NAN, NAN, NAN, NAN, NAN]),
    }


def hand_made_how():
    """The same five, with how each city fell."""
    return {**hand_made(),
            "fall_how.a": np.array([ASSAULT, ABANDONED, NOT_FALLEN, RISING, ASSAULT], dtype=np.int8),
            "fall_how.cap": np.array([ASSAULT, ABANDONED, NOT_FALLEN, NOT_FALLEN, ASSAULT], dtype=np.int8)}


def test_each_replication_has_the_path_its_events_make():
    got = {(tuple(p["events"]), p["end_state"]): p["count"] for p in paths(hand_made(), depth=2)}
    assert got == {
        (("a falls", "cap falls"), "captured"): 1,                  # a on day 1, the capital on day 5
        (("x arrives", "a falls"), "captured"): 1,                  # x on day 1, then a on day 2
        (("x arrives",), "holds"): 1,                               # nothing else happened
        (("a falls", "the ruler flees"), "collapsed"): 1,
        (("a falls", "x withdraws"), "captured"): 1,                # a day 3 before x day 3: falls first on a tie
    }


def test_a_path_says_how_each_city_fell_and_how_the_regime_ended():
    got = {(tuple(p["events"]), p["end"]): p["count"] for p in paths(hand_made_how(), depth=2)}
    assert got == {
        (("a falls (assault)", "cap falls (assault)"), "captured (assault)"): 1,
        (("x arrives", "a falls (abandoned)"), "captured (assault)"): 1,
        (("x arrives",), "holds"): 1,
        (("a falls (rising)", "the ruler flees"), "collapsed (ruler fled)"): 1,
        (("a falls (assault)", "x withdraws"), "captured (assault)"): 1,
    }
    # At depth 1: which city fell first, and how.
    first = {(tuple(p["events"]), p["end"]): p["count"] for p in paths(hand_made_how(), depth=1)}
    assert first == {(("a falls (assault)",), "captured (assault)"): 2, (("x arrives",), "captured (assault)"): 1,
                     (("x arrives",), "holds"): 1, (("a falls (rising)",), "collapsed (ruler fled)"): 1}


def test_how_a_regime_ended_follows_its_end_state_flight_and_hand_over():
    captured, collapsed, holds = CAPTURED, COLLAPSED, HOLDS
    cols = {"end_state": np.array([captured, collapsed, collapsed, collapsed, collapsed, holds, holds], np.int8),
            "leader_fled_day": np.array([2.0, 1.0, NAN, 2.0, NAN, 3.0, NAN]),
            "handover_day": np.array([NAN, NAN, 4.0, 5.0, NAN, NAN, NAN])}
    assert [ENDS[e] for e in ends(cols)] == [
        "captured (assault)", "collapsed (ruler fled)", "collapsed (hand-over)",
        "collapsed (hand-over)",           # his successor handed over
        "collapsed (garrison dissolved)",  # the ruler still there
        "holds", "holds"]


def test_paths_sum_to_one_and_match_direct_counts_on_a_run(tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(SCENARIOS / "syria-2024-12-07.toml"), "--reps", "3000", "--seed", "4", "--no-plots",
                 "--out", str(out), "--quiet"]) == 0
    cols = RunFolder(out).columns
    table = paths(cols, depth=1)
    assert sum(p["count"] for p in table) == 3000 and sum(p["p"] for p in table) == pytest.approx(1.0)
    # Direct count: Homs fell first (before any other event, ties to falls) and the capital was captured.
    fall = {c: np.asarray(cols[c]) for c in cols if c.startswith("fall_day.")}
    others = [np.asarray(cols[c]) for c in cols if c.startswith(("ally_withdrawal_day.", "leader_fled_day",
                                                                "handover_day"))]
    others += [np.where(np.asarray(cols[c]) > 0, cols[c], NAN) for c in cols if c.startswith("ally_arrival_day.")]
    homs, how = fall.pop("fall_day.homs"), np.asarray(cols["fall_how.homs"])
    first = np.isfinite(homs)
    for d in fall.values():
        first &= ~(d < homs)
    for d in others:
        first &= ~(d < homs)
    end = np.asarray(cols["end_state"])
    direct = int((first & (end == CAPTURED) & (how == ASSAULT)).sum())
    by_path = {(tuple(p["events"]), p["end"]): p["count"] for p in table}
    assert by_path[(("homs falls (assault)",), "captured (assault)")] == direct > 0
    # Every way Homs fell first, and the run's captures, add up to the counts without the ways.
    assert sum(k for (e, _), k in by_path.items() if e and e[0].startswith("homs falls")) == int(first.sum())
    for label in ENDS:
        assert sum(p["count"] for p in table if p["end"] == label) == int((ends(cols) == ENDS.index(label)).sum())
    handed = ~np.isnan(np.asarray(cols["handover_day"])) & (end == COLLAPSED)
    assert sum(p["count"] for p in table if p["end"] == "collapsed (hand-over)") == int(handed.sum())
    # A query's numbers are direct counts too.
    g = given(cols, [parse_condition("homs<3", cols)], [7, 180])
    among = homs < 3
    assert g["n"] == int(among.sum())
    assert g["end_states"]["captured"]["p"] == pytest.approx(((end == CAPTURED) & among).sum() / among.sum())
    # So are those of a query on how it fell; a condition and its complement split the run.
    by_assault = given(cols, [parse_condition("homs.assault<3", cols)], [7])
    assert by_assault["n"] == int((among & (how == ASSAULT)).sum()) > 0
    assert by_assault["n"] + given(cols, [parse_condition("homs.assault>=3", cols)], [7])["n"] == 3000
    collapse = given(cols, [parse_condition("damascus.collapse", cols)], [7])
    assert collapse["n"] == int((end == COLLAPSED).sum()) and collapse["end_states"]["collapsed"]["p"] == 1.0


def test_conditions_select_what_they_say():
    cols = hand_made()
    n = lambda *texts: given(cols, [parse_condition(t, cols) for t in texts], [7])["n"]  # noqa: E731
    assert n("a<2") == 2 and n("a<=2") == 3 and n("a>=2") == 3 and n("not a") == 1 and n("a") == 4
    assert n("x.arrives") == 2 and n("ruler<2") == 1 and n("a<2", "not ruler") == 1
    cols = hand_made_how()
    assert n("a.assault") == 2 and n("a.assault<2") == 1 and n("a.assault>=2") == 4 and n("not a.assault") == 3
    assert n("a.rising", "ruler<2") == 1 and n("cap.abandoned") == 1 and n("a.collapse") == 0 and n("a") == 4
    cols = hand_made()
    g = given(cols, [parse_condition("a<3", cols)], [7])
    assert g["end_states"]["captured"]["p"] == pytest.approx(2 / 3)
    assert g["capital_falls_within"]["7"]["p"] == pytest.approx(1.0)   # days 5, 6 and 2


@pytest.mark.parametrize("text, words", [("b<3", "no event 'b'"), ("ax<3", "did you mean 'a'"),
                                         ("not a<3", "'not' takes a name alone"), ("a<<3", "expected NAME"),
                                         ("a.fled", "MODE one of assault, abandoned"),
                                         ("ax.assault", "did you mean 'a.assault'"),
                                         ("not a.assault<3", "'not' takes a name alone")])
def test_a_bad_condition_says_what_is_wrong(text, words):
    with pytest.raises(ValueError, match=words):
        parse_condition(text, hand_made_how())


def test_a_condition_on_how_a_city_fell_needs_outcomes_that_say_it():
    with pytest.raises(ValueError, match="do not record how a fell"):
        parse_condition("a.assault<3", hand_made())


def test_sim_paths_writes_its_folder_and_answers_a_query(tmp_path, capsys):
    run, out = tmp_path / "run", tmp_path / "paths"
    assert main(["run", str(SCENARIOS / "syria-2024-12-07.toml"), "--reps", "1000", "--seed", "2", "--no-plots",
                 "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["paths", str(run), "--depth", "2", "--given", "homs<3", "--given", "homs.assault",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = json.loads((out / "paths.json").read_text())
    assert (out / "paths.png").stat().st_size > 10_000 and table["depth"] == 2
    top = table["paths"][0]
    assert " → ".join(top["events"]) in printed and "given homs<3 and homs.assault" in printed
    assert "P(captured | given)" in printed and f"⇒ {top['end']}" in printed and "homs falls (assault)" in printed
    assert top["end_state"] in END_STATES and top["end"] in ENDS
    assert main(["report", str(out)]) == 0  # a paths folder has its report: the top paths first, then the query
    html = (out / "report.html").read_text(encoding="utf-8")
    head = html[:html.index("<nav")]
    assert "path 1" in head and " → ".join(top["events"]) in head
    assert f"⇒ {top['end']}" in head
    assert "Given <b>homs&lt;3 and homs.assault</b>" in html and "P(captured | given)" in html
    assert "data:image/png;base64," in html
    assert main(["paths", str(run), "--given", "hom<3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'homs'" in err[0]
    bare = tmp_path / "bare"
    assert main(["run", str(SCENARIOS / "syria-2024-12-07.toml"), "--reps", "100", "--seed", "2", "--no-plots",
                 "--no-save-outcomes", "--out", str(bare), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["paths", str(bare)]) == 2
    assert "kept no per-replication outcomes" in capsys.readouterr().err
