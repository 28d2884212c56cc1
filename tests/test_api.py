"""The notebook verbs: DataFrames that hold the numbers the commands write, from the same code."""

import json

import pandas as pd
import pytest

from sim import api
from sim.runs.folder import RunFolder

from tests.conftest import SCENARIOS, small_reference_class

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
HOMS = SCENARIOS / "syria-2024-12-07-homs-holds.toml"
OBSERVED = SCENARIOS / "observed" / "syria-2024.toml"


def test_a_sweep_frame_is_its_table_with_or_without_a_folder(tmp_path):
    kw = {"reps": 300, "seed": 3}
    kept = api.sweep(FLAGSHIP, ["allies.russia.capacity=0.1:0.9:3"], out=tmp_path / "sweep", plots=False, **kw)
    table = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert kept.index.name == "point" and kept.index.tolist() == [0, 1, 2]
    assert kept.reset_index().to_dict("records") == table["rows"]
    assert kept.attrs["seed"] == 3 and kept.attrs["parameters"] == table["parameters"]
    # Without a folder: the same numbers, from (path, values) pairs too, and nothing left behind.
    loose = api.sweep(FLAGSHIP, [("allies.russia.capacity", [0.1, 0.5, 0.9])], **kw)
    pd.testing.assert_frame_equal(loose, kept)
    assert kept.columns.tolist() == table["columns"][1:]


def test_a_sensitivity_frame_is_its_indices(tmp_path):
    df = api.sensitivity(FLAGSHIP, "morris", 3, reps=200, seed=2, out=tmp_path / "m", plots=False,
                         params=["allies.russia.capacity", "rebels.north.momentum"])
    indices = json.loads((tmp_path / "m" / "indices.json").read_text())
    assert df.index.names == ["output", "parameter"]
    assert df.reset_index().to_dict("records") == indices["rows"]
    assert set(df.index.get_level_values("parameter")) == {"allies.russia.capacity", "rebels.north.momentum"}


def test_compare_gives_one_row_per_run_with_compare_json_numbers(tmp_path):
    flag = api.run_to_folder(api.load_scenario(FLAGSHIP), 500, tmp_path / "flag", seed=1, plots=False)
    homs = api.run(api.load_scenario(HOMS), 500, seed=1)
    df = api.compare([tmp_path / "flag", homs])
    assert df.index.tolist() == ["syria-2024-12-07", "syria-2024-12-07-homs-holds"]
    for label, s in zip(df.index, (flag.summary, homs.summary)):
        assert df.loc[label, "end_states.captured.p"] == s["end_states"]["captured"]["p"]
        assert df.loc[label, "capital_fall_day.p50.day"] == s["capital_fall_day"]["p50"]
    twice = api.compare([RunFolder(tmp_path / "flag"), tmp_path / "flag"])
    assert twice.index.tolist() == ["syria-2024-12-07 (flag) #1", "syria-2024-12-07 (flag) #2"]


def test_a_backtest_frame_holds_backtest_json_scores(tmp_path):
    df = api.backtest(FLAGSHIP, OBSERVED, reps=500, seed=1, out=tmp_path / "b")
    scores = json.loads((tmp_path / "b" / "backtest.json").read_text())
    assert df.index.tolist() == list(scores["targets"])
    for target, t in scores["targets"].items():
        assert df.loc[target, "observed_low"] == t["observed_days"][0]
        for name, v in t["crps"].items():
            assert df.loc[target, f"crps.{name}"] == pytest.approx(v, rel=1e-12)
    assert df.attrs["what_happened"]["observed"] == scores["what_happened"]["observed"]


def test_a_calibration_frame_is_its_validation(tmp_path):
    spec = small_reference_class(tmp_path)
    df = api.calibrate(spec, 100, seed=1, out=tmp_path / "cal")
    validation = json.loads((tmp_path / "cal" / "validation.json").read_text())
    assert df.index.tolist() == [r["case"] for r in validation["rows"]]
    for row in validation["rows"]:
        assert df.loc[row["case"], "crps.model"] == pytest.approx(row["crps"]["model"], rel=1e-12)
        assert df.loc[row["case"], "observed"] == row["observed"]
    assert df.attrs["particles"] == 100 and "ess" in df.attrs["posterior"]
