"""Responses are shown as written (issue 21, defect 1): the MT-Bench demo's code answer (search
"top-5 words", example 121) opened side by side in the real app in Chromium. In Markdown mode
each code block's text is the response's code exactly (indentation included) and no escaping
(``\\#``) or Streamlit directive (``:blue-background[``) leaks onto the page; in Raw mode the
visible text of each response is the response string exactly, whitespace included; the
word-difference highlight never glues or splits words."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from conftest import ROOT, app_server
from test_browser import select_first_row, wait_idle

DEMO = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def _example(ex_id: str) -> dict:
    for line in DEMO.read_text().splitlines():
        ex = json.loads(line)
        if ex.get("id") == ex_id:
            return ex
    raise AssertionError(f"{DEMO}: no example {ex_id}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory.mktemp("render")) as url:
        yield url


def _shot(page, tmp_path, name: str) -> None:
    """The example's view from its heading down (COMPARATOR_TEST_SHOTS: a folder to copy to)."""
    page.get_by_text("Example 121").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    path = tmp_path / name
    page.screenshot(path=str(path))
    if os.environ.get("COMPARATOR_TEST_SHOTS"):
        shutil.copy(path, os.environ["COMPARATOR_TEST_SHOTS"])


def _responses(page) -> list:
    """The two response elements of the side-by-side view (A, then B)."""
    a, b = page.locator("main .cmp-side-a"), page.locator("main .cmp-side-b")
    a.wait_for(timeout=60_000)
    return [a, b]


def test_code_answer_is_shown_exactly(browser, server, tmp_path):
    ex = _example("121")
    a, b = ex["response_a"], ex["response_b"]
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    page.goto(server + "/examples?data=" + DEMO.stem)
    box = page.get_by_label("Ranked search (words and meaning)", exact=True)
    box.wait_for(timeout=60_000)
    box.fill("top-5 words")
    box.press("Enter")
    page.wait_for_selector("text=Top ", timeout=60_000)
    select_first_row(page)  # the best match: example 121
    wait_idle(page)
    _shot(page, tmp_path, "side_by_side.png")
    body = page.inner_text("main")
    for bad in ("\\#", "os\\.listdir\\(", ":blue-background", ":orange-background",
                "deffind_top_words", "defget_top_five_words"):
        assert bad not in body, f"{bad!r} is shown on the page"
    # Markdown mode: each code block is the response's code, indentation included
    for loc, text in zip(_responses(page), (a, b)):
        shown = [c.text_content() for c in loc.locator("pre code").all()]
        assert shown == FENCE.findall(text)
        assert "    word_count = Counter()" in shown[0]
    # Raw mode: the visible text is the response string exactly
    page.locator("[data-testid=stButtonGroup] button", has_text="Raw").first.click()
    wait_idle(page)
    page.wait_for_selector("main .cmp-side-a.cmp-raw", timeout=60_000)
    _shot(page, tmp_path, "raw.png")
    for loc, text in zip(_responses(page), (a, b)):
        assert loc.text_content() == text
        assert loc.inner_text() == text
    page.close()


def test_read_view_keeps_code_and_shared_words_exact(browser, server):
    """The Read view (filtered by the sidebar search to example 121): each response's code
    blocks are its code exactly, and in Raw mode its text is the response exactly, with the
    shared runs highlighted inside it."""
    ex = _example("121")
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    page.goto(server + "/examples?data=" + DEMO.stem + "&q=top-5%20words%20with")
    page.locator("[data-testid=stButtonGroup] button", has_text="Read").first.click()
    page.wait_for_selector("text=rater", timeout=60_000)
    wait_idle(page)
    a, b = _responses(page)
    for loc, text in ((a, ex["response_a"]), (b, ex["response_b"])):
        assert [c.text_content() for c in loc.locator("pre code").all()] == FENCE.findall(text)
    assert a.locator("mark").count() > 0
    page.locator("[data-testid=stButtonGroup] button", has_text="Raw").first.click()
    page.wait_for_selector("main .cmp-side-a.cmp-raw", timeout=60_000)
    a, b = _responses(page)
    assert a.inner_text() == ex["response_a"] and b.inner_text() == ex["response_b"]
    assert "render=raw" in page.url
    page.close()
