"""The ``sim`` command: parses arguments and calls the library; every error is one line, exit 2."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

from .engines import ENGINES
from .errors import ResultsError, ScenarioError, one_line
from .runs.runner import MAX_REPS
from .scenario.load import MAX_HORIZON_DAYS
from .studies.sensitivity import OUTPUT_CHOICES

DEFAULT_ENGINE = "vectorised" if "vectorised" in ENGINES else "reference"


class UsageError(Exception):
    """Bad command-line arguments."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(message if self.prog == "sim" else f"{self.prog}: {message}")


def _whole(minimum: int, unit: str = "whole number", maximum: int | None = None):
    """An argparse type: an integer of at least ``minimum`` (and at most ``maximum``)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {unit}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {v}")
        if maximum is not None and v > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {text!r}")
        return v
    return parse


# Upper bounds keep a typo from asking for a list of 10**20 blocks, a folder name longer than the
# file system allows (the seed is in it) or a million processes.
MAX_SEED, MAX_WORKERS = 2**128 - 1, 256
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
WORKERS_HELP = f"processes (default: the cores available, {CORES} here; the numbers do not depend on it)"
_positive_int, _seed, _horizon = (_whole(1, maximum=MAX_REPS), _whole(0, maximum=MAX_SEED),
                                  _whole(0, "whole number of days", maximum=MAX_HORIZON_DAYS))
_workers = _whole(1, maximum=MAX_WORKERS)
ADAPTIVE_CAP = 10_000_000  # replications an adaptive run (--precision) may run unless --reps says
ENGINE_HELP = (f"vectorised: numpy, all replications at once; reference: simpy, one at a time, the readable "
               f"statement of the model (the same distribution, other numbers; default {DEFAULT_ENGINE})")


def _iso_date(text: str):
    """An argparse type: a calendar date written YYYY-MM-DD."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date such as 2024-12-05, got {text!r}") from None


MAX_PARTICLES = 10_000_000  # a filter's particles all live in memory at once
_particles = _whole(1, maximum=MAX_PARTICLES)


