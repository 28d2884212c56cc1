"""Grid sweeps: parsing, batches and common random numbers, tables, resume after a kill, executors (Dask too)."""

import json

import numpy as np
import pytest

import sim.runs.runner
import sim.runs.executors
import sim.studies.points
from sim.api import run_grid
from sim.reporting.text import format_sweep
from sim.cli import main
from sim.engines import ENGINES, vectorised
from sim.engines.draws import draw_parameters
from sim.engines.theatre import Theatre
from sim.errors import ScenarioError, SweepError
from sim.files import folder_kind
from sim.studies.grid import SweepParam, grid_points, parse_param
from sim.studies.points import (
    POINTS_FILE, Base, Batch, PointLog, batches, run_batch,
    run_points,
)

from tests.conftest import SCENARIOS, base_doc

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
CAPACITY = "allies.russia.capacity"
MOMENTUM = "rebels.north.momentum"


@pytest.fixture(scope="module")
def base():
    return Base.load(FLAGSHIP, reps=400, seed=11)


# --------------------------------------------------------------------------- points


@pytest.mark.parametrize("text, path, values", [
    ("allies.russia.capacity=0:1:5", CAPACITY, (0.0, 0.25, 0.5, 0.75, 1.0)),
    ("rebels.north.momentum=0.1:0.3:3", MOMENTUM, (0.1, 0.2, 0.3)),   # 0.30000000000000004 tidied
    ("rebels.north.momentum = 1.4, 0.8 ,2", MOMENTUM, (1.4, 0.8, 2.0)),
    ("rebels.north.momentum=1.2", MOMENTUM, (1.2,)),
    ("rebels.north.momentum=1:1:1", MOMENTUM, (1.0,)),
    ("combat.counterattack_per_day=1e-3,2e-3", "combat.counterattack_per_day", (0.001, 0.002)),
])
def test_parse_param(text, path, values):
    assert parse_param(text) == SweepParam(path, values)


@pytest.mark.parametrize("text, words", [
    ("allies.russia.capacity", "expected PATH="),
    ("=0:1:3", "empty key"),
    ("allies..capacity=1", "empty key"),
    ("allies.russia.capacity=", "no values"),
    ("allies.russia.capacity=0:1", "START:STOP:STEPS"),
    ("allies.russia.capacity=0:1:x", "whole number"),
    ("allies.russia.capacity=0:1:0", "at least 1"),
    ("allies.russia.capacity=0:1:1", "START = STOP"),
    ("allies.russia.capacity=0,x", "not a number"),
    ("allies.russia.capacity=nan", "finite"),
])
def test_parse_param_rejects(text, words):
    with pytest.raises(ScenarioError, match=words) as err:
        parse_param(text)
    assert str(err.value).startswith("--param")


def test_grid_is_every_combination_first_parameter_slowest():
    pts = grid_points([SweepParam("a.b", (1.0, 2.0)), SweepParam("c.d", (3.0, 4.0, 5.0))])
    assert pts == [{"a.b": 1.0, "c.d": 3.0}, {"a.b": 1.0, "c.d": 4.0}, {"a.b": 1.0, "c.d": 5.0},
                   {"a.b": 2.0, "c.d": 3.0}, {"a.b": 2.0, "c.d": 4.0}, {"a.b": 2.0, "c.d": 5.0}]
    with pytest.raises(ScenarioError, match="swept twice"):
        grid_points([SweepParam("a.b", (1.0,)), SweepParam("a.b", (2.0,))])


def test_points_are_checked_against_the_scenario(base, tmp_path):
    with pytest.raises(ScenarioError, match="--param: rebels.east.momentum: unknown parameter path"):
        run_grid(base, [parse_param("rebels.east.momentum=1,2")], tmp_path)
    with pytest.raises(ScenarioError, match=r"--param: allies.russia.capacity: value must be <= 1"):
        run_grid(base, [parse_param("allies.russia.capacity=0.5,1.5")], tmp_path)
    assert not (tmp_path / POINTS_FILE).exists()


# --------------------------------------------------------------------------- common random numbers


