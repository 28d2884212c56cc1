"""Project rules that a grep can check: the theatre is data; no global random state."""

import re

from tests.conftest import ROOT

SIM = ROOT / "src" / "sim"
PLACES = re.compile(r"aleppo|damascus|\bhoms\b|\bhama\b|idlib|daraa|syria|kabul|saigon|tripoli|mosul", re.I)
GLOBAL_RNG = re.compile(r"np\.random\.(seed|rand|randn|random|normal|uniform|exponential|choice|poisson|binomial"
                        r"|triangular|lognormal|beta|gamma|shuffle|permutation|randint)\(|^\s*import random\b"
                        r"|^\s*from random import", re.M)


def sources():
    return sorted(SIM.rglob("*.py"))


def test_sim_names_no_place():
    bad = [str(p) for p in sources() if PLACES.search(p.read_text())]
    assert not bad, f"place names in the engine code (the theatre belongs in scenarios/): {bad}"


def test_no_global_random_state():
    bad = [f"{p}: {m.group(0)}" for p in sources() for m in GLOBAL_RNG.finditer(p.read_text())]
    assert not bad, bad


def test_no_eval_of_scenario_text():
    bad = [str(p) for p in sources() if re.search(r"\b(eval|exec)\(", p.read_text())]
    assert not bad


def test_import_sim_loads_nothing_heavy_and_every_name_resolves():
    """``import sim`` loads no numpy, scipy or matplotlib (its names import on first use), and each
    name in ``sim.__all__`` is there when asked for."""
    import subprocess
    import sys
    code = ("import sys, sim; heavy = [m for m in ('numpy', 'scipy', 'matplotlib', 'simpy') if m in sys.modules]; "
            "print(heavy); [getattr(sim, n) for n in sim.__all__]; print(sorted(set(sim.__all__) - set(dir(sim))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert proc.stdout.split("\n")[:2] == ["[]", "[]"], proc.stdout
