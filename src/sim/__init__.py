"""Scenario-forecasting simulator for offensives on capitals.

A notebook session::

    import sim
    scenario = sim.load_scenario("scenarios/SCENARIO.toml", ["rebels.north.momentum=1.4"])
    result = sim.run(scenario, 100_000, seed=7)  # with a progress bar (progress=False: none)
    result                              # title, as-of, P(capital falls) with its interval, median day
    result.to_dataframe()               # one row per replication, end_state a Categorical
    result.to_xarray()                  # the fall-day and control histograms, labelled
    sim.figures(result)                 # the run's figures, drawn in memory
    sim.sweep("scenarios/SCENARIO.toml", ["allies.russia.capacity=0.1:0.9:5"], reps=2000, seed=1)
    sim.update("scenarios/SCENARIO.toml", "scenarios/observed/RECORD.toml", particles=20_000, seed=1)

The names below are imported when first used (PEP 562), so ``import sim`` costs a few milliseconds
and a command loads only the layers it needs.
"""

from ._version import __version__

_WHERE = {
    **dict.fromkeys(["CAPTURED", "COLLAPSED", "END_STATES", "HOLDS", "Outcomes"], "outcomes"),
    "ScenarioError": "errors",
    "format_summary": "text",
    "RunResult": "runner",
    **dict.fromkeys(["Bernoulli", "Beta", "Distribution", "Fixed", "LogNormal", "Normal", "Scenario", "Triangular",
                     "Uniform"], "scenario"),
    "load_scenario": "load",
    **dict.fromkeys(["run", "write_run", "figures", "sweep", "sensitivity", "compare", "backtest", "update",
                     "calibrate"], "api"),
    "RunFolder": "folder",
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
    elif where == "folder":
        from .runs import folder as module
    else:
        from . import api as module
    return module


__all__ = [
    "Bernoulli", "Beta", "CAPTURED", "COLLAPSED", "Distribution", "END_STATES", "Fixed", "HOLDS",
    "LogNormal", "Normal", "Outcomes", "RunFolder", "RunResult", "Scenario", "ScenarioError", "Triangular",
    "Uniform", "__version__", "backtest", "calibrate", "compare", "figures", "format_summary", "load_scenario",
    "run", "sensitivity", "sweep", "update", "write_run",
]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__():
    return __all__