def _half_width(text: str) -> float:
    """An argparse type: a half-width strictly between 0 and 0.5."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < v < 0.5:
        raise argparse.ArgumentTypeError(f"must be a half-width between 0 and 0.5 (e.g. 0.005), got {text!r}")
    return v


def _posterior_option(p) -> None:
    p.add_argument("--posterior", default=None, metavar="FILE|none",
                   help="posterior file whose rows the replications draw (default: the scenario's own [posterior]; "
                        "none: the scenario's values alone)")


EXAMPLES = {  # one worked example a command, shown at the end of its --help (names in capitals are yours)
    "run": "sim run SCENARIO.toml --reps 100000 --seed 1 --set belief.initial=0.4",
    "plot": "sim plot RUN_DIR --svg",
    "rerun": "sim rerun RUN_DIR --out RUN_DIR_AGAIN",
    "compare": "sim compare RUN_DIR OTHER_RUN_DIR --out COMPARE_DIR",
    "report": "sim report RUN_DIR",
    "backtest": "sim backtest SCENARIO.toml --observed OBSERVED.toml --reps 20000",
    "calibrate": "sim calibrate SPEC.toml --particles 20000 --seed 1",
    "sweep": "sim sweep SCENARIO.toml --param belief.initial=0.2:0.8:4 --reps 5000 --seed 1",
    "sensitivity": "sim sensitivity SCENARIO.toml --method sobol --samples 64 --output falls-within --within 14",
    "validate": "sim validate SCENARIO.toml",
    "paths": "sim paths RUN_DIR --depth 2 --given 'CITY<3'",
    "params": "sim params SCENARIO.toml --json",
    "update": "sim update SCENARIO.toml --observed OBSERVED.toml --through 2024-12-05 --seed 1",
    "timeline": "sim timeline SCENARIO.toml --observed OBSERVED.toml --seed 1",
}


def _command(sub, name: str, summary: str) -> argparse.ArgumentParser:
    """A subcommand with its one-line summary and its example."""
    return sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".",
                          epilog=f"example:\n  {EXAMPLES[name]}", formatter_class=argparse.RawDescriptionHelpFormatter)


def _lookahead_option(p) -> None:
    p.add_argument("--allow-lookahead", action="store_true",
                   help="load a scenario that cites sources dated after its as_of (a warning each, for exploration)")


def _warn_lookahead(scenario) -> None:
    """One warning line on stderr for each citation after as_of that --allow-lookahead let through."""
    for line in scenario.lookahead:
        print(f"sim: warning: {one_line(line)}", file=sys.stderr)


def _load_scenario(args, overrides=None):
    """The command's scenario, loaded as every command loads it (``--set``, ``--posterior``,
    ``--allow-lookahead``), with a warning for each citation the last let through."""
    from .scenario.load import load_scenario

    scenario = load_scenario(args.scenario, args.overrides if overrides is None else overrides,
                             posterior=args.posterior, allow_lookahead=args.allow_lookahead)
    _warn_lookahead(scenario)
    return scenario


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = _Parser(prog="sim", description="Monte Carlo forecasts of offensives on capitals: how likely a capital "
                     "falls, how soon, and what decides it.",
                     epilog="example:\n  sim run SCENARIO.toml --reps 10000 --seed 1\n\n"
                            "scenarios/ holds the shipped scenarios (README: the flagship and its variants);\n"
                            "sim COMMAND --help shows a command's options and an example.",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"sim {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    r = _command(sub, "run", "run a scenario and write its results folder")
    r.add_argument("scenario", type=Path, help="scenario TOML file")
    r.add_argument("--reps", type=_positive_int, default=None,
                   help="replications (default 10000); with --precision the most it may run (default 10,000,000)")
    r.add_argument("--precision", type=_half_width, default=None, metavar="HALF_WIDTH",
                   help="add blocks of 10,000 replications until every end state's and milestone's 95%% interval "
                        "is within ±HALF_WIDTH (e.g. 0.005), then stop")
    r.add_argument("--seed", type=_seed, default=None, help="seed (default: fresh entropy, recorded)")
    r.add_argument("--horizon", type=_horizon, default=None, help="horizon in days (overrides the scenario)")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a parameter, e.g. rebels.north.momentum=1.4 (repeatable)")
    _posterior_option(r)
    _lookahead_option(r)
    r.add_argument("--engine", choices=sorted(ENGINES), default=DEFAULT_ENGINE, help=ENGINE_HELP)
    r.add_argument("--workers", type=_workers, default=CORES, help=WORKERS_HELP)
    r.add_argument("--out", type=Path, default=None, help="results folder (default results/<scenario>/<run-id>)")
    r.add_argument("--save-outcomes", dest="save_outcomes", action=argparse.BooleanOptionalAction, default=None,
                   help="write per-replication outcomes (default: when reps <= 1,000,000)")
    r.add_argument("--no-plots", dest="plots", action="store_false", help="skip the figures")
    r.add_argument("--quiet", action="store_true", help="no progress and no summary: print only where the results went")

    p = _command(sub, "plot", "redraw the figures of a finished run")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished run's folder")
    p.add_argument("--svg", action="store_true", help="write each figure as SVG too (a run writes PNG only)")
    rr = _command(sub, "rerun", "run a finished run again from its folder; say whether summary.json matches")
    rr.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished run's folder")
    rr.add_argument("--out", type=Path, default=None, help="also write the rerun's results folder here")
    rr.add_argument("--workers", type=_workers, default=CORES, help=WORKERS_HELP)
    rr.add_argument("--no-plots", dest="plots", action="store_false", help="skip the figures (with --out)")
    cp = _command(sub, "compare", "overlay finished runs' fall-day curves and end states; print a table")
    cp.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="finished runs' folders (one or more)")
    cp.add_argument("--out", type=Path, default=None,
                    help="folder for the figures and the table (default results/compare/<time>)")
    rp = _command(sub, "report", "write a result folder's self-contained report.html (run, compare, sweep, "
                                 "sensitivity, backtest or paths)")
    rp.add_argument("folder", type=Path, metavar="FOLDER", help="a finished result folder (its kind is read from it)")
    rp.add_argument("--out", type=Path, default=None, help="the HTML file (default FOLDER/report.html)")
    b = _command(sub, "backtest", "score a scenario's forecast against an observed timeline")
    b.add_argument("scenario", type=Path, help="scenario TOML file")
    b.add_argument("--observed", type=Path, required=True, help="observed-timeline TOML file")
    b.add_argument("--reps", type=_positive_int, default=20_000, help="replications (default 20000)")
    b.add_argument("--seed", type=_seed, default=0, help="seed (default 0)")
    b.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a parameter, e.g. rebels.north.momentum=1.4 (repeatable)")
    _posterior_option(b)
    _lookahead_option(b)
    b.add_argument("--reference-class", type=Path, default=None, metavar="SPEC",
                   help="a calibration spec (e.g. scenarios/calibration/reference-class.toml): also score the "
                        "survival baseline, fitted on the cases of its shipped posterior")
    b.add_argument("--workers", type=_workers, default=CORES, help=WORKERS_HELP)
    b.add_argument("--out", type=Path, default=None,
                   help="folder for backtest.json and the figure (default results/<scenario>/backtest-<observed>)")
    b.add_argument("--quiet", action="store_true", help="no progress and no scores: print only where the results went")

    c = _command(sub, "calibrate", "calibrate structural parameters on a reference class of cases")
    c.add_argument("spec", type=Path, help="calibration TOML file (cases and priors)")
    c.add_argument("--particles", type=_positive_int, default=20_000,
                   help="prior draws, each simulated once per case (default 20000)")
    c.add_argument("--workers", type=_workers, default=CORES, help=WORKERS_HELP)
    c.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="simulate the particles on this Dask cluster (needs the dask extra; the same numbers)")
    c.add_argument("--seed", type=_seed, default=0, help="seed (default 0)")
    c.add_argument("--out", type=Path, default=Path("results") / "calibration",
                   help="folder for the posterior (posterior.toml, .json, .md) and the validation (.json, .md)")
    c.add_argument("--quiet", action="store_true",
                   help="no progress and no tables: print only warnings and where the results went")

    s = _command(sub, "sweep", "run a grid of parameter values with common random numbers")
    s.add_argument("scenario", type=Path, help="scenario TOML file")
    s.add_argument("--param", dest="params", action="append", required=True,
                   metavar="PATH=START:STOP:STEPS|PATH=v1,v2,...", help="a swept parameter (repeatable)")
    s.add_argument("--reps", type=_positive_int, default=10_000, help="replications a point (default 10000)")
    _sweep_options(s, "sweep")

    e = _command(sub, "sensitivity", "Morris screening or Sobol indices over the uncertain parameters (SALib)")
    e.add_argument("scenario", type=Path, help="scenario TOML file")
    e.add_argument("--method", choices=("morris", "sobol"), required=True,
                   help="morris: elementary effects, cheap screening; sobol: variance shares (S1, ST, S2)")
    e.add_argument("--samples", type=_positive_int, default=None,
                   help="Sobol base samples, a power of 2 (default 64), or Morris trajectories (default 20)")
    e.add_argument("--reps", type=_positive_int, default=2000, help="replications a point (default 2000)")
    e.add_argument("--params", action="append", default=[], metavar="PATH[,PATH...]",
                   help="the factors: a subset of the uncertain parameters (default all; repeatable)")
    e.add_argument("--output", dest="outputs", action="append", default=[], choices=OUTPUT_CHOICES,
                   metavar="OUTPUT", help="what to explain: " + ", ".join(OUTPUT_CHOICES) + " (repeatable; "
                   "default falls, collapsed and median-day)")
    e.add_argument("--within", type=_whole(1, "whole number of days", maximum=MAX_HORIZON_DAYS), default=None,
                   metavar="DAYS", help="the days of --output falls-within: P(the capital falls within DAYS days)")
    e.add_argument("--levels", type=_whole(2), default=4, help="Morris grid levels, even (default 4)")
    e.add_argument("--second-order", action=argparse.BooleanOptionalAction, default=True,
                   help="Sobol: also second-order indices (N(2k+2) points; without, N(k+2))")
    e.add_argument("--resamples", type=_positive_int, default=100, help="bootstrap resamples (default 100)")
    _sweep_options(e, "sensitivity")

    pt = _command(sub, "paths", "the most frequent paths to the end of a finished run, and what follows an event")
    pt.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished run's folder, with its outcomes")
    pt.add_argument("--depth", type=_whole(1, maximum=20), default=3,
                    help="events a path holds before its end state (default 3: the first three)")
    pt.add_argument("--top", type=_positive_int, default=10, help="paths printed, most frequent first (default 10)")
    pt.add_argument("--given", action="append", default=[], metavar="CONDITION",
                    help="a condition on an event, e.g. 'CITY<3' (it fell before day 3), 'CITY>=3' (not by day 3), "
                         "'not CITY', 'CITY.abandoned<3' (it fell that way: assault, abandoned, rising, collapse), "
                         "'ruler<5', 'ALLY.arrives'; repeatable, all must hold")
    pt.add_argument("--out", type=Path, default=None, help="folder for paths.json and paths.png (default RUN_DIR/paths)")
    pt.add_argument("--no-plots", dest="plots", action="store_false", help="skip the figure")
    for name, summary in (("update", "the forecast updated on the news: conditioned on what was observed by each "
                                     "date it came (a particle filter)"),
                          ("timeline", "the forecast replayed day by day on the news, drawn against what happened")):
        u = _command(sub, name, summary)
        u.add_argument("scenario", type=Path, metavar="SCENARIO|RUN_DIR",
                       help="scenario TOML file, or a finished run's folder (its scenario and seed): the forecast "
                            "before any news")
        u.add_argument("--observed", type=Path, required=True,
                       help="observed timeline TOML file: the news (cities fallen or held, the ruler, allies)")
        u.add_argument("--through", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                       help="use the news up to this date only (default: all of it, to the day before the capital fell)")
        u.add_argument("--skip", action="append", default=[], metavar="NAME",
                       help="leave out the record's facts about this node, ally or 'ruler' (repeatable)")
        u.add_argument("--tolerance", type=_whole(0, "whole number of days", maximum=30), default=0,
                       metavar="DAYS", help="widen every dated window of the record by DAYS on either side "
                                            "(an event the model puts a day or two off still agrees; default 0)")
        u.add_argument("--particles", type=_particles, default=20_000,
                       help="replications the filter carries (default 20000)")
        u.add_argument("--seed", type=_seed, default=None, help="seed (default: fresh entropy, recorded)")
        _scenario_options(u)
        u.add_argument("--out", type=Path, default=None,
                       help=f"folder for {name}.json and {name}.png (default results/<scenario>/{name}-<observed>)")
        u.add_argument("--no-plots", dest="plots", action="store_false", help="skip the figure")
        u.add_argument("--quiet", action="store_true", help="no progress and no table: print only where it went")
    v = _command(sub, "validate", "check a scenario file as sim run would, without running it")
    v.add_argument("scenario", type=Path, help="scenario TOML file")
    _scenario_options(v)
    pa = _command(sub, "params", "list every parameter with its value, distribution, unit and provenance")
    pa.add_argument("scenario", type=Path, help="scenario TOML file")
    _scenario_options(pa)
    pa.add_argument("--json", action="store_true", help="machine output: a JSON array, one object a parameter")
    return parser


def _scenario_options(p) -> None:
    """The options ``validate``, ``params``, ``update`` and ``timeline`` share: the scenario as
    ``sim run`` would load it."""
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a parameter, as sim run does (repeatable)")
    _posterior_option(p)
    _lookahead_option(p)


def _sweep_options(p, command: str) -> None:
    """The options ``sweep`` and ``sensitivity`` share."""
    p.add_argument("--seed", type=_seed, default=None,
                   help="seed common to every point (default: fresh entropy, recorded; --resume reuses it)")
    p.add_argument("--horizon", type=_horizon, default=None, help="horizon in days (overrides the scenario)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a parameter at every point (repeatable)")
    _posterior_option(p)
    _lookahead_option(p)
    p.add_argument("--engine", choices=sorted(ENGINES), default=DEFAULT_ENGINE, help=ENGINE_HELP)
    p.add_argument("--workers", type=_workers, default=CORES, help=WORKERS_HELP)
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run the points on this Dask cluster (needs the dask extra)")
    p.add_argument("--out", type=Path, default=None, help=f"folder (default results/<scenario>/{command}-<key>)")
    p.add_argument("--resume", action="store_true", help="keep the points the folder already holds; run the rest")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="skip the figures")
    p.add_argument("--quiet", action="store_true", help="no progress and no table: print only where the results went")


def cmd_run(args) -> int:
    from .api import run_to_folder
    from .reporting.text import format_summary
    from .runs.folder import run_id
    from .runs.runner import new_seed

    overrides = list(args.overrides)
    if args.horizon is not None:
        overrides.append(f"scenario.horizon_days={args.horizon}")
    scenario = _load_scenario(args, overrides)
    seed = new_seed() if args.seed is None else args.seed
    reps = args.reps if args.reps is not None else ADAPTIVE_CAP if args.precision is not None else 10_000
    keep = args.save_outcomes if args.save_outcomes is not None else reps <= 1_000_000 or args.precision is not None
    out = args.out if args.out is not None else Path("results") / scenario.name / run_id(seed, reps)
    with _progress(args, f"sim run {scenario.name}") as progress:
        result = run_to_folder(scenario, reps, out, seed=seed, save_outcomes=keep, overrides=overrides,
                               plots=args.plots, engine=args.engine, workers=args.workers, progress=progress,
                               precision=args.precision)
    if args.quiet:
        print(f"wrote {out}")
        return 0
    print(format_summary(result.summary))
    if result.stopped:
        print(f"\nstopped: {result.stopped}")
    print(f"\nwrote {out}  ({result.wall_seconds:.2f} s, {args.engine} engine)")
    if args.plots and not keep:
        print("left out the drivers figure: per-replication outcomes were not saved (--save-outcomes keeps them)")
    return 0


def _progress(args, description: str):
    """The command's progress display (:class:`sim.reporting.progress.Progress`): none with --quiet."""
    from .reporting.progress import Progress

    return Progress(description, enabled=not getattr(args, "quiet", False))


