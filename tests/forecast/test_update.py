"""Updating on the news: the facts a record gives, the particle filter against brute-force
rejection of whole runs, an unlikely record, and the sim update / sim timeline commands."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from scipy import stats

from sim.cli import main
from sim.engines.outcomes import HOLDS
from sim.engines.theatre import Theatre
from sim.engines.vectorised import Block, simulate
from sim.engines.draws import draw_parameters
from sim.forecast.news import Fact, Histories, agrees, consistent, day_end, facts
from sim.forecast.observed import load_observed
from sim.forecast.update import update
from sim.scenario.toml import dumps
from tests.conftest import base_doc

AS_OF = dt.date(2024, 12, 7)
# The synthetic line with uncertain garrisons and belief: the town falls on days 3 to 15, the
# capital holds the 60-day horizon in about three runs in four, its ally comes in five in six.
DOC = base_doc(belief={"initial": {"dist": "uniform", "low": 0.6, "high": 0.9}},
               nodes={"town": {"garrison": {"dist": "uniform", "low": 1000, "high": 4000}, "defense": 1.2},
                      "cap": {"garrison": {"dist": "uniform", "low": 6000, "high": 16000}, "defense": 1.5}})


def day(n: int) -> dt.date:
    return AS_OF + dt.timedelta(days=n)


def record(tmp_path, *, town: int, until: int, friend_absent: bool = False, stayed: bool = False, name="obs.toml"):
    """An observed record: the town fell ``town`` days after as_of, the capital held to ``until``."""
    doc = {"observed": {"name": "synthetic-news", "until": day(until)},
           "capital": {"end_state": "holds", "source": "test"},
           "nodes": {"town": {"fell": day(town), "source": "test"}}}
    if stayed:
        doc["leadership"] = {"stayed": {"source": "test"}}
    if friend_absent:
        doc["allies"] = {"friend": {"absent": True, "source": "test"}}
    path = tmp_path / name
    path.write_text(dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def scenario(make_scenario):
    return make_scenario(DOC)


def rejection(scenario, observed, reps: int, seed: int, now: float):
    """Whole runs, and which of them agree with the news at ``now``."""
    out, _ = simulate(scenario, reps, rng=np.random.default_rng(seed))
    return out, consistent(facts(observed, scenario), Histories.of_outcomes(out), now)


# ------------------------------------------------------------------ facts

def test_a_fact_rules_out_early_late_and_missing_events_only_once_known():
    f = Fact("fall", 0, low=5.0, high=6.0, opens=day(5), known=day(5), label="town falls")
    days = np.array([3.5, 5.5, 7.5, np.nan])
    assert agrees(f, days, now=4.0).tolist() == [False, True, True, True]     # only the early fall is known
    assert agrees(f, days, now=5.5).tolist() == [False, True, True, True]     # the window is still open
    assert agrees(f, days, now=6.0).tolist() == [False, True, False, False]   # closed: it must have happened
    held = Fact("fall", 0, low=11.0, high=math.inf, opens=None, known=day(10), label="town holds")
    assert agrees(held, days, now=8.0).tolist() == [False, False, False, True]


def test_the_record_names_its_facts_and_refuses_unknown_names(tmp_path, scenario):
    obs = load_observed(record(tmp_path, town=5, until=9, friend_absent=True, stayed=True))
    fs = facts(obs, scenario)
    assert [(f.label, f.low, f.high) for f in fs] == [
        ("town falls", 5.0, 6.0), ("cap holds", 10.0, math.inf), ("friend stays away", 10.0, math.inf),
        ("the ruler stays", 10.0, math.inf)]
    path = tmp_path / "bad.toml"
    path.write_text(record(tmp_path, town=5, until=9).read_text().replace("[nodes.town]", "[nodes.village]"))
    with pytest.raises(Exception, match="nodes.village.*no node 'village'"):
        facts(load_observed(path), scenario)


# ------------------------------------------------------------------ the engine's blocks as particles

def test_a_copied_block_goes_on_independently_and_resampling_keeps_rows(scenario):
    th = Theatre.from_scenario(scenario)
    rng = np.random.default_rng(4)
    block = Block(th, draw_parameters(scenario, 500, rng=rng), scenario.horizon_days, rng)
    block.setup()
    for now in (1.0, 2.0):
        if now > 1:
            block.tick()
        block.events_until(now)
        block.advance(now)
    twins = [block.copy(np.random.default_rng(9)) for _ in range(2)]
    a, b = (t.copy(t.rng) for t in twins)
    a.tick(), b.tick()
    out_a, out_b = a.run_days(2), b.run_days(2)
    assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(vars(out_a).values(), vars(out_b).values()))
    assert np.isnan(block.out.end_day).all()   # the original did not move
    index = np.repeat(np.arange(0, 500, 5), 3)
    c = block.copy(np.random.default_rng(1))
    c.resample(index)
    assert len(c.regime.rid) == 300 and c.regime.rid.tolist() == list(range(300))
    assert np.array_equal(c.nodes.contingent, block.nodes.contingent[:, index])
    # A second batch appended after the first keeps both batches' rows, state and parameters.
    d = block.copy(np.random.default_rng(2))
    d.resample(np.arange(100))
    c.extend(d)
    assert len(c.regime.rid) == 400 and c.regime.rid.tolist() == list(range(400)) and len(c.out) == 400
    assert np.array_equal(c.nodes.contingent, block.nodes.contingent[:, np.concatenate([index, np.arange(100)])])
    assert np.array_equal(c.p.nodes.garrison[:, 300:], block.p.nodes.garrison[:, :100])
    c.tick()
    assert len(c.run_days(2)) == 400


# ------------------------------------------------------------------ the filter against rejection

def test_the_filter_agrees_with_rejection_of_whole_runs(tmp_path, scenario):
    """News with probability about 0.1: the filter's forecast as of the end of day 7 and brute-force
    rejection of 40,000 runs give the same end states (chi-square) and fall days (KS)."""
    obs = load_observed(record(tmp_path, town=5, until=7))
    out, keep = rejection(scenario, obs, 40_000, seed=11, now=day_end(day(7), AS_OF))
    assert 2_000 < keep.sum() < 8_000
    u = update(scenario, obs, particles=4_000, seed=5, dates=[day(7)], target=500)
    f = u.forecasts[-1]
    assert f.date == day(7) and f.ess >= 500
    kept_states = np.bincount(out.end_state[keep], minlength=3)
    filt_states = np.bincount(f.outcomes.end_state, minlength=3)
    assert stats.chi2_contingency(np.stack([kept_states, filt_states]) + 0).pvalue > 0.001
    fell = lambda o, m: o.end_day[m & (o.end_state != HOLDS)]  # noqa: E731
    assert stats.ks_2samp(fell(out, keep), fell(f.outcomes, np.ones(len(f.outcomes), bool))).pvalue > 0.001
    p = keep.mean()
    assert abs(f.evidence - p) < 4 * math.sqrt(p * (1 - p) / len(keep)) + 0.1 * p
    # No replication it kept contradicts the news, and the town fell on the day the record says.
    town = f.outcomes.node_fall_day[:, 1]
    assert ((town >= 5) & (town < 6)).all()


def test_unlikely_news_still_reaches_a_useful_effective_sample(tmp_path, scenario):
    """News of probability about 1e-3 (the town falling only on day 16, the ally not come by then):
    2,000 particles keep at least 1,000 agreeing copies every day, where rejection of 2,000 runs
    would keep two, and descend from at least 100 prior draws; the evidence is within a factor 1.5
    of the share of 100,000 runs that agree."""
    obs = load_observed(record(tmp_path, town=16, until=16, friend_absent=True))
    _, keep = rejection(scenario, obs, 100_000, seed=3, now=day_end(day(16), AS_OF))
    p = keep.mean()
    assert 3e-4 < p < 3e-3
    u = update(scenario, obs, particles=2_000, seed=2, dates=[day(16)])
    f = u.forecasts[-1]
    assert f.ess >= 1_000 and not u.warnings
    # The news picks out few parameter sets: fresh batches of prior draws were pooled until the
    # particles descend from at least 100 of them.
    assert f.ancestors >= 100 and len(u.parameters["belief.initial"]) > 2_000
    assert abs(math.log(f.evidence / p)) < math.log(1.5)
    arrived = f.outcomes.ally_arrival_day[:, 0]
    assert not (arrived < day_end(day(16), AS_OF)).any()


def test_news_the_model_cannot_produce_is_a_one_line_error(tmp_path, scenario, capsys):
    path = record(tmp_path, town=1, until=3)   # the axis cannot reach the town on day 1
    scen = tmp_path / "scenario.toml"
    scen.write_text(dumps(DOC), encoding="utf-8")
    code = main(["update", str(scen), "--observed", str(path), "--particles", "200", "--seed", "1",
                 "--out", str(tmp_path / "u")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "'town falls' rules out the most" in err[0] and "--skip" in err[0]
    assert not (tmp_path / "u").exists()
    # Two days' tolerance on either side lets a fall on day 3 agree with the record's day 1.
    assert main(["update", str(scen), "--observed", str(path), "--particles", "500", "--seed", "1", "--quiet",
                 "--tolerance", "2", "--out", str(tmp_path / "u")]) == 0
    data = json.loads((tmp_path / "u" / "update.json").read_text())
    assert data["tolerance_days"] == 2 and data["forecasts"][-1]["date"] == day(3).isoformat()


# ------------------------------------------------------------------ the commands

def test_sim_update_and_timeline_write_their_folders(tmp_path, capsys):
    scen = tmp_path / "scenario.toml"
    scen.write_text(dumps(DOC), encoding="utf-8")
    obs = record(tmp_path, town=5, until=8)
    assert main(["update", str(scen), "--observed", str(obs), "--particles", "3000", "--seed", "1",
                 "--out", str(tmp_path / "u")]) == 0
    data = json.loads((tmp_path / "u" / "update.json").read_text())
    assert [r["date"] for r in data["forecasts"]] == [AS_OF.isoformat(), day(5).isoformat(), day(8).isoformat()]
    assert data["forecasts"][1]["news"] == ["town falls"]
    for r in data["forecasts"]:
        assert r["captured"] + r["collapsed"] + r["holds"] == pytest.approx(1.0)
        assert r["falls_within"]["7"] <= r["falls_within"]["30"] <= r["falls_within"]["90"]
    assert (tmp_path / "u" / "update.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "u" / "manifest.json").read_text())["kind"] == "update"
    assert "town falls" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "u")]) == 0
    html = (tmp_path / "u" / "report.html").read_text()
    assert "Update: " in html and "town falls" in html and "data:image/png;base64," in html
    assert main(["timeline", str(scen), "--observed", str(obs), "--particles", "3000", "--seed", "1",
                 "--through", day(4).isoformat(), "--out", str(tmp_path / "t"), "--quiet"]) == 0
    data = json.loads((tmp_path / "t" / "timeline.json").read_text())
    assert [r["date"] for r in data["forecasts"]] == [AS_OF.isoformat()] + [day(i).isoformat() for i in range(5)]
    assert (tmp_path / "t" / "timeline.png").is_file()
    # The same seed gives the same numbers.
    assert main(["timeline", str(scen), "--observed", str(obs), "--particles", "3000", "--seed", "1",
                 "--through", day(4).isoformat(), "--out", str(tmp_path / "t2"), "--quiet"]) == 0
    again = json.loads((tmp_path / "t2" / "timeline.json").read_text())
    assert again["forecasts"] == data["forecasts"]


def test_skip_names_what_the_scenario_has(tmp_path, capsys):
    scen = tmp_path / "scenario.toml"
    scen.write_text(dumps(DOC), encoding="utf-8")
    obs = record(tmp_path, town=5, until=8)
    code = main(["update", str(scen), "--observed", str(obs), "--skip", "village", "--out", str(tmp_path / "u")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no node or ally 'village'" in err[0]


def test_the_notebook_update_gives_the_command_s_numbers(tmp_path):
    import sim

    scen = tmp_path / "scenario.toml"
    scen.write_text(dumps(DOC), encoding="utf-8")
    obs = record(tmp_path, town=5, until=8)
    assert main(["update", str(scen), "--observed", str(obs), "--particles", "1500", "--seed", "4", "--quiet",
                 "--out", str(tmp_path / "u")]) == 0
    want = json.loads((tmp_path / "u" / "update.json").read_text())["forecasts"]
    df = sim.update(scen, obs, particles=1500, seed=4, progress=False)
    assert list(df.index) == [r["date"] for r in want]
    assert df["captured"].tolist() == [r["captured"] for r in want]
    assert df["falls_within_30"].tolist() == [r["falls_within"]["30"] for r in want]
    assert df.attrs["particles"] == 1500


def test_the_figures_read_at_a_report_s_width(tmp_path):
    """The smallest text of each figure, scaled to the report's width, is at least 10 CSS pixels."""
    import matplotlib
    import matplotlib.pyplot as plt

    from sim.forecast.update import TIMELINE, UPDATE, table
    from sim.reporting.reports.page import CONTENT_PX
    from sim.reporting.style import DPI
    from sim.reporting.update_figures import timeline_figure, update_figure
    from sim.scenario.load import load_scenario

    scen = tmp_path / "scenario.toml"
    scen.write_text(dumps(DOC), encoding="utf-8")
    u = update(load_scenario(scen), load_observed(record(tmp_path, town=5, until=8)), particles=300, seed=1,
               daily=True)
    for kind, draw in ((UPDATE, update_figure), (TIMELINE, timeline_figure)):
        fig = draw(table(u, kind=kind))
        fig.canvas.draw()
        sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
        scale = min(1.0, CONTENT_PX / (fig.get_figwidth() * DPI))
        assert min(sizes) / 72 * DPI * scale >= 10, (kind, min(sizes))
        plt.close(fig)


def test_a_finished_run_is_updated_from_its_own_scenario_and_seed(tmp_path):
    scen = tmp_path / "scenario.toml"
    scen.write_text(dumps(DOC), encoding="utf-8")
    obs = record(tmp_path, town=5, until=8)
    assert main(["run", str(scen), "--reps", "50", "--seed", "9", "--out", str(tmp_path / "run"), "--quiet",
                 "--no-plots", "--set", "belief.initial=0.7"]) == 0
    assert main(["update", str(tmp_path / "run"), "--observed", str(obs), "--particles", "800", "--quiet",
                 "--no-plots", "--out", str(tmp_path / "u")]) == 0
    data = json.loads((tmp_path / "u" / "update.json").read_text())
    assert data["seed"] == 9
    assert main(["update", str(scen), "--observed", str(obs), "--particles", "800", "--quiet", "--no-plots",
                 "--seed", "9", "--set", "belief.initial=0.7", "--out", str(tmp_path / "u2")]) == 0
    assert json.loads((tmp_path / "u2" / "update.json").read_text())["forecasts"] == data["forecasts"]
