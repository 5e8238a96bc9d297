"""A cluster keeps its colour across filters (issue 21, defect 6), in the real app in Chromium:
the Clusters page of the AlpacaEval demo draws its reason map; filtered to one category (a
shared link with ``slice=``), every cluster still on the map has the colour it had before, and
two clusters never share one."""

from __future__ import annotations

import pytest
from conftest import ROOT, app_server
from test_browser import wait_idle

DEMO = ROOT / "data" / "alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory.mktemp("colors")) as url:
        yield url


def _colours(page, url: str) -> dict[str, str]:
    """Cluster id -> marker colour of each trace of the reason map (Plotly's own figure data)."""
    page.goto(url)
    page.wait_for_selector(".js-plotly-plot .legend", timeout=60_000)
    wait_idle(page)
    traces = page.evaluate(
        "() => document.querySelector('.js-plotly-plot').data"
        ".map(t => [t.name, t.marker.color])")
    return {name.split(":")[0]: colour for name, colour in traces}


def test_a_cluster_keeps_its_colour_after_a_filter(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    before = _colours(page, f"{server}/clusters?data={DEMO.stem}")
    after = _colours(page, f"{server}/clusters?data={DEMO.stem}&slice=category:vicuna")
    page.get_by_text("of 805 examples · category").first.wait_for(timeout=60_000)
    assert len(before) >= 4 and after and set(after) <= set(before)
    assert len(set(before.values())) == len(before)  # one colour per cluster
    assert {c: after[c] for c in after} == {c: before[c] for c in after}
