"""Sensitivity benchmark: a Sobol' analysis of 8 of the flagship's uncertain parameters with
N = 256 base samples and second-order indices (256 x (2 x 8 + 2) = 4,608 points, plus 17 tornado
points) at 2,000 replications a point, on 2 worker processes. Target: at most 30 seconds.

    python benchmarks/sensitivity.py            # the target configuration
    python benchmarks/sensitivity.py --quick    # N = 32 (576 points), and the time extrapolated to N = 256

Points run in batches that fill a block (sim.studies.points): the table says how many points a
batch holds. Besides the wall time it prints the CPU seconds of this process and its workers, which
a machine shared with other work inflates less. Figures are printed, not asserted: speed belongs
here, not in the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sim.studies.sensitivity import run_sensitivity, sample_size, tornado_points, factors  # noqa: E402
from sim.studies.points import Base, points_per_batch  # noqa: E402
from sim.reporting.progress import Progress  # noqa: E402

FLAGSHIP = ROOT / "scenarios" / "syria-2024-12-07.toml"
FACTORS = [
    "allies.russia.capacity", "rebels.north.momentum", "rebels.south.momentum", "rebels.north.assaulting",
    "belief.initial", "belief.baseline", "nodes.homs.garrison", "nodes.damascus.garrison",
]
TARGET_N, TARGET_SECONDS = 256, 30.0


def bench(n: int, reps: int, workers: int, seed: int = 1) -> dict:
    base = Base.load(FLAGSHIP, reps=reps, seed=seed)
    points = sample_size("sobol", n, len(FACTORS)) + len(tornado_points(factors(base.scenario(), FACTORS)))
    done = {"n": 0}
    bar = Progress(f"sobol N={n}")

    def progress(n_done, total, unit):
        done["n"] = n_done
        bar(n_done, total, unit)

    def cpu() -> float:  # this process and its finished workers, user and system
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    with tempfile.TemporaryDirectory() as tmp:
        start, cpu_start = time.perf_counter(), cpu()
        indices = run_sensitivity(base, "sobol", n, Path(tmp) / "sobol", paths=FACTORS, workers=workers,
                                  progress=progress)
        wall, cpu_seconds = time.perf_counter() - start, cpu() - cpu_start
    bar.close()
    top = max((r for r in indices["rows"] if r["output"] == "median_fall_day" and r["ST"] is not None),
              key=lambda r: r["ST"], default=None)
    return {"n": n, "points": points, "reps": reps, "workers": workers, "wall": wall, "cpu": cpu_seconds,
            "per_batch": points_per_batch(base), "done": done["n"], "top": top}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 32 and an extrapolation to N = 256")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2000)
    args = ap.parse_args()
    n = 32 if args.quick else TARGET_N
    print(f"Sobol' benchmark · {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__} · load average before {os.getloadavg()[0]:.2f}")
    print(f"flagship, {len(FACTORS)} factors: {', '.join(FACTORS)}")
    r = bench(n, args.reps, args.workers)
    per_point = r["wall"] / r["points"]
    print()
    print("| N | points | reps/point | points/batch | workers | wall s | CPU s | points/s | replications/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {r['n']} | {r['points']:,} | {r['reps']:,} | {r['per_batch']} | {r['workers']} | {r['wall']:.1f} | "
          f"{r['cpu']:.1f} | {r['points'] / r['wall']:.1f} | {r['points'] * r['reps'] / r['wall']:,.0f} |")
    if r["top"]:
        print(f"\nlargest total index on the median fall day: {r['top']['parameter']} "
              f"(ST {r['top']['ST']:.2f} ± {r['top']['ST_conf']:.2f})")
    target_points = sample_size("sobol", TARGET_N, len(FACTORS)) + 2 * len(FACTORS) + 1
    if args.quick:
        estimate = per_point * target_points
        print(f"\nEXTRAPOLATED (not measured): N = {TARGET_N}, {target_points:,} points at {per_point:.3f} s a point "
              f"-> about {estimate:.0f} s; target {TARGET_SECONDS:.0f} s: "
              f"{'within' if estimate <= TARGET_SECONDS else 'OVER'}")
    else:
        verdict = "MEETS" if r["wall"] <= TARGET_SECONDS else "MISSES"
        print(f"\nmeasured: {r['points']:,} points in {r['wall']:.1f} s; target {TARGET_SECONDS:.0f} s: {verdict} "
              f"(load average after {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
