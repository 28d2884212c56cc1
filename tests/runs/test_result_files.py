"""Self-describing results: outcomes.parquet and histograms.nc read in one line by pandas, pyarrow,
xarray (and polars or duckdb where installed), and the same tables from a run in memory."""

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

from sim.cli import main
from sim.engines.outcomes import END_STATES, FALL_MODES, NOT_FALLEN
from sim.errors import ResultsError
from sim.reporting import figures
from sim.runs import outcomes_file
from sim.runs.folder import RunFolder, write_run
from sim.runs.runner import run
from sim.scenario.load import load_scenario

from tests.conftest import SCENARIOS

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
REPS, SEED = 1500, 4


@pytest.fixture(scope="module")
def result():
    return run(load_scenario(FLAGSHIP), REPS, seed=SEED)


@pytest.fixture(scope="module")
def folder(result, tmp_path_factory):
    return write_run(result, tmp_path_factory.mktemp("files") / "run")


def test_pandas_reads_the_end_state_as_a_categorical_with_its_labels(folder, result):
    df = pd.read_parquet(folder / "outcomes.parquet")
    assert isinstance(df["end_state"].dtype, pd.CategoricalDtype)
    assert list(df["end_state"].cat.categories) == list(END_STATES)
    codes = result.outcomes.end_state
    assert (df["end_state"].cat.codes.to_numpy() == codes).all()
    assert df["replication"].tolist() == list(range(REPS)) and set(df["block"]) == {0}
    fell = ~np.isnan(result.outcomes.end_day)
    assert df["end_day"].isna().to_numpy().tolist() == (~fell).tolist()   # never: null, read as NaN


def test_how_each_city_fell_reads_as_a_categorical_with_its_labels(folder, result):
    """fall_how.NODE round-trips: pandas reads a Categorical with the fall modes' labels and null
    where the city never fell; the run folder's columns give back the engine's int8 codes."""
    df = pd.read_parquet(folder / "outcomes.parquet")
    columns = RunFolder(folder).columns
    seen = set()
    for i, node in enumerate(result.scenario.nodes):
        col, codes = df[f"fall_how.{node.name}"], result.outcomes.node_fall_how[:, i]
        assert isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == list(FALL_MODES)
        assert (col.cat.codes.to_numpy() == codes).all()  # pandas codes a missing value -1, as the engine does
        assert col.isna().to_numpy().tolist() == (codes == NOT_FALLEN).tolist()
        assert col.isna().tolist() == df[f"fall_day.{node.name}"].isna().tolist()
        read = columns[f"fall_how.{node.name}"]
        assert read.dtype == np.int8 and np.array_equal(read, codes)
        seen |= set(col.dropna())
    assert {"assault", "collapse"} <= seen  # the flagship's cities fall to assaults; its capital collapses
    assert pq.read_schema(folder / "outcomes.parquet").field("fall_how.homs").type.value_type == "string"


def test_the_schema_says_units_and_node_names(folder, result):
    schema = pq.read_schema(folder / "outcomes.parquet")
    meta = json.loads(schema.metadata[b"sim"])
    names = [n.name for n in result.scenario.nodes]
    assert meta["format"] == outcomes_file.OUTCOMES_FORMAT
    assert meta["nodes"] == names and meta["end_states"] == list(END_STATES)
    assert meta["fall_modes"] == list(FALL_MODES) and {f"fall_how.{n}" for n in names} <= set(schema.names)
    assert meta["as_of"] == "2024-12-07" and meta["horizon_days"] == result.scenario.horizon_days
    assert meta["units"]["fall_day.damascus"] == "days since as_of (null: never)"
    assert meta["units"]["param:nodes.damascus.garrison"] == "fighters"
    assert schema.field("param:nodes.damascus.garrison").metadata[b"unit"] == b"fighters"
    assert {f"fall_day.{n}" for n in names} <= set(schema.names)


def test_xarray_opens_the_histograms_with_day_and_node_coordinates(folder, result):
    ds = xr.open_dataset(folder / "histograms.nc")
    names = [n.name for n in result.scenario.nodes]
    assert {"day", "node"} <= set(ds.coords)
    assert list(ds["node"].values) == names
    assert ds["node_falls"].dims == ("node", "day")
    width = float(ds.attrs["bin_days"])
    assert np.allclose(ds["day"].values, np.arange(ds.sizes["day"]) * width)
    # The counts are the run's: a node's falls add up to summary.json's P(fallen).
    for name, v in result.summary["nodes"].items():
        assert int(ds["node_falls"].sel(node=name).sum()) / REPS == v["fallen"]["p"]
    assert int(ds["capital_falls"].sum()) == result.summary["capital_fall_day"]["n"]
    assert ds.attrs["as_of"] == "2024-12-07" and ds.attrs["reps"] == REPS
    ds.close()


