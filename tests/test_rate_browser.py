"""The Rate page in a real browser (`streamlit run app.py`, Playwright in Debian's Chromium):
blind rating from the keyboard, reload and resume, the saved file, People vs judge; two raters
at once with hostile names."""

from __future__ import annotations

import json
import re
import sys

import pytest
from conftest import ROOT, free_port, read_jsonl, running, winner

DEMO = ROOT / "data" / "alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl"
LEFT = {1: 1.5, 2: 1.0, 3: 0.0, 4: -1.0, 5: -1.5}  # key -> score of the left side


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def server(tmp_path_factory, home):
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
           str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
    url = f"http://127.0.0.1:{port}"
    with running(cmd, url + "/_stcore/health", tmp_path_factory.mktemp("st") / "st.log",
                 {"COMPARATOR_HOME": str(home)}):
        yield url


def _page(browser):
    pg = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    return pg


def _demo():
    lines = read_jsonl(DEMO)
    return lines[0], {ex["id"]: ex for ex in lines[1:]}


def _start(pg, server, rater):
    pg.goto(server + "/rate")
    pg.get_by_label("Your name (rater)").fill(rater)
    pg.get_by_role("button", name="Start rating").click()
    pg.wait_for_selector("text=Example 1 of 50", timeout=60_000)


def _ratings(home):
    files = sorted(home.glob("ratings/*/*.jsonl"))
    return {f: read_jsonl(f) for f in files}


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def _ready(pg):
    """The rating buttons are drawn and the app is idle (keys reach the shortcuts)."""
    pg.wait_for_selector(".st-key-rate_skip button", timeout=60_000)
    pg.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')",
                         timeout=60_000)
    pg.wait_for_timeout(300)


def _rate_with_key(pg, k: int, key: int, models: tuple[str, str], demo: dict) -> dict:
    """Check the page is blind, note which response is on the left, press ``key``."""
    pg.wait_for_selector(f"text=Example {k} of 50", timeout=60_000)
    _ready(pg)
    caption = pg.get_by_text(f"Example {k} of 50").inner_text()
    ex = demo[re.search(r"id (\S+)", caption).group(1)]
    a, b = _words(ex["response_a"])[:60], _words(ex["response_b"])[:60]
    for _ in range(100):  # the columns may still be drawing
        left = _words(pg.locator(".st-key-rate_left_0").inner_text())
        if a in left or b in left:
            break
        pg.wait_for_timeout(200)
    html = pg.content()
    for name in models:
        assert name not in html, f"model name {name!r} in the page before saving #{k}"
    pg.keyboard.press(str(key))
    pg.wait_for_selector(f"text=Example {k + 1} of 50", timeout=60_000)
    return {"id": ex["id"], "left": left}


def test_rate_ten_with_the_keyboard_reload_and_people_vs_judge(browser, server, home):
    head, demo = _demo()
    models = (head["model_a"], head["model_b"])
    pg = _page(browser)
    _start(pg, server, "alice")
    keys = [1, 2, 4, 5, 3, 2, 4, 1, 5, 2]
    seen = []
    for k in range(1, 11):
        seen.append(_rate_with_key(pg, k, keys[k - 1], models, demo))
        if k == 5:  # a reload loses nothing and resumes at the sixth
            pg.reload()
            pg.wait_for_selector("text=Example 6 of 50", timeout=60_000)
            pg.wait_for_selector("text=5 of 50 rated", timeout=30_000)
    files = _ratings(home)
    assert len(files) == 1
    (path, lines), = files.items()
    header, rows = lines[0], lines[1:]
    first_ten = rows
    # s skips, arrows move, n opens the note; a changed rating is appended and the last stands
    _ready(pg)
    pg.keyboard.press("s")
    pg.wait_for_selector("text=Example 12 of 50", timeout=60_000)
    for k in (11, 10):
        _ready(pg)
        pg.keyboard.press("ArrowLeft")
        pg.wait_for_selector(f"text=Example {k} of 50", timeout=60_000)
    assert pg.get_by_text("saved: ").count() == 1
    _ready(pg)
    pg.keyboard.press("n")
    note = "changed my mind: 2 beats 4, s n"  # keys typed in the note never rate
    pg.keyboard.type(note)
    pg.keyboard.press("Enter")
    _ready(pg)
    pg.wait_for_timeout(500)
    pg.keyboard.press("5")
    pg.wait_for_selector("text=Example 11 of 50", timeout=60_000)
    _ready(pg)
    pg.keyboard.press("ArrowRight")
    pg.wait_for_selector("text=Example 12 of 50", timeout=60_000)
    lines = read_jsonl(path)
    assert len(lines) == 13
    skip, change = lines[11], lines[12]
    assert skip["status"] == "skipped" and skip["score"] is None
    assert change["id"] == first_ten[9]["id"] and change["note"] == note
    assert change["score"] == (LEFT[5] * (-1 if change["flipped"] else 1)) + 0.0
    last = {r["id"]: r for r in lines[1:] if r.get("status") != "skipped"}
    assert len(last) == 10 and last[change["id"]] == change
    assert header["kind"] == "comparator.ratings" and header["rater"] == "alice"
    assert len(rows) == 10 and len({r["id"] for r in rows}) == 10
    assert {r["flipped"] for r in rows} == {True, False}, "the left/right order never varied"
    for r, key, s in zip(rows, keys, seen):
        assert r["judge"] == "human" and r["rater"] == "alice" and r["seconds"] >= 0
        ex = demo[r["id"]]
        assert s["id"] == r["id"]
        shown_left = ex["response_b"] if r["flipped"] else ex["response_a"]
        assert _words(shown_left)[:60] in s["left"], "the recorded order is not what was shown"
        assert r["score"] == (-LEFT[key] if r["flipped"] else LEFT[key]) + 0.0
    with pg.expect_download() as dl:
        pg.get_by_role("button", name="Download ratings").click()
    assert open(dl.value.path(), "rb").read() == path.read_bytes()
    # People vs judge: n = 10 and the agreement of a hand count over the saved file
    agree = 0
    for r in last.values():
        js = [j["score"] for j in demo[r["id"]]["judgments"] if j.get("status", "ok") == "ok"]
        agree += winner(sum(js) / len(js)) == winner(r["score"])
    pg.goto(server + "/reliability")  # a new session: the ratings are on disk
    pg.wait_for_selector("text=People vs judge", timeout=60_000)
    pg.wait_for_selector("text=Agreement (example level)", timeout=60_000)
    pg.wait_for_timeout(1000)
    assert pg.get_by_text("n = 10 examples rated").count() == 1
    metric = pg.locator("[data-testid=stMetric]").filter(has_text="Agreement (example level)")
    assert f"{100 * agree / 10:.1f}%" in metric.inner_text()
    pct = re.escape(f"{100 * agree / 10:.1f}%")
    assert pg.get_by_text(re.compile(rf"^95% CI {pct} \[[\d.]+, [\d.]+\] · n = 10$")).count() == 1
    pg.context.close()