def test_points_draw_every_other_parameter_identically(base):
    """Every point fixes the same paths, so the draws of the other uncertain parameters line up
    replication by replication, and the process randomness starts from the same state."""
    a, b = base.scenario({CAPACITY: 0.1}), base.scenario({CAPACITY: 0.9})
    ra, rb = np.random.default_rng(4), np.random.default_rng(4)
    da, db = draw_parameters(a, 500, rng=ra), draw_parameters(b, 500, rng=rb)
    others = [p for p, _ in a.uncertain_parameters()]
    assert CAPACITY not in others and len(others) > 20
    for p in others:
        np.testing.assert_array_equal(da.by_path[p], db.by_path[p])
    assert ra.bit_generator.state == rb.bit_generator.state
    assert (da.by_path[CAPACITY] == 0.1).all() and (db.by_path[CAPACITY] == 0.9).all()


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 1,200 replications, so that a few points of a few hundred make several batches.
    The batches are planned in this process; a worker only runs the batch it is given."""
    monkeypatch.setattr(sim.runs.runner, "BLOCK_SIZE", 1_200)


class Recorder:
    """The vectorised engine, recording the scenario and draws of every block it runs."""

    def __init__(self):
        self.blocks = []

    def simulate(self, scenario, reps, *, rng, draws=None):
        self.blocks.append((scenario, draws))
        return vectorised.simulate(scenario, reps, rng=rng, draws=draws)


@pytest.fixture
def recorder(monkeypatch):
    rec = Recorder()
    monkeypatch.setitem(ENGINES, "recorder", rec)
    return rec


def test_batches_are_consecutive_points_filling_a_block(small_blocks):
    base = Base.load(FLAGSHIP, reps=300, seed=1)
    assert batches(base, 10) == [Batch(0, (0, 1, 2, 3)), Batch(1, (4, 5, 6, 7)), Batch(2, (8, 9))]
    alone = Base.load(FLAGSHIP, reps=700, seed=1)  # over half a block: each point runs alone
    assert batches(alone, 2) == [Batch(0, (0,), alone=True), Batch(1, (1,), alone=True)]


def test_a_batch_draws_each_point_as_its_own_run_would(recorder):
    """Common random numbers in a batch: each point's rows take the parameters its own scenario
    draws from a run's first block, so every other parameter is the same replication by
    replication at every point; the values swept are the point's."""
    base = Base.load(FLAGSHIP, reps=200, seed=4, engine="recorder")
    values = [{CAPACITY: 0.1, "belief.initial": 0.5}, {CAPACITY: 0.9, "belief.initial": 0.7}]
    rows = run_batch(base, Batch(0, (0, 1)), values)
    assert [r["reps"] for r in rows] == [200, 200]
    (_, draws), = recorder.blocks
    assert draws.n == 400
    for k, point in enumerate(values):
        first = np.random.Generator(np.random.PCG64(np.random.SeedSequence(4).spawn(1)[0]))
        own = draw_parameters(base.scenario(point), 200, rng=first)
        for path, column in own.by_path.items():
            np.testing.assert_array_equal(draws.by_path[path][200 * k: 200 * (k + 1)], column, err_msg=path)
        np.testing.assert_array_equal(draws.nodes.garrison[:, 200 * k: 200 * (k + 1)], own.nodes.garrison)


def test_points_that_change_the_theatre_share_a_block_only_with_their_like(tmp_path, write_scenario, recorder):
    """A road's length can change the shortest path to the capital (which fallbacks follow): such
    points are grouped with the points of the batch that have the same road lengths."""
    doc = base_doc(nodes={"east": {"garrison": 500}}, roads={"town-east": 30, "east-cap": 50})
    path = write_scenario(doc)
    base = Base.load(path, ["scenario.horizon_days=20"], reps=100, seed=2, engine="recorder")
    values = [{"roads.east-cap": 50.0}, {"roads.east-cap": 100.0}, {"roads.east-cap": 50.0}]
    theatres = [Theatre.from_scenario(base.scenario(v)) for v in values]
    assert not np.array_equal(theatres[0].fallback, theatres[1].fallback)
    run_batch(base, Batch(0, (0, 1, 2)), values)
    assert [d.n for _, d in recorder.blocks] == [200, 100]  # points 0 and 2, then point 1
    for (scenario, _), k in zip(recorder.blocks, (0, 1)):
        np.testing.assert_array_equal(Theatre.from_scenario(scenario).fallback, theatres[k].fallback)


