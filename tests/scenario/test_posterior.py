"""A scenario's posterior (a joint sample of model-wide parameters) and the case effects: what the
loader accepts and refuses, and how a replication draws them."""

import numpy as np
import pytest

from sim.engines.draws import draw_parameters
from sim.errors import ScenarioError
from sim.scenario.load import load_scenario

from tests.conftest import SCENARIOS, base_doc, merge

POSTERIOR = """[posterior]
source = "test"
paths = ["belief.loss_shock", "momentum.jump"]
rows = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
"""


@pytest.fixture
def with_posterior(tmp_path, write_scenario):
    (tmp_path / "post.toml").write_text(POSTERIOR)
    return write_scenario(merge(base_doc(), {"posterior": {"file": "post.toml"}}))


def test_each_replication_draws_a_whole_row(with_posterior):
    s = load_scenario(with_posterior)
    assert s.posterior.paths == ("belief.loss_shock", "momentum.jump") and s.posterior.rows.shape == (3, 2)
    d = draw_parameters(s, 3000, rng=np.random.default_rng(1))
    pairs = set(zip(d.belief.loss_shock.tolist(), d.momentum.jump.tolist()))
    assert pairs == {(0.1, 0.2), (0.3, 0.4), (0.5, 0.6)}   # rows kept whole: correlations kept
    # uniform over rows: 1,000 expected of each, sd 26
    assert all(abs(np.sum(d.belief.loss_shock == v) - 1000) < 130 for v in (0.1, 0.3, 0.5))


def test_the_resolved_scenario_holds_the_rows(with_posterior, tmp_path):
    s = load_scenario(with_posterior)
    assert "rows = [[0.1, 0.2]" in s.resolved_toml and "post.toml" not in s.resolved_toml
    again = tmp_path / "resolved.toml"
    again.write_text(s.resolved_toml)
    assert np.array_equal(load_scenario(again).posterior.rows, s.posterior.rows)


def test_a_value_the_scenario_sets_wins(tmp_path, write_scenario):
    (tmp_path / "post.toml").write_text(POSTERIOR)
    path = write_scenario(merge(base_doc(), {"posterior": {"file": "post.toml"}, "momentum": {"jump": 0.9}}))
    s = load_scenario(path)
    assert s.posterior.paths == ("belief.loss_shock",)
    s = load_scenario(path, ["belief.loss_shock=0.25"])
    assert s.posterior is None                                 # nothing left to draw from it
    assert draw_parameters(s, 5, rng=np.random.default_rng(0)).belief.loss_shock.tolist() == [0.25] * 5


def test_posterior_flag(with_posterior, tmp_path):
    assert load_scenario(with_posterior, posterior="none").posterior is None
    (tmp_path / "other.toml").write_text(POSTERIOR.replace('"momentum.jump"', '"momentum.cap"'))
    s = load_scenario(with_posterior, posterior=tmp_path / "other.toml")
    assert s.posterior.paths == ("belief.loss_shock", "momentum.cap")


@pytest.mark.parametrize("body,key,message", [
    ('paths = ["weather.rain"]\nrows = [[1.0]]', "posterior.paths", "not a model-wide parameter"),
    ('paths = ["belief.loss_shock"]\nrows = [[0.1, 0.2]]', "posterior.rows.0", "each row is an array of 1 numbers"),
    ('paths = ["belief.loss_shock"]\nrows = []', "posterior.rows", "must be an array of 1 to"),
    ('paths = ["cascade.retreat_share"]\nrows = [[0.5], [1.5]]', "posterior.rows", "outside its range"),
    ('paths = ["belief.loss_shock"]\nrows = [[nan]]', "posterior.rows", "finite"),
    ('paths = ["belief.loss_shock"]\nrows = [[0.1]]\nweights = [1]', "posterior.weights", "unknown key"),
])
def test_bad_posteriors(tmp_path, write_scenario, body, key, message):
    (tmp_path / "post.toml").write_text("[posterior]\n" + body + "\n")
    path = write_scenario(merge(base_doc(), {"posterior": {"file": "post.toml"}}))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(str(tmp_path / "post.toml")) and f": {key}:" in str(info.value)
    assert message in str(info.value)


