"""The ``sim`` command: parses arguments and calls the library; every error is one line, exit 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .engines import ENGINES
from .errors import ScenarioError

DEFAULT_ENGINE = "vectorised" if "vectorised" in ENGINES else "reference"


class UsageError(Exception):
    """Bad command-line arguments."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(message if self.prog == "sim" else f"{self.prog}: {message}")


def _whole(minimum: int, unit: str = "whole number"):
    """An argparse type: an integer of at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {unit}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {v}")
        return v
    return parse


_positive_int, _seed, _horizon = _whole(1), _whole(0), _whole(0, "whole number of days")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sim", description="Monte Carlo forecasts of offensives on capitals.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    r = sub.add_parser("run", help="run a scenario and write its results folder")
    r.add_argument("scenario", type=Path, help="scenario TOML file")
    r.add_argument("--reps", type=_positive_int, default=10_000, help="replications (default 10000)")
    r.add_argument("--seed", type=_seed, default=None, help="seed (default: fresh entropy, recorded)")
    r.add_argument("--horizon", type=_horizon, default=None, help="horizon in days (overrides the scenario)")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a parameter, e.g. rebels.north.momentum=1.4 (repeatable)")
    r.add_argument("--engine", choices=sorted(ENGINES), default=DEFAULT_ENGINE)
    r.add_argument("--workers", type=_positive_int, default=1, help="processes (default 1)")
    r.add_argument("--out", type=Path, default=None, help="results folder (default results/<scenario>/<run-id>)")
    r.add_argument("--save-outcomes", dest="save_outcomes", action=argparse.BooleanOptionalAction, default=None,
                   help="write per-replication outcomes (default: when reps <= 1,000,000)")
    r.add_argument("--no-plots", dest="plots", action="store_false", help="skip the figures")
    r.add_argument("--quiet", action="store_true", help="print nothing but errors")

    p = sub.add_parser("plot", help="redraw the figures of a finished run")
    p.add_argument("run_dir", type=Path)
    b = sub.add_parser("backtest", help="score a scenario's forecast against an observed timeline")
    b.add_argument("scenario", type=Path, help="scenario TOML file")
    b.add_argument("--observed", type=Path, required=True, help="observed-timeline TOML file")
    b.add_argument("--reps", type=_positive_int, default=20_000, help="replications (default 20000)")
    b.add_argument("--seed", type=_seed, default=0, help="seed (default 0)")
    b.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    b.add_argument("--workers", type=_positive_int, default=1)
    b.add_argument("--out", type=Path, default=None,
                   help="folder for backtest.json and the figure (default results/<scenario>/backtest-<observed>)")
    b.add_argument("--quiet", action="store_true")

    c = sub.add_parser("calibrate", help="calibrate structural parameters on a reference class of cases")
    c.add_argument("spec", type=Path, help="calibration TOML file (cases and priors)")
    c.add_argument("--proposals", type=_positive_int, default=400, help="prior draws (default 400)")
    c.add_argument("--reps", type=_positive_int, default=400, help="replications per case and draw (default 400)")
    c.add_argument("--seed", type=_seed, default=0, help="seed (default 0)")
    c.add_argument("--out", type=Path, default=Path("results") / "calibration",
                   help="folder for posterior.json, posterior.toml, validation.json and validation.md")
    c.add_argument("--quiet", action="store_true")
    return parser


def cmd_run(args) -> int:
    from .loading import load_scenario
    from .results import run_id, write_run
    from .runner import new_seed, run
    from .summary import format_summary

    overrides = list(args.overrides)
    if args.horizon is not None:
        overrides.append(f"scenario.horizon_days={args.horizon}")
    scenario = load_scenario(args.scenario, overrides)
    seed = new_seed() if args.seed is None else args.seed
    keep = args.save_outcomes if args.save_outcomes is not None else args.reps <= 1_000_000
    result = run(scenario, args.reps, seed=seed, engine=args.engine, workers=args.workers, keep_outcomes=keep)
    out = args.out if args.out is not None else Path("results") / scenario.name / run_id(result)
    write_run(result, out, overrides=overrides, plots=args.plots)
    if not args.quiet:
        print(format_summary(result.summary))
        print(f"\nwrote {out}  ({result.wall_seconds:.2f} s, {args.engine} engine)")
    return 0


def cmd_plot(args) -> int:
    from .plots import plot_run

    if not (args.run_dir / "summary.json").is_file():
        raise UsageError(f"sim plot: {args.run_dir}: not a finished run folder (no summary.json)")
    for path in plot_run(args.run_dir):
        print(path)
    return 0


def cmd_backtest(args) -> int:
    from .backtest import backtest, format_backtest, write_backtest
    from .loading import load_scenario
    from .observed import load_observed

    scenario = load_scenario(args.scenario, args.overrides)
    observed = load_observed(args.observed)
    scores, result = backtest(scenario, observed, args.reps, seed=args.seed, workers=args.workers)
    out = args.out if args.out is not None else Path("results") / scenario.name / f"backtest-{observed.name}"
    write_backtest(scores, result, out)
    if not args.quiet:
        print(format_backtest(scores))
        print(f"\nwrote {out}")
    return 0


def cmd_calibrate(args) -> int:
    from .calibration import calibrate, load_spec
    from .results import write_json

    spec = load_spec(args.spec)
    result = calibrate(spec, args.proposals, args.reps, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "posterior.json", result["posterior"])
    write_json(args.out / "validation.json", result["validation"])
    for name, key in (("posterior.toml", "posterior_toml"), ("validation.md", "validation_md")):
        tmp = args.out / f".{name}.tmp"
        tmp.write_text(result[key], encoding="utf-8")
        tmp.replace(args.out / name)
    if not args.quiet:
        print(result["validation_md"])
        print(f"posterior ESS {result['posterior']['ess']:.1f} of {args.proposals}; wrote {args.out}")
    return 0


COMMANDS = {"run": cmd_run, "plot": cmd_plot, "backtest": cmd_backtest, "calibrate": cmd_calibrate}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (ScenarioError, UsageError) as exc:
        print(f"sim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sim: interrupted; nothing was written for the unfinished run", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