def test_every_value_of_a_batch_is_checked(small_blocks):
    base = Base.load(FLAGSHIP, reps=300, seed=1)
    with pytest.raises(ScenarioError, match=r"--param: allies.russia.capacity: value must be <= 1"):
        run_batch(base, Batch(0, (0, 1, 2)), [{CAPACITY: 0.5}, {CAPACITY: 1.5}, {CAPACITY: 0.7}])


def test_identical_points_share_their_parameters_and_alone_their_process_randomness(tmp_path, monkeypatch):
    """In a batch, identical points draw the same parameters but their rows are different draws of
    the block's process randomness; points that run alone (a block holds fewer than two) start it
    from the same state, so identical points give identical rows."""
    params = [parse_param("allies.russia.capacity=0.4,0.4,0.9")]
    base = Base.load(FLAGSHIP, ["scenario.horizon_days=30"], reps=300, seed=5)
    rows = {}
    for block in (1_000, 500):
        monkeypatch.setattr(sim.runs.runner, "BLOCK_SIZE", block)
        table = run_grid(base, params, tmp_path / str(block), plots=False)
        rows[block] = [{k: v for k, v in r.items() if k != "point"} for r in table["rows"]]
    batched, alone = rows[1_000], rows[500]
    assert batched[0] != batched[1] and batched[0] != batched[2]
    assert alone[0] == alone[1] and alone[0] != alone[2]


# --------------------------------------------------------------------------- tables


@pytest.fixture(scope="module")
def flagship_grid(tmp_path_factory):
    """A two-parameter sweep of the flagship through the command line, as a user runs it."""
    out = tmp_path_factory.mktemp("sweeps") / "grid"
    code = main(["sweep", str(FLAGSHIP), "--param", "allies.russia.capacity=0:1:3", "--param",
                 "rebels.north.momentum=0.8,1.6", "--reps", "2000", "--seed", "7", "--out", str(out)])
    assert code == 0
    return out


def test_two_parameter_sweep_writes_its_table_and_heat_maps(flagship_grid, capsys):
    out = flagship_grid
    for name in ["sweep.csv", "sweep.json", "sweep_heatmap.png", "points.jsonl", "spec.json", "scenario.toml",
                 "manifest.json"]:
        assert (out / name).is_file(), name
    table = json.loads((out / "sweep.json").read_text())
    assert len(table["rows"]) == 6 and [r["point"] for r in table["rows"]] == list(range(6))
    assert [(r[CAPACITY], r[MOMENTUM]) for r in table["rows"]] == [
        (0.0, 0.8), (0.0, 1.6), (0.5, 0.8), (0.5, 1.6), (1.0, 0.8), (1.0, 1.6)]
    csv_lines = (out / "sweep.csv").read_text().splitlines()
    assert len(csv_lines) == 7 and csv_lines[0].split(",")[:3] == ["point", CAPACITY, MOMENTUM]
    assert csv_lines[0].split(",") == table["columns"]
    for r in table["rows"]:
        assert r["reps"] == 2000 and r["captured"] + r["collapsed"] + r["holds"] == pytest.approx(1.0)
        assert r["falls"] == pytest.approx(1 - r["holds"])
        for k in ("captured", "collapsed", "holds", "falls", "falls_by_7d", "falls_by_30d"):
            assert r[f"{k}_lo"] <= r[k] <= r[f"{k}_hi"]
        assert r["falls_by_7d"] <= r["falls_by_30d"] <= r["falls"]
        assert r["fall_day_p10"] <= r["fall_day_p50"] <= r["fall_day_p90"]
    # The table is also printed.
    text = format_sweep(table)
    assert CAPACITY in text and "within 7 d" in text and len(text.splitlines()) == 6 + 6