def _run_folder(path: Path, command: str, *, histograms: bool = True) -> Path:
    """``path`` if it is a complete run folder (:func:`sim.runs.folder.require_complete`), else a one-line error."""
    from .runs.folder import require_complete

    try:
        return require_complete(path, histograms=histograms)
    except ResultsError as exc:
        raise UsageError(f"sim {command}: {exc}") from None


@contextlib.contextmanager
def _reading(command: str, paths):
    """Run folders are files from anywhere: a field of the wrong type or a missing key deep inside a
    summary is a damaged folder (one line, exit 2), not a crash."""
    try:
        yield
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        if isinstance(exc, (ScenarioError, ResultsError)):
            raise
        where = ", ".join(str(p) for p in paths)
        raise UsageError(f"sim {command}: {where}: the run's files are damaged or were written by another "
                         f"version ({type(exc).__name__}: {exc})") from None


def cmd_plot(args) -> int:
    from .reporting.figures import redraw, skipped
    from .runs.folder import RunFolder

    with _reading("plot", [args.run_dir]):
        written = redraw(_run_folder(args.run_dir, "plot"), svg=args.svg)  # each figure replaced atomically
        left_out = skipped(RunFolder(args.run_dir))
    for path in written:
        print(path)
    for name, why in left_out.items():
        print(f"left out {name}: {why}")
    return 0


