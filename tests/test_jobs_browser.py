"""Issue 21, defect 5 in Debian's Chromium: a judging run is a server-side job. Started in one
tab, it keeps running when that tab is closed, is listed with its progress in a new tab (a new
browser context, i.e. a new session), is cancelled there, and its finished examples stay in the
output. And a large default run (all 805 AlpacaEval demo examples, six times) shows its number
of calls and asks for confirmation: without it nothing starts."""

from __future__ import annotations

import json
import time

import pytest
from conftest import app_server
from fault_proxy import FaultProxy
from test_browser import wait_idle

LIMIT = 100  # examples of the default demo to judge; each takes two calls (>= 1 s)
URLS = "Base URLs (one per line; several = round-robin with failover)"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("jobs-home")
    with app_server(home, {"HF_HUB_OFFLINE": "1"}) as url:
        yield url, home


def _fill(page, label, value):
    box = page.get_by_label(label, exact=True).first
    box.fill(str(value))
    box.press("Enter" if box.evaluate("e => e.tagName") == "INPUT" else "Tab")
    page.wait_for_timeout(300)


def _judge_page(context, url):
    page = context.new_page()
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.goto(url + "/judge")
    page.get_by_text("Judging the open comparison").first.wait_for(timeout=120_000)
    wait_idle(page)
    return page


def _lines(path) -> list[dict]:
    """The complete lines of a file being appended to (not a half-written last one)."""
    return [json.loads(x) for x in path.read_text().split("\n")[:-1] if x.strip()] \
        if path.exists() else []


def test_large_default_run_asks_to_confirm_and_does_not_start_without(server, browser):
    url, home = server
    with FaultProxy("http://127.0.0.1:9", schedule=lambda i: "500") as proxy:
        page = _judge_page(browser.new_context(), url)
        _fill(page, "Model", "some-judge")
        _fill(page, URLS, proxy.url)
        _fill(page, "Output name", "all-805")
        wait_idle(page)
        main = page.locator("[data-testid=stMain]")
        # the plan is shown before anything starts: 805 examples x 6 repeats
        main.get_by_text("4,830 calls").first.wait_for(timeout=60_000)
        assert "tokens" in main.inner_text()
        page.get_by_role("button", name="Start judging").click()
        main.get_by_text("Not started").first.wait_for(timeout=60_000)
        assert main.get_by_text("Confirm: start 4,830 calls").count() == 1
        wait_idle(page)
        page.wait_for_timeout(2000)
        assert proxy.requests == []
        assert not (home / "runs" / "all-805.jsonl").exists()
        assert "No runs yet" in main.inner_text() and "Cancel" not in main.inner_text()


def test_run_outlives_its_tab_and_is_cancelled_from_a_new_one(server, browser, tiny_server):
    url, home = server
    out = home / "runs" / "tab-run.jsonl"
    with FaultProxy(tiny_server["url"].removesuffix("/v1"), delay_s=0.5,
                    script=lambda body: "<verdict>A is better</verdict>") as proxy:
        first = browser.new_context()
        page = _judge_page(first, url)
        _fill(page, "Model", tiny_server["model"])
        _fill(page, URLS, proxy.url)
        _fill(page, "max tokens", 4)
        _fill(page, "Repeats per pair (half swapped)", 2)
        _fill(page, "Limit (0 = all examples)", LIMIT)
        _fill(page, "Concurrency (calls in flight)", 1)
        _fill(page, "Output name", "tab-run")
        wait_idle(page)
        page.get_by_role("button", name="Start judging").click()
        deadline = time.time() + 120
        while len(_lines(out)) < 3 and time.time() < deadline:  # header + two examples
            time.sleep(0.3)
        assert len(_lines(out)) >= 3, "the run did not start"
        first.close()  # the tab is gone; the run goes on

        page = _judge_page(browser.new_context(), url)
        job = page.locator("[data-testid=stVerticalBlock]").filter(
            has_text="tab-run.jsonl").filter(has_text="running").last
        job.wait_for(timeout=90_000)
        # its progress bar is drawn a moment after its title (the list is redrawn every second)
        job.get_by_text(f"of {LIMIT}").first.wait_for(timeout=60_000)
        seen = len(_lines(out)) - 1
        assert seen < LIMIT, "the run finished before it could be cancelled"
        for _ in range(3):  # a click that lands while the list redraws may be lost: again
            if job.get_by_role("button", name="Cancel").count():
                job.get_by_role("button", name="Cancel").click()
            try:
                page.get_by_text("Cancelled:").first.wait_for(timeout=30_000)
                break
            except Exception:
                continue
        page.get_by_text("Cancelled:").first.wait_for(timeout=30_000)
        page.wait_for_timeout(2000)
        calls = len(proxy.requests)
        page.wait_for_timeout(2000)
        assert len(proxy.requests) == calls, "calls go on after Cancel"

    rows = _lines(out)[1:]
    assert seen <= len(rows) < LIMIT  # finished examples kept, the rest never judged
    mine = [[j for j in r["judgments"] if j["judge"] == tiny_server["model"]] for r in rows]
    assert all(len(js) == 2 and all("score" in j for j in js) for js in mine)
    assert calls == 2 * len(rows)  # every call made is in the file: none lost, none paid twice
    assert f"{len(rows)} of {LIMIT}" in page.locator("[data-testid=stMain]").inner_text()
