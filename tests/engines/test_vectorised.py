"""The vectorised engine (numpy) against the engine contract, and what only it does."""

import contextlib
import itertools
from unittest import mock

import numpy as np

from sim.engines import vectorised
from sim.engines.vectorised import effects
from sim.runs.runner import run

from tests.conftest import base_doc, merge
from tests.engines.contract import EngineContract


class TestVectorised(EngineContract):
    engine, name, reps, long_reps = vectorised, "vectorised", 20_000, 20

    @contextlib.contextmanager
    def recording_captures(self):
        seen, ids = [], itertools.count()
        original = effects.capture

        def capture(block, r, a, i, how):
            if not hasattr(block, "_test_tag"):
                block._test_tag = next(ids)
            for row, node in zip(np.atleast_1d(block.regime.rid[r]), np.broadcast_to(i, np.shape(r))):
                seen.append((block._test_tag, int(row), int(node)))
            return original(block, r, a, i, how)

        with mock.patch.object(effects, "capture", capture):
            yield seen

    def test_a_horizon_of_ten_thousand_days_with_everything_on(self, make_scenario):
        """The flagship's mechanisms at 10,000 days: every replication ends, within the horizon."""
        doc = merge(base_doc(), {"scenario": {"horizon_days": 10_000}})
        result = self.simulate_and_check(make_scenario(doc), 200)
        assert result.summary["end_states"]["holds"]["p"] < 1

    def test_one_replication_gives_a_complete_summary(self, make_scenario):
        result = run(make_scenario(base_doc()), 1, seed=1)
        assert result.summary["reps"] == 1 and sum(v["p"] for v in result.summary["end_states"].values()) == 1


def test_the_state_is_declared(make_scenario):
    """Every array of the working set is a declared field, named as in the scenario for parameters:
    setting an undeclared one fails."""
    import dataclasses

    import pytest

    from sim.engines.draws import draw_parameters
    from sim.engines.theatre import Theatre
    from sim.scenario.schema import SECTIONS, param_fields

    s = make_scenario(base_doc())
    block = vectorised.Block(Theatre.from_scenario(s), draw_parameters(s, 10, rng=np.random.default_rng(1)),
                             s.horizon_days, np.random.default_rng(2))
    for rows in (block.regime, block.nodes, block.axes, block.allies, block.hazards):
        with pytest.raises(AttributeError):
            rows.undeclared_field = np.zeros(10)
        assert all(isinstance(getattr(rows, f.name), np.ndarray) for f in dataclasses.fields(rows))
    for section, cls in SECTIONS.items():
        assert [f.name for f in dataclasses.fields(getattr(block.p, section))] == [f.name for f in param_fields(cls)]
    assert block.p.belief.loss_shock.shape == ()  # fixed in every row: a scalar
