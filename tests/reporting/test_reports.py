"""sim report FOLDER: one self-contained page for every kind of result folder, headline numbers
first, every number formatted, the commands that reproduce it."""

import json
import re
from html.parser import HTMLParser

import matplotlib.text
import numpy as np
import pytest

from sim.cli import main
from sim.files import INCOMPLETE, MANIFEST, marker
from sim.reporting import figures as plots
from sim.reporting.reports import page as page_module
from sim.reporting.reports.page import command_line
from sim.reporting.style import date, number, on_day, pct
from sim.runs.folder import RunFolder

from tests.conftest import SCENARIOS

FLAGSHIP = SCENARIOS / "syria-2024-12-07.toml"
HOMS = SCENARIOS / "syria-2024-12-07-homs-holds.toml"
OBSERVED = SCENARIOS / "observed" / "syria-2024.toml"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """One folder of every kind sim reports on, small and seeded."""
    root = tmp_path_factory.mktemp("reports")
    f = {k: root / k for k in ("run", "homs", "compare", "grid", "sensitivity", "backtest")}
    quiet = ["--quiet"]
    assert main(["run", str(FLAGSHIP), "--reps", "3000", "--seed", "5", "--out", str(f["run"]), *quiet]) == 0
    assert main(["run", str(HOMS), "--reps", "1000", "--seed", "5", "--out", str(f["homs"]), "--no-save-outcomes",
                 *quiet]) == 0
    assert main(["compare", str(f["run"]), str(f["homs"]), "--out", str(f["compare"])]) == 0
    assert main(["sweep", str(FLAGSHIP), "--param", "allies.russia.capacity=0:1:3", "--reps", "300", "--seed", "1",
                 "--workers", "1", "--out", str(f["grid"]), *quiet]) == 0
    assert main(["sensitivity", str(FLAGSHIP), "--method", "morris", "--samples", "2", "--reps", "100", "--seed", "1",
                 "--params", "allies.russia.capacity,nodes.damascus.garrison", "--workers", "1",
                 "--out", str(f["sensitivity"]), *quiet]) == 0
    assert main(["backtest", str(FLAGSHIP), "--observed", str(OBSERVED), "--reps", "1000", "--seed", "1",
                 "--workers", "1", "--out", str(f["backtest"]), *quiet]) == 0
    return f


