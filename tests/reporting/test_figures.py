"""Figures, comparisons and reports: valid files, drawn from the run's files, showing summary.json's numbers."""

import io
import json
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from sim.runs import control_share as control
from sim.reporting import figures as plots
from sim.cli import main
from sim.runs.folder import RunFolder
from sim.runs.summary import count_within, hist_quantile

from tests.conftest import SCENARIOS, base_doc

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
HOMS = SCENARIOS / "syria-2024-12-07-homs-holds.toml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The flagship with outcomes kept, and a variant without (no drivers figure)."""
    root = tmp_path_factory.mktemp("plots")
    flag, homs = root / "flag", root / "homs"
    assert main(["run", str(FLAGSHIP), "--reps", "3000", "--seed", "5", "--out", str(flag), "--quiet"]) == 0
    assert main(["run", str(HOMS), "--reps", "2000", "--seed", "5", "--out", str(homs), "--quiet",
                 "--no-save-outcomes"]) == 0
    return flag, homs


def check_png(data) -> Image.Image:
    im = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
    assert im.format == "PNG"
    im.verify()
    assert 600 <= im.size[0] <= 4000 and 400 <= im.size[1] <= 4000, im.size
    return im


@pytest.mark.parametrize("stem", plots.FIGURES)
def test_each_figure_is_a_valid_image(runs, stem):
    flag, _ = runs
    check_png(flag / f"{stem}.png")
    assert not (flag / f"{stem}.svg").exists()   # a run writes PNG; sim plot --svg adds vectors


def test_without_outcomes_the_drivers_figure_is_left_out(runs, capsys):
    _, homs = runs
    assert not (homs / "drivers.png").exists()
    assert "outcomes.parquet" in plots.skipped(RunFolder(homs))["drivers"]
    for stem in ("end_states", "fall_day", "node_falls", "control"):
        check_png(homs / f"{stem}.png")
    assert main(["plot", str(homs)]) == 0
    assert "left out drivers" in capsys.readouterr().out


def test_plot_redraws_from_files_without_the_model(runs, monkeypatch, capsys):
    flag, _ = runs
    import sim.engines
    import sim.runs.runner

    def refuse(*args, **kwargs):
        raise AssertionError("sim plot ran the model")
    monkeypatch.setattr(sim.runs.runner, "run", refuse)
    monkeypatch.setattr(sim.runs.runner, "run_block", refuse)
    for engine in sim.engines.ENGINES.values():
        monkeypatch.setattr(engine, "simulate", refuse)
    for stem in ("control", "fall_day"):
        (flag / f"{stem}.png").unlink()
    assert main(["plot", str(flag)]) == 0
    printed = capsys.readouterr().out.split()
    for stem in plots.FIGURES:
        assert str(flag / f"{stem}.png") in printed
        check_png(flag / f"{stem}.png")


def test_end_states_show_the_summary(runs):
    run = RunFolder(runs[0])
    chart = plots.end_states(run)
    for k, state in enumerate(chart.data["states"]):
        v = run.summary["end_states"][state]
        assert (chart.data["p"][k], chart.data["ci_low"][k], chart.data["ci_high"][k]) == \
            (v["p"], v["ci_low"], v["ci_high"])
    chart.png()


def test_fall_day_shows_the_summary(runs):
    run = RunFolder(runs[0])
    s, h = run.summary, run.histograms
    d = plots.fall_day(run).data
    n, width = s["reps"], float(h.attrs["bin_days"])
    assert d["cdf"][-1] == pytest.approx(1 - s["end_states"]["holds"]["p"])
    assert np.all(np.diff(d["cdf"]) >= 0) and np.all(d["ci_low"] <= d["cdf"]) and np.all(d["cdf"] <= d["ci_high"])
    # The marked percentiles are summary.json's, and the curve crosses them where they say.
    f = s["capital_fall_day"]
    for q in (10, 50, 90):
        assert d[f"p{q}"] == f[f"p{q}"] == hist_quantile(h["capital_falls"].values, width, q / 100)
        k = int(round(f[f"p{q}"] / width))
        assert d["cdf"][k] * n >= q / 100 * f["n"] > (d["cdf"][k - 1] * n if k else 0)
    # The daily bars, by end state, add up to the end-state probabilities.
    captured, collapsed = d["daily"].values()
    assert captured.sum() == pytest.approx(s["end_states"]["captured"]["p"])
    assert collapsed.sum() == pytest.approx(s["end_states"]["collapsed"]["p"])


