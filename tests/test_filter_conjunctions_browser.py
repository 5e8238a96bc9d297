"""A finding's conjunction reopens as a view in the real app (Debian's Chromium, issue 22): a
link with a slice, two further slice conditions (``?and=``, one value holding ':' ';' ',' '&')
and a paired-difference metric condition shows the library's count for the same expressions in
the sidebar, lists each condition there, keeps them across a reload, and the sidebar's button
drops the further ones (and their ``?and=``)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from conftest import app_server
from test_browser import wait_idle
from test_filter_conjunctions import write_conjunction_file

from comparator.analysis.expr import parse
from comparator.analysis.filters import apply
from comparator.store.cache import open_store

SOURCE = "mt:long;q,1&x"  # the file's derived field: every character a link must carry
EXPRS = ["category=writing", "tags=one-turn", f"source={SOURCE}", "a-b.words>=0"]


@pytest.fixture(scope="module")
def server_and_file(tmp_path_factory):
    home = tmp_path_factory.mktemp("st")
    path = write_conjunction_file(home / "mt_conjunctions.jsonl")  # the user data dir: allowed
    with app_server(home) as url:
        yield url, path


def _count(page) -> int:
    """The sidebar's "N of M examples · ..." count, once the script run has finished and the
    previous run's caption is gone."""
    captions = page.locator("[data-testid=stSidebar]").get_by_text(" examples · ")
    for _ in range(120):
        wait_idle(page)
        if captions.count() == 1:
            break
        page.wait_for_timeout(500)
    text = captions.inner_text()
    return int(re.match(r"\s*([\d,]+) of", text).group(1).replace(",", ""))


def test_a_conjunction_link_opens_the_same_view(browser, server_and_file):
    server, path = server_and_file
    comp = open_store(path).comparison

    def count(exprs):
        return int(apply(comp, parse(exprs)).sum())

    want = count(EXPRS)
    assert want > 0
    for k in range(len(EXPRS)):  # every condition narrows: one the app ignored would show
        assert count(EXPRS[:k] + EXPRS[k + 1:]) > want, EXPRS[k]
    query = urlencode([("path", str(path)), ("slice", "category:writing"),
                       ("and", "tags:one-turn"), ("and", f"source:{SOURCE}"),
                       ("metric", "a-b.words>=0")])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{server}/?{query}")
        page.wait_for_selector("text=Win rate of A", timeout=60_000)
        assert _count(page) == want
        sidebar = page.locator("[data-testid=stSidebar]")
        for shown in ("tags = one-turn", f"source = {SOURCE}"):
            assert sidebar.get_by_text(shown).count() >= 1, shown
        page.reload()
        page.wait_for_selector("text=Win rate of A", timeout=60_000)
        assert _count(page) == want
        page.wait_for_function("() => new URLSearchParams(location.search).getAll('and')"
                               ".length === 2", timeout=60_000)
        assert [v for k, v in _params(page.url) if k == "and"] == [
            "tags:one-turn", f"source:{SOURCE}"]
        # the sidebar's button drops the further conditions; the slice and metric stay
        sidebar.get_by_role("button", name="Clear these conditions").click()
        page.wait_for_function("() => !new URLSearchParams(location.search).has('and')",
                               timeout=60_000)
        assert _count(page) == count([EXPRS[0], EXPRS[3]])
    finally:
        page.close()


def _params(url: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl, urlsplit

    return parse_qsl(urlsplit(url).query)
