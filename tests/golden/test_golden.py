"""Seeded outputs are unchanged (golden hashes), and the committed example run reruns to the byte."""

import json
import subprocess
import sys

import pytest

from tests.golden import cases

GOLDEN = json.loads(cases.GOLDEN.read_text(encoding="utf-8"))
CHANGED = "seeded outputs changed: if on purpose, run `make golden` and say why in the commit"


@pytest.fixture(scope="module")
def same_machine():
    here, there = cases.machine(), GOLDEN["machine"]
    if here != there:
        differs = ", ".join(k for k in here if here[k] != there.get(k))
        pytest.skip(f"golden hashes were taken on another machine ({differs} differ): NEP 19 streams and SIMD "
                    "results may change with numpy and the CPU")


def _mismatches(got: dict, want: dict) -> list[str]:
    return [k for k in sorted(set(got) | set(want)) if got.get(k) != want.get(k)]


def test_engine_outputs_are_unchanged(same_machine, tmp_path):
    assert _mismatches(cases.engine_digests(tmp_path), GOLDEN["engines"]) == [], CHANGED


def test_multi_block_run_is_unchanged_through_one_and_two_workers(same_machine):
    got = cases.multi_block_digests()
    assert got["workers=1"] == got["workers=2"]
    assert _mismatches(got, GOLDEN["multi_block"]) == [], CHANGED


def test_command_outputs_are_unchanged(same_machine, tmp_path):
    assert _mismatches(cases.command_digests(tmp_path), GOLDEN["commands"]) == [], CHANGED


def test_the_committed_example_reruns_byte_for_byte():
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "rerun", "results/example"], cwd=cases.ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("MATCH:") and "byte for byte" in proc.stdout, proc.stdout
