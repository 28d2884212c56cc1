"""docs/example.ipynb runs from top to bottom and shows what it says it shows."""

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "example.ipynb"


def outputs(cell) -> dict:
    """A code cell's outputs by MIME type (text/plain, text/html, image/png), joined."""
    out: dict[str, str] = {}
    for o in cell.get("outputs", []):
        for kind, value in o.get("data", {}).items():
            out[kind] = out.get(kind, "") + (value if isinstance(value, str) else "".join(value))
        if o.get("output_type") == "stream":
            out["stream"] = out.get("stream", "") + o["text"]
    return out


def test_the_example_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_the_example_notebook_runs_and_shows_the_run():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    assert time.perf_counter() - start < 90
    code = [outputs(c) for c in nb.cells if c.cell_type == "code"]
    scenario, result, by_state, histograms, per_node, figure, sweep = code
    assert "syria-2024-12-07" in scenario["text/plain"] and "<table>" in scenario["text/html"]
    assert "2,000, seed 7" in result["text/plain"] and "P(capital falls)" in result["text/html"]
    assert all(state in by_state["text/plain"] for state in ("captured", "collapsed", "holds"))
    assert "node_falls" in histograms["text/plain"] and "day" in histograms["text/plain"]
    assert "damascus" in per_node["text/plain"]
    assert "image/png" in figure
    assert sweep["text/plain"].count("\n") >= 3 and "falls_by_30d" in sweep["text/plain"]