def test_more_russian_capacity_slows_the_fall(flagship_grid):
    """Monotone sanity with common random numbers: Russian air support lowers the chance the
    capital falls within a week and within a month (by 7 December the regime collapses, by flight
    and hand-over, rather than being taken by assault: P(captured) is near 0 at every point)."""
    rows = json.loads((flagship_grid / "sweep.json").read_text())["rows"]
    for momentum in (0.8, 1.6):
        col = [r for r in rows if r[MOMENTUM] == momentum]
        for key in ("falls_by_7d", "falls_by_30d"):
            v = [r[key] for r in col]
            assert v[0] >= v[1] >= v[2] and v[0] > v[2], (key, momentum, v)


def test_single_parameter_sweep_draws_a_line(tmp_path):
    base = Base.load(FLAGSHIP, reps=200, seed=1)
    run_grid(base, [parse_param("rebels.north.momentum=0.6:2.0:3")], tmp_path)
    assert (tmp_path / "sweep_line.png").is_file() and not (tmp_path / "sweep_heatmap.png").exists()


# --------------------------------------------------------------------------- resume


def test_a_killed_sweep_resumes_to_the_same_bytes(tmp_path, monkeypatch, capsys, small_blocks):
    args = ["sweep", str(FLAGSHIP), "--param", "allies.russia.capacity=0:1:3", "--param", "rebels.north.momentum=1,1.5",
            "--reps", "300", "--horizon", "60", "--seed", "3", "--no-plots", "--quiet",
            "--workers", "1"]  # 3 batches of 4, 2 points; in this process, where run is patched
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert main([*args, "--out", str(straight)]) == 0

    real_batch, calls = sim.studies.points.run_batch, []

    def dies_on_the_second_batch(base, batch, values):
        calls.append(batch.index)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C half way through
        return real_batch(base, batch, values)

    monkeypatch.setattr(sim.studies.points, "run_batch", dies_on_the_second_batch)
    assert main([*args, "--out", str(killed)]) == 130
    err = capsys.readouterr().err.strip()
    assert err == f"sim: interrupted; 4 of 6 points are saved in {killed / POINTS_FILE}; " \
                  "run the same command with --resume to finish"
    assert len(PointLog(killed / POINTS_FILE).read()) == 4 and not (killed / "sweep.csv").exists()
    # A kill during a write leaves half a line: it is dropped, and the rest stays readable.
    with open(killed / POINTS_FILE, "a") as fh:
        fh.write('{"point": 5, "values": {"allies.russia.capac')

    calls.clear()
    assert main([*args, "--out", str(killed), "--resume"]) == 0
    assert calls == [1]  # only the missing batch ran
    for name in ("sweep.csv", "sweep.json"):
        assert (killed / name).read_bytes() == (straight / name).read_bytes(), name
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["points_run"] == 2


def test_a_batch_cut_short_runs_again_whole_and_saves_only_its_missing_points(tmp_path, monkeypatch, small_blocks):
    """A log holding part of a batch (a kill during its write) resumes to the same numbers: the
    batch runs again whole, with the same seed and points, and only its missing points are added."""
    base = Base.load(FLAGSHIP, ["scenario.horizon_days=60"], reps=300, seed=8)
    params = [parse_param("allies.russia.capacity=0:1:6")]
    straight = run_grid(base, params, tmp_path / "straight", plots=False)
    log = tmp_path / "cut" / POINTS_FILE
    run_grid(base, params, tmp_path / "cut", plots=False)
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:5]))  # the first batch, and one point of the second
    real_batch, calls = sim.studies.points.run_batch, []
    monkeypatch.setattr(sim.studies.points, "run_batch", lambda *a: calls.append(a[1].index) or real_batch(*a))
    assert run_grid(base, params, tmp_path / "cut", plots=False, resume=True) == straight
    assert calls == [1]
    assert sorted(json.loads(line)["point"] for line in log.read_text().splitlines()) == list(range(6))


