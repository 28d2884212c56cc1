"""Memory benchmark: peak resident memory of the commands that handle the most data.

    python benchmarks/memory.py            # 5,000,000 replications (about 3 minutes on 2 cores)
    python benchmarks/memory.py --reps 1000000

1. ``sim run`` of the flagship with ``--save-outcomes``: outcomes are streamed to disk block by block.
2. ``sim plot`` of that run: the drivers figure reads a fixed-size sample, one column at a time.
3. One block of the largest theatre the loader allows (100 nodes, 16 axes on 99-leg routes, 16
   allies, every parameter uncertain): its block size adapts to fit the stated budget.

Each is a fresh process, so its peak RSS is its own. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sim.runs.runner import BLOCK_BUDGET, block_size, row_bytes  # noqa: E402
from sim.scenario.load import load_scenario  # noqa: E402
from sim.scenario.toml import dumps  # noqa: E402

FLAGSHIP = ROOT / "scenarios" / "syria-2024-12-07.toml"

BLOCK = r"""
import resource, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from sim.scenario.load import load_scenario
from sim.runs.runner import block_size, run_block
s = load_scenario({path!r})
t = time.perf_counter()
run_block(s, "vectorised", block_size(s), np.random.SeedSequence(1), True)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def largest_theatre() -> dict:
    """The largest theatre the loader allows, every parameter uncertain."""
    def u(lo, hi):
        return {"dist": "uniform", "low": lo, "high": hi}
    chain = [f"n{i}" for i in range(100)]
    nodes = {"n0": {"controller": "rebels"}}
    nodes.update({n: {"garrison": u(100, 2000), "defense": u(1, 2), "population": u(1e3, 5e3), "importance": u(0.5, 1.5)}
                  for n in chain[1:]})
    axes = {f"a{k}": {"route": chain, "strength": u(5000, 9000), "momentum": u(1, 2), "speed_km_day": u(10, 30),
                      "position_km": u(0, 5), "assaulting": {"dist": "bernoulli", "p": 0.5},
                      "loss_tolerance": u(0.2, 0.4), "joiners_per_day": u(0, 100)} for k in range(16)}
    allies = {f"x{j}": {"side": "government", "commit_per_day": u(0, 1), "delay_days": u(0, 5),
                        "capacity": u(0, 1), "air_support": u(0, 1), "ground_forces": u(0, 1000),
                        "belief_support": u(0, 0.4)} for j in range(16)}
    return {"scenario": {"name": "largest", "as_of": dt.date(2024, 1, 1), "capital": "n99", "horizon_days": 60},
            "nodes": nodes, "roads": {f"{a}-{b}": u(10, 50) for a, b in zip(chain, chain[1:])},
            "rebels": axes, "allies": allies}


WRAP = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def peak_of(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command, measured by a fresh wrapper process (so each
    command's peak is its own: the largest of it and its workers)."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", WRAP, *argv], cwd=cwd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t, int(out.stdout.split()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5_000_000)
    args = ap.parse_args()
    sim = [sys.executable, "-m", "sim.cli"]
    print(f"{'what':<62}{'wall s':>9}{'peak RSS MiB':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = tmp / "run"
        wall, rss = peak_of([*sim, "run", str(FLAGSHIP), "--reps", str(args.reps), "--seed", "1", "--save-outcomes",
                             "--out", str(run), "--quiet"], ROOT)
        size = (run / "outcomes.parquet").stat().st_size / 2**20
        print(f"{f'sim run --reps {args.reps:,} --save-outcomes (figures too)':<62}{wall:>9.1f}{rss:>14,.0f}")
        wall, rss2 = peak_of([*sim, "plot", str(run)], ROOT)
        print(f"{'sim plot of it':<62}{wall:>9.1f}{rss2:>14,.0f}   (outcomes.parquet {size:,.0f} MiB)")
        path = tmp / "largest.toml"
        path.write_text(dumps(largest_theatre()), encoding="utf-8")
        s = load_scenario(path)
        out = subprocess.run([sys.executable, "-c", BLOCK.format(root=str(ROOT / "src"), path=str(path))], check=True,
                             capture_output=True, text=True).stdout.split()
        label = f"one block of the largest theatre ({block_size(s):,} replications)"
        print(f"{label:<62}{float(out[0]):>9.1f}{int(out[1]) / 1024:>14,.0f}")
        print(f"\nestimated {row_bytes(s):,} bytes a replication for the largest theatre; block budget "
              f"{BLOCK_BUDGET / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
