"""The real app in a real browser: `streamlit run app.py` driven by Playwright in Debian's
Chromium. Upload a file, click a slice bar, open an example, screenshot; and a file whose
responses carry <script> / <img onerror> must not run anything."""

from __future__ import annotations

import itertools
import os

import pytest
from conftest import ALPACA_COT, app_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]



@pytest.fixture(scope="module", autouse=True)
def _chromium():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium (.ci/run does)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # uploads and caches stay out of the user's dirs
    with app_server(tmp_path_factory.mktemp("st")) as url:
        yield url


@pytest.fixture()
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.dialogs = []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        yield pg
        browser.close()


def _upload(page, server, path):
    page.goto(server)
    page.get_by_role("link", name="Data", exact=True).click()
    page.wait_for_selector("text=Upload a judged file", timeout=60_000)
    page.locator("input[type=file]").first.set_input_files(str(path))
    page.get_by_role("button", name="Load", exact=True).click()
    page.wait_for_selector("text=Loaded", timeout=60_000)


def _sidebar_count(page) -> str:
    return page.locator("[data-testid=stSidebar]").get_by_text(" examples · ").inner_text()


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Until the script run has finished: no "Running..." indicator, no spinner and no element
    left stale from the run before, for 0.6 s on end. Streamlit draws the indicator only
    500 ms into a run (it marks the last run's elements stale, ``data-stale``, at once, but a
    new page has none), so a page read at the first quiet moment could be one still running."""
    page.wait_for_function("""([sel, quiet, call]) => {
        const now = performance.now();
        if (document.querySelector(sel)) { window.__idle = null; return false; }
        if (!window.__idle || window.__idle.call !== call) window.__idle = {call, since: now};
        return now - window.__idle.since >= quiet;
    }""", arg=[IDLE_BUSY, 600, next(_CALLS)], timeout=timeout_ms, polling=100)


_CALLS = itertools.count()
IDLE_BUSY = ("[data-testid=stStatusWidget] [data-testid=stSpinner],"
             " [data-testid=stStatusWidgetRunningIcon], [data-stale=true]")


def _open_first_example(page):
    page.get_by_role("link", name="Examples", exact=True).click()
    select_first_row(page)


def select_first_row(page):
    """Select the first row of the page's first table; wait for the side-by-side view."""
    page.wait_for_selector("[data-testid=stDataFrame]", timeout=60_000)
    for _ in range(5):  # the grid may be redrawn by a late rerun under load: click again
        wait_idle(page)
        grid = page.locator("[data-testid=stDataFrame]").first
        grid.wait_for(state="visible", timeout=60_000)
        box = grid.bounding_box()
        if box is None:
            continue
        # the row-selection cell of the first data row sits at the grid's left edge
        page.mouse.click(box["x"] + 12, box["y"] + 35 + 18)
        try:
            page.wait_for_selector("text=Judgments (", timeout=15_000)
            return
        except Exception:
            continue
    page.wait_for_selector("text=Judgments (", timeout=30_000)


def test_upload_click_slice_open_example(page, server, tmp_path):
    _upload(page, server, ALPACA_COT)
    page.get_by_role("link", name="Overview", exact=True).click()
    page.wait_for_selector("text=Win rate by slice", timeout=60_000)
    before = _sidebar_count(page)
    assert before.startswith("805 of 805")
    bars = page.locator(".js-plotly-plot .barlayer .point path")
    page.wait_for_timeout(1500)
    bars.last.click(force=True)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stSidebar] p')]"
        ".some(p => /^\\d+ of 805 examples · category/.test(p.innerText))", timeout=60_000)
    after = _sidebar_count(page)
    n = int(after.split(" of ")[0])
    assert 0 < n < 805
    assert "slice=category" in page.url
    _open_first_example(page)
    assert page.get_by_text("Response A").count() + page.get_by_text("A ·").count() > 0
    page.screenshot(path=str(tmp_path / "example.png"), full_page=True)
    assert (tmp_path / "example.png").stat().st_size > 10_000


def test_script_in_responses_never_runs(page, server, tmp_path):
    evil = tmp_path / "evil.csv"
    evil.write_text(
        "prompt,response_a,response_b,label,category\n"
        '"<script>window.__pwned=1;alert(1)</script>","<img src=x onerror=\'window.__pwned=2;'
        'alert(2)\'>","<svg onload=alert(3)></svg> [x](javascript:alert(4))",A,'
        '"<b onmouseover=alert(5)>cat</b>"\n')
    _upload(page, server, evil)
    _open_first_example(page)
    page.wait_for_timeout(1500)
    for frame in page.frames:
        assert frame.evaluate("() => window.__pwned === undefined")
    assert page.dialogs == []
    assert page.locator("text=<script>window.__pwned=1;alert(1)</script>").count() >= 1
    assert page.locator("main img[src=x]").count() == 0
    page.screenshot(path=str(tmp_path / "evil.png"), full_page=True)
