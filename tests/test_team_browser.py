"""Issue 24 in Debian's Chromium: a team server signing in through a REAL OpenID Connect
provider (the `oidc-provider` package under Node, tests/oidc_provider.py), its own login form.

Alice (an admin, by her provider's group claim) and Bob (not one) sign in in two browsers.
Alice opens an operator's file by its server path, uploads a file, starts a judging run and
rates a pair: the ratings file names her as the rater, and there is no rater name to type. Bob
cannot open the operator's file nor Alice's upload (by the Path field or a link), does not see
her run and cannot start one. A browser without a session gets the sign-in page and no data,
signing out ends access, and the audit log holds every step with the file's SHA-256."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from types import SimpleNamespace

import pytest
from conftest import ROOT
from fault_proxy import FaultProxy
from oidc_provider import auth_app_server, sign_in
from test_browser import wait_idle
from test_jobs_browser import URLS, _fill

from comparator.schema import audit

DEMO = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"  # model names phi-3, phi-3-dpo
REFUSED = "not in a folder this server may open"


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    ops = root / "ops"  # a folder the operator lets admins open
    ops.mkdir()
    shutil.copy(DEMO, ops / "ops-eval.jsonl")
    private = root / "alice-private.jsonl"  # what Alice uploads
    private.write_bytes(DEMO.read_bytes().replace(b'"phi-3-dpo"', b'"phi-3-private"', 1))
    home = root / "home"
    env = {"COMPARATOR_HOME": str(home), "COMPARATOR_ADMIN_GROUPS": "comparator-admins",
           "COMPARATOR_DATA_DIRS": str(ops), "HF_HUB_OFFLINE": "1"}
    with auth_app_server(root, env=env) as (url, idp):
        yield SimpleNamespace(url=url, home=home, ops=ops / "ops-eval.jsonl", private=private,
                              root=root)


def _page(browser):
    return browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()


def _signed_in(browser, team, login: str):
    pg = _page(browser)
    pg.goto(team.url)
    pg.get_by_role("button", name="Sign in", exact=True).click()
    sign_in(pg, login)  # the provider's own form
    pg.locator("[data-testid=stSidebar]").get_by_text("Signed in as").wait_for(timeout=90_000)
    wait_idle(pg)
    return pg


def _goto(pg, team, page: str, ready: str):
    """To ``page`` by the sidebar's link (the same session: a reload would start a new one)."""
    pg.locator("[data-testid=stSidebar]").get_by_role("link", name=page, exact=True).click()
    pg.get_by_text(ready).first.wait_for(timeout=90_000)
    wait_idle(pg)


def _shown(locator) -> str:
    """The text as read (without the word joiners that keep an e-mail from becoming a link)."""
    return locator.inner_text().replace("\u2060", "")


def _main(pg) -> str:
    return _shown(pg.locator("[data-testid=stMain]"))


def _bar(pg) -> str:
    return _shown(pg.locator("[data-testid=stSidebar]"))


def _open_path(pg, team, path) -> str:
    _goto(pg, team, "Data", "Open a file on this server or a URL")
    _fill(pg, "Path or URL", str(path))
    wait_idle(pg)
    pg.locator("[data-testid=stMain] button").filter(has_text=re.compile("^Open$")).click()
    pg.locator("[data-testid=stMain] [data-testid=stAlert]").first.wait_for(timeout=90_000)
    wait_idle(pg)
    return _main(pg)


def _no_data(pg):
    """The sign-in page, and nothing of any comparison."""
    pg.get_by_role("button", name="Sign in", exact=True).wait_for(timeout=90_000)
    wait_idle(pg)
    html = pg.content()
    for leak in ("phi-3", "examples ·", "Signed in as", "Overview", "Win rate"):
        assert leak not in html, leak


def test_a_browser_without_a_session_gets_no_data(team, browser):
    pg = _page(browser)
    for where in ("", "/examples", f"/?path={team.ops}", "/data"):
        pg.goto(team.url + where)
        _no_data(pg)
    assert not [e for e in audit.read(team.home / "audit.jsonl") if e.event == "open"]