def cmd_compare(args) -> int:
    import datetime as dt

    from .reporting.compare import compare_runs

    if len(args.run_dirs) < 2:
        raise UsageError("sim compare: give at least two run folders")
    dirs = [_run_folder(d, "compare") for d in args.run_dirs]
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    out = args.out if args.out is not None else Path("results") / "compare" / stamp
    with _reading("compare", dirs):
        comparison = compare_runs(dirs, out)
    print(comparison.table)
    print(f"\nwrote {out}  (compare_fall_day, compare_end_states as .png and .svg; compare.txt, compare.json)")
    return 0


def cmd_report(args) -> int:
    from .reporting.reports import kind_of, write_report

    try:
        kind_of(args.folder)
    except ResultsError as exc:
        raise UsageError(f"sim report: {exc}") from None
    with _reading("report", [args.folder]):
        path = write_report(args.folder, args.out)
    print(path)
    return 0


def cmd_paths(args) -> int:
    from .api import write_paths
    from .reporting.text import format_paths
    from .runs.folder import RunFolder
    from .runs.paths import parse_condition, paths_table

    run = RunFolder(_run_folder(args.run_dir, "paths"))
    if run.columns is None:
        raise UsageError(f"sim paths: {args.run_dir}: the run kept no per-replication outcomes; "
                         f"rerun it with them: sim rerun {args.run_dir} --out NEW_FOLDER")
    with _reading("paths", [args.run_dir]):
        try:
            conditions = [parse_condition(text, run.columns) for text in args.given]
        except ValueError as exc:
            raise UsageError(f"sim paths: --given: {exc}") from None
        table = paths_table(run, depth=args.depth, conditions=conditions, name=str(args.run_dir))
    out = args.out if args.out is not None else args.run_dir / "paths"
    write_paths(table, out, plots=args.plots)
    print(format_paths(table, args.top))
    print(f"\nwrote {out}  (paths.json{', paths.png' if args.plots else ''})")
    return 0