def test_memory_and_folder_give_the_same_tables(folder, result):
    run_folder = RunFolder(folder)
    from_file, in_memory = run_folder.to_dataframe(), result.to_dataframe()
    pd.testing.assert_frame_equal(from_file, in_memory)
    assert from_file.attrs["nodes"] == [n.name for n in result.scenario.nodes]
    xr.testing.assert_identical(run_folder.to_xarray(), result.to_xarray())
    assert run_folder.histograms["node_falls"].dtype == np.int64   # stored as int32, read back as int64
    # groupby on the labels: the shares are summary.json's.
    shares = in_memory.groupby("end_state", observed=False).size() / REPS
    for state in END_STATES:
        assert shares[state] == result.summary["end_states"][state]["p"]


def test_reprs_show_the_headline(folder, result):
    text, html = repr(result), result._repr_html_()
    falls = result.summary["capital_falls_within"][str(result.scenario.horizon_days)]
    for words in ("syria-2024-12-07", "2024-12-07", f"{REPS:,}", f"seed {SEED}", f"{falls['p']:.1%}",
                  f"{falls['ci_low']:.1%} to {falls['ci_high']:.1%}",
                  f"day {result.summary['capital_fall_day']['p50']:g}"):
        assert words in text and words in html, words
    assert repr(RunFolder(folder)).splitlines()[1:] == text.splitlines()[1:]
    scenario = repr(result.scenario)
    assert len(scenario.splitlines()) <= 6 and "capital damascus" in scenario and "<table>" in \
        result.scenario._repr_html_()


def test_figures_are_drawn_from_a_result_in_memory(result, tmp_path):
    drawn = figures.figures(result)
    assert list(drawn) == list(figures.FIGURES)
    from_folder = figures.fall_day(RunFolder(write_run(result, tmp_path / "r"))).data
    assert np.array_equal(figures.fall_day(result).data["cdf"], from_folder["cdf"])
    for fig in drawn.values():
        assert fig.axes
        figures.plt.close(fig)
    assert not list(tmp_path.glob("*.png"))


def test_a_streamed_result_has_no_dataframe_but_its_folder_does(tmp_path):
    from sim.api import run_to_folder

    r = run_to_folder(load_scenario(FLAGSHIP), 300, tmp_path / "s", seed=1, plots=False)
    with pytest.raises(ValueError, match="RunFolder"):
        r.to_dataframe()
    assert len(RunFolder(tmp_path / "s").to_dataframe()) == 300


@pytest.mark.parametrize("version", [1, 2])  # 2: before fall_how.NODE
def test_an_older_outcomes_file_is_one_line_suggesting_rerun(folder, tmp_path, capsys, version):
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    table = pq.read_table(old / "outcomes.parquet")
    if version == 2:
        table = table.drop_columns([c for c in table.column_names if c.startswith("fall_how.")])
    meta = json.loads(table.schema.metadata[b"sim"])
    pq.write_table(table.replace_schema_metadata({"sim": json.dumps({**meta, "format": version})}),
                   old / "outcomes.parquet")
    with pytest.raises(ResultsError, match=f"outcomes format {version}.*sim rerun {old} --out NEW_FOLDER"):
        RunFolder(old).to_dataframe()
    for command in ("plot", "paths"):
        assert main([command, str(old)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "sim rerun" in err[0], (command, err)


def test_polars_reads_the_outcomes_in_one_line(folder):
    polars = pytest.importorskip("polars")
    df = polars.read_parquet(folder / "outcomes.parquet")
    assert df["end_state"].dtype == polars.Categorical or str(df["end_state"].dtype).startswith("Categorical")
    assert str(df["fall_how.homs"].dtype).startswith("Categorical")


def test_duckdb_reads_the_outcomes_in_one_line(folder):
    duckdb = pytest.importorskip("duckdb")
    rows = duckdb.sql(f"select end_state, count(*) from '{folder / 'outcomes.parquet'}' group by 1").fetchall()
    assert {r[0] for r in rows} <= set(END_STATES) and sum(r[1] for r in rows) == REPS
