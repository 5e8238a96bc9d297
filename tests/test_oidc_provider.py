"""The sign-in harness itself (tests/oidc_provider.py): a real OpenID Connect provider
(`oidc-provider` under Node) on 127.0.0.1 and Streamlit's own st.login / st.user / st.logout
against it in Chromium, with a probe app (tests/oidc/probe_app.py), not the comparator app."""

from __future__ import annotations

import json
import urllib.request

import pytest
from conftest import ROOT
from oidc_provider import auth_app_server, sign_in
from test_browser import wait_idle

PROBE = ROOT / "tests" / "oidc" / "probe_app.py"


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """The provider and `streamlit run probe_app.py` signing in with it; (app URL, provider)."""
    with auth_app_server(tmp_path_factory.mktemp("oidc"), PROBE) as (url, idp):
        yield url, idp


def _text(page, prefix: str) -> str:
    return page.get_by_text(prefix).first.inner_text(timeout=60_000)


def _log_in(page, url: str, idp) -> None:
    """Open the app, click its Log in button (st.login): the provider's login form."""
    page.goto(url)
    page.get_by_role("button", name="Log in").click(timeout=60_000)
    page.wait_for_url(idp.issuer + "/interaction/**", timeout=60_000)


def test_the_provider_publishes_its_metadata_on_127_0_0_1(probe):
    _, idp = probe
    meta = json.load(urllib.request.urlopen(idp.metadata_url, timeout=10))
    assert meta["issuer"] == idp.issuer and idp.issuer.startswith("http://127.0.0.1:")
    assert {"openid", "email", "profile", "groups"} <= set(meta["scopes_supported"])
    assert {"email", "email_verified", "name", "groups"} <= set(meta["claims_supported"])
    assert meta["end_session_endpoint"].startswith(idp.issuer)


def test_two_users_sign_in_through_the_providers_form_and_sign_out(probe, browser):
    url, idp = probe
    alice = browser.new_context().new_page()
    _log_in(alice, url, idp)
    # a wrong password is refused by the provider: the form again, no way into the app
    sign_in(alice, "alice", password="bob-pw")
    alice.get_by_role("alert").get_by_text("Invalid login or password").wait_for(timeout=60_000)
    assert alice.url.startswith(idp.issuer)
    sign_in(alice, "alice")
    alice.wait_for_url(url + "/", timeout=60_000)
    assert _text(alice, "email: ") == "email: alice@example.test"
    assert _text(alice, "name: ") == "name: Alice Admin"
    assert _text(alice, "groups: ") == "groups: comparator-admins"

    # a second browser (its own cookies) signs in as bob while alice stays signed in
    bob = browser.new_context().new_page()
    _log_in(bob, url, idp)
    sign_in(bob, "bob")
    bob.wait_for_url(url + "/", timeout=60_000)
    assert _text(bob, "email: ") == "email: bob@example.test"
    assert _text(bob, "groups: ") == "groups: -"
    alice.reload()
    assert _text(alice, "email: ") == "email: alice@example.test"

    # signing out goes through the provider's end_session and back: the Log in button again,
    # and the next st.login asks for the login again (no silent sign-in as alice)
    wait_idle(alice)
    alice.get_by_role("button", name="Log out").click()
    alice.get_by_role("button", name="Log in").wait_for(timeout=60_000)
    cookies = {c["name"] for c in alice.context.cookies()}
    assert not any(name.startswith("_streamlit_user") for name in cookies), cookies
    assert "_session" not in cookies, "the provider's session outlived st.logout"
    _log_in(alice, url, idp)
    sign_in(alice, "carol")
    alice.wait_for_url(url + "/", timeout=60_000)
    assert _text(alice, "email: ") == "email: carol@example.test"
    assert _text(alice, "groups: ") == "groups: team"
