"""The verbs a notebook or the command line uses: where the layers are composed, and nowhere else.

A result is written with its figures (``write_run``), a sweep or sensitivity analysis with its
figures, a backtest with its figure: the lower layers write data files and take the figures as
``extras`` from here, so they never import the reporting layer.

For a notebook, :func:`sweep`, :func:`sensitivity`, :func:`compare`, :func:`backtest` and
:func:`calibrate` return pandas DataFrames. Each runs the code its command runs (and writes the
same folder when given ``out``; without it, a study's points are kept in a temporary folder that is
removed afterwards), then tabulates what that code returned. :func:`figures` draws a run's figures
in memory. Each shows its progress (a tqdm bar, a widget in a notebook) unless ``progress=False``.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager, nullcontext
from pathlib import Path

from .forecast import backtest as _backtest
from .forecast import calibration as _calibration
from .forecast.observed import Observed, load_observed
from .reporting import backtest_figures, compare as _compare, figures as _figures, sweep_figures
from .reporting.figures import figures
from .runs import folder
from .runs.folder import RunFolder, require_complete
from .reporting.progress import Progress
from .runs import runner
from .runs.runner import RunResult
from .scenario.load import load_scenario
from .scenario.schema import Scenario
from .studies import grid, sensitivity as _sensitivity
from .studies.points import Base

__all__ = ["load_scenario", "run", "write_run", "run_to_folder", "run_grid", "run_sensitivity", "write_backtest",
           "write_paths", "write_update", "figures", "sweep", "sensitivity", "compare", "backtest", "update",
           "calibrate"]


def _progress(progress, description: str):
    """The display for ``progress`` (True: a :class:`Progress`; False: none; a callable: itself)."""
    if callable(progress):
        return nullcontext(progress)
    return Progress(description, enabled=bool(progress))


def run(scenario: Scenario, reps: int, *, seed: int, progress=True, **options) -> RunResult:
    """:func:`sim.runs.runner.run` (the replications of ``scenario``, summarised, in memory), showing
    its progress unless ``progress`` is False (or reporting to ``progress(done, total, unit)``)."""
    with _progress(progress, f"run {scenario.name}") as bar:
        return runner.run(scenario, reps, seed=seed, progress=bar, **options)


def write_run(result: RunResult, out_dir: Path, *, overrides=(), plots: bool = True) -> Path:
    """Write a run's results folder, with its figures unless ``plots`` is False."""
    return folder.write_run(result, out_dir, overrides=overrides, extras=(_figures.draw_run,) if plots else ())


def run_to_folder(scenario, reps: int, out_dir: Path, *, seed: int, save_outcomes: bool = True, overrides=(),
                  plots: bool = True, **run_options) -> RunResult:
    """Run straight into a results folder, outcomes streamed to disk (:func:`sim.runs.folder.run_to_folder`),
    with its figures unless ``plots`` is False."""
    return folder.run_to_folder(scenario, reps, out_dir, seed=seed, save_outcomes=save_outcomes, overrides=overrides,
                                extras=(_figures.draw_run,) if plots else (), **run_options)


def run_grid(base, params, out_dir: Path, *, plots: bool = True, **kw) -> dict:
    """A grid sweep (:func:`sim.studies.grid.run_grid`) with its figures unless ``plots`` is False."""
    return grid.run_grid(base, params, out_dir, extras=(sweep_figures.plot_sweep,) if plots else (), **kw)


def run_sensitivity(base, method: str, n: int, out_dir: Path, *, plots: bool = True, **kw) -> dict:
    """A sensitivity analysis (:func:`sim.studies.sensitivity.run_sensitivity`) with its figures."""
    return _sensitivity.run_sensitivity(base, method, n, out_dir,
                                        extras=(sweep_figures.plot_sensitivity,) if plots else (), **kw)


def write_paths(table: dict, out_dir: Path, *, plots: bool = True) -> Path:
    """A paths folder (:func:`sim.runs.paths.write_paths`) with its figure unless ``plots`` is False."""
    from .reporting.paths_figures import plot_paths
    from .runs.paths import write_paths as _write_paths

    return _write_paths(table, out_dir, extras=(plot_paths,) if plots else ())