def cmd_update(args) -> int:
    """``sim update`` and ``sim timeline``: one forecast per date the news came, or per day."""
    from .api import write_update
    from .forecast.observed import load_observed
    from .forecast.update import TIMELINE, UPDATE, table, update
    from .reporting.text import format_update
    from .runs.runner import new_seed

    kind = TIMELINE if args.command == "timeline" else UPDATE
    seed = args.seed
    if args.scenario.is_dir():  # a finished run: its resolved scenario, and its seed unless --seed says
        from .runs.rerun import read_manifest, run_scenario

        run_dir = _run_folder(args.scenario, kind, histograms=False)
        m = read_manifest(run_dir)
        scenario = run_scenario(run_dir, m, args.overrides, posterior=args.posterior)
        seed = m["seed"] if seed is None else seed
    else:
        scenario = _load_scenario(args)
    observed = load_observed(args.observed)
    seed = seed if seed is not None else new_seed()
    try:
        with _progress(args, f"sim {kind} {scenario.name}") as progress:
            result = update(scenario, observed, particles=args.particles, seed=seed, daily=kind == TIMELINE,
                            through=args.through, skip=tuple(args.skip), tolerance=args.tolerance,
                            progress=progress)
    except ValueError as exc:
        raise UsageError(f"sim {kind}: {exc}") from None
    data = table(result, kind=kind)
    out = args.out if args.out is not None else Path("results") / scenario.name / f"{kind}-{observed.name}"
    write_update(data, out, plots=args.plots)
    for line in result.warnings:
        print(f"sim: warning: {line}", file=sys.stderr)
    if not args.quiet:
        print(format_update(data))
        print()
    print(f"wrote {out}")
    return 0