def test_two_raters_at_once_hostile_names_and_kappa(browser, server, home):
    from sklearn.metrics import cohen_kappa_score

    for f in home.glob("ratings/*/*.jsonl"):
        f.unlink()
    head, demo = _demo()
    names = ("../../x", "<img src=x onerror=alert(1)>")
    pa, pb = _page(browser), _page(browser)
    _start(pa, server, names[0])
    _start(pb, server, names[1])
    keys_a = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
    keys_b = [2, 2, 3, 5, 4, 1, 1, 3, 5, 5]
    for k in range(1, 11):  # interleaved: both tabs write at the same time
        _ready(pa)
        _ready(pb)
        pa.keyboard.press(str(keys_a[k - 1]))
        pb.keyboard.press(str(keys_b[k - 1]))
        pa.wait_for_selector(f"text=Example {k + 1} of 50", timeout=60_000)
        pb.wait_for_selector(f"text=Example {k + 1} of 50", timeout=60_000)
    for pg in (pa, pb):
        assert pg.dialogs == []
        assert pg.locator("main img[src=x]").count() == 0
    files = _ratings(home)
    assert len(files) == 2
    for f in files:  # inside the data dir, under ratings/<comparison key>/
        assert f.resolve().parent.parent == (home / "ratings").resolve()
    by_rater = {}
    for lines in files.values():
        assert lines[0]["kind"] == "comparator.ratings"
        for r in lines[1:]:
            assert set(r) == {"id", "judge", "rater", "score", "flipped", "note", "rated_at",
                              "seconds"}
        by_rater[lines[0]["rater"]] = {r["id"]: r["score"] for r in lines[1:]}
    assert set(by_rater) == set(names)
    common = sorted(set(by_rater[names[0]]) & set(by_rater[names[1]]))
    assert len(common) == 10  # same queue for both raters
    la = [winner(by_rater[names[0]][i]) for i in common]
    lb = [winner(by_rater[names[1]][i]) for i in common]
    expected = cohen_kappa_score(la, lb)
    pa.goto(server + "/reliability")
    pa.wait_for_selector("text=Among raters", timeout=60_000)
    shown = pa.locator("[data-testid=stMetric]").filter(
        has_text="Cohen's κ between 2 raters").inner_text()
    assert f"{expected:.3f}" in shown
    from conftest import run_cli

    out = run_cli("stats", DEMO, "--json", "--ratings", *files)
    assert out.returncode == 0, out.stderr
    ra = json.loads(out.stdout)["rater_agreement"]
    assert ra["method"] == "cohen_kappa" and ra["n"] == 10
    assert ra["cohen_kappa"] == pytest.approx(expected, abs=1e-12)
    assert sorted(ra["raters"]) == sorted(names)
