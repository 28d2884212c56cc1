"""The verbs a notebook or the command line uses: where the layers are composed, and nowhere else.

A result is written with its figures (``write_run``), a sweep or sensitivity analysis with its
figures, a backtest with its figure: the lower layers write data files and take the figures as
``extras`` from here, so they never import the reporting layer.
"""

from __future__ import annotations

from pathlib import Path

from .forecast import backtest as _backtest
from .reporting import backtest_figures, figures, sweep_figures
from .runs import folder
from .runs.runner import RunResult, run
from .scenario.load import load_scenario
from .studies import grid, sensitivity as _sensitivity

__all__ = ["load_scenario", "run", "write_run", "run_to_folder", "run_grid", "run_sensitivity", "write_backtest"]


def write_run(result: RunResult, out_dir: Path, *, overrides=(), plots: bool = True) -> Path:
    """Write a run's results folder, with its figures unless ``plots`` is False."""
    return folder.write_run(result, out_dir, overrides=overrides, extras=(figures.draw_run,) if plots else ())


def run_to_folder(scenario, reps: int, out_dir: Path, *, seed: int, save_outcomes: bool = True, overrides=(),
                  plots: bool = True, **run_options) -> RunResult:
    """Run straight into a results folder, outcomes streamed to disk (:func:`sim.runs.folder.run_to_folder`),
    with its figures unless ``plots`` is False."""
    return folder.run_to_folder(scenario, reps, out_dir, seed=seed, save_outcomes=save_outcomes, overrides=overrides,
                                extras=(figures.draw_run,) if plots else (), **run_options)


def run_grid(base, params, out_dir: Path, *, plots: bool = True, **kw) -> dict:
    """A grid sweep (:func:`sim.studies.grid.run_grid`) with its figures unless ``plots`` is False."""
    return grid.run_grid(base, params, out_dir, extras=(sweep_figures.plot_sweep,) if plots else (), **kw)


def run_sensitivity(base, method: str, n: int, out_dir: Path, *, plots: bool = True, **kw) -> dict:
    """A sensitivity analysis (:func:`sim.studies.sensitivity.run_sensitivity`) with its figures."""
    return _sensitivity.run_sensitivity(base, method, n, out_dir,
                                        extras=(sweep_figures.plot_sensitivity,) if plots else (), **kw)


def write_backtest(scores: dict, result: RunResult, out_dir: Path) -> None:
    """A backtest's folder with its figure."""
    _backtest.write_backtest(scores, result, out_dir, extras=(backtest_figures.plot_backtest,))