def cmd_backtest(args) -> int:
    from .api import write_backtest
    from .forecast.backtest import backtest
    from .reporting.text import format_backtest
    from .forecast.observed import load_observed

    scenario = _load_scenario(args)
    observed = load_observed(args.observed)
    survival = None
    if args.reference_class is not None:
        from .forecast.calibration import load_spec, survival_baseline

        survival, later = survival_baseline(load_spec(args.reference_class), scenario.as_of)
        if later:
            print(f"sim: warning: --reference-class: {len(later)} of its cases ended after {scenario.as_of} "
                  f"({', '.join(later[:3])}{', ...' if len(later) > 3 else ''}): the shipped posterior and the "
                  "survival baseline both know them, a hindsight this forecast's date did not have", file=sys.stderr)
    with _progress(args, f"sim backtest {scenario.name}") as progress:
        scores, result = backtest(scenario, observed, args.reps, seed=args.seed, workers=args.workers,
                                  survival=survival, progress=progress)
    out = args.out if args.out is not None else Path("results") / scenario.name / f"backtest-{observed.name}"
    write_backtest(scores, result, out)
    if not args.quiet:
        print(format_backtest(scores))
        print()
    print(f"wrote {out}")
    return 0


def cmd_calibrate(args) -> int:
    from .errors import SweepError
    from .forecast.calibration import calibrate, load_spec, write_calibration

    spec = load_spec(args.spec)
    try:
        with _progress(args, "sim calibrate") as progress:
            result = calibrate(spec, args.particles, seed=args.seed, workers=args.workers, scheduler=args.scheduler,
                               progress=progress)
    except SweepError as exc:
        raise UsageError(str(exc)) from None
    from .reporting.validation_figures import plot_validation

    write_calibration(result, args.out, spec_file=str(args.spec), extras=(plot_validation,))
    for warning in result["posterior"]["warnings"]:
        print(f"sim: warning: posterior: {warning}", file=sys.stderr)
    if not args.quiet:
        print(result["validation_md"])
        print(result["posterior_md"])
    print(f"wrote {args.out}")
    return 0


def _sweep_setup(args, kind: str, *key):
    """The shared part of a sweep or sensitivity run (:class:`sim.studies.points.Base`) and its folder: by
    default named from what defines the run, so that the same command with --resume finds it."""
    import dataclasses

    from .files import read_json
    from .runs.runner import new_seed
    from .studies.points import SPEC_FILE, Base, sweep_key

    overrides = list(args.overrides)
    if args.horizon is not None:
        overrides.append(f"scenario.horizon_days={args.horizon}")
    base = Base.load(args.scenario, overrides, reps=args.reps, seed=0, engine=args.engine,
                     posterior=args.posterior, allow_lookahead=args.allow_lookahead)
    _warn_lookahead(base.scenario())
    out = args.out if args.out is not None else Path("results") / base.scenario().name / \
        f"{kind}-{sweep_key(kind, *key, args.reps, args.engine, overrides, args.seed)}"
    seed = args.seed
    if seed is None and args.resume and (out / SPEC_FILE).is_file():
        try:
            seed = int(read_json(out / SPEC_FILE, limit=10_000_000)["seed"])
        except (ResultsError, ValueError, KeyError, TypeError):
            seed = None
    return dataclasses.replace(base, seed=new_seed() if seed is None else seed), out


