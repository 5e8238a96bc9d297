"""Opening a file in the real app (Debian's Chromium, issue 21, defects 4, 7 and 8): a failed
open leaves the open comparison as it was and says why once; the Path route has the upload's
options (a FastChat single-grade file of four models opens with a chosen pair); an Arena battle
log points to the Leaderboard page; with COMPARATOR_DATA_DIRS set, the app's own runs under
$COMPARATOR_HOME still open; and no page of the app requests anything from another host."""

from __future__ import annotations

import json
import re
import shutil
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import ROOT, SHARED, app_server, read_jsonl
from test_browser import wait_idle
from test_leaderboard import _arena_battles

SINGLE = [*sorted((SHARED / "mt_bench_single").glob("*.jsonl")),
          *sorted((ROOT / "tests" / "data" / "mt_bench_single").glob("*.jsonl"))]
RUN = ROOT / "data" / "llmbar_gpt-4_vs_human.jsonl"  # a native file, as a run writes one
PAIR = ("phi-3-dpo", "gemini-1.5-flash")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An allowed folder (the only one COMPARATOR_DATA_DIRS names) with a bad file, a FastChat
    single-grade file of four models and an Arena battle log; a run under $COMPARATOR_HOME."""
    home, allowed = tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("allowed")
    (allowed / "bad.jsonl").write_text('{"prompt": "hello"}\n{"prompt": "again"}\n')
    (allowed / "gpt-4_single.jsonl").write_bytes(b"".join(p.read_bytes() for p in SINGLE))
    (allowed / "battles.jsonl").write_text(
        "".join(json.dumps(b) + "\n" for b in _arena_battles()))
    (home / "runs").mkdir()
    shutil.copy(RUN, home / "runs" / "judged.jsonl")
    return {"home": home, "allowed": allowed}


@pytest.fixture(scope="module")
def server(files):
    with app_server(files["home"], {"COMPARATOR_DATA_DIRS": str(files["allowed"])}) as url:
        yield url


@pytest.fixture()
def page(browser, server):
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    yield pg
    pg.close()


def _sidebar(page) -> str:
    return page.locator("[data-testid=stSidebar]").get_by_text(
        re.compile(r"^\d[\d,]* of [\d,]+ examples")).first.inner_text()


def _data_page(page) -> None:
    page.get_by_role("link", name="Data", exact=True).click()
    page.wait_for_selector("text=Open a file on this server or a URL", timeout=60_000)
    wait_idle(page)


def _type_path(page, path) -> None:
    box = page.get_by_label("Path or URL")
    box.fill(str(path))
    box.press("Enter")
    wait_idle(page)


def _open(page) -> None:
    page.locator("[data-testid^=stBaseButton]").filter(has_text=re.compile("^Open$")).click()
    try:  # the run starts; a short one may finish before its indicator shows
        page.wait_for_selector("[data-testid=stStatusWidgetRunningIcon]", timeout=3000)
    except Exception:
        pass
    wait_idle(page)
    page.wait_for_timeout(1000)


def _alerts(page, kind: str) -> list[str]:
    return [t.replace("\u2060", "") for t in
            page.locator(f"[data-testid=stAlertContent{kind}]").all_inner_texts()]


def _examples_metric(page) -> str:
    metric = page.locator("[data-testid=stMetric]").filter(has_text="Examples").first
    return metric.locator("[data-testid=stMetricValue]").inner_text()


def test_a_failed_open_keeps_the_comparison_and_says_why_once(page, server, files):
    page.goto(f"{server}/?data=mt_bench_phi-3_vs_phi-3-dpo&slice=category:writing")
    page.wait_for_selector("text=Win rate by slice", timeout=60_000)
    wait_idle(page)
    before = _sidebar(page)
    assert re.match(r"^\d+ of 75 examples · category", before), before
    _data_page(page)
    _type_path(page, files["allowed"] / "bad.jsonl")
    _open(page)
    errors = _alerts(page, "Error")
    assert len(errors) == 1, errors
    assert "bad.jsonl" in errors[0], errors
    assert _alerts(page, "Success") == [], _alerts(page, "Success")
    assert _examples_metric(page) == "75"  # the validation report of the file still open
    assert "slice=category" in page.url and "data=mt_bench" in page.url, page.url
    page.get_by_role("link", name="Overview", exact=True).click()
    page.wait_for_selector("text=Win rate by slice", timeout=60_000)
    wait_idle(page)
    assert _alerts(page, "Error") == []
    assert _sidebar(page) == before


def test_four_model_single_grades_open_by_path_with_a_chosen_pair(page, server, files):
    rows = [r for p in SINGLE for r in read_jsonl(p)]
    assert len({r["model"] for r in rows}) == 4
    graded = [{(r["question_id"], r["turn"]) for r in rows if r["model"] == m} for m in PAIR]
    page.goto(server)
    _data_page(page)
    path = files["allowed"] / "gpt-4_single.jsonl"
    _type_path(page, path)
    _open(page)  # without a pair: refused, naming the dashboard's control, not a CLI flag
    errors = _alerts(page, "Error")
    assert len(errors) == 1 and "--pair" not in errors[0] and "Model pair" in errors[0], errors
    pair = page.get_by_label(re.compile("^Model pair"))
    pair.fill(",".join(PAIR))
    pair.press("Enter")
    wait_idle(page)
    _open(page)
    assert _alerts(page, "Error") == []
    n = str(len(graded[0] & graded[1]))
    assert _examples_metric(page) == n
    assert page.get_by_text(f"{PAIR[0]} (A) vs {PAIR[1]} (B)").count() == 1
    page.wait_for_function("() => location.search.includes('pair=')", timeout=60_000)
    assert parse_qs(urlsplit(page.url).query)["pair"] == [",".join(PAIR)], page.url
    page.goto(page.url)  # the link, in a new session: the same file, pair and view
    page.wait_for_selector("[data-testid=stMetric]", timeout=60_000)
    wait_idle(page)
    assert _alerts(page, "Error") == [] and _examples_metric(page) == n


def test_an_arena_battle_log_points_to_the_leaderboard(page, server, files):
    page.goto(server)
    _data_page(page)
    before = _examples_metric(page)
    _type_path(page, files["allowed"] / "battles.jsonl")
    _open(page)
    errors = _alerts(page, "Error")
    assert len(errors) == 1 and "Arena battle log" in errors[0], errors
    assert "Leaderboard page" in errors[0], errors
    assert _examples_metric(page) == before
    link = page.locator("[data-testid=stMain] [data-testid=stPageLink-NavLink]")
    assert link.get_attribute("href").endswith("leaderboard")
    link.click()  # the page that reads the file
    page.wait_for_url("**/leaderboard", timeout=60_000)
    page.wait_for_selector("[data-testid=stMain] h1:has-text('Leaderboard')", timeout=60_000)


def test_a_run_under_comparator_home_opens_with_data_dirs_set(page, server, files):
    page.goto(server)
    _data_page(page)
    _type_path(page, files["home"] / "runs" / "judged.jsonl")
    _open(page)
    assert _alerts(page, "Error") == [], _alerts(page, "Error")
    assert _examples_metric(page) == str(len(read_jsonl(RUN)) - 1)  # its header line


def test_no_page_requests_anything_beyond_its_own_server(page, server):
    """Every page, loaded afresh with the default demo open: every request goes to the app's
    own server (the favicon, fonts and icons included)."""
    host = urlsplit(server).netloc
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.goto(server)
    page.wait_for_selector("[data-testid=stSidebarNav] a", timeout=60_000)
    wait_idle(page)
    pages = (ROOT / "app.py").read_text().count("st.Page(")
    # the app's own navigation (before its first run, Streamlit may list pages/ itself)
    page.wait_for_function("n => document.querySelectorAll('[data-testid=stSidebarNav] a')"
                           ".length === n", arg=pages, timeout=60_000)
    links = page.locator("[data-testid=stSidebarNav] a").evaluate_all(
        "as => as.map(a => a.href)")
    assert len(links) == pages, links
    for url in links:
        page.goto(url)
        page.wait_for_selector("[data-testid=stMain] h1", timeout=60_000)
        wait_idle(page)
        page.wait_for_timeout(1000)  # late requests: favicon, fonts
    outside = sorted({u for u in seen if urlsplit(u).scheme not in ("data", "blob")
                      and urlsplit(u).netloc != host})
    assert len(seen) > 50 and outside == [], outside
