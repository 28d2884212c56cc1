"""Runs: the numbers depend on the scenario, the seed and the replication count alone."""

from dataclasses import fields

import numpy as np
import pytest

from sim.runs import runner
from sim.scenario.load import load_scenario
from sim.engines.outcomes import Outcomes
from sim.runs.runner import BLOCK_SIZE, block_sizes, run

from tests.conftest import SCENARIOS

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"


def test_block_sizes_are_fixed():
    assert block_sizes(2 * BLOCK_SIZE + 5_000) == [BLOCK_SIZE, BLOCK_SIZE, 5_000]
    assert sum(block_sizes(1)) == 1


@pytest.fixture(scope="module")
def flagship():
    # 60 days: the runs that hold (about half, drawing the posterior) need not run all 180
    return load_scenario(FLAGSHIP, ["scenario.horizon_days=60"])


SMALL_BLOCK = 4_000  # blocks made small here so that a quick run has several for the workers to share


@pytest.fixture(scope="module")
def one_worker(flagship):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "BLOCK_SIZE", SMALL_BLOCK)
        return run(flagship, 5 * SMALL_BLOCK + 1_500, seed=11, workers=1)


@pytest.mark.parametrize("kw", [dict(workers=2), dict(workers=4), dict(workers=4, in_flight=1),
                                dict(workers=1, in_flight=5)], ids=str)
def test_workers_and_blocks_in_flight_do_not_change_the_numbers(flagship, one_worker, monkeypatch, kw):
    monkeypatch.setattr(runner, "BLOCK_SIZE", SMALL_BLOCK)
    other = run(flagship, one_worker.reps, seed=11, **kw)
    assert len(block_sizes(one_worker.reps)) == 6  # the workers really share the blocks
    assert other.summary == one_worker.summary
    for f in fields(Outcomes):
        a, b = getattr(one_worker.outcomes, f.name), getattr(other.outcomes, f.name)
        assert a.dtype == b.dtype, f.name
        np.testing.assert_array_equal(b, a, err_msg=f.name)  # NaN where NaN, every other value equal
    assert other.parameters.keys() == one_worker.parameters.keys()
    for path, draws in one_worker.parameters.items():
        np.testing.assert_array_equal(other.parameters[path], draws, err_msg=path)


def test_keeping_outcomes_does_not_change_the_summary(flagship):
    kept = run(flagship, 12_000, seed=5)
    streamed = run(flagship, 12_000, seed=5, keep_outcomes=False)
    assert streamed.outcomes is None and streamed.summary == kept.summary


def test_a_longer_run_begins_with_the_shorter_one(flagship):
    """Blocks are seeded by position, so the first blocks of a longer run are the shorter run."""
    short = run(flagship, BLOCK_SIZE, seed=3)
    long = run(flagship, BLOCK_SIZE + 500, seed=3)
    assert np.array_equal(short.outcomes.end_day, long.outcomes.end_day[:BLOCK_SIZE], equal_nan=True)


def test_different_seeds_differ(flagship):
    a = run(flagship, 2000, seed=1).outcomes.end_day
    b = run(flagship, 2000, seed=2).outcomes.end_day
    assert not np.array_equal(a, b, equal_nan=True)


def test_bad_run_arguments(flagship):
    with pytest.raises(ValueError, match="unknown engine"):
        run(flagship, 10, seed=1, engine="warp")
    with pytest.raises(ValueError, match="at least 1"):
        run(flagship, 0, seed=1)


def test_outcomes_streamed_to_disk_block_by_block_are_those_kept_in_memory(flagship, tmp_path, monkeypatch):
    from sim.runs.folder import Columns, run_to_folder, write_run

    monkeypatch.setattr(runner, "BLOCK_SIZE", SMALL_BLOCK)
    reps = 2 * SMALL_BLOCK + 700
    streamed = run_to_folder(flagship, reps, tmp_path / "streamed", seed=4, save_outcomes=True)
    assert streamed.outcomes is None  # nothing kept in memory
    write_run(run(flagship, reps, seed=4), tmp_path / "kept")
    a, b = Columns(tmp_path / "streamed" / "outcomes.parquet"), Columns(tmp_path / "kept" / "outcomes.parquet")
    assert list(a) == list(b)
    import pyarrow.parquet as pq
    for folder in ("streamed", "kept"):  # a row group per seeded block, numbered
        f = pq.ParquetFile(tmp_path / folder / "outcomes.parquet")
        assert f.num_row_groups == 3 and f.read(columns=["block"]).column(0).to_pylist()[-1] == 2
    assert list(pq.read_table(tmp_path / "kept" / "outcomes.parquet", columns=["replication"]).column(0).to_numpy()) \
        == list(range(reps))
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert (tmp_path / "streamed" / "summary.json").read_bytes() == (tmp_path / "kept" / "summary.json").read_bytes()
    assert [p.name for p in (tmp_path / "streamed").iterdir() if p.name.startswith(".")] == []


def test_a_block_of_a_large_theatre_fits_its_memory_budget(make_scenario):
    """The block size follows from the theatre's dimensions: the flagship keeps full blocks, the
    largest theatre the loader allows gets blocks whose estimated memory fits BLOCK_BUDGET."""
    from tests.conftest import base_doc

    assert runner.block_size(load_scenario(FLAGSHIP)) == BLOCK_SIZE
    chain = [f"n{i}" for i in range(100)]
    doc = base_doc(nodes={"base": None, "town": None, "cap": None,
                          **{n: {"garrison": 100} for n in chain[1:]}, "n0": {"controller": "rebels"}},
                   roads={f"{a}-{b}": 10 for a, b in zip(chain, chain[1:])},
                   rebels={"north": None, **{f"a{k}": {"route": chain, "strength": 1000} for k in range(16)}},
                   allies={"friend": None, **{f"x{j}": {"side": "government"} for j in range(16)}},
                   scenario={"capital": "n99"})
    doc["roads"] = {f"{a}-{b}": 10 for a, b in zip(chain, chain[1:])}
    big = make_scenario(doc)
    size = runner.block_size(big)
    assert runner.BLOCK_STEP <= size < BLOCK_SIZE and size % runner.BLOCK_STEP == 0
    assert size * runner.row_bytes(big) <= runner.BLOCK_BUDGET
    assert runner.block_sizes(3 * size + 1, size) == [size, size, size, 1]
