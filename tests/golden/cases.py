"""Golden hashes: SHA-256 digests of seeded outputs, taken before a refactoring and kept by it.

Pinned: every outcome column and parameter draw of both engines on shipped and synthetic theatres
at several seeds; a multi-block run through one and two workers; and the files that ``sim run``,
``sweep``, ``sensitivity``, ``backtest``, ``calibrate`` and ``compare`` write for a fixed seed.

numpy may change its Generator streams between versions, and its SIMD ``exp`` can differ in the
last bit between CPUs, so the digests are a guard on the machine that took them (its numpy and CPU
are recorded), not a cross-platform promise. Regenerate with ``make golden`` and say why in the commit.

A machine with more SIMD than the recorded one reproduces its digests when numpy and OpenBLAS are
told to dispatch as it did (checked: an AVX-512 Xeon gives every digest of the recorded AVX2 EPYC)::

    NPY_DISABLE_CPU_FEATURES="AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR \
      AVX512BF16 AVX512BITALG AVX512BW AVX512DQ AVX512FP16 AVX512IFMA AVX512VBMI AVX512VBMI2 AVX512VL \
      AVX512VNNI AVX512VPOPCNTDQ X86_V4 GFNI" OPENBLAS_CORETYPE=Haswell \
      python -m tests.golden.cases --check          # or --write --keep-machine

``--check`` prints the keys whose digests differ; ``--keep-machine`` writes new digests under the
recorded machine's description, so the tests keep running there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

from tests.conftest import small_reference_class

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
GOLDEN = Path(__file__).with_name("golden.json")

ENGINE_REPS = {"reference": 60, "vectorised": 3000}
SEEDS = (1, 2, 3)
MULTI_BLOCK = 4_000               # the block size of the multi-block run
MULTI_REPS = 2 * MULTI_BLOCK + 1_500


def machine() -> dict:
    """What the digests depend on besides the code: numpy's version and the CPU's SIMD dispatch."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    return {"numpy": np.__version__, "machine": platform.machine(), "cpu": model,
            "simd": sorted(k for k, v in features.items() if v)}