def test_resume_refuses_a_different_sweep(tmp_path, capsys):
    args = ["sweep", str(FLAGSHIP), "--param", "allies.russia.capacity=0,1", "--seed", "3", "--no-plots",
            "--quiet", "--out", str(tmp_path)]
    assert main([*args, "--reps", "100"]) == 0
    assert main([*args, "--reps", "200", "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sim: error:") and "different sweep (reps 100, not 200)" in err[0]
    assert folder_kind(tmp_path) == ("grid", True)  # the refused resume left the finished sweep as it was
    # Without --resume the folder is replaced.
    assert main([*args, "--reps", "200"]) == 0
    assert json.loads((tmp_path / "sweep.json").read_text())["reps"] == 200


def test_resume_reuses_the_recorded_seed(tmp_path):
    args = ["sweep", str(FLAGSHIP), "--param", "allies.russia.capacity=0,1", "--reps", "100", "--no-plots", "--quiet",
            "--out", str(tmp_path)]
    assert main(args) == 0
    seed = json.loads((tmp_path / "spec.json").read_text())["seed"]
    assert main([*args, "--resume"]) == 0
    assert json.loads((tmp_path / "sweep.json").read_text())["seed"] == seed


def test_point_log_drops_a_torn_last_line(tmp_path):
    log = PointLog(tmp_path / POINTS_FILE)
    log.extend([{"point": 0, "values": {}, "metrics": {"reps": 1}}])
    log.close()
    with open(log.path, "a") as fh:
        fh.write('{"point": 1, "val')
    assert list(log.read()) == [0]
    assert log.path.read_text().endswith("}\n")


# --------------------------------------------------------------------------- executors


def _grid(tmp_path, name, **kw):
    """Three batches of two points and the last of one, planned here (small_blocks) whoever runs them."""
    base = Base.load(FLAGSHIP, ["scenario.horizon_days=30"], reps=500, seed=9)
    params = [parse_param("allies.russia.capacity=0,0.5,1"), parse_param("rebels.north.momentum=0.9,1.5")]
    run_grid(base, params + [parse_param("belief.initial=0.6")], tmp_path / name, plots=False, **kw)
    return (tmp_path / name / "sweep.json").read_bytes()


def test_a_process_pool_gives_the_same_table(tmp_path, small_blocks):
    assert _grid(tmp_path, "pool", workers=2) == _grid(tmp_path, "inprocess")


def test_a_dask_cluster_gives_the_same_table(tmp_path, small_blocks):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        dask = _grid(tmp_path, "dask", scheduler=cluster.scheduler_address)
    assert dask == _grid(tmp_path, "pool", workers=2)


def test_an_unreachable_scheduler_is_one_error(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(sim.runs.executors, "SCHEDULER_TIMEOUT", 1)
    base = Base.load(FLAGSHIP, reps=10, seed=1)
    with pytest.raises(SweepError, match="cannot reach the Dask scheduler"):
        run_points(base, [{}], tmp_path, kind="grid", spec={}, scheduler="tcp://127.0.0.1:9")


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize("args, words", [
    (["sweep", FLAGSHIP, "--param", "rebels.east.momentum=1,2"], "--param: rebels.east.momentum: unknown parameter path"),
    (["sweep", FLAGSHIP, "--param", "allies.russia.capacity=0:1"], "START:STOP:STEPS"),
    (["sweep", FLAGSHIP, "--param", "belief.initial=0.5,7"], "--param: belief.initial"),
    (["sweep", FLAGSHIP, "--param", "belief.initial=0.5", "--set", "belief.initial=7"], "--set: belief.initial"),
    (["sweep", FLAGSHIP], "--param"),
    (["sweep", FLAGSHIP, "--param", "belief.initial=0.5", "--reps", "0"], "--reps"),
    (["sweep", FLAGSHIP, "--param", "belief.initial=0.5", "--workers", "x"], "--workers"),
])
def test_bad_sweep_input_is_one_line_and_exit_2(args, words, capsys):
    assert main([str(a) for a in args]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sim: error:") and words in lines[0], err
    assert out == ""