def test_node_falls_show_the_summary_along_the_axes(runs):
    run = RunFolder(runs[0])
    d = plots.node_falls(run).data
    assert d["order"] == ["homs", "nabk", "damascus", "damascus_suburbs", "latakia", "tartus"]  # axes, then the rest
    for name, v in run.summary["nodes"].items():
        assert d["cdf"][name][-1] == pytest.approx(v["fallen"]["p"])
        hist = run.histograms["node_falls"].sel(node=name).values
        assert hist_quantile(hist, float(run.histograms.attrs["bin_days"]), 0.5) == v["median_day"]


def test_control_bands_show_the_summary(runs):
    run = RunFolder(runs[0])
    s, h = run.summary, run.histograms
    d = plots.control(run).data
    c = s["control_share"]
    assert c["weighted_by"] == d["basis"] == "population"
    assert np.all(h["control"].values.sum(axis=1) == s["reps"])
    for day, q in c["by_day"].items():
        j = list(d["days"]).index(float(day))
        for key, value in q.items():
            assert d[key][j] == value
    assert d["p50"][0] == pytest.approx(c["at_start"], abs=0.005)
    assert np.all(d["p5"] <= d["p50"]) and np.all(d["p50"] <= d["p95"])


def test_control_counts_follow_the_definition(runs):
    """histograms.nc's control counts equal the shares computed directly from outcomes.parquet."""
    run = RunFolder(runs[0])
    out, h = run.columns, run.histograms
    names = [n.name for n in run.scenario.nodes]
    fall = np.column_stack([out[f"fall_day.{name}"] for name in names])
    retaken = np.column_stack([out[f"retaken_day.{name}"] for name in names])
    shares = control.shares(fall, retaken, out["end_day"], h["control_weight"].values, h["control_day"].values)
    k = np.rint(shares / control.SHARE_STEP).astype(int)
    direct = np.stack([np.bincount(k[:, j], minlength=control.SHARE_BINS) for j in range(k.shape[1])])
    assert np.array_equal(direct, h["control"].values)
    # Once the capital has fallen the government holds nothing.
    fell = ~np.isnan(out["end_day"])
    after = h["control_day"].values[None, :] >= out["end_day"][fell, None]
    assert np.all(shares[fell][after] == 0)


def test_control_histogram_adds_up_and_matches_the_definition():
    rng = np.random.default_rng(3)
    n, nodes = 4000, 6
    fall = np.floor(rng.uniform(0, 80, (n, nodes)) * rng.choice([1, 8], (n, nodes))) / 8
    fall[rng.random((n, nodes)) < 0.4] = np.nan
    end = fall[:, 2].copy()
    retaken = fall + np.floor(rng.uniform(1, 30, (n, nodes)))
    retaken[(rng.random((n, nodes)) < 0.6) | ~(retaken < np.where(np.isnan(end), np.inf, end)[:, None])] = np.nan
    retaken[:, 2] = np.nan  # the capital is never retaken
    assert 0.1 < np.mean(~np.isnan(retaken[:, [0, 1, 3, 4, 5]])) < 0.3
    w = np.array([0.0, 0.1, 0.35, 0.05, 0.2, 0.3])
    days = control.days(60)
    whole = control.histogram(fall, retaken, end, w, days)
    halves = (control.histogram(fall[:1500], retaken[:1500], end[:1500], w, days)
              + control.histogram(fall[1500:], retaken[1500:], end[1500:], w, days))
    assert np.array_equal(whole, halves)
    shares = control.shares(fall, retaken, end, w, days)
    k = np.rint(shares / control.SHARE_STEP).astype(int)
    assert np.array_equal(whole, np.stack([np.bincount(k[:, j], minlength=control.SHARE_BINS) for j in range(61)]))
    # A retaken node counts again: one replication, worked by hand.
    one = control.shares(np.array([[np.nan, 5.0, np.nan, 2.0, np.nan, np.nan]]),
                         np.array([[np.nan, 9.0, np.nan, np.nan, np.nan, np.nan]]), np.array([np.nan]), w,
                         np.array([0.0, 4.0, 5.0, 8.0, 9.0]))
    assert one[0] == pytest.approx([1.0, 0.95, 0.85, 0.85, 0.95])


def test_control_weights_count_nodes_without_populations(make_scenario):
    w, basis = control.weights(make_scenario(base_doc()))
    assert basis == "nodes" and list(w) == pytest.approx([0, 1 / 3, 1 / 3])
    long = control.days(2500)
    assert long[-1] == 2500 and len(long) <= control.MAX_DAYS + 5 and set(control.SUMMARY_DAYS) <= set(long)


