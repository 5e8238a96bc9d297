"""Issue 21 in Chromium: the Report page's HTML is the CLI's HTML for the same view (one
renderer, one chart size) and its charts are not clipped; the Overview shows a JudgeBench
judge's accuracy against the gold label as ``stats --json`` has it."""

from __future__ import annotations

import json
import re
import shlex

import pytest
from conftest import ROOT, SHARED, app_server, run_cli
from test_browser import _chromium, _upload, wait_idle  # noqa: F401  (fixture)
from test_browser_report import _offline_page

JUDGEBENCH = SHARED / "judgebench" / "sample_20_pairs.o1-mini_on_gpt-4o.jsonl"
EPOCH = "1767225600"  # SOURCE_DATE_EPOCH: the report's "created" time, for both makers
CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory.mktemp("st"), {"SOURCE_DATE_EPOCH": EPOCH}) as url:
        yield url


def _first_difference(a: str, b: str) -> str:
    k = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (f"lengths {len(a)} / {len(b)}; first difference at {k}:\n"
            f"page: …{a[max(0, k - 150):k + 150]}…\ncli:  …{b[max(0, k - 150):k + 150]}…")


# every plotly chart: its tick labels and axis titles inside the chart, each axis title clear
# of its tick labels, the margins grown to fit them (automargin)
CLIPPED = """() => {
  const out = [];
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const svg = gd.querySelector('.main-svg').getBoundingClientRect();
    const lay = gd._fullLayout;
    for (const ax of ['xaxis', 'yaxis'])
      if (!lay[ax].automargin) out.push(gd.id + ' ' + ax + ' has no automargin');
    const labels = '.xtick text, .ytick text, .g-xtitle text, .g-ytitle text';
    for (const t of gd.querySelectorAll(labels)) {
      const r = t.getBoundingClientRect();
      if (r.width && (r.left < svg.left - 0.5 || r.right > svg.right + 0.5 ||
                      r.top < svg.top - 0.5 || r.bottom > svg.bottom + 0.5))
        out.push(gd.id + ' clips "' + t.textContent + '"');
    }
    const ticks = [...gd.querySelectorAll('.ytick text')].map(t => t.getBoundingClientRect())
                                                         .filter(r => r.width);
    const title = gd.querySelector('.g-ytitle text');
    if (title && ticks.length) {
      const r = title.getBoundingClientRect();
      if (r.right > Math.min(...ticks.map(x => x.left)) + 0.5)
        out.push(gd.id + ' y title "' + title.textContent + '" over its tick labels');
    }
  }
  return out;
}"""


def test_report_page_html_is_the_cli_html_and_unclipped(server, browser, tmp_path, monkeypatch):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/report?data=mt_bench_phi-3_vs_phi-3-dpo")  # the demo, by its link
    button = page.get_by_role("button", name=re.compile("HTML"))
    button.wait_for(timeout=60_000)
    wait_idle(page)
    command = page.locator("[data-testid=stCode]").filter(
        has_text="python -m comparator report").inner_text().strip()
    args = shlex.split(command)
    assert args[:4] == ["python", "-m", "comparator", "report"] and args[-2] == "-o", command
    assert "--by" in args  # the view has a slice chart (its labels were the clipped ones)
    with page.expect_download(timeout=60_000) as dl:
        button.click()
    from_page = tmp_path / "page.html"
    dl.value.save_as(from_page)

    from_cli = tmp_path / "cli.html"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    r = run_cli(*args[3:-1], from_cli, cwd=ROOT)  # the page's own command line, as shown
    assert r.returncode == 0, r.stderr
    a, b = from_page.read_text(encoding="utf-8"), from_cli.read_text(encoding="utf-8")
    assert CREATED.search(a) and CREATED.search(b)
    ua, ub = CREATED.sub("CREATED", a), CREATED.sub("CREATED", b)
    assert ua == ub, _first_difference(ua, ub)
    assert a == b  # the same bytes: SOURCE_DATE_EPOCH fixes the one timestamp

    for path in (from_page, from_cli):
        report, blocked, _ = _offline_page(browser, path)
        report.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        report.wait_for_timeout(500)
        assert report.locator(".js-plotly-plot").count() >= 2  # histogram and slice bars
        assert report.locator(".js-plotly-plot .ytick text").count() > 0
        assert report.evaluate(CLIPPED) == [], path.name
        assert blocked == []
        report.context.close()


def _figures_table(page) -> dict[str, str]:
    """label -> value of the Overview's "Benchmark figures" table, as the page shows them."""
    return page.evaluate("""() => {
      const t = [...document.querySelectorAll('table')]
        .find(t => t.querySelector('th') && t.innerText.includes('detail'));
      return t ? Object.fromEntries([...t.querySelectorAll('tbody tr')].map(
        r => [...r.querySelectorAll('td')].map(c => c.innerText.trim()).slice(0, 2))) : {};
    }""")


def test_overview_shows_judgebench_accuracy_as_stats_json(server, browser):
    r = run_cli("stats", JUDGEBENCH, "--json")
    assert r.returncode == 0, r.stderr
    acc = json.loads(r.stdout)["reference_accuracy"]
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    _upload(page, server, JUDGEBENCH)
    page.get_by_role("link", name="Overview", exact=True).click()
    page.get_by_role("heading", name="Benchmark figures").wait_for(timeout=60_000)
    page.locator("td").filter(has_text=" accuracy vs ").first.wait_for(timeout=60_000)
    wait_idle(page)
    shown = _figures_table(page)
    assert any(x["n"] for row in acc.values() for x in row["groups"].values())
    for judge, row in acc.items():
        want = {f"{judge} accuracy vs {row['reference']}": row["accuracy"],
                **{f"{judge} accuracy vs {row['reference']}: {g}": x["accuracy"]
                   for g, x in row["groups"].items() if x["n"]}}  # the sources in the file
        for label, value in want.items():
            assert label in shown, (label, shown)
            assert shown[label] == f"{100 * value:.2f}%", (label, shown[label])


def test_overview_figures_of_a_hostile_file_are_text(server, browser, tmp_path):
    """Model and category names are the file's text: the table shows them as written."""
    from test_benchmark_formats import AH_GAMES

    category = "**b** ![i](http://127.0.0.1:9/x.png) <img src=x> $x^2$ [l](javascript:alert(1))"
    rows = [json.loads(line) for line in AH_GAMES.read_text(encoding="utf-8").splitlines()]
    for r in rows:
        r.update(category=category, model="m<b>x<b>_*1*")
    path = tmp_path / "gpt-4-0613.v2.0-games.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    _upload(page, server, path)
    page.get_by_role("link", name="Overview", exact=True).click()
    page.locator("td").filter(has_text="Arena-Hard score of").first.wait_for(timeout=60_000)
    wait_idle(page)
    shown = {k.replace("\u2060", ""): v for k, v in _figures_table(page).items()}  # md_text: U+2060
    head = "Arena-Hard score of m<b>x<b>_*1* vs gpt-4-0314"
    assert set(shown) == {head, f"{head}: {category}"}, shown
    table = page.locator("table").filter(has_text="Arena-Hard score of")
    assert table.locator("img, a, b, strong, em, .katex").count() == 0
