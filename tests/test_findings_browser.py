"""Findings in the real app (Debian's Chromium, issue 22): the Overview of the AlpacaEval demo
shows the findings ``find`` computes in this process on the same file, in the same order; the
first one's "Show these examples" filters the view to exactly its examples (the sidebar counts
its n, the link carries its conditions) and leaves the panel as it was; the Findings page says
how many conjunctions were tested and downloads what ``comparator findings --json`` prints; and
the HTML report of the file contains the findings' sentences."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import app_server, run_cli
from test_browser import wait_idle
from test_filter_conjunctions_browser import _count

from comparator.analysis.expr import parse
from comparator.analysis.filters import apply
from comparator.findings import FindingsConfig, find
from comparator.schema.jsonsafe import clean
from comparator.store.cache import open_store
from comparator.ui import state

DEMO = next(p for p in state.demos().values() if p.stem.startswith("alpaca_eval"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory.mktemp("st")) as url:
        yield url


@pytest.fixture(scope="module")
def found():
    """The comparison as the app opens it and its findings with the app's defaults (every
    model judge, tie threshold 0.25, depth 2, at least 30 examples, seed 0)."""
    comp = open_store(DEMO).comparison
    result = find(comp, FindingsConfig())
    assert len(result["findings"]) >= 5 and result["tested"] > 0  # the demo has findings
    return comp, result


def _url_exprs(url: str) -> list[str]:
    """The view's conditions as the link carries them: the slice, the further slice conditions
    and the metric conditions, as filter expressions."""
    out = []
    for k, v in parse_qsl(urlsplit(url).query):
        if k in ("slice", "and"):
            out.append("=".join(v.split(":", 1)))
        elif k == "metric":
            out += [x for x in v.split(";") if x]
    return out


def _panel_text(page) -> str:
    """The page's main text, whitespace collapsed (the sentences appear only in the panel)."""
    main = page.locator("[data-testid=stMainBlockContainer]")
    main.wait_for(timeout=60_000)
    return re.sub(r"\s+", " ", main.inner_text())


def test_overview_findings_click_filters_and_report_has_them(browser, server, found, tmp_path):
    comp, result = found
    top = result["findings"][:5]
    first = top[0]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{server}/?data={DEMO.stem}")
        page.wait_for_selector("text=Win rate of A", timeout=60_000)
        page.get_by_role("button", name="Show these examples").first.wait_for(timeout=60_000)
        wait_idle(page)
        text = _panel_text(page)
        at = [text.find(f["sentence"]) for f in top]  # shown, in find()'s order
        assert -1 not in at and at == sorted(at), (at, text[:500])
        assert f"n = {first['n']:,}" in text and "confirmed" in text
        assert f"{result['tested']:,} conjunctions tested" in text
        assert page.get_by_role("button", name="Show these examples").count() == len(top)
        assert _count(page) == len(comp.examples)

        page.get_by_role("button", name="Show these examples").first.click()
        page.wait_for_function(
            "([n]) => [...document.querySelectorAll('[data-testid=stSidebar] p')]"
            ".some(e => e.innerText.trim().startsWith(n + ' of '))",
            arg=[f"{first['n']:,}"], timeout=60_000)
        assert _count(page) == first["n"]
        page.wait_for_function("() => /[?&](slice|and|metric)=/.test(location.search)",
                               timeout=60_000)
        exprs = _url_exprs(page.url)
        assert exprs, page.url
        want = apply(comp, parse(list(first["filters"])))
        assert int(want.sum()) == first["n"]
        assert (apply(comp, parse(exprs)) == want).all(), (exprs, first["filters"])
        # the panel shows the whole comparison's findings: the click leaves it as it was
        assert first["sentence"] in _panel_text(page)

        # the Findings page: the view's filter stays, the tested count, the JSON download
        page.get_by_role("link", name="Findings", exact=True).click()
        status = f"{result['tested']:,} conjunctions tested, {len(result['findings'])} finding(s)"
        page.get_by_text(status).first.wait_for(timeout=60_000)
        wait_idle(page)
        assert _count(page) == first["n"]
        with page.expect_download(timeout=60_000) as dl:
            page.get_by_role("button", name="Download the findings (JSON)").click()
        path = tmp_path / "findings.json"
        dl.value.save_as(path)
        assert json.loads(path.read_text(encoding="utf-8")) == json.loads(
            json.dumps(clean(result), ensure_ascii=False))
    finally:
        page.close()

    # the report of the file has a Findings section with the same sentences
    out = tmp_path / "report.html"
    proc = run_cli("report", DEMO, "-o", out)
    assert proc.returncode == 0, proc.stderr
    shown = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "",
                                                     out.read_text(encoding="utf-8"))))
    for f in top[:3]:
        assert re.sub(r"\s+", " ", f["sentence"]) in shown, f["sentence"]