def write_update(data: dict, out_dir: Path, *, plots: bool = True) -> Path:
    """An update or timeline folder (:func:`sim.forecast.update.write_update`) with its table as
    Markdown (``update.md``) and its figure unless ``plots`` is False."""
    from .files import write_text
    from .forecast.update import write_update as _write_update
    from .reporting.text import update_markdown
    from .reporting.update_figures import plot_update

    def markdown(folder: Path) -> None:
        write_text(folder / f"{data['kind']}.md", update_markdown(data))

    return _write_update(data, out_dir, extras=(markdown, plot_update) if plots else (markdown,))


def write_backtest(scores: dict, result: RunResult, out_dir: Path) -> None:
    """A backtest's folder with its figure."""
    _backtest.write_backtest(scores, result, out_dir, extras=(backtest_figures.plot_backtest,))


# --------------------------------------------------------------------------- DataFrames for notebooks

@contextmanager
def _study_folder(out):
    """``(folder, kept)``: ``out``, or a folder inside a temporary one that is removed afterwards."""
    if out is not None:
        yield Path(out), True
        return
    with tempfile.TemporaryDirectory(prefix="sim-") as tmp:
        yield Path(tmp) / "study", False


def _table_frame(table: dict, index):
    """A study's table (``columns``, ``rows`` and its header) as a DataFrame indexed by ``index``,
    the header in ``DataFrame.attrs``."""
    import pandas as pd

    df = pd.DataFrame(table["rows"], columns=table["columns"]).set_index(index)
    df.attrs.update({k: v for k, v in table.items() if k not in ("rows", "columns")})
    return df


def _sweep_param(p) -> grid.SweepParam:
    if isinstance(p, grid.SweepParam):
        return p
    if isinstance(p, str):
        return grid.parse_param(p)
    path, values = p
    return grid.SweepParam(path, tuple(float(v) for v in values))


def sweep(scenario, params, *, reps: int, seed: int, overrides=(), engine: str = "vectorised", workers: int = 1,
          scheduler: str | None = None, out=None, plots: bool = True, progress=True):
    """A grid sweep of the scenario file ``scenario`` as a DataFrame: one row per point (index
    ``point``), the swept values, then the metrics ``sim sweep`` tabulates (P(each end state), of a
    fall within 7 and 30 days, quantiles of the fall day...; the table's header in ``attrs``).

    ``params``: ``"PATH=START:STOP:STEPS"`` or ``"PATH=v1,v2,..."`` strings, or ``(path, values)``
    pairs. With ``out`` the sweep's folder is written there as ``sim sweep`` writes it (figures
    unless ``plots`` is False). Raises :class:`~sim.errors.ScenarioError` for a bad path or value.
    """
    base = Base.load(scenario, overrides, reps=reps, seed=seed, engine=engine)
    swept = [_sweep_param(p) for p in params]
    with _study_folder(out) as (where, kept), _progress(progress, "sweep") as bar:
        table = run_grid(base, swept, where, workers=workers, scheduler=scheduler, plots=plots and kept, progress=bar)
    return _table_frame(table, "point")


def sensitivity(scenario, method: str, n: int, *, reps: int, seed: int, params=None, overrides=(),
                engine: str = "vectorised", workers: int = 1, scheduler: str | None = None, out=None,
                plots: bool = True, progress=True, **options):
    """A Morris or Sobol' analysis of the scenario file ``scenario`` as a DataFrame of its indices,
    indexed by (output, parameter), as ``sim sensitivity`` tabulates them; ``params`` (paths) limits
    the factors, ``options`` are :func:`sim.studies.sensitivity.run_sensitivity`'s (``levels``,
    ``second_order``, ``resamples``, ``outputs``: :func:`sim.studies.sensitivity.outputs`). ``out`` as in
    :func:`sweep`."""
    base = Base.load(scenario, overrides, reps=reps, seed=seed, engine=engine)
    with _study_folder(out) as (where, kept), _progress(progress, f"sensitivity ({method})") as bar:
        indices = run_sensitivity(base, method, n, where, paths=params, workers=workers, scheduler=scheduler,
                                  plots=plots and kept, progress=bar, **options)
    return _table_frame(indices, ["output", "parameter"])


def compare(runs):
    """Runs side by side as a DataFrame, one row per run (index: the labels ``sim compare`` gives),
    the numbers compare.json holds flattened to columns (``end_states.captured.p``,
    ``capital_fall_day.p50.day``...). ``runs``: run folders (paths or :class:`RunFolder`) or
    :class:`RunResult` in memory."""
    import pandas as pd

    loaded = [r if isinstance(r, (RunFolder, RunResult)) else RunFolder(require_complete(r)) for r in runs]
    df = pd.json_normalize([_compare.numbers(r) for r in loaded], sep=".")
    df.index = pd.Index(_compare.labels(loaded), name="run")
    return df


