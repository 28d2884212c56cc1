"""Global sensitivity through SALib: factors from a scenario, the wrappers pinned on Ishigami, and
tiny Morris and Sobol runs of the flagship end to end."""

import json
import math

import numpy as np
import pytest

from sim.cli import main
from sim.scenario.distributions import LogNormal, Uniform
from sim.errors import ScenarioError
from sim.studies.sensitivity import (
    OUTPUTS, TAIL, Factor, analyse, diagnose, factors, outputs, points_from, problem, sample, sample_size,
    tornado_points,
)
from sim.studies.points import Base

from tests.conftest import SCENARIOS

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
FEW = ["allies.russia.capacity", "rebels.north.momentum", "belief.initial"]


@pytest.fixture(scope="module")
def flagship():
    return Base.load(FLAGSHIP, reps=200, seed=3).scenario()


# --------------------------------------------------------------------------- factors


def test_factors_are_the_uncertain_parameters(flagship):
    facs = factors(flagship)
    assert [f.path for f in facs] == [p for p, _ in flagship.uncertain_parameters()]
    assert [f.path for f in factors(flagship, FEW)] == FEW


@pytest.mark.parametrize("path, words", [
    ("combat.counterattack_per_day", "fixed in the scenario"),
    ("rebels.east.momentum", "unknown parameter path"),
])
def test_factors_must_be_uncertain(flagship, path, words):
    with pytest.raises(ScenarioError, match=words) as err:
        factors(flagship, [path])
    assert str(err.value).startswith(f"--params: {path}")


def test_factor_range_comes_from_its_distribution():
    u = Factor("a.b", Uniform(2.0, 6.0))
    assert (u.low, u.central, u.high) == (2.0, 4.0, 6.0)
    np.testing.assert_allclose(u.value(np.array([0.25, 0.75])), [3.0, 5.0])
    ln = Factor("a.c", LogNormal(10.0, 1.0))  # unbounded above: its tail is cut
    assert ln.low == 0.0 and ln.central == pytest.approx(10.0)
    assert math.isfinite(ln.high) and ln.high == pytest.approx(float(LogNormal(10.0, 1.0).ppf(1 - TAIL)))


def test_tornado_points_move_one_factor_at_a_time():
    facs = [Factor("a.b", Uniform(0.0, 1.0)), Factor("c.d", Uniform(10.0, 20.0))]
    pts = tornado_points(facs)
    assert pts[0] == {"a.b": 0.5, "c.d": 15.0}
    assert pts[1:] == [{"a.b": pytest.approx(0.05), "c.d": 15.0}, {"a.b": pytest.approx(0.95), "c.d": 15.0},
                       {"a.b": 0.5, "c.d": pytest.approx(10.5)}, {"a.b": 0.5, "c.d": pytest.approx(19.5)}]


# --------------------------------------------------------------------------- the SALib wrappers


