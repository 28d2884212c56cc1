"""Whole-run benchmark: ``sim run`` as a user types it (defaults: every core, outcomes saved up to
10^6 replications, figures) against the engine alone on the same cores, at 10^5 and 10^6
replications (10^7 with --full), with the peak memory of each, and the time of each part of the
run (start-up and imports, the engine, the outcomes file, the figures).

    python benchmarks/runs.py                 # 10^5 and 10^6
    python benchmarks/runs.py --full          # and 10^7
    python benchmarks/runs.py --quick         # 10^5 only
    python benchmarks/runs.py --engine compiled

Each measurement is a fresh process, so its peak RSS (and its workers') is its own. Figures are
printed, not asserted: speed belongs here, not in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "syria-2024-12-07.toml"
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

# The engine alone: blocks run and folded into the streaming summary, nothing written.
ENGINE_ONLY = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from sim.scenario.load import load_scenario
from sim.runs.runner import run
s = load_scenario({scenario!r})
t = time.perf_counter()
run(s, {reps}, seed=1, workers={workers}, engine={engine!r}, keep_outcomes=False)
print(json.dumps({{"engine_s": time.perf_counter() - t}}))
"""


def _peak_mib() -> float:
    """Peak RSS of the largest finished child process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def engine_only(reps: int, engine: str) -> float:
    code = ENGINE_ONLY.format(root=str(ROOT / "src"), scenario=str(FLAGSHIP), reps=reps, workers=CORES, engine=engine)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["engine_s"]


def sim_run(reps: int, engine: str, out: Path) -> tuple[float, float]:
    """Wall seconds and the run's own wall time (manifest.json) of ``sim run`` with its defaults."""
    sim = Path(sys.executable).with_name("sim")
    argv = [str(sim), "run", str(FLAGSHIP), "--reps", str(reps), "--seed", "1", "--out", str(out), "--quiet"]
    if engine != "vectorised":
        argv += ["--engine", engine]
    t = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    wall = time.perf_counter() - t
    return wall, json.loads((out / "manifest.json").read_text())["wall_seconds"]


def figures_time(out: Path) -> float:
    """Seconds to redraw a run's figures (``sim plot``), in a fresh process."""
    sim = Path(sys.executable).with_name("sim")
    t = time.perf_counter()
    subprocess.run([str(sim), "plot", str(out)], check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="add 10^7 replications")
    ap.add_argument("--quick", action="store_true", help="10^5 replications only")
    ap.add_argument("--engine", default="vectorised")
    args = ap.parse_args()
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sim.cli"], check=True)
    startup = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sim"], check=True)
    bare = time.perf_counter() - t
    print(f"flagship {FLAGSHIP.name}, engine {args.engine}, {CORES} workers (the default)")
    print(f"start-up: python -c 'import sim' {bare:.2f} s, 'import sim.cli' {startup:.2f} s\n")
    print(f"{'reps':>12}{'engine s':>10}{'sim run s':>11}{'ratio':>7}{'figures s':>11}{'outcomes MiB':>14}"
          f"{'peak RSS MiB':>14}")
    for reps in [10**5] + ([] if args.quick else [10**6]) + ([10**7] if args.full else []):
        engine_s = engine_only(reps, args.engine)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            wall, _ = sim_run(reps, args.engine, out)
            peak = _peak_mib()
            size = (out / "outcomes.parquet").stat().st_size / 2**20 if (out / "outcomes.parquet").exists() else 0
            fig = figures_time(out)
        print(f"{reps:>12,}{engine_s:>10.1f}{wall:>11.1f}{wall / engine_s:>7.2f}{fig:>11.1f}{size:>14,.0f}"
              f"{peak:>14,.0f}", flush=True)
    print("\nratio: sim run's wall time over the engine's alone; figures: sim plot of that run in a fresh process;"
          "\npeak RSS: the largest single process so far (main or a worker)")


if __name__ == "__main__":
    main()