def backtest(scenario, observed, *, reps: int, seed: int, overrides=(), workers: int = 1, out=None, progress=True):
    """Run ``scenario`` (a file or a :class:`Scenario`) and score it against ``observed`` (an
    observed-timeline file or :class:`~sim.forecast.observed.Observed`), as ``sim backtest`` does: a
    DataFrame with one row per scored target (index ``target``): the observed window (days after
    as_of) and the CRPS of the model and of each baseline. The whole score (end state, what
    happened, milestones) is in ``attrs``. With ``out`` the backtest's folder is written there."""
    import pandas as pd

    s = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, overrides)
    obs = observed if isinstance(observed, Observed) else load_observed(observed)
    with _progress(progress, f"backtest {s.name}") as bar:
        scores, result = _backtest.backtest(s, obs, reps, seed=seed, workers=workers, progress=bar)
    if out is not None:
        write_backtest(scores, result, Path(out))
    rows = [{"target": name, "observed_low": t["observed_days"][0], "observed_high": t["observed_days"][1],
             **{f"crps.{k}": v for k, v in t["crps"].items()}} for name, t in scores["targets"].items()]
    df = pd.DataFrame(rows).set_index("target")
    df.attrs.update(scores)
    return df


def update(scenario, observed, *, particles: int, seed: int, daily: bool = False, through=None, skip=(),
           overrides=(), out=None, progress=True):
    """Update ``scenario`` (a file or a :class:`Scenario`) on the news in ``observed`` (a file or an
    :class:`~sim.forecast.observed.Observed`) as ``sim update`` (or with ``daily``, ``sim timeline``)
    does: a DataFrame with one row per forecast (index ``date``): P(each end state), P(the capital
    falls within 7/30/90 days of the date), the median fall date, the effective sample, the prior
    draws behind it, the evidence and the news. The whole table is in ``attrs``. With ``out`` the
    folder is written there, with its figure."""
    import pandas as pd

    from .forecast import update as _update

    s = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, overrides)
    obs = observed if isinstance(observed, Observed) else load_observed(observed)
    with _progress(progress, f"update {s.name}") as bar:
        result = _update.update(s, obs, particles=particles, seed=seed, daily=daily, through=through,
                                skip=tuple(skip), progress=bar)
    data = _update.table(result, kind=_update.TIMELINE if daily else _update.UPDATE)
    if out is not None:
        write_update(data, Path(out))
    rows = [{"date": r["date"], "captured": r["captured"], "collapsed": r["collapsed"], "holds": r["holds"],
             **{f"falls_within_{d}": v for d, v in r["falls_within"].items()}, "median_fall": r["median_fall"],
             "ess": r["ess"], "prior_draws": r["ancestors"], "evidence": r["evidence"], "news": "; ".join(r["news"])}
            for r in data["forecasts"]]
    df = pd.DataFrame(rows).set_index("date")
    df.attrs.update(data)
    return df


def calibrate(spec, particles: int, *, seed: int, workers: int = 1, scheduler: str | None = None, out=None,
              progress=True):
    """Calibrate on the reference class ``spec`` (a file) as ``sim calibrate`` does: a DataFrame of
    the leave-war-out validation, one row per case forecast (index ``case``), its scores flattened to
    columns (``log_score.model``, ``crps.survival``...); the posterior's summary and the mean scores
    in ``attrs``. With ``out`` the calibration's folder is written there, with its figure."""
    import pandas as pd

    from .reporting.validation_figures import plot_validation

    loaded = _calibration.load_spec(spec)
    with _progress(progress, "calibrate") as bar:
        result = _calibration.calibrate(loaded, particles, seed=seed, workers=workers, scheduler=scheduler,
                                        progress=bar)
    if out is not None:
        _calibration.write_calibration(result, Path(out), spec_file=str(spec), extras=(plot_validation,))
    df = pd.json_normalize(result["validation"]["rows"], sep=".").set_index("case")
    df.attrs.update({"posterior": result["posterior"], "aggregate": result["validation"]["aggregate"],
                     "seed": seed, "particles": particles})
    return df