def ishigami(x: np.ndarray, a=7.0, b=0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def _ishigami_run(method, n, **kw):
    facs = [Factor(f"x.{i}", Uniform(-math.pi, math.pi)) for i in (1, 2, 3)]
    prob = problem(facs)
    u = sample(method, prob, n, seed=42, **kw)
    assert len(u) == sample_size(method, n, 3, **({"second_order": kw["second_order"]} if "second_order" in kw else {}))
    x = np.array([[p[f.path] for f in facs] for p in points_from(facs, u)])
    rows, second = analyse(method, prob, u, {"y": ishigami(x)}, seed=42, **kw)
    return {r["parameter"]: r for r in rows}, second


def test_sobol_wrapper_recovers_the_ishigami_indices():
    """Analytic indices of Ishigami (a = 7, b = 0.1): S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437)."""
    rows, second = _ishigami_run("sobol", 1024)
    s1 = [rows[f"x.{i}"]["S1"] for i in (1, 2, 3)]
    st = [rows[f"x.{i}"]["ST"] for i in (1, 2, 3)]
    np.testing.assert_allclose(s1, [0.3139, 0.4424, 0.0], atol=0.05)
    np.testing.assert_allclose(st, [0.5576, 0.4424, 0.2437], atol=0.05)
    for r in rows.values():
        assert 0 < r["S1_conf"] < 0.1 and 0 < r["ST_conf"] < 0.1
    s2 = np.array(second["y"]["S2"], dtype=float)
    assert s2[0, 2] == pytest.approx(0.2437, abs=0.08)  # the x1-x3 interaction carries the rest


def test_the_diagnostics_pass_a_large_sample_and_flag_a_small_one():
    rows, _ = _ishigami_run("sobol", 1024)
    assert diagnose("sobol", list(rows.values()), {"y": "Ishigami"}) == []
    small, _ = _ishigami_run("sobol", 4)
    notes = diagnose("sobol", list(small.values()), {"y": "Ishigami"})
    assert len(notes) == 1 and notes[0].startswith("Ishigami: ") and "raise --samples" in notes[0]
    assert "95% intervals up to" in notes[0]
    morris, _ = _ishigami_run("morris", 60)
    assert diagnose("morris", list(morris.values()), {"y": "Ishigami"}) == []


def test_the_diagnostics_name_s1_above_st_and_negative_indices():
    row = {"output": "y", "constant": False, "S1_conf": 0.01, "ST_conf": 0.01}
    rows = [{**row, "parameter": "a", "S1": 0.5, "ST": 0.3}, {**row, "parameter": "b", "S1": -0.2, "ST": 0.2},
            {**row, "parameter": "c", "S1": 0.1, "ST": 0.11}]
    (note,) = diagnose("sobol", rows, {"y": "P(y)"})
    assert "S1 > ST for a; negative indices for b: too few" in note and "intervals" not in note
    rows = [{"output": "y", "constant": False, "parameter": "a", "mu_star": 0.2, "mu_star_conf": 0.15, "sigma": 0.1}]
    (note,) = diagnose("morris", rows, {"y": "P(y)"})
    assert "top factor's mu* (a) is 0.2 ± 0.15" in note


def test_the_outputs_to_explain():
    assert outputs() == OUTPUTS
    assert outputs(["falls-within", "captured"], 14) == {"falls_by_14d": "P(capital falls within 14 days)",
                                                         "captured": "P(captured)"}
    assert list(outputs(["median-day"])) == ["median_fall_day"]
    for names, within, words in [(["falls-within"], None, "needs --within"), ([], 14, "--within is the day"),
                                 (["collapsed"], 14, "--within is the day"), (["fast"], None, "unknown output")]:
        with pytest.raises(ValueError, match=words):
            outputs(names, within)


def test_sobol_without_second_order_uses_fewer_points():
    rows, second = _ishigami_run("sobol", 256, second_order=False)
    assert second == {} and rows["x.2"]["S1"] == pytest.approx(0.4424, abs=0.1)


def test_morris_wrapper_screens_ishigami():
    rows, _ = _ishigami_run("morris", 60)
    mu_star = {k: r["mu_star"] for k, r in rows.items()}
    assert all(r["mu_star_conf"] > 0 for r in rows.values())
    assert mu_star["x.1"] > mu_star["x.3"] > 0 and mu_star["x.2"] > mu_star["x.3"]
    # x1 acts through an interaction with x3, so its effects vary: sigma is large.
    assert rows["x.1"]["sigma"] > 0.5 * rows["x.1"]["mu_star"]


def test_a_constant_output_has_no_indices():
    prob = problem([Factor("a.b", Uniform(0, 1)), Factor("c.d", Uniform(0, 1))])
    u = sample("sobol", prob, 8, seed=1)
    rows, _ = analyse("sobol", prob, u, {"y": np.ones(len(u))}, seed=1)
    assert all(r["constant"] and r["S1"] is None and r["ST"] is None for r in rows)


def test_bad_method_or_sizes():
    prob = problem([Factor("a.b", Uniform(0, 1))])
    with pytest.raises(ValueError, match="power of 2"):
        sample("sobol", prob, 12, seed=1)
    with pytest.raises(ValueError, match="unknown method"):
        sample("fast", prob, 8, seed=1)
    with pytest.raises(ValueError, match="even number"):
        sample("morris", prob, 4, seed=1, levels=3)


# --------------------------------------------------------------------------- the flagship, end to end


def test_morris_on_the_flagship(tmp_path, capsys):
    out = tmp_path / "morris"
    code = main(["sensitivity", str(FLAGSHIP), "--method", "morris", "--samples", "3", "--reps", "200",
                 "--params", ",".join(FEW), "--seed", "5", "--horizon", "14", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "mu*" in text and "rebels.north.momentum" in text
    for name in ["indices.csv", "indices.json", "tornado.csv", "tornado.json", "samples.csv", "samples.json",
                 "indices.png", "tornado.png", "morris.png", "points.jsonl", "manifest.json"]:
        assert (out / name).is_file(), name
    table = json.loads((out / "indices.json").read_text())
    assert table["method"] == "morris" and table["n_points"] == 3 * (3 + 1)
    assert len(table["rows"]) == len(OUTPUTS) * 3
    for r in table["rows"]:
        assert r["mu_star"] >= 0 and r["mu_star_conf"] is not None and r["sigma"] >= 0
    # 12 SALib points and 7 tornado points ran.
    assert len((out / "points.jsonl").read_text().splitlines()) == 12 + 7
    tornado = json.loads((out / "tornado.json").read_text())
    assert {r["parameter"] for r in tornado["rows"]} == set(FEW) and all(r["swing"] >= 0 for r in tornado["rows"])


def test_sobol_on_the_flagship(tmp_path, capsys):
    out = tmp_path / "sobol"
    code = main(["sensitivity", str(FLAGSHIP), "--method", "sobol", "--samples", "8", "--reps", "150",
                 "--params", FEW[0], "--params", FEW[1], "--seed", "5", "--horizon", "14", "--out", str(out),
                 "--no-plots"])
    assert code == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "S1" in text and "ST" in text
    table = json.loads((out / "indices.json").read_text())
    assert captured.err.count("sim: warning: ") == len(table["warnings"])
    assert table["n_points"] == 8 * (2 * 2 + 2) and [f["path"] for f in table["factors"]] == FEW[:2]
    for r in table["rows"]:
        if not r["constant"]:
            assert r["S1_conf"] is not None and r["ST_conf"] is not None
    assert set(table["second_order"]) <= set(OUTPUTS)
    assert table["warnings"] and all("raise --samples" in w for w in table["warnings"])  # N = 8 is too small
    samples = (out / "samples.csv").read_text().splitlines()
    assert len(samples) == 1 + 48 and samples[0].startswith(f"point,{FEW[0]},{FEW[1]},reps,")


def test_a_chosen_output_is_explained_and_drawn(tmp_path, capsys):
    out = tmp_path / "sobol"
    code = main(["sensitivity", str(FLAGSHIP), "--method", "sobol", "--samples", "4", "--reps", "150",
                 "--params", ",".join(FEW[:2]), "--seed", "5", "--out", str(out), "--output", "falls-within",
                 "--within", "14", "--output", "captured"])
    assert code == 0
    text = capsys.readouterr().out
    assert "P(capital falls within 14 days)  [falls_by_14d]" in text and "[collapsed]" not in text
    table = json.loads((out / "indices.json").read_text())
    assert list(table["outputs"]) == ["falls_by_14d", "captured"]
    assert {r["output"] for r in table["rows"]} == {"falls_by_14d", "captured"}
    samples = json.loads((out / "samples.json").read_text())
    assert all(0 <= r["falls_by_14d"] <= r["falls"] for r in samples["rows"])
    assert (out / "second_order.png").is_file() and not (out / "morris.png").exists()


@pytest.mark.parametrize("args, words", [
    (["--method", "morris", "--output", "falls-within"], "--output falls-within needs --within DAYS"),
    (["--method", "morris", "--output", "median"], "--output: invalid choice"),
    (["--method", "sobol", "--samples", "10"], "power of 2"),
    (["--method", "fast"], "--method"),
    (["--method", "morris", "--levels", "3"], "even number"),
    (["--method", "morris", "--params", "combat.counterattack_per_day"], "--params: combat.counterattack_per_day"),
    (["--method", "morris", "--params", "rebels.east.momentum"], "unknown parameter path"),
])
def test_bad_sensitivity_input_is_one_line_and_exit_2(args, words, capsys):
    assert main(["sensitivity", str(FLAGSHIP), *args]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sim: error:") and words in lines[0], err
    assert out == ""


def test_sobol_with_seed_0_is_reproducible(tmp_path):
    """SALib reads seed 0 as "no seed" for its bootstrap; sim hands it a Generator, so --seed 0 gives
    the same confidence intervals every time."""
    args = ["sensitivity", str(FLAGSHIP), "--method", "sobol", "--samples", "4", "--reps", "100", "--seed", "0",
            "--params", "allies.russia.capacity,rebels.north.momentum", "--no-plots", "--quiet"]
    tables = []
    for name in ("a", "b"):
        assert main([*args, "--out", str(tmp_path / name)]) == 0
        tables.append((tmp_path / name / "indices.json").read_bytes())
    assert tables[0] == tables[1]
    rows = json.loads(tables[0])["rows"]
    assert any(r["S1_conf"] not in (None, 0.0) for r in rows)
