"""The package's shape: imports point down the layers (pyproject.toml, [tool.importlinter]), no
module imports another's private names, and the vectorised engine declares its state."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SIM = ROOT / "src" / "sim"


def test_imports_point_down_the_layers_and_never_in_a_cycle():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout and proc.stdout.count("KEPT") >= 2, proc.stdout[-2000:]


def _modules():
    for path in sorted(SIM.rglob("*.py")):
        parts = path.relative_to(SIM.parent).with_suffix("").parts
        yield path, ".".join(parts[:-1] if parts[-1] == "__init__" else parts), parts[-1] == "__init__"


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def private_imports():
    """(module, what) for each private name one module takes from another: ``from .x import _y``,
    or ``x._y`` where ``x`` is a module of the package imported by name."""
    for path, module, is_package in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = set()  # local names bound to modules of the package
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _absolute(module, is_package, node)
                if not source.startswith("sim"):
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        yield module, f"{source}.{alias.name}"
                    imported.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                imported.update(a.asname or a.name for a in node.names if a.name.startswith("sim"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported \
                    and node.attr.startswith("_") and not node.attr.startswith("__"):
                yield module, f"{node.value.id}.{node.attr}"


def test_no_module_imports_another_modules_private_names():
    assert list(private_imports()) == []


def test_importing_the_package_does_not_import_the_figures():
    """matplotlib is imported only when a figure is drawn (sim.write_run, the reporting layer)."""
    code = "import sys, sim; sys.exit(int('matplotlib' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120).returncode == 0
