"""Engines: the same model scheduled two ways. Each exposes ``simulate(scenario, reps, *, rng)``."""

from . import reference, vectorised

ENGINES = {"vectorised": vectorised, "reference": reference}

__all__ = ["ENGINES", "reference", "vectorised"]
