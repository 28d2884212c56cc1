"""Scenario-forecasting simulator for offensives on capitals.

A notebook session::

    import sim
    scenario = sim.load_scenario("scenarios/SCENARIO.toml", ["rebels.north.momentum=1.4"])
    result = sim.run(scenario, 100_000, seed=7)
    result.summary["end_states"]        # probabilities with 95% intervals
    result.outcomes.end_day             # one value per replication (NaN: the capital held)

The names below are imported when first used (PEP 562), so ``import sim`` costs a few milliseconds
and a command loads only the layers it needs.
"""

from ._version import __version__

_WHERE = {
    **dict.fromkeys(["CAPTURED", "COLLAPSED", "END_STATES", "HOLDS", "Outcomes"], "outcomes"),
    "ScenarioError": "errors",
    "format_summary": "text",
    **dict.fromkeys(["RunResult", "run"], "runner"),
    **dict.fromkeys(["Bernoulli", "Beta", "Distribution", "Fixed", "LogNormal", "Normal", "Scenario", "Triangular",
                     "Uniform"], "scenario"),
    "load_scenario": "load",
    "write_run": "api",
}


def _module(where: str):
    """The module a public name lives in, imported now (spelled out: nothing imports by a string)."""
    if where == "outcomes":
        from .engines import outcomes as module
    elif where == "errors":
        from . import errors as module
    elif where == "text":
        from .reporting import text as module
    elif where == "runner":
        from .runs import runner as module
    elif where == "scenario":
        from . import scenario as module
    elif where == "load":
        from .scenario import load as module
    else:
        from . import api as module
    return module


__all__ = [
    "Bernoulli", "Beta", "CAPTURED", "COLLAPSED", "Distribution", "END_STATES", "Fixed", "HOLDS",
    "LogNormal", "Normal", "Outcomes", "RunResult", "Scenario", "ScenarioError", "Triangular",
    "Uniform", "__version__", "format_summary", "load_scenario", "run", "write_run",
]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__():
    return __all__