class Parsed(HTMLParser):
    """Tags, references, ids, scripts and the visible text of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.tags, self.refs, self.ids, self.links, self.scripts, self.words = [], [], set(), [], [], []
        self._in = []
        self.feed(text)
        self.text = " ".join(self.words)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self._in.append(tag)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v and not v.startswith("#")]
        self.links += [v[1:] for k, v in attrs if k == "href" and v and v.startswith("#")]
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "script":
            self.scripts.append(a)

    def handle_endtag(self, tag):
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag):]

    def handle_data(self, data):
        if not {"script", "style", "title"} & set(self._in):
            self.words.append(data)


def report(folder) -> tuple[str, Parsed]:
    assert main(["report", str(folder)]) == 0
    html = (folder / "report.html").read_text(encoding="utf-8")
    return html, Parsed(html)


def self_contained(p: Parsed) -> None:
    assert all(ref.startswith("data:") for ref in p.refs), p.refs
    assert "link" not in p.tags and "iframe" not in p.tags
    assert all("src" not in s for s in p.scripts)           # scripts are inline only
    assert set(p.links) <= p.ids                            # the table of contents points at sections
    assert not re.search(r"\d\.?\d*e[+-]\d\d", p.text), re.findall(r"\S*\de[+-]\d\d\S*", p.text)[:5]


def test_number_formats_for_people():
    assert [number(v) for v in (23333.33, 0.35, 1.2549, 150.0, 0, 1234567.8, 0.1 + 0.2, None)] == \
        ["23,333", "0.35", "1.255", "150", "0", "1,234,568", "0.3", "—"]
    assert number(1.5e-7) == "1.5 × 10⁻⁷" and number(float("-inf")) == "−∞"


def test_command_lines_as_typed():
    assert command_line(["/x/bin/sim", "run", "a b.toml", "--seed", "1"]) == "sim run 'a b.toml' --seed 1"
    assert command_line(["/x/sim/__main__.py", "run", "a.toml"]) == "python -m sim run a.toml"
    assert command_line(["/x/bin/pytest", "-q"]) is None and command_line("sim run") is None


def test_a_run_report_is_a_briefing(folders):
    run = folders["run"]
    html, p = report(run)
    self_contained(p)
    s = RunFolder(run).summary
    headline = html.index('class="headline"')
    first_figure = html.index("<figure")
    assert headline < html.index("<nav") < first_figure
    head = Parsed(html[:html.index("<nav")]).text
    for d, v in s["capital_falls_within"].items():               # 7, 30, 90 days and the horizon
        assert pct(v["p"]) in head and f"{pct(v['ci_low'])}–{pct(v['ci_high'])}" in head, d
    for k, v in s["end_states"].items():
        assert f"P({k})" in head and pct(v["p"]) in head
    assert date(on_day(s["as_of"], s["capital_fall_day"]["p50"])) in head
    assert s["posterior"]["source"] in head and "Calibrated on" in head
    assert html.count("data:image/png;base64,") == len(plots.FIGURES)
    # The interactive curve: P(fallen by day d) from the daily counts, the same numbers as the headline.
    spec = json.loads(re.search(r'<div class="hover" id="fall-curve">.*?<script type="application/json">(.*?)</script>',
                                html, re.S).group(1))
    curve = spec["curves"][0]
    for d in ("7", "30", "90"):
        assert curve["p"][curve["x"].index(int(d))] == pytest.approx(s["capital_falls_within"][d]["p"], abs=1e-5)
    # Formatted numbers: the garrison's triangular distribution, thousands separated; the commands.
    assert "triangular: low 10,000 · mode 20,000 · high 40,000" in p.text and "23,333" in p.text
    assert f"sim rerun {run}" in p.text
    assert f"sim run {FLAGSHIP} --reps 3000 --seed 5" in p.text    # written from Python: the equivalent
    for words in (s["title"], "7 December 2024", "nodes.damascus.garrison", "Syria CBS 2004 census"):
        assert words in p.text, words


def test_a_run_without_outcomes_says_why_drivers_is_missing(folders):
    html, p = report(folders["homs"])
    assert html.count("data:image/png;base64,") == len(plots.FIGURES) - 1 and "figure left out" in p.text


def test_a_comparison_report_puts_the_runs_side_by_side(folders):
    html, p = report(folders["compare"])
    self_contained(p)
    c = json.loads((folders["compare"] / "compare.json").read_text())
    head = Parsed(html[:html.index("<nav")]).text
    for r in c["runs"]:
        assert r["label"] in head and pct(r["capital_falls_within"]["7"]["p"]) in head
        assert pct(r["end_states"]["holds"]["p"]) in head
    assert html.index("headline-table") < html.index("<figure")
    assert html.count("data:image/png;base64,") == 2
    spec = json.loads(re.search(r'id="compare-curve">.*?<script type="application/json">(.*?)</script>',
                                html, re.S).group(1))
    assert [x["label"] for x in spec["curves"]] == [r["label"] for r in c["runs"]]
    assert spec["curves"][1]["p"][7] == pytest.approx(c["runs"][1]["capital_falls_within"]["7"]["p"], abs=1e-5)
    assert "sim compare" in p.text


def test_a_sweep_report_gives_the_spread_and_every_point(folders):
    html, p = report(folders["grid"])
    self_contained(p)
    t = json.loads((folders["grid"] / "sweep.json").read_text())
    falls = [r["falls"] for r in t["rows"]]
    head = Parsed(html[:html.index("<nav")]).text
    assert f"{pct(min(falls))} – {pct(max(falls))}" in head and "allies.russia.capacity: 0, 0.5, 1" in head
    for r in t["rows"]:
        assert f"{pct(r['captured'])} ({pct(r['captured_lo'])}–{pct(r['captured_hi'])})" in p.text
    assert html.count("data:image/png;base64,") == 1 and "sweep_line" in p.ids


def test_a_sensitivity_report_names_the_top_factors(folders):
    html, p = report(folders["sensitivity"])
    self_contained(p)
    t = json.loads((folders["sensitivity"] / "indices.json").read_text())
    head = Parsed(html[:html.index("<nav")]).text
    block = sorted((r for r in t["rows"] if r["output"] == "falls"), key=lambda r: -r["mu_star"])
    assert "P(capital falls within the horizon): top factor" in head and block[0]["parameter"] in head
    assert f"mu* {number(block[0]['mu_star'], 3)}" in head
    assert html.count("data:image/png;base64,") == 3 and "mu*-sigma plane" in html  # indices, morris, tornado


def test_a_backtest_report_scores_what_happened(folders):
    html, p = report(folders["backtest"])
    self_contained(p)
    b = json.loads((folders["backtest"] / "backtest.json").read_text())
    head = Parsed(html[:html.index("<nav")]).text
    assert "What happened" in head and pct(b["what_happened"]["p"]["model"], 2) in head
    assert number(b["targets"]["capital"]["crps"]["model"], 3) in head
    assert 'id="backtest-curve"' in html and html.count("data:image/png;base64,") == 1


def test_run_figures_are_readable_at_the_page_width(folders):
    """Each figure's smallest text, scaled as the report shows it (at most the page's width), is at
    least 10 CSS pixels high: the drivers figure's labels were 6 px when it stood 15 inches wide."""
    run = RunFolder(folders["run"])
    with plots.plotting():
        for name, chart in plots.charts(run):
            fig = chart.figure
            fig.canvas.draw()
            sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
            width = fig.get_figwidth() * plots.DPI
            scale = min(1.0, page_module.CONTENT_PX / width)
            assert min(sizes) >= plots.MIN_FONT_PT, name
            assert min(sizes) / 72 * plots.DPI * scale >= 10, (name, min(sizes), width)
            chart.png()