def digest_arrays(arrays: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(a.dtype.str.encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def digest_outcomes(out, draws) -> str:
    arrays = {f"outcome:{f.name}": getattr(out, f.name) for f in dataclasses.fields(out)}
    arrays.update({f"draw:{path}": column for path, column in draws.by_path.items()})
    return digest_arrays(arrays)


def histogram_arrays(path: Path) -> dict:
    """A run's histograms.nc as the arrays histograms.npz held, under its names and dtypes, so the
    digests taken of histograms.npz hold the netCDF file to the same counts."""
    from sim.runs import histograms

    ds = histograms.read(path)
    return {"bin_days": np.array(float(ds.attrs["bin_days"])), "capital": ds["capital_falls"].values,
            "capital_daily": ds["capital_falls_daily"].values, "nodes": ds["node_falls"].values,
            "end_states": ds["end_state_falls"].values, "control": ds["control"].values,
            "control_days": ds["control_day"].values, "control_weights": ds["control_weight"].values,
            "control_basis": np.array(ds.attrs["control_basis"])}


def digest_file(path: Path) -> str:
    """The bytes of a text file; the arrays of an .npz (its zip entries carry timestamps), of a
    run's histograms.nc (:func:`histogram_arrays`) or of its outcomes.parquet (its footer names the
    writer's version)."""
    if path.suffix == ".npz":
        with np.load(path) as z:
            return digest_arrays({k: z[k] for k in z.files})
    if path.suffix == ".nc":
        return digest_arrays(histogram_arrays(path))
    if path.suffix == ".parquet":
        from sim.runs.folder import Columns
        columns = Columns(path)
        return digest_arrays({k: columns[k] for k in columns})
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------ engine cases

def _synthetic(extra: dict):
    from tests.conftest import base_doc, merge
    return merge(base_doc(), extra)


def engine_scenarios(tmp: Path) -> dict:
    """The theatres whose engine outputs are pinned, loaded from real files."""
    from sim.scenario.load import load_scenario
    from sim.scenario.toml import dumps
    from tests.conftest import QUIET

    synthetic = {
        "base": {},
        "no_hazards": {**QUIET, "allies": None},
        "rebel_ally": {"allies": {"friend": {"side": "rebels", "commit_per_day": 0.5, "ground_forces": 3000}}},
        "cascade_and_exit": {"belief": {"initial": 0.3}, "nodes": {"cap": {"core_share": 0.5, "reserve": 2000}},
                             "leadership": {"max_exit_per_day": 0.5}},
        "two_axes": {"nodes": {"south": {"controller": "rebels"}}, "roads": {"south-town": 30},
                     "rebels": {"south": {"route": ["south", "town", "cap"], "strength": 3000,
                                          "assaulting": {"dist": "bernoulli", "p": 0.5}}}},
    }
    out = {"flagship": load_scenario(FLAGSHIP),
           "first_day": load_scenario(SCENARIOS / "syria-2024-11-27.toml", ["scenario.horizon_days=40"])}
    for name, extra in synthetic.items():
        path = tmp / f"{name}.toml"
        path.write_text(dumps(_synthetic(extra)), encoding="utf-8")
        out[name] = load_scenario(path)
    return out


def engine_digests(tmp: Path) -> dict:
    from sim.engines import ENGINES

    scenarios = engine_scenarios(tmp)
    digests: dict = {}
    for engine in sorted(ENGINES):
        for case, scenario in scenarios.items():
            for seed in SEEDS:
                out, draws = ENGINES[engine].simulate(scenario, ENGINE_REPS[engine], rng=np.random.default_rng(seed))
                digests[f"{engine}/{case}/{seed}"] = digest_outcomes(out, draws)
    return digests


# ------------------------------------------------------------------------------ runs

def run_digest(result) -> str:
    from sim.runs.folder import json_bytes

    arrays = {f"outcome:{f.name}": getattr(result.outcomes, f.name) for f in dataclasses.fields(result.outcomes)}
    arrays.update({f"param:{k}": v for k, v in result.parameters.items()})
    arrays["summary"] = np.frombuffer(json_bytes(result.summary), dtype=np.uint8)
    return digest_arrays(arrays)


def multi_block_digests() -> dict:
    """A run of three blocks (blocks made small) through one worker and through two."""
    from sim.runs import runner
    from sim.scenario.load import load_scenario

    scenario = load_scenario(FLAGSHIP)
    saved = runner.BLOCK_SIZE
    runner.BLOCK_SIZE = MULTI_BLOCK
    try:
        return {f"workers={w}": run_digest(runner.run(scenario, MULTI_REPS, seed=11, workers=w)) for w in (1, 2)}
    finally:
        runner.BLOCK_SIZE = saved


# ------------------------------------------------------------------------------ command outputs

OBSERVED = SCENARIOS / "observed" / "syria-2024.toml"
CALIBRATION = "small-reference-class.toml"  # written by command_digests: the shipped spec cut to three wars

# Each command is run in a fresh folder (the working directory, so paths in outputs are relative);
# the files listed after it are pinned. Studies run in one process (--workers 1): their points log is
# in the order points finished, which a pool may change (their tables never change).
COMMANDS = {
    "run": (["run", FLAGSHIP, "--reps", "3000", "--seed", "5", "--no-plots", "--out", "run"],
            ["run/summary.json", "run/histograms.nc", "run/outcomes.parquet", "run/scenario.toml"]),
    "run_variant": (["run", SCENARIOS / "syria-2024-12-07-homs-holds.toml", "--reps", "2000", "--seed", "5",
                     "--no-plots", "--out", "variant", "--set", "allies.russia.capacity=0.6"],
                    ["variant/summary.json", "variant/histograms.nc"]),
    "sweep": (["sweep", FLAGSHIP, "--param", "allies.russia.capacity=0.1:0.9:3", "--param",
               "rebels.north.momentum=1.5,2.5", "--reps", "400", "--seed", "3", "--no-plots", "--out", "sweep", "--workers", "1"],
              ["sweep/sweep.json", "sweep/sweep.csv", "sweep/points.jsonl", "sweep/spec.json"]),
    "morris": (["sensitivity", FLAGSHIP, "--method", "morris", "--samples", "3", "--reps", "300", "--seed", "2",
                "--params", "allies.russia.capacity,rebels.north.momentum,nodes.homs.garrison", "--no-plots",
                "--out", "morris", "--workers", "1"],
               ["morris/indices.json", "morris/tornado.json", "morris/samples.json"]),
    "sobol": (["sensitivity", FLAGSHIP, "--method", "sobol", "--samples", "4", "--reps", "200", "--seed", "4",
               "--params", "allies.russia.capacity,rebels.north.momentum", "--no-plots", "--out", "sobol",
               "--workers", "1"],
              ["sobol/indices.json", "sobol/tornado.json", "sobol/samples.json"]),
    "backtest": (["backtest", FLAGSHIP, "--observed", OBSERVED, "--reps", "2000", "--seed", "1", "--out", "backtest",
                  "--quiet"],
                 ["backtest/backtest.json", "backtest/cdfs.npz"]),
    "calibrate": (["calibrate", CALIBRATION, "--particles", "200", "--seed", "1", "--out", "calibration", "--quiet",
                   "--workers", "1"],
                  ["calibration/posterior.json", "calibration/posterior.toml", "calibration/validation.json",
                   "calibration/validation.md", "calibration/posterior.md"]),
    "compare": (["compare", "run", "variant", "--out", "compare"], ["compare/compare.json", "compare/compare.txt"]),
}


def command_digests(tmp: Path) -> dict:
    from sim.cli import main

    digests: dict = {}
    here = Path.cwd()
    os.chdir(tmp)
    small_reference_class(tmp)
    try:
        for name, (argv, files) in COMMANDS.items():
            with contextlib.redirect_stdout(io.StringIO()):
                code = main([str(a) for a in argv])
            assert code == 0, f"{name}: exit {code}"
            for f in files:
                digests[f"{name}:{f}"] = digest_file(tmp / f)
    finally:
        os.chdir(here)
    return digests


def compute(tmp: Path) -> dict:
    (tmp / "engines").mkdir()
    (tmp / "commands").mkdir()
    return {"engines": engine_digests(tmp / "engines"), "multi_block": multi_block_digests(),
            "commands": command_digests(tmp / "commands")}


def main(argv: list[str]) -> int:
    """``python -m tests.golden.cases --write`` (``make golden``) records the digests of this code;
    ``--write --keep-machine`` records them under the machine already recorded; ``--check`` prints
    the keys that differ from the record (exit 1 if any)."""
    import tempfile

    if argv not in (["--write"], ["--write", "--keep-machine"], ["--check"]):
        print("usage: python -m tests.golden.cases --write [--keep-machine] | --check", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        digests = compute(Path(tmp))
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    if argv == ["--check"]:
        differ = [f"{group}/{k}" for group in digests for k in sorted(set(digests[group]) | set(recorded[group]))
                  if digests[group].get(k) != recorded[group].get(k)]
        print("\n".join(differ) if differ else "every digest matches the record")
        return 1 if differ else 0
    golden = {"machine": recorded["machine"] if "--keep-machine" in argv else machine(), **digests}
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
