"""Engines: the same model scheduled two ways. Each satisfies :class:`Engine`.

The reference engine (simpy, one replication at a time) is the readable statement of the
semantics; the vectorised engine (numpy, many replications at once) is what runs use. Both call the
rules in :mod:`sim.rules` and pass the same contract suite (tests/engines/contract.py), so a third
engine is one module and one test subclass away.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from ..scenario.schema import Scenario
from . import reference, vectorised
from .draws import Draws
from .outcomes import Outcomes


class Engine(Protocol):
    """What every engine provides."""

    def simulate(self, scenario: Scenario, reps: int, *, rng: np.random.Generator,
                 draws: Draws | None = None,
                 progress: Callable[[float], None] | None = None) -> tuple[Outcomes, Draws]:
        """``reps`` replications of ``scenario``: parameters drawn first from ``rng`` (or taken from
        ``draws``, never mutated), then the process randomness from ``rng``; the outcomes and the draws.
        ``progress(share)`` is told the share of the work done (0 to 1) now and then; it never
        changes the numbers."""


ENGINES: dict[str, Engine] = {"vectorised": vectorised, "reference": reference}

__all__ = ["ENGINES", "Engine", "reference", "vectorised"]
