"""Engine benchmark: replications and events per second for both engines on the flagship, then
wall time and peak memory of whole runs at 10^5, 10^6 and 10^7 replications with 1 and 2 workers.

    python benchmarks/engines.py            # the full table (about 10 minutes on 2 cores)
    python benchmarks/engines.py --quick    # 10^5 and 10^6 only

Figures are printed, not asserted: speed belongs here, not in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sim.engines.draws import draw_parameters  # noqa: E402
from sim.engines.reference import Replication  # noqa: E402
from sim.engines.vectorised import Block  # noqa: E402
from sim.scenario.load import load_scenario  # noqa: E402
from sim.runs.runner import BLOCK_SIZE  # noqa: E402
from sim.engines.theatre import Theatre  # noqa: E402

FLAGSHIP = ROOT / "scenarios" / "syria-2024-12-07.toml"

# Run in a fresh interpreter so that its peak resident memory is its own.
CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from sim.scenario.load import load_scenario
from sim.runs.runner import run
s = load_scenario({scenario!r})
t = time.perf_counter()
r = run(s, {reps}, seed=1, workers={workers}, keep_outcomes=False)
wall = time.perf_counter() - t
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({{"wall": wall, "self_kib": me, "child_kib": kids,
                   "p_captured": r.summary["end_states"]["captured"]["p"]}}))
"""


def reference_speed(scenario, reps: int, seed: int = 1):
    th = Theatre.from_scenario(scenario)
    rng = np.random.default_rng(seed)
    draws = draw_parameters(scenario, reps, rng=rng)
    events = 0
    t = time.perf_counter()
    for i in range(reps):
        rep = Replication(th, draws.row(i), scenario.horizon_days, rng)
        rep.run()
        events += rep.events
    wall = time.perf_counter() - t
    return reps / wall, events / wall


def vectorised_speed(scenario, reps: int, seed: int = 1):
    th = Theatre.from_scenario(scenario)
    events, done = 0, 0
    t = time.perf_counter()
    for child in np.random.SeedSequence(seed).spawn(-(-reps // BLOCK_SIZE)):
        rng = np.random.default_rng(child)
        n = min(BLOCK_SIZE, reps - done)
        block = Block(th, draw_parameters(scenario, n, rng=rng), scenario.horizon_days, rng)
        block.run()
        events += block.events
        done += n
    wall = time.perf_counter() - t
    return reps / wall, events / wall


def whole_run(reps: int, workers: int) -> dict:
    code = CHILD.format(root=str(ROOT / "src"), scenario=str(FLAGSHIP), reps=reps, workers=workers)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip 10^7 replications")
    ap.add_argument("--reference-reps", type=int, default=1000)
    ap.add_argument("--vectorised-reps", type=int, default=3 * BLOCK_SIZE)
    args = ap.parse_args()

    scenario = load_scenario(FLAGSHIP)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print(f"scenario: {scenario.name} (horizon {scenario.horizon_days} days)\n")

    ref_rps, ref_eps = reference_speed(scenario, args.reference_reps)
    vec_rps, vec_eps = vectorised_speed(scenario, args.vectorised_reps)
    print(f"engine speed, one process (reference {args.reference_reps:,} replications, "
          f"vectorised {args.vectorised_reps:,})")
    print(f"{'engine':<12}{'reps/s':>12}{'events/s':>14}")
    print(f"{'reference':<12}{ref_rps:>12,.0f}{ref_eps:>14,.0f}")
    print(f"{'vectorised':<12}{vec_rps:>12,.0f}{vec_eps:>14,.0f}")
    print(f"ratio vectorised / reference: {vec_rps / ref_rps:,.0f}x\n")

    sizes = [10**5, 10**6] + ([] if args.quick else [10**7])
    print("whole runs (sim.runs.runner.run, streaming aggregates, outcomes not kept)")
    print(f"{'reps':>12}{'workers':>9}{'wall s':>9}{'reps/s':>12}{'peak RSS MiB':>14}")
    for reps in sizes:
        for workers in (1, 2):
            r = whole_run(reps, workers)
            rss = (r["self_kib"] + workers * r["child_kib"] * (workers > 1)) / 1024
            print(f"{reps:>12,}{workers:>9}{r['wall']:>9.1f}{reps / r['wall']:>12,.0f}{rss:>14,.0f}", flush=True)
    print("\npeak RSS: the main process plus, with 2 workers, twice the largest worker's peak (an upper bound)")


if __name__ == "__main__":
    main()
