"""Scenario-forecasting simulator for offensives on capitals.

A notebook session::

    import sim
    scenario = sim.load_scenario("scenarios/SCENARIO.toml", ["rebels.north.momentum=1.4"])
    result = sim.run(scenario, 100_000, seed=7)
    result.summary["end_states"]        # probabilities with 95% intervals
    result.outcomes.end_day             # one value per replication (NaN: the capital held)
"""

__version__ = "0.1.0"

from .distributions import Bernoulli, Beta, Distribution, Fixed, LogNormal, Normal, Triangular, Uniform
from .errors import ScenarioError
from .loading import load_scenario
from .outcomes import CAPTURED, COLLAPSED, END_STATES, HOLDS, Outcomes
from .results import write_run
from .runner import RunResult, run
from .scenario import Scenario
from .summary import format_summary

__all__ = [
    "Bernoulli", "Beta", "CAPTURED", "COLLAPSED", "Distribution", "END_STATES", "Fixed", "HOLDS",
    "LogNormal", "Normal", "Outcomes", "RunResult", "Scenario", "ScenarioError", "Triangular",
    "Uniform", "format_summary", "load_scenario", "run", "write_run",
]
