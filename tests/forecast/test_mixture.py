"""The mixture of the model with the survival model: its scores come from the mixed distribution,
its weight is chosen out of sample (never on the held-out war), and its ends are the two forecasters."""

import math

import numpy as np
import pytest

from sim.forecast import calibration
from sim.forecast.calibration import (aggregate, choose_weight, load_spec, mix, nested_weights, score_forecast,
                                      simulate_particles, validation, validation_markdown)

SCORES = ("p_observed", "log_score", "crps", "brier", "pit")


@pytest.fixture
def sims(reference_class):
    return simulate_particles(load_spec(reference_class), 300, seed=3)


def _scores(row, name):
    return {key: row[key][name] for key in SCORES}


@pytest.mark.parametrize("w,same_as", [(1.0, "model"), (0.0, "survival")])
def test_a_weight_at_an_end_reproduces_that_forecaster_exactly(sims, monkeypatch, w, same_as):
    monkeypatch.setattr(calibration, "MIXTURE_GRID", np.array([w]))
    rows = validation(sims)
    assert all(r["mixture_weight"] == w for r in rows)
    for r in rows:
        assert _scores(r, "mixture") == _scores(r, same_as)
        assert r["mixture_within"] == (r["within"] if same_as == "model" else r["survival_within"])
    agg = aggregate(rows)
    assert agg["mean"]["mixture"] == agg["mean"][same_as]
    assert agg["coverage"]["mixture"] == agg["coverage"][same_as]
    assert agg["reliability"]["mixture"] == agg["reliability"][same_as]
    assert agg["below_1pct"]["mixture"] == agg["below_1pct"][same_as]


def test_the_rows_mix_probabilities_and_each_wars_weight_is_chosen_on_the_other_wars(sims):
    rows = validation(sims)
    assert {r["war"] for r in rows} == {"one", "two"}
    for r in rows:
        w, p = r["mixture_weight"], r["p_observed"]
        assert w in calibration.MIXTURE_GRID
        assert r["log_score"]["mixture"] == pytest.approx(math.log(w * p["model"] + (1 - w) * p["survival"]))
        others = [o for o in rows if o["war"] != r["war"]]
        assert w == choose_weight([o["p_observed"]["model"] for o in others],
                                  [o["p_observed"]["survival"] for o in others])
    agg = aggregate(rows)
    assert agg["mixture_weight"]["by_war"] == {r["war"]: r["mixture_weight"] for r in rows}
    assert agg["mixture_weight"]["all_cases"] == choose_weight([r["p_observed"]["model"] for r in rows],
                                                               [r["p_observed"]["survival"] for r in rows])
    assert set(agg["mixture_advantage"]) == {"model", "survival", "always_holds", "uniform_hazard"}
    text = validation_markdown(rows, agg)
    assert "| mixture against |" in text and "| model against |" in text and "| mixture | 0." in text


def test_a_hand_made_case_mixes_the_distribution_not_the_scores():
    grid = np.array([0.0, 10.0, 20.0, 30.0])
    model = {"cdf": np.array([0.0, 0.8, 0.9, 0.9]), "within": {"7": 0.0, "30": 0.9, "90": 0.9}, "p": 0.02}
    survival = {"cdf": np.array([0.1, 0.2, 0.3, 0.4]), "within": {"7": 0.1, "30": 0.4, "90": 0.4}, "p": 0.3}
    happened = {"7": False, "30": False, "90": None}     # a fall in [25, 40)
    w = 0.25
    s = score_forecast(grid, mix(w, model, survival), 25.0, 40.0, happened, 30)
    assert s["p_observed"] == pytest.approx(0.25 * 0.02 + 0.75 * 0.3)
    assert s["log_score"] == pytest.approx(math.log(0.25 * 0.02 + 0.75 * 0.3))
    cdf = np.array([0.075, 0.35, 0.45, 0.525])   # 0.25 x model + 0.75 x survival
    assert s["crps"] == pytest.approx(10 * (cdf[0] ** 2 + cdf[1] ** 2) + 5 * cdf[2] ** 2)
    crps = {k: score_forecast(grid, f, 25.0, 40.0, happened, 30)["crps"] for k, f in (("m", model), ("s", survival))}
    assert s["crps"] < w * crps["m"] + (1 - w) * crps["s"]           # CRPS is not linear in the forecast
    assert s["brier"] == pytest.approx(0.5 * (0.075 ** 2 + 0.525 ** 2))
    assert s["pit"] == [pytest.approx(cdf[2]), pytest.approx(cdf[3])]
    assert score_forecast(grid, mix(0.0, model, survival), 25.0, 40.0, happened, 30)["log_score"] == math.log(0.3)


def test_the_weight_maximises_the_mean_log_score_and_ties_go_to_the_larger():
    assert choose_weight([1.0, 0.0], [0.0, 1.0]) == 0.5          # log w + log(1 - w)
    assert choose_weight([0.0], [0.5]) == 0.0 and choose_weight([0.9], [0.1]) == 1.0
    assert choose_weight([0.3, 0.2], [0.3, 0.2]) == 1.0           # every weight scores the same
    assert choose_weight([], []) == 1.0
    assert choose_weight([0.0], [0.0]) == 1.0                     # every weight puts nothing on it


def test_perturbing_a_held_out_war_never_moves_its_own_weight():
    wars = ["a", "a", "b", "c"]
    p_model = [0.5, 0.3, 0.2, 0.001]
    p_survival = [0.1, 0.1, 0.1, 0.1]
    before = nested_weights(wars, p_model, p_survival)
    after = nested_weights(wars, [0.0, 0.0, 0.2, 0.001], [0.9, 0.9, 0.1, 0.1])   # war a's forecasts changed
    assert after["a"] == before["a"]
    assert after["b"] != before["b"] and after["c"] != before["c"]   # the others' choices see war a
    assert nested_weights(["x"], [0.2], [0.1]) == {"x": 1.0}         # no other war: the model alone