def _run_sweep(args, out: Path, call):
    """``(call(progress=...), 0)`` with the command's progress display. A Ctrl-C (or SIGTERM) leaves
    the finished points in ``out``, says how to resume and gives (None, 130 or 143)."""
    import json

    from .errors import SweepError
    from .studies.points import POINTS_FILE, SPEC_FILE

    bar = _progress(args, f"sim {args.command}")
    try:
        return call(progress=bar), 0
    except SweepError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt as exc:
        bar.close()
        what, code = ("terminated", 143) if isinstance(exc, Terminated) else ("interrupted", 130)
        try:
            done = len((out / POINTS_FILE).read_text(encoding="utf-8").splitlines())
            total = json.loads((out / SPEC_FILE).read_text(encoding="utf-8"))["n_points"]
        except (OSError, ValueError, KeyError):
            done, total = 0, "?"
        print(f"sim: {what}; {done} of {total} points are saved in {out / POINTS_FILE}; "
              "run the same command with --resume to finish", file=sys.stderr)
        return None, code
    finally:
        bar.close()


def cmd_sweep(args) -> int:
    from .api import run_grid
    from .reporting.text import format_sweep
    from .studies.grid import parse_param

    params = [parse_param(text) for text in args.params]
    base, out = _sweep_setup(args, "sweep", [(p.path, p.values) for p in params])
    table, code = _run_sweep(args, out, lambda **kw: run_grid(base, params, out, resume=args.resume, workers=args.workers,
                                                        scheduler=args.scheduler, plots=args.plots, **kw))
    if code:
        return code
    if args.quiet:
        print(f"wrote {out}")
    else:
        print(format_sweep(table))
        print(f"\nwrote {out}  (sweep.csv, sweep.json{', figures' if args.plots else ''})")
    return 0


