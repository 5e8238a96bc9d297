"""A histogram click selects exactly the examples counted in that bar (issue 21, defect 2), in
the real app in Debian's Chromium: on every bundled demo, every bar of the Overview's score
histogram is clicked and the sidebar's count must equal the bar's height; the link the click
leaves in the URL, opened in a fresh page, must select the same examples."""

from __future__ import annotations

import re

import pytest
import test_browser
from test_browser import wait_idle

from comparator.ui.state import demos

DEMOS = [p.stem for p in demos().values()]
server = test_browser.server  # the app of this module, as test_browser starts it
SIDEBAR_P = "[data-testid=stSidebar] p"
HEIGHTS = ("() => { const d = document.querySelector('.js-plotly-plot');"
           " return d && d.calcdata && d.calcdata[0] && d.calcdata[0].length"
           " ? d.calcdata[0].map(c => c.s) : null }")


@pytest.fixture()
def page(browser):
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    yield pg
    pg.close()


def _count(page, pattern: str) -> int:
    """N of the sidebar's "N of M examples · ..." once the text after it matches ``pattern``."""
    rx = f"^([\\d,]+) of [\\d,]+ examples · {pattern}"
    page.wait_for_function(
        "rx => [...document.querySelectorAll('[data-testid=stSidebar] p')]"
        ".some(p => new RegExp(rx).test(p.innerText))", arg=rx, timeout=60_000)
    wait_idle(page)
    text = next(t for t in page.locator(SIDEBAR_P).all_inner_texts() if re.match(rx, t))
    return int(text.split(" of ")[0].replace(",", ""))


def _heights(page) -> list[int]:
    page.wait_for_selector("text=Score distribution", timeout=60_000)
    wait_idle(page)
    page.wait_for_function(HEIGHTS, timeout=60_000)
    page.wait_for_timeout(500)  # plotly has drawn the bars
    return [int(h) for h in page.evaluate(HEIGHTS)]


@pytest.mark.parametrize("stem", DEMOS)
def test_each_histogram_bar_click_selects_its_height(browser, page, server, stem):
    page.goto(f"{server}/?data={stem}")
    heights = _heights(page)
    total = _count(page, "all examples")
    assert sum(heights) > 0 and len(heights) > 10
    bars = page.locator(".js-plotly-plot").first.locator(".barlayer .point path")
    links = []
    for i, h in enumerate(heights):
        if h == 0:
            continue  # a bar of height 0 cannot be clicked (its selection: the fast test)
        bars.nth(i).click(force=True)
        n = _count(page, "score")
        assert n == h, f"{stem}: bar {i} holds {h} examples, its click selected {n}"
        links.append((page.url, h))
        page.get_by_role("button", name="Clear filters").click()
        assert _count(page, "all examples") == total
        assert _heights(page) == heights
    assert len(links) >= 3
    url, h = max(links, key=lambda x: x[1])  # the link of a click selects the same examples
    assert "score=" in url
    fresh = browser.new_page(viewport={"width": 1400, "height": 1000})
    fresh.goto(url)
    assert _count(fresh, "score") == h
    fresh.close()


def test_leaderboard_matrix_shows_a_dash_on_its_diagonal(page, server):
    page.goto(f"{server}/leaderboard?data={DEMOS[0]}")
    page.wait_for_selector("text=Predicted chance", timeout=60_000)
    wait_idle(page)
    cells = ".js-plotly-plot .heatmaplayer text, .js-plotly-plot g.textpoint text"
    page.wait_for_function(f"() => document.querySelectorAll('{cells}').length >= 4",
                           timeout=60_000)
    texts = page.evaluate(f"() => [...document.querySelectorAll('{cells}')]"
                          ".map(t => t.textContent)")
    assert "NaN" not in texts and texts.count("—") == 2, texts