def test_two_users_each_their_own_work(team, browser):
    alice = _signed_in(browser, team, "alice")
    bar = _bar(alice)
    assert "alice@example.test" in bar and "admin" in bar
    # her upload goes to her own folder
    _goto(alice, team, "Data", "Upload a judged file")
    alice.locator("input[type=file]").first.set_input_files(str(team.private))
    alice.get_by_role("button", name="Load", exact=True).click()
    alice.get_by_text("Loaded").first.wait_for(timeout=90_000)
    uploads = list(team.home.glob("users/alice-example-test-*/uploads/*alice-private.jsonl"))
    assert len(uploads) == 1, list(team.home.rglob("*"))
    # her run (of her upload, judged by a server that fails every call: a run all the same)
    with FaultProxy("http://127.0.0.1:9", schedule=lambda i: "500") as proxy:
        _goto(alice, team, "Judge", "Judging the open comparison")
        assert "phi-3-private" in _main(alice)
        _fill(alice, "Model", "some-judge")
        _fill(alice, URLS, proxy.url)
        _fill(alice, "Repeats per pair (half swapped)", 2)
        _fill(alice, "Limit (0 = all examples)", 2)
        _fill(alice, "Output name", "alice-run")
        wait_idle(alice)
        alice.get_by_role("button", name="Start judging").click()
        alice.get_by_text("alice-run.jsonl").first.wait_for(timeout=90_000)
        run = []
        for _ in range(300):  # the run writes its file's header once it has started
            if run := list(team.home.glob("users/alice-example-test-*/runs/alice-run.jsonl")):
                break
            time.sleep(0.2)
    assert len(run) == 1 and not (team.home / "runs").exists(), list(team.home.rglob("*"))
    # she rates as herself: no name to type, none to change
    _goto(alice, team, "Rate", "rated · rater")
    text = _main(alice)
    assert "rater alice@example.test" in text and "Your name (rater)" not in text
    assert alice.get_by_role("button", name="Change rater").count() == 0
    alice.wait_for_timeout(500)
    alice.keyboard.press("1")
    ratings = None
    for _ in range(300):
        ratings = list(team.home.glob("ratings/*/*.jsonl"))
        if ratings and len(ratings[0].read_text().splitlines()) >= 2:
            break
        time.sleep(0.2)
    lines = [json.loads(x) for x in ratings[0].read_text().splitlines()]
    assert {x.get("rater") for x in lines} == {"alice@example.test"}, lines
    # an admin opens a file of the operator's folder by its server path
    assert "Opened" in _open_path(alice, team, team.ops)

    bob = _signed_in(browser, team, "bob")
    bar = _bar(bob)
    assert "bob@example.test" in bar and "admin" not in bar
    for path in (team.ops, uploads[0], run[0]):  # the operator's folder, Alice's own
        text = _open_path(bob, team, path)
        assert REFUSED in text and "Opened" not in text, text
    bob.goto(f"{team.url}/?path={uploads[0]}")  # nor by a link
    bob.get_by_text("The link's file was not opened").first.wait_for(timeout=90_000)
    assert "phi-3-private" not in bob.content()
    _goto(bob, team, "Judge", "Judging the open comparison")
    text = _main(bob)
    assert "Starting runs is for this server's admins" in text
    assert bob.get_by_role("button", name="Start judging").is_disabled()
    assert "alice-run" not in text and "No runs yet" in text
    _goto(bob, team, "Rate", "rated · rater")
    assert "rater bob@example.test" in _main(bob)

    # signing out ends access (Streamlit's cookie, and the provider's session, are gone)
    alice.locator("[data-testid=stSidebar]").get_by_role("button", name="Sign out").click()
    _no_data(alice)
    alice.goto(f"{team.url}/data")
    _no_data(alice)

    events = audit.read(team.home / "audit.jsonl")
    seen = [(e.event, e.user) for e in events]
    for step in [("sign-in", "alice@example.test"), ("open", "alice@example.test"),
                 ("run", "alice@example.test"), ("sign-in", "bob@example.test"),
                 ("refused", "bob@example.test"), ("sign-out", "alice@example.test")]:
        assert step in seen, (step, seen)
    opened = [e.detail for e in events if e.event == "open" and e.user == "alice@example.test"]
    assert opened[0]["upload"] == "alice-private.jsonl" and opened[0]["sha256"] == \
        hashlib.sha256(team.private.read_bytes()).hexdigest()
    assert opened[1]["sha256"] == hashlib.sha256(team.ops.read_bytes()).hexdigest()
    assert sum(e.event == "refused" for e in events) >= 4
    assert "alice-run.jsonl" in next(e for e in events if e.event == "run").detail["out"]
