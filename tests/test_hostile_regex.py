"""Issue 20, class 1: a regular expression must not freeze the server. A pattern RE2 cannot run
(look-arounds, back-references) runs on an engine that releases the GIL, under one deadline
for the whole call; past it, a message. Tried through every way a pattern gets in: the
library, the CLI's filters and metrics, and a crafted link to a real Streamlit server whose
health endpoint must keep answering."""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
import urllib.request

import pytest
from conftest import ALPACA_COT, MT_JUDGMENTS, MT_QUESTIONS, app_server, run_cli

from comparator.analysis.filters import search_mask
from comparator.analysis.metrics import MetricError, add_user_metric, metric_columns
from comparator.analysis.patterns import PatternError, compile_pattern
from comparator.store.cache import open_store

# Exponential for a backtracking engine on any long text, and RE2 refuses the look-ahead.
EVIL = r"(?:[\s\S]|[\s\S])+(?=QQQ)"
ISSUE_LINK = r"([\s\S]+)+QQQ(?=a)"  # the issue's link


@pytest.fixture()
def short_deadline(monkeypatch):
    monkeypatch.setenv("COMPARATOR_REGEX_SECONDS", "1")


def test_patterns_are_checked_before_they_run():
    assert compile_pattern(r"\bdef \w+\(").re2
    assert not compile_pattern(r"(?<=\d)%").re2  # look-behind: the deadline engine
    for bad, words in [("", "empty"), ("(", "bad regular expression"),
                       ("a" * 2001, "2,001 characters")]:
        with pytest.raises(PatternError, match=words):
            compile_pattern(bad)


def test_a_backtracking_search_stops_at_its_deadline_and_other_threads_run(short_deadline):
    comp = open_store(ALPACA_COT).comparison
    ticks = []
    stop = threading.Event()

    def beside():  # another session's work: it must keep running while the pattern does
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    t = threading.Thread(target=beside)
    t.start()
    start = time.monotonic()
    try:
        with pytest.raises(PatternError, match="stopped after 1 s"):
            search_mask(comp, EVIL, regex=True)
    finally:
        stop.set()
        t.join()
    took = time.monotonic() - start
    assert took < 3, took
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > 40 and max(gaps) < 0.5, (len(ticks), max(gaps))


def test_the_issue_link_pattern_and_lookarounds_still_answer(short_deadline):
    comp = open_store(ALPACA_COT).comparison
    assert search_mask(comp, ISSUE_LINK, regex=True).sum() == 0
    look_ahead = r"def (?=\w+\()"  # RE2 refuses it: the deadline engine
    want = [any(re.search(look_ahead, e.get(k) or "", re.IGNORECASE)
                for k in ("prompt", "response_a", "response_b")) for e in comp.examples]
    got = search_mask(comp, look_ahead, regex=True)
    assert got.sum() > 0 and got.tolist() == want


def test_a_user_metric_that_runs_past_its_deadline_is_refused_and_never_stored(short_deadline):
    comp = open_store(MT_JUDGMENTS).comparison
    with pytest.raises(MetricError, match="stopped after"):
        add_user_metric(comp, "evil", EVIL, "count")
    assert "a.evil" not in metric_columns(comp)
    spec = add_user_metric(comp, "pct", r"(?<=\d)%", "count")  # fine: a look-behind that ends
    assert spec["name"] == "pct" and "a.pct" in metric_columns(comp)


def test_cli_filter_and_metric_refuse_with_a_message_within_the_deadline(tmp_path,
                                                                         short_deadline):
    start = time.monotonic()
    r = run_cli("report", str(MT_JUDGMENTS), "--questions", str(MT_QUESTIONS), "--filter",
                f"regex={EVIL}", "-o", str(tmp_path / "r.md"))
    assert r.returncode == 2, r.stderr
    assert "stopped after 1 s" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "r.md").exists()
    r = run_cli("metrics", str(MT_JUDGMENTS), "--count", f"evil={EVIL}", "-o",
                str(tmp_path / "m.jsonl"))
    assert r.returncode == 2 and "stopped after" in r.stderr, r.stderr
    assert time.monotonic() - start < 60


@pytest.fixture(scope="module")
def slow_pattern_server(tmp_path_factory):
    with app_server(tmp_path_factory.mktemp("st"), {"COMPARATOR_REGEX_SECONDS": "4"}) as url:
        yield url


def test_a_crafted_link_never_stops_the_health_endpoint(slow_pattern_server, browser):
    url = slow_pattern_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url + "/examples?" + urllib.parse.urlencode({"q": EVIL, "regex": "1"}))
    slowest, start = 0.0, time.monotonic()
    while time.monotonic() - start < 8:  # the pattern runs for 4 s of these
        t = time.monotonic()
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            assert r.status == 200
        slowest = max(slowest, time.monotonic() - t)
        time.sleep(0.2)
    # 1 s: Streamlit's source watcher held the event loop ~2 s after a session's first run
    # (.streamlit/config.toml turns it off); the rest is well under 0.2 s
    assert slowest < 1, slowest
    page.wait_for_selector("text=was stopped after 4 s", timeout=30_000)
    assert "Traceback" not in page.content()
    # the issue's own link: answered (no match), the page lives
    page.goto(url + "/examples?" + urllib.parse.urlencode({"q": ISSUE_LINK, "regex": "1"}))
    page.wait_for_selector("text=Examples", timeout=30_000)
    with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
        assert r.status == 200
    page.close()
