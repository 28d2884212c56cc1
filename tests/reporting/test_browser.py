"""The run report in a real headless browser (Debian's Chromium, driven by playwright): it renders
with the headline numbers before the first figure, logs no console error, loads nothing from the
network, shows a value under the pointer on the interactive curve, and screenshots as a real image."""

import io
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from sim.cli import main
from sim.reporting.style import pct
from sim.runs.folder import RunFolder

from tests.conftest import SCENARIOS

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e '.[test]'")
if not CHROMIUM.exists() and shutil.which("chromium") is None:
    pytest.skip("Chromium not found at /usr/bin/chromium and not installed: make test-deps installs it with apt-get "
                "(as root, where apt-get exists)", allow_module_level=True)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The flagship's report open in Chromium, with every request and console message recorded."""
    run = tmp_path_factory.mktemp("browser") / "run"
    assert main(["run", str(SCENARIOS / "syria-2024-12-07.toml"), "--reps", "2000", "--seed", "3", "--out", str(run),
                 "--quiet"]) == 0
    assert main(["report", str(run)]) == 0
    executable = str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        seen = {"requests": [], "console": [], "errors": []}
        tab.on("request", lambda r: seen["requests"].append(r.url))
        tab.on("console", lambda m: seen["console"].append((m.type, m.text)))
        tab.on("pageerror", lambda e: seen["errors"].append(str(e)))
        tab.goto((run / "report.html").as_uri(), wait_until="load")
        yield tab, seen, RunFolder(run).summary
        browser.close()


def test_the_headline_numbers_come_before_the_first_figure(page):
    tab, _, s = page
    text = tab.inner_text("body")
    for v in [*s["capital_falls_within"].values(), *s["end_states"].values()]:
        assert pct(v["p"]) in text
    order = tab.evaluate("""() => {
        const head = document.querySelector('.headline'), fig = document.querySelector('figure');
        return head.compareDocumentPosition(fig) & Node.DOCUMENT_POSITION_FOLLOWING; }""")
    assert order
    headline = tab.inner_text(".headline")
    assert pct(s["capital_falls_within"]["7"]["p"]) in headline and "P(falls within 7 days)" in headline
    assert tab.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")


def test_no_console_errors_and_nothing_from_the_network(page):
    tab, seen, _ = page
    tab.wait_for_timeout(200)
    assert not seen["errors"], seen["errors"]
    assert not [c for c in seen["console"] if c[0] in ("error", "warning")], seen["console"]
    assert seen["requests"] and all(u.startswith(("file://", "data:")) for u in seen["requests"]), seen["requests"]


def test_hover_shows_the_day_the_date_and_the_probability(page):
    tab, _, s = page
    svg = tab.locator("#fall-curve svg")
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    left, right = box["x"] + box["width"] * 64 / 900, box["x"] + box["width"] * 880 / 900
    spec_right = tab.evaluate("() => JSON.parse(document.querySelector('#fall-curve script').textContent).right")
    x = left + (right - left) * (7.5 / spec_right)           # inside day 7
    tab.mouse.move(x, box["y"] + box["height"] / 2)
    readout = tab.inner_text("#fall-curve output")
    assert re.fullmatch(r"14 Dec 2024 · day 7 · P\(capital fallen by then\) \d+\.\d%", readout), readout
    assert readout.endswith(pct(s["capital_falls_within"]["7"]["p"]))


def test_a_screenshot_is_a_real_picture(page, tmp_path):
    tab, _, _ = page
    tab.evaluate("() => window.scrollTo(0, 0)")
    path = tmp_path / "report.png"
    tab.screenshot(path=str(path))
    im = Image.open(io.BytesIO(path.read_bytes()))
    assert im.format == "PNG" and im.size == (1280, 900)
    grey = im.convert("L")
    assert ImageStat.Stat(grey).stddev[0] > 20 and len(grey.getcolors(256)) > 50   # not blank
