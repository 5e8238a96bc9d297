"""Swap A and B in the real app (Debian's Chromium, issue 21): the sidebar's control turns the
headline into 1 − the win rate (ties counted half on both sides), names B's model first, and the
swap stays in the URL across a reload."""

from __future__ import annotations

import re

import pytest
from conftest import app_server
from test_browser import wait_idle

from comparator.analysis import summary
from comparator.formats import load
from comparator.schema.swap import swap
from comparator.ui import state

DEMO = next(iter(state.demos().values()))  # the app opens on it


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory.mktemp("st")) as url:
        yield url


def _headline(page) -> str:
    box = page.locator("[data-testid=stMetric]").filter(has_text="Win rate of A").first
    box.wait_for(timeout=60_000)
    return box.locator("[data-testid=stMetricValue]").inner_text().strip()


def _swap_box(page):
    return page.locator("[data-testid=stSidebar]").get_by_role("checkbox", name="Swap A and B")


def test_swap_control_toggles_the_headline_and_stays_in_the_url(browser, server):
    comp = load(DEMO).comparison
    plain, swapped = summary(comp), summary(swap(comp))
    assert plain["ties"] > 0  # the ties count half on both sides
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{server}/?data={DEMO.stem}")
        page.wait_for_selector("text=Win rate of A", timeout=60_000)
        wait_idle(page)
        before = _headline(page)
        assert before == f"{100 * plain['win_rate_a']:.1f}%"
        _swap_box(page).check(force=True)  # Streamlit hides the input under its own box
        page.wait_for_function(
            "([old]) => [...document.querySelectorAll('[data-testid=stMetricValue]')]"
            ".every(e => e.innerText.trim() !== old)", arg=[before], timeout=60_000)
        wait_idle(page)
        after = _headline(page)
        assert after == f"{100 * swapped['win_rate_a']:.1f}%"
        assert abs(float(before[:-1]) + float(after[:-1]) - 100) <= 0.1 + 1e-9
        assert page.get_by_role("heading", name=re.compile(
            "^" + re.escape(f"{comp.model_b} vs {comp.model_a}"))).count() == 1
        page.wait_for_function("() => location.search.includes('swap=1')", timeout=60_000)
        page.reload()
        page.wait_for_selector("text=Win rate of A", timeout=60_000)
        wait_idle(page)
        assert _headline(page) == after
        assert _swap_box(page).is_checked()
        assert "swap=1" in page.url
        # the Report page of this view: its command line reproduces the swap
        page.get_by_role("link", name="Report", exact=True).click()
        code = page.locator("[data-testid=stCode]").filter(has_text="python -m comparator report")
        code.wait_for(timeout=60_000)
        assert " --swap " in code.inner_text()
        assert _swap_box(page).is_checked()
    finally:
        page.close()
