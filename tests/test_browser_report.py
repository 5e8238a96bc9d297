"""The Report page in a real browser: open a demo, filter a slice on the Overview, download the
HTML report, open it in a fresh page with every network request blocked, and check that its
charts rendered and its figures equal the Overview's. Also: a report of a file whose texts
carry <script> runs nothing."""

from __future__ import annotations

import json
import re

from conftest import run_cli
from test_browser import _chromium, server  # noqa: F401  (fixtures)


def _offline_page(browser, path):
    """A fresh context where every request but the report file itself is aborted."""
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    page = ctx.new_page()
    blocked, dialogs = [], []
    target = path.as_uri()

    def route(r):
        if r.request.url == target:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(target)
    return page, blocked, dialogs


def _metric(page, label: str) -> str:
    m = page.locator("[data-testid=stMetric]").filter(has_text=label).first
    return m.locator("[data-testid=stMetricValue]").inner_text().strip()


def test_report_download_opens_offline_with_the_overview_figures(server, browser,  # noqa: F811
                                                                  tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    page.get_by_role("link", name="Data", exact=True).click()
    page.get_by_text("MT-Bench: phi-3 vs phi-3-dpo").click()
    page.wait_for_timeout(1500)
    page.get_by_role("link", name="Overview", exact=True).click()
    page.wait_for_selector("text=Win rate by slice", timeout=60_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stSidebar] p')]"
        ".some(p => /^75 of 75 examples/.test(p.innerText))", timeout=60_000)
    page.wait_for_timeout(1500)
    page.locator(".js-plotly-plot .barlayer .point path").last.click(force=True)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stSidebar] p')]"
        ".some(p => /^\\d+ of 75 examples · category/.test(p.innerText))", timeout=60_000)
    page.wait_for_timeout(1000)
    rate, counts = _metric(page, "Win rate of A"), _metric(page, "A / tie / B")
    ci = page.get_by_text(re.compile(r"^95% CI \[")).first.inner_text()
    assert "slice=category" in page.url

    page.get_by_role("link", name="Report", exact=True).click()
    button = page.get_by_role("button", name=re.compile("HTML"))
    button.wait_for(timeout=60_000)
    assert "slice=category" in page.url  # the view stays in the link
    link = page.locator("[data-testid=stCode]").filter(has_text="slice=category").inner_text()
    caption = page.locator("[data-testid=stSidebar]").get_by_text(" examples · ").inner_text()
    other = browser.new_page()  # a colleague opens the link: the same view
    other.goto(link.strip())
    other.wait_for_function(
        "c => [...document.querySelectorAll('[data-testid=stSidebar] p')]"
        ".some(p => p.innerText === c)", arg=caption, timeout=60_000)
    other.get_by_role("button", name=re.compile("HTML")).wait_for(timeout=60_000)
    other.close()
    with page.expect_download(timeout=60_000) as dl:
        button.click()
    path = tmp_path / "report.html"
    dl.value.save_as(path)

    report, blocked, dialogs = _offline_page(browser, path)
    report.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    assert report.locator(".js-plotly-plot .barlayer .point path").count() > 0
    assert report.locator(".js-plotly-plot").count() >= 2  # histogram and slice bars
    data = json.loads(report.locator("#report-data").text_content())
    s = data["stats"]
    assert f"{100 * s['win_rate_a']:.1f}%" == rate
    assert f"{s['a_wins']} / {s['ties']} / {s['b_wins']}" == counts
    lo, hi = s["win_rate_a_ci95"]
    assert ci.startswith(f"95% CI [{100 * lo:.1f}, {100 * hi:.1f}]")
    assert data["provenance"]["filters"][0].startswith("category=")
    assert data["provenance"]["tie_threshold"] == 0.25
    card = report.locator(".card").filter(has_text="Win rate of A").inner_text()
    assert rate in card
    assert blocked == [] and dialogs == []
    report.screenshot(path=str(tmp_path / "report.png"), full_page=False)


def test_report_of_hostile_texts_runs_nothing(browser, tmp_path):
    src = tmp_path / "evil.csv"
    src.write_text(
        "prompt,response_a,response_b,label,category\n"
        '"<script>window.__pwned=1;alert(1)</script>","<img src=x onerror=\'window.__pwned=2;'
        'alert(2)\'>","<svg onload=alert(3)></svg>",A,"<b onmouseover=alert(5)>cat</b>"\n'
        '"p2","<a href=javascript:alert(6)>x</a>","b",B,"<i>other</i>"\n')
    out = tmp_path / "evil.html"
    r = run_cli("report", src, "--by", "category", "-o", out)
    assert r.returncode == 0, r.stderr
    page, blocked, dialogs = _offline_page(browser, out)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    page.wait_for_timeout(1000)
    assert page.evaluate("() => window.__pwned === undefined")
    assert dialogs == [] and blocked == []  # no request either (the <img src=x> is text)
    assert page.locator("body img, body svg[onload], body a[href^=javascript]").count() == 0
    assert page.get_by_text("<script>window.__pwned=1;alert(1)</script>").count() >= 1
    # the category labels in the chart are text, not markup
    assert page.locator(".js-plotly-plot b, .js-plotly-plot i").count() == 0


def test_an_uploaded_file_is_a_link_too(server, browser, tmp_path):  # noqa: F811
    from conftest import ALPACA_COT
    from test_browser import _upload

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _upload(page, server, ALPACA_COT)
    page.get_by_role("link", name="Report", exact=True).click()
    page.get_by_role("button", name=re.compile("HTML")).wait_for(timeout=60_000)
    link = page.locator("[data-testid=stCode]").filter(has_text="path=").inner_text().strip()
    assert "uploads" in link and ALPACA_COT.name.split(".")[0] in link
    other = browser.new_page()
    other.goto(link)
    other.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stSidebar] p')]"
        ".some(p => /^805 of 805 examples/.test(p.innerText))", timeout=60_000)
