"""Runs: the numbers depend on the scenario, the seed and the replication count alone."""

import numpy as np
import pytest

from sim.loading import load_scenario
from sim.runner import BLOCK_SIZE, block_sizes, run

from .conftest import SCENARIOS

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"


def test_block_sizes_are_fixed():
    assert block_sizes(2 * BLOCK_SIZE + 5_000) == [BLOCK_SIZE, BLOCK_SIZE, 5_000]
    assert sum(block_sizes(1)) == 1


@pytest.fixture(scope="module")
def flagship():
    return load_scenario(FLAGSHIP)


def test_workers_do_not_change_the_numbers(flagship):
    one = run(flagship, 25_000, seed=11, workers=1)
    two = run(flagship, 25_000, seed=11, workers=2)
    assert one.summary == two.summary
    for name in ("end_state", "end_day", "node_fall_day", "desertions"):
        assert np.array_equal(getattr(one.outcomes, name), getattr(two.outcomes, name), equal_nan=True)


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