def test_drivers_come_from_the_outcomes(runs):
    run = RunFolder(runs[0])
    s, h = run.summary, run.histograms
    d = plots.drivers(run).data
    uncertain = [path for path, _ in run.scenario.uncertain_parameters()] + list(run.scenario.posterior.paths)
    assert sorted(d["ranked"]) == sorted(d["params"]) == sorted(uncertain)   # the posterior's columns too
    t = d["within_days"]
    assert d["p_fall"] == count_within(h["capital_falls_daily"].values, t) / s["reps"]  # the same definition, counted two ways
    for q in d["params"].values():
        assert q["n"].sum() == s["reps"]
        assert q["p_captured"] @ q["n"] / s["reps"] == pytest.approx(s["end_states"]["captured"]["p"])
        assert q["p_fall"] @ q["n"] / s["reps"] == pytest.approx(d["p_fall"])
    assert d["params"]["rebels.north.assaulting"]["x"].tolist() == [0.0, 1.0]   # a bernoulli: its two values
    effects = [abs(d["params"][p]["effect"]) for p in d["ranked"]]
    assert effects == sorted(effects, reverse=True)


def test_compare_overlays_runs_and_prints_a_table(runs, tmp_path, capsys):
    flag, homs = runs
    out = tmp_path / "cmp"
    assert main(["compare", str(flag), str(homs), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "syria-2024-12-07" in printed and "…-homs-holds" in printed and "P(captured)" in printed
    for stem in ("compare_fall_day", "compare_end_states"):
        check_png(out / f"{stem}.png")
        assert ET.parse(out / f"{stem}.svg").getroot().tag.endswith("svg")
    assert (out / "compare.txt").read_text().strip() == printed.split("\n\nwrote")[0].strip()
    written = json.loads((out / "compare.json").read_text())
    summaries = [RunFolder(r).summary for r in (flag, homs)]
    assert written["format"] == 2 and [r["path"] for r in written["runs"]] == [str(flag), str(homs)]
    for r, s in zip(written["runs"], summaries):  # numbers, not the table's strings
        assert r["end_states"] == s["end_states"] and r["capital_falls_within"] == s["capital_falls_within"]
        assert r["capital_fall_day"]["p50"]["day"] == s["capital_fall_day"]["p50"]
        assert isinstance(r["leader_fled"]["ci_low"], float)
    assert f"{summaries[0]['end_states']['captured']['p']:.1%}" in printed
    chart = plots.compare_fall_day([RunFolder(flag), RunFolder(homs)], ["a", "b"])
    for label, s in zip("ab", summaries):
        assert chart.data["cdf"][label][-1] == pytest.approx(1 - s["end_states"]["holds"]["p"])
    chart.png()


def test_six_compared_runs_stay_readable(runs, tmp_path):
    """Six runs: the legend sits under the axes (it hides no curve or bar) and no label rounds a
    probability below one to 100%."""
    flag, homs = runs
    six = [RunFolder(flag), RunFolder(homs)] * 3
    labels = [f"run {i}" for i in range(6)]
    for chart in (plots.compare_fall_day(six, labels), plots.compare_end_states(six, labels)):
        fig = chart.figure
        fig.canvas.draw()
        ax = fig.axes[0]
        legend = ax.get_legend()
        assert [t.get_text().split(":")[0] for t in legend.get_texts()] == labels
        assert legend.get_window_extent().y1 < ax.get_window_extent().y0  # below the plotting area
        texts = [t.get_text() for t in legend.get_texts()] + [t.get_text() for t in ax.texts]
        assert not any("100%" in t or "100.0%" in t for t in texts), texts
        chart.png()


def test_a_probability_between_0_and_1_never_reads_0_or_100_percent():
    from sim.reporting.style import pct

    assert [pct(p, 0) for p in (0.998, 0.004, 0.5, 1.0, 0.0)] == [">99%", "<1%", "50%", "100%", "0%"]
    assert [pct(p) for p in (0.9996, 0.00004, 0.9994, None)] == [">99.9%", "<0.1%", "99.9%", "—"]


def test_a_run_from_before_histograms_nc_is_refused_and_rerun(runs, tmp_path, capsys):
    """A folder that kept histograms.npz is one line naming the command that writes it again, and
    that command (sim rerun OLD --out NEW) works on it."""
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(runs[1], old)
    (old / "histograms.nc").rename(old / "histograms.npz")
    assert main(["plot", str(old)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "histograms.npz" in err[0] and f"sim rerun {old} --out NEW_FOLDER" in err[0]
    assert main(["rerun", str(old), "--out", str(new)]) == 0
    assert RunFolder(new).summary == RunFolder(runs[1]).summary
    assert set(plots.skipped(RunFolder(new))) == {"drivers"}


@pytest.mark.parametrize("args,words", [
    (["compare", "/nonexistent", "/nonexistent2"], "sim compare: /nonexistent: not a finished run folder"),
])
def test_bad_folders_are_one_line_errors(args, words, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sim: error:") and words in err[0]


def test_compare_needs_two_runs(runs, capsys):
    assert main(["compare", str(runs[0])]) == 2
    assert "at least two" in capsys.readouterr().err