@pytest.mark.parametrize("make,words", [
    (lambda d: None, "not a result folder (no such folder)"),
    (lambda d: d.mkdir(), "not a result folder sim wrote"),
    (lambda d: (d.mkdir(), (d / MANIFEST).write_text(json.dumps({"written_by": "sim", "kind": "calibration"}))),
     "a calibration folder: sim report writes reports of run, compare, grid, sensitivity, backtest, paths, update, "
     "timeline folders"),
    (lambda d: (d.mkdir(), (d / INCOMPLETE).write_text(marker("grid"))), "incomplete grid folder"),
])
def test_a_folder_that_is_not_a_result_is_one_line(tmp_path, capsys, make, words):
    make(tmp_path / "x")
    assert main(["report", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"sim: error: sim report: {tmp_path / 'x'}: ") and words in err[0]
    assert not (tmp_path / "x" / "report.html").exists()


def test_a_sweep_run_again_into_its_folder_drops_the_old_report(folders, tmp_path):
    import shutil
    grid = tmp_path / "grid"
    shutil.copytree(folders["grid"], grid)
    assert main(["report", str(grid)]) == 0
    assert main(["sweep", str(FLAGSHIP), "--param", "allies.russia.capacity=0,1", "--reps", "50", "--seed", "1",
                 "--workers", "1", "--no-plots", "--out", str(grid), "--quiet"]) == 0
    assert not (grid / "report.html").exists()
    assert np.all([r["reps"] == 50 for r in json.loads((grid / "sweep.json").read_text())["rows"]])
