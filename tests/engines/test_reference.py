"""The reference engine (simpy) against the engine contract."""

import contextlib
import itertools
from unittest import mock

from sim.engines import reference

from tests.engines.contract import EngineContract


class TestReference(EngineContract):
    engine, name, reps, long_reps = reference, "reference", 1500, 2

    @contextlib.contextmanager
    def recording_captures(self):
        seen, ids = [], itertools.count()
        original = reference.Replication.capture

        def capture(rep, a, i, how):
            if not hasattr(rep, "_test_tag"):  # id() may be reused once a replication is freed
                rep._test_tag = next(ids)
            seen.append((rep._test_tag, int(i)))
            return original(rep, a, i, how)

        with mock.patch.object(reference.Replication, "capture", capture):
            yield seen
