"""The whole path in Debian's Chromium, through the app's pages only, on real inputs: generate
answers to real MT-Bench questions with the tiny model behind `transformers serve` (Generate
page) -> judge the pairs with the same server (Judge page) -> cluster the prompts into
discovered categories (Clusters page) -> slice by them (sidebar) -> read the examples and the
reliability page -> download the HTML report of the sliced view (Report page). A full-page
screenshot of every page is kept as a test artifact in tests/artifacts/e2e/ (git-ignored;
COMPARATOR_ARTIFACTS overrides the folder)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT, free_port, running
from test_browser import ARGS, CHROMIUM

ARTIFACTS = Path(os.environ.get("COMPARATOR_ARTIFACTS") or ROOT / "tests" / "artifacts" / "e2e")
N = 4  # MT-Bench questions (two turns each)


@pytest.fixture()
def app_server(tmp_path):
    port = free_port()
    home = tmp_path / "home"
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
           str(port)]
    url = f"http://127.0.0.1:{port}"
    env = {"COMPARATOR_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    with running(cmd, url + "/_stcore/health", tmp_path / "st.log", env):
        yield url, home


def _nav(page, name):
    page.locator("[data-testid=stSidebarNav]").get_by_role("link", name=name, exact=True).click()
    page.wait_for_timeout(1500)


def _fill(page, label, value, nth=0):
    box = page.get_by_label(label, exact=True).nth(nth)
    box.fill(str(value))
    box.press("Enter" if box.evaluate("e => e.tagName") == "INPUT" else "Tab")
    page.wait_for_timeout(400)


def _shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _wait_text(page, text, timeout=600_000):
    try:
        page.get_by_text(text).first.wait_for(timeout=timeout)
    except Exception:
        _shot(page, "failed-waiting")
        raise


def _finished(page, n: int, out: Path) -> None:
    """Wait for the job panel's end; it must say every example finished."""
    _wait_text(page, "Finished:")
    said = page.get_by_text("Finished:").first.inner_text()
    tail = out.read_text()[-1500:] if out.exists() else "(no output)"
    assert said.startswith(f"Finished: {n} examples") and "failed" not in said, (said, tail)


def _backend(page, column: int, model: str, url: str, max_tokens: int):
    _fill(page, "Model", model, column)
    _fill(page, "Base URLs (one per line; several = round-robin with failover)", url, column)
    _fill(page, "max tokens", max_tokens, column)


def test_generate_judge_cluster_slice_in_the_browser(tiny_server, app_server):
    from playwright.sync_api import sync_playwright

    url, home = app_server
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # this run's screenshots only
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        _wait_text(page, "Win rate of A", 120_000)
        _shot(page, "01-overview-demo")

        # 1. generate: 4 real MT-Bench questions, both sides the tiny model (B sampled)
        _nav(page, "Generate")
        _wait_text(page, "Model A", 60_000)
        _fill(page, "Limit (0 = all)", N)
        _backend(page, 0, tiny_server["model"], tiny_server["url"], 6)
        _backend(page, 1, tiny_server["model"], tiny_server["url"], 6)
        _fill(page, "temperature", 0.8, 1)
        _fill(page, "Output name", "e2e-gen")
        page.get_by_role("button", name="Start", exact=True).click()
        gen = home / "runs" / "e2e-gen.jsonl"
        _finished(page, N, gen)
        _shot(page, "02-generate-finished")
        rows = [json.loads(x) for x in gen.read_text().splitlines()]
        assert len(rows) == 1 + N and all(r["metadata"]["gen_status"] == "ok" for r in rows[1:])
        assert all(len(r["response_a"]) == 2 for r in rows[1:])  # two turns each

        # 2. judge the pairs (2 repeats, one in each order) with the same server
        page.get_by_role("button", name="Judge these pairs").click()
        try:
            _wait_text(page, "Judging the open comparison", 30_000)
        except Exception:
            _shot(page, "debug-after-judge-these-pairs")
            raise
        _fill(page, "Model", tiny_server["model"])
        _fill(page, "Base URLs (one per line; several = round-robin with failover)",
              tiny_server["url"])
        _fill(page, "max tokens", 16)
        _fill(page, "Repeats per pair (half swapped)", 2)
        _fill(page, "Output name", "e2e-judged")
        page.get_by_role("button", name="Start judging").click()
        judged = home / "runs" / "e2e-judged.jsonl"
        _finished(page, N, judged)
        _shot(page, "03-judge-finished")
        jrows = [json.loads(x) for x in judged.read_text().splitlines()][1:]
        assert len(jrows) == N and all(len(r["judgments"]) == 2 for r in jrows)
        page.get_by_role("button", name="Open in the dashboard").click()
        _wait_text(page, "Score distribution", 120_000)
        _shot(page, "04-overview-judged")

        # 3. cluster the prompts into discovered categories
        _nav(page, "Clusters")
        _wait_text(page, "Cluster settings", 60_000)
        page.get_by_text("prompts", exact=True).first.click()
        page.get_by_text("2-D map (UMAP)").click()  # no map: keeps the run short
        thumb = page.locator("[data-testid=stMain]").get_by_role("slider").first  # k: Home = 2
        thumb.focus()
        thumb.press("Home")
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Run", exact=True).click()
        spinner = page.get_by_text("Embedding and clustering")
        spinner.wait_for(timeout=60_000)
        spinner.wait_for(state="detached", timeout=600_000)
        _shot(page, "05-clusters")
        assert "Traceback" not in page.inner_text("body")

        # 4. slice by the discovered categories
        _nav(page, "Overview")
        _wait_text(page, "Win rate by slice", 120_000)
        side = page.locator("[data-testid=stSidebar]")
        for _ in range(3):  # a pick that lands while the page reruns may be lost: again
            side.get_by_label("Slice by").click()
            page.get_by_role("option", name="discovered_category").click()
            try:
                side.get_by_label("Slice value").wait_for(timeout=20_000)
                break
            except Exception:
                _shot(page, "debug-slice-by")
        side.get_by_label("Slice value").click()
        page.get_by_role("option").nth(1).click()
        page.wait_for_function(
            f"() => [...document.querySelectorAll('[data-testid=stSidebar] p')]"
            f".some(p => /^\\d+ of {N} examples · discovered_category/.test(p.innerText))",
            timeout=60_000)
        shown = side.get_by_text(f" of {N} examples · ").first.inner_text()
        assert 0 < int(shown.split(" of ")[0]) < N
        _shot(page, "06-overview-slice")
        _nav(page, "Examples")
        page.locator("[data-testid=stButtonGroup] button", has_text="Read").click()
        _wait_text(page, "rater", 60_000)
        _shot(page, "07-examples-read")
        _nav(page, "Judge reliability")
        _wait_text(page, "Position consistency", 60_000)
        _shot(page, "08-reliability")
        _nav(page, "Data")
        _wait_text(page, "Validation report", 60_000)
        _shot(page, "09-data")

        # 5. export a report of the sliced view (Report page, merged from issue 9)
        _nav(page, "Report")
        _wait_text(page, "Download", 120_000)
        with page.expect_download(timeout=120_000) as dl:
            page.get_by_role("button", name="HTML (self-contained)").click()
        html = Path(dl.value.path()).read_text()
        assert "<html" in html.lower() and "discovered_category" in html
        (ARTIFACTS / "report.html").write_text(html)
        _shot(page, "10-report")
        assert page.dialogs == []
        assert "Traceback" not in page.inner_text("body")
        browser.close()
    assert len(list(ARTIFACTS.glob("*.png"))) >= 10