def test_a_missing_posterior_file(write_scenario, tmp_path):
    path = write_scenario(merge(base_doc(), {"posterior": {"file": "gone.toml"}}))
    with pytest.raises(ScenarioError, match=r"scenario\.toml: posterior\.file: file not found: 'gone\.toml'"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match=r"^--posterior: posterior\.file: file not found"):
        load_scenario(path, posterior=tmp_path / "nowhere.toml")


def test_case_effects(make_scenario):
    """belief.case_spread shifts logit initial and logit baseline together by a normal draw of that sd;
    cascade.case_spread shifts both thresholds together. 20,000 draws: the sd's error is about 0.5%."""
    s = make_scenario(merge(base_doc(), {"belief": {"initial": 0.5, "baseline": 0.6, "case_spread": 0.8},
                                         "cascade": {"case_spread": 0.3}}))
    d = draw_parameters(s, 20000, rng=np.random.default_rng(3))
    li = np.log(d.belief.initial / (1 - d.belief.initial))
    lb = np.log(d.belief.baseline / (1 - d.belief.baseline))
    assert np.std(li) == pytest.approx(0.8, rel=0.02) and np.allclose(lb - li, np.log(1.5))
    shift = d.cascade.contingent_threshold - s.cascade.contingent_threshold.mean
    assert np.std(shift) == pytest.approx(0.3, rel=0.02)
    assert np.allclose(d.cascade.core_threshold - s.cascade.core_threshold.mean, shift)


def test_tempo_case_effect():
    """momentum.case_spread multiplies every axis's speed, and divides the pause after a repulse, by
    one lognormal draw per replication: the axes' log speeds move together, with that sd."""
    path = SCENARIOS / "syria-2024-12-07.toml"
    without = draw_parameters(load_scenario(path, posterior="none"), 20000, rng=np.random.default_rng(5))
    s = load_scenario(path, ["momentum.case_spread=0.5"], posterior="none")
    d = draw_parameters(s, 20000, rng=np.random.default_rng(5))     # the same draws, then the tempo's
    assert len(s.axes) >= 2
    log_tempo = np.log(d.axes.speed_km_day / without.axes.speed_km_day)
    assert np.std(log_tempo[0]) == pytest.approx(0.5, rel=0.02) and np.allclose(log_tempo, log_tempo[0])
    assert np.allclose(np.log(without.combat.regroup_days / d.combat.regroup_days), log_tempo[0])


def test_the_rulers_nerve_case_effect(make_scenario):
    """leadership.case_spread shifts logit exit_below and logit handover_below together by one normal
    draw per replication, of that sd (20,000 draws: the sd's error is about 0.5%)."""
    s = make_scenario(merge(base_doc(), {"leadership": {"exit_below": 0.2, "handover_below": 0.05, "case_spread": 0.7}}))
    d = draw_parameters(s, 20000, rng=np.random.default_rng(6))
    le = np.log(d.leadership.exit_below / (1 - d.leadership.exit_below))
    lh = np.log(d.leadership.handover_below / (1 - d.leadership.handover_below))
    assert np.std(le) == pytest.approx(0.7, rel=0.02) and np.mean(le) == pytest.approx(np.log(0.25), abs=0.02)
    assert np.allclose(le - lh, np.log(0.25) - np.log(0.05 / 0.95))


def test_no_case_effect_draws_nothing(make_scenario):
    """At spread 0 the case effects take nothing from the generator: the numbers of every scenario
    without them are those it had before they existed."""
    s = make_scenario(base_doc())
    rng, alone = np.random.default_rng(4), np.random.default_rng(4)
    draw_parameters(s, 10, rng=rng)
    for _, p in s.parameters():    # what drawing the scenario's own parameters takes
        if p.dist.is_random:
            p.dist.sample(10, rng=alone)
    assert rng.random() == alone.random()