def cmd_sensitivity(args) -> int:
    from .api import run_sensitivity
    from .reporting.text import format_indices
    from .studies.sensitivity import outputs

    n = args.samples if args.samples is not None else (64 if args.method == "sobol" else 20)
    if args.method == "sobol" and n & (n - 1):
        raise UsageError(f"sim sensitivity: --samples: Sobol' sampling needs a power of 2, got {n}")
    if args.method == "morris" and args.levels % 2:
        raise UsageError(f"sim sensitivity: --levels: Morris needs an even number of levels, got {args.levels}")
    paths = [p.strip() for text in args.params for p in text.split(",") if p.strip()] or None
    try:
        labels = outputs(args.outputs, args.within)
    except ValueError as exc:
        raise UsageError(f"sim sensitivity: {exc}") from None
    key = (args.method, n, paths, args.levels, args.second_order, args.resamples)
    base, out = _sweep_setup(args, *key, *((list(labels),) if args.outputs else ()))
    indices, code = _run_sweep(args, out, lambda **kw: run_sensitivity(
        base, args.method, n, out, paths=paths, levels=args.levels, second_order=args.second_order,
        resamples=args.resamples, resume=args.resume, workers=args.workers, scheduler=args.scheduler,
        outputs=labels, plots=args.plots, **kw))
    if code:
        return code
    for warning in indices["warnings"]:
        print(f"sim: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        what = "Morris mu* (per full quantile range) and sigma" if args.method == "morris" else \
            "Sobol' first-order (S1) and total (ST) indices"
        print(f"{indices['title']}  [{indices['scenario']}]\n{what}, {indices['n_points']:,} points of "
              f"{indices['reps']:,} replications, seed {indices['seed']}; ± half-widths of 95% bootstrap intervals\n")
        print(format_indices(args.method, indices["rows"], indices["outputs"]))
        print(f"\nwrote {out}  (indices, tornado and samples as .csv and .json{', figures' if args.plots else ''})")
    else:
        print(f"wrote {out}")
    return 0


def cmd_rerun(args) -> int:
    from .api import write_run
    from .runs.rerun import rerun

    with _progress(args, "sim rerun") as progress:
        again = rerun(_run_folder(args.run_dir, "rerun", histograms=False), workers=args.workers, progress=progress)
    m = again.manifest
    if args.out is not None:
        write_run(again.result, args.out, plots=args.plots)
    for note in again.notes:
        print(f"note: {note}")
    what = f"(seed {m['seed']}, {m['reps']:,} replications, {m['engine']} engine)"
    if again.matches:
        how = "byte for byte" if again.identical else "in every value (not byte for byte)"
        print(f"MATCH: {args.run_dir / 'summary.json'} reproduced {how} {what}")
    else:
        print(f"DIFFERS: {again.difference} {what}")
    if args.out is not None:
        print(f"wrote {args.out}")
    return 0 if again.matches else 1


def cmd_validate(args) -> int:
    from .scenario.provenance import MODEL_DEFAULT, PROVENANCE_HINT, unsourced

    try:
        scenario = _load_scenario(args)
    except ScenarioError as exc:  # the answer to "is it valid?", not a failure of the command
        print(f"sim: error: {one_line(exc)}", file=sys.stderr)
        return 1
    params = scenario.parameters()
    missing = unsourced(params)
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        print(f"sim: warning: {one_line(args.scenario)}: {len(missing)} figure(s) without provenance ({shown}): "
              f"{PROVENANCE_HINT}", file=sys.stderr)
    sources = {p.source for _, p in params if p.source and p.source not in (MODEL_DEFAULT, "assumption")}
    print(f"{one_line(args.scenario)}: valid ({len(params)} parameters, {len(sources)} "
          f"source{'s' * (len(sources) != 1)}, as of {scenario.as_of})")
    return 0


def cmd_params(args) -> int:
    import json

    from .reporting.text import format_parameters
    from .scenario.schema import parameter_rows

    scenario = _load_scenario(args)
    rows = parameter_rows(scenario)
    print(json.dumps(rows, indent=1, ensure_ascii=False) if args.json else format_parameters(scenario, rows))
    return 0


COMMANDS = {"run": cmd_run, "plot": cmd_plot, "rerun": cmd_rerun, "compare": cmd_compare, "report": cmd_report,
            "backtest": cmd_backtest, "calibrate": cmd_calibrate, "sweep": cmd_sweep, "sensitivity": cmd_sensitivity,
            "paths": cmd_paths, "validate": cmd_validate, "params": cmd_params, "update": cmd_update,
            "timeline": cmd_update}


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: temporary folders are removed on the way out."""


_signalled: list[int] = []  # signals received during this command


def _terminate(signum, frame):
    _signalled.append(signum)
    raise Terminated()


def _interrupt(signum, frame):
    _signalled.append(signum)
    raise KeyboardInterrupt()


def _interruption(exc: BaseException | None) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind ``exc``: itself, or one that a C extension wrapped (a SystemError
    from the call the signal handler interrupted)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _interrupted(exc: KeyboardInterrupt | None = None) -> int:
    terminated = isinstance(exc, Terminated) if exc is not None else _signalled[-1] == signal.SIGTERM
    print(f"sim: {'terminated' if terminated else 'interrupted'}; nothing was written for the unfinished run",
          file=sys.stderr)
    return 143 if terminated else 130


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if not argv:  # a bare ``sim``: what it can do, not an error
            build_parser().print_help()
            return 0
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (ScenarioError, ResultsError, UsageError) as exc:
        if _signalled:  # the signal's exception surfaced as another (an unwritable file...)
            return _interrupted()
        print(f"sim: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except BrokenPipeError:  # stdout closed early (sim run ... | head): not an error worth a message
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as exc:
        if _signalled:
            return _interrupted()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"sim: error: {one_line(where)}{one_line(exc.strerror or exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        # A signal handler's exception raised inside a C extension comes out wrapped or replaced
        # (matplotlib's "Invalid affine transformation matrix"): still an interruption.
        if (signalled := _interruption(exc)) is not None or _signalled:
            return _interrupted(signalled)
        if os.environ.get("SIM_TRACEBACK"):
            raise
        print(f"sim: internal error: {one_line(type(exc).__name__)}: {one_line(exc)} (a bug; please report it; "
              "SIM_TRACEBACK=1 shows where)", file=sys.stderr)
        return 70


def main(argv: list[str] | None = None) -> int:
    """The command line: 0 on success, 2 on bad input (one line on stderr), 130 on Ctrl-C, 143 on
    SIGTERM; never a traceback (set SIM_TRACEBACK=1 to see one for an internal error, exit 70)."""
    previous, previous_int, hook = None, None, sys.unraisablehook
    _signalled.clear()
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if ignored (a background job)
            previous_int = signal.signal(signal.SIGINT, _interrupt)
    except ValueError:  # not the main thread (main() called from a test's thread): leave signals alone
        pass
    # A signal that lands in a weakref callback or a __del__ cannot propagate; Python would print it
    # as "Exception ignored in ..." with a traceback. The command finishes instead.
    sys.unraisablehook = lambda u: None if isinstance(u.exc_value, KeyboardInterrupt) else hook(u)
    try:
        return _main(argv)
    except KeyboardInterrupt as exc:  # one that came while an error was being reported
        return _interrupted(exc)
    finally:
        sys.unraisablehook = hook
        try:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if previous_int is not None:
                signal.signal(signal.SIGINT, previous_int)
        except KeyboardInterrupt:  # a signal just as the command ended: it had finished anyway
            pass


if __name__ == "__main__":
    sys.exit(main())
