"""Command-line and packaging conventions: --version, a bare ``sim``, ``python -m sim``, help on
every option with an example a command, and a package that builds as a wheel and an sdist."""

import argparse
import email
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

import sim
from sim.cli import EXAMPLES, build_parser, main

from tests.conftest import ROOT


def commands():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def test_a_bare_sim_prints_its_usage_and_every_command(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: sim") and all(f"  {name}" in out for name in commands())


def test_version_and_python_dash_m(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out == f"sim {sim.__version__}\n"
    proc = subprocess.run([sys.executable, "-m", "sim", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == f"sim {sim.__version__}\n"


def test_every_option_has_help_and_every_command_an_example_that_parses():
    parser = build_parser()
    for name, sub in commands().items():
        missing = [a.option_strings or a.dest for a in sub._actions if not a.help]
        assert not missing, f"sim {name}: no help for {missing}"
        example = EXAMPLES[name]
        assert f"example:\n  {example}" in sub.format_help()
        argv = shlex.split(example)[1:]
        assert parser.parse_args(argv).command == name


def test_the_package_builds_as_a_wheel_and_an_sdist_with_its_metadata(tmp_path):
    pytest.importorskip("build")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "src" / "sim", src / "src" / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir",
                           str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    (sdist,) = (tmp_path / "dist").glob("*.tar.gz")
    assert wheel.name == f"sim-{sim.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = email.message_from_bytes(z.read(f"sim-{sim.__version__}.dist-info/METADATA"))
        entry = z.read(f"sim-{sim.__version__}.dist-info/entry_points.txt").decode()
    assert {"sim/__main__.py", "sim/cli.py", "sim/engines/vectorised/__init__.py"} <= set(names)
    assert not any(n.startswith("tests/") for n in names)
    assert "sim = sim.cli:main" in entry
    assert meta["Name"] == "sim" and meta["Version"] == sim.__version__ and meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.11" and meta["Summary"] and meta["Author"]
    requires = " ".join(meta.get_all("Requires-Dist"))
    assert all(dep in requires for dep in ("numpy", "scipy", "simpy", "matplotlib", "tqdm"))
    assert "test" in meta.get_all("Provides-Extra") and meta.get_all("Classifier")
    assert meta.get_payload().lstrip().startswith("# ")  # the README is the long description
    with tarfile.open(sdist) as t:
        members = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "README.md", "LICENSE", "src/sim/cli.py"} <= members
