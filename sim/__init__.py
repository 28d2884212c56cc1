"""Scenario-forecasting simulator for offensives on capitals.

A notebook session::

    import sim
    scenario = sim.load_scenario("scenarios/SCENARIO.toml", ["rebels.north.momentum=1.4"])
    result = sim.run(scenario, 100_000, seed=7)
    result.summary["end_states"]        # probabilities with 95% intervals
    result.outcomes.end_day             # one value per replication (NaN: the capital held)
"""

from ._version import __version__
from .engines.outcomes import CAPTURED, COLLAPSED, END_STATES, HOLDS, Outcomes
from .errors import ScenarioError
from .reporting.text import format_summary
from .runs.runner import RunResult, run
from .scenario import Bernoulli, Beta, Distribution, Fixed, LogNormal, Normal, Scenario, Triangular, Uniform
from .scenario.load import load_scenario

__all__ = [
    "Bernoulli", "Beta", "CAPTURED", "COLLAPSED", "Distribution", "END_STATES", "Fixed", "HOLDS",
    "LogNormal", "Normal", "Outcomes", "RunResult", "Scenario", "ScenarioError", "Triangular",
    "Uniform", "__version__", "format_summary", "load_scenario", "run", "write_run",
]


def __getattr__(name: str):
    # write_run draws figures: matplotlib is imported only when it is first used.
    if name == "write_run":
        from .api import write_run
        return write_run
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
