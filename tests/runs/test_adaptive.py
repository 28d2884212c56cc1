"""Adaptive precision (sim run --precision): blocks are added until every interval is as narrow as
asked, the stop is the same whatever runs the blocks, and the run reruns byte for byte."""

import json

import pytest

from sim.cli import main
from sim.runs.runner import run
from sim.runs.summary import widest_interval
from sim.scenario.load import load_scenario

from tests.conftest import SCENARIOS

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"


@pytest.fixture(scope="module")
def flagship():
    return load_scenario(FLAGSHIP, ["scenario.horizon_days=30"])


def test_an_adaptive_run_stops_at_the_first_block_that_is_precise_enough(flagship):
    got = run(flagship, 50_000, seed=2, precision=0.02, block=500)
    assert got.reps % 500 == 0 and got.reps < 50_000 and got.stopped.startswith("precision reached")
    half, _ = widest_interval(got.aggregate, flagship.horizon_days)
    assert half <= 0.02
    fewer = run(flagship, got.reps - 500, seed=2, block=500)  # one block less was not enough
    assert widest_interval(fewer.aggregate, flagship.horizon_days)[0] > 0.02
    # About z^2/4 / 0.02^2 = 2,401 replications make a proportion near 1/2 that precise.
    assert 1_500 <= got.reps <= 3_500


def test_the_stop_is_the_same_whatever_runs_the_blocks_and_is_a_plain_run_of_those_blocks(flagship):
    one = run(flagship, 50_000, seed=5, precision=0.025, block=400, keep_outcomes=False)
    two = run(flagship, 50_000, seed=5, precision=0.025, block=400, keep_outcomes=False, workers=2)
    plain = run(flagship, one.reps, seed=5, block=400, keep_outcomes=False)
    assert one.reps == two.reps == plain.reps and one.summary == two.summary == plain.summary
    assert one.block == 400 and one.precision == 0.025 and plain.stopped is None


def test_the_cap_stops_a_run_that_cannot_be_precise_enough(flagship):
    got = run(flagship, 1_200, seed=1, precision=0.001, block=500)
    assert got.reps == 1_200 and got.stopped.startswith("cap reached: 1,200 replications")
    with pytest.raises(ValueError, match="half-width between 0 and 0.5"):
        run(flagship, 100, seed=1, precision=0.7)


def test_sim_run_precision_records_why_it_stopped_and_reruns_byte_for_byte(tmp_path, capsys):
    out = tmp_path / "adaptive"
    assert main(["run", str(FLAGSHIP), "--precision", "0.03", "--seed", "3", "--horizon", "30", "--no-plots",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    m = json.loads((out / "manifest.json").read_text())
    assert m["precision"] == 0.03 and m["block_size"] == 10_000 and m["stopped"].startswith("precision reached")
    assert m["reps"] == 10_000 and f"stopped: {m['stopped']}" in printed  # one block is ±0.01 at most
    import pyarrow.parquet as pq
    assert pq.ParquetFile(out / "outcomes.parquet").metadata.num_rows == m["reps"]
    assert main(["rerun", str(out)]) == 0
    assert "byte for byte" in capsys.readouterr().out
    assert main(["run", str(FLAGSHIP), "--precision", "0.5", "--out", str(tmp_path / "x")]) == 2
    assert "--precision: must be a half-width between 0 and 0.5" in capsys.readouterr().err
