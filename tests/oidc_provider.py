"""A real OpenID Connect provider for the sign-in tests: the certified ``oidc-provider`` package
from the npm registry (pinned in tests/oidc/package.json and package-lock.json), run with Node
(tests/oidc/provider.mjs), on 127.0.0.1. Not a stand-in: discovery, the provider's own
interaction flow and login form, signed ID tokens, PKCE, client authentication and end_session
are the package's.

Accounts (password = login + "-pw"; any other password is refused by the provider's form):

- ``alice``: alice@example.test, "Alice Admin", groups ["comparator-admins"]
- ``bob``: bob@example.test, "Bob Rater", groups []
- ``carol``: carol@example.test, "Carol Team", groups ["team"]

Use ``auth_app_server(home, script=ROOT / "app.py", env=None)`` (as conftest.app_server: it
yields the app's URL, and the provider) or, by hand (the app's port first, since the provider
must know the redirect URL)::

    port = free_port()
    redirect = f"http://127.0.0.1:{port}/oauth2callback"
    with oidc_provider(redirect) as idp:
        secrets = write_auth_secrets(tmp / "secrets.toml", idp, redirect)
        # streamlit run ... --server.port PORT --server.address 127.0.0.1
        #     --secrets.files SECRETS      (or env STREAMLIT_SECRETS_FILES=SECRETS)
        ...
        page.get_by_role("button", name="Log in").click()   # the app calls st.login()
        sign_in(page, "alice")                               # the provider's own form

What st.user holds after a sign-in (Streamlit takes it from the ID token Authlib parses; the
provider puts the scope claims there, ``conformIdTokenClaims: false``, since Streamlit never calls
the userinfo endpoint): ``email``, ``email_verified``, ``name``, ``groups`` (a list), ``sub`` (the
login: "alice"), the token's ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, and Streamlit's own
``is_logged_in``, ``provider`` ("default") and ``tokens``.

Pitfalls:

- Point Streamlit at the secrets file with the config option ``secrets.files``: the flag
  ``--secrets.files PATH`` or the environment variable ``STREAMLIT_SECRETS_FILES=PATH``. It
  replaces the default search (~/.streamlit and ./.streamlit/secrets.toml), so nothing is
  written in the repository and a stray .streamlit/secrets.toml there is not read.
- Use 127.0.0.1 everywhere, never "localhost": open the app at the host of redirect_uri
  (Authlib keeps the login's state in a cookie of the host the browser used for /auth/login; a
  callback on another host has none and the sign-in silently fails), and the issuer (Authlib
  checks the ID token's ``iss`` against the metadata) is http://127.0.0.1:PORT. Cookies ignore the
  port: app and provider share the host's cookie jar, under different names
  (``_streamlit_user*`` / ``_session``, ``_interaction*``).
- Streamlit sends ``prompt=select_account`` by default; the provider supports that prompt and
  shows its login form again, so every st.login asks who signs in (two users, one browser).
- st.logout clears Streamlit's cookie and redirects to the provider's end_session endpoint (with
  post_logout_redirect_uri = the /oauth2callback URL, registered for the client), which ends the
  provider session (its ``_session`` cookie goes) without a confirmation click and sends the
  browser to /oauth2callback without a state: Streamlit logs "Missing provider for OAuth
  callback" (harmless) and redirects to the app's root, signed out.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conftest import ROOT, free_port, running

OIDC_DIR = ROOT / "tests" / "oidc"
SCOPES = "openid email profile groups"
_install_lock = threading.Lock()


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    metadata_url: str
    log: Path


def ensure_installed() -> None:
    """``npm ci`` in tests/oidc once (when its node_modules is missing); a clear error if not."""
    with _install_lock:
        if (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
            return
        npm = shutil.which("npm")
        if not (npm and shutil.which("node")):
            raise RuntimeError("the OIDC sign-in tests need Node.js and npm (apt-get install -y "
                               "nodejs npm), to run tests/oidc/provider.mjs")
        done = subprocess.run([npm, "ci", "--prefix", str(OIDC_DIR), "--no-audit", "--no-fund"],
                              capture_output=True, text=True, timeout=600, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"`npm ci --prefix {OIDC_DIR}` failed (exit {done.returncode}); "
                               "it installs oidc-provider from tests/oidc/package-lock.json and "
                               "needs the npm registry:\n" + (done.stderr or done.stdout)[-3000:])


@contextmanager
def oidc_provider(*redirect_uris: str, log_dir: Path | None = None) -> Iterator[Provider]:
    """The provider on a free port of 127.0.0.1 with one confidential client allowed to redirect
    to ``redirect_uris`` (the app's http://127.0.0.1:PORT/oauth2callback); stopped afterwards.
    Its log is ``Provider.log`` (in ``log_dir``, or a temporary folder)."""
    if not redirect_uris:
        raise ValueError("oidc_provider needs the app's redirect URL (…/oauth2callback)")
    ensure_installed()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    provider = Provider(issuer=issuer, client_id="comparator-test",
                        client_secret=secrets.token_urlsafe(24),
                        metadata_url=issuer + "/.well-known/openid-configuration",
                        log=Path(log_dir or tempfile.mkdtemp(prefix="oidc-")) / "oidc.log")
    env = {"OIDC_PORT": str(port), "OIDC_CLIENT_ID": provider.client_id,
           "OIDC_CLIENT_SECRET": provider.client_secret,
           "OIDC_REDIRECT_URIS": ",".join(redirect_uris)}
    with running([shutil.which("node") or "node", str(OIDC_DIR / "provider.mjs")],
                 provider.metadata_url, provider.log, env):
        yield provider


def write_auth_secrets(path: Path, provider: Provider, redirect_uri: str,
                       cookie_secret: str | None = None) -> Path:
    """A Streamlit secrets.toml at ``path`` whose ``[auth]`` block signs in with ``provider``
    (scopes openid email profile groups); ``path``. Give it to Streamlit with
    ``--secrets.files PATH`` or STREAMLIT_SECRETS_FILES (see the module docstring)."""
    auth = {"redirect_uri": redirect_uri,
            "cookie_secret": cookie_secret or secrets.token_urlsafe(32),
            "client_id": provider.client_id, "client_secret": provider.client_secret,
            "server_metadata_url": provider.metadata_url}
    # JSON strings are valid TOML basic strings (the same escapes)
    lines = ["[auth]", *(f"{k} = {json.dumps(v)}" for k, v in auth.items()), "",
             "[auth.client_kwargs]", f"scope = {json.dumps(SCOPES)}", ""]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    os.chmod(path, 0o600)
    return path


@contextmanager
def auth_app_server(home: Path, script: Path = ROOT / "app.py",
                    env: dict | None = None) -> Iterator[tuple[str, Provider]]:
    """`streamlit run SCRIPT` on 127.0.0.1 signing in with a fresh provider (as
    conftest.app_server, with its own COMPARATOR_HOME ``home`` and ``env``): (app URL, provider).
    The secrets file and both logs (st.log, oidc.log) are in ``home``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with oidc_provider(url + "/oauth2callback", log_dir=home) as idp:
        secrets_file = write_auth_secrets(home / "secrets.toml", idp, url + "/oauth2callback")
        cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--secrets.files", str(secrets_file)]
        with running(cmd, url + "/_stcore/health", home / "st.log",
                     {"COMPARATOR_HOME": str(home), **(env or {})}):
            yield url, idp


def sign_in(page, login: str, password: str | None = None, timeout_ms: int = 60_000) -> None:
    """On the provider's login form (where st.login leads): fill ``login`` and its password
    (login + "-pw" unless given) and submit. Consent needs no click (a first-party client). It
    returns once the form is submitted; the caller waits for the app (or, for a wrong password,
    for the form's alert)."""
    page.wait_for_selector("form input[name=login]", timeout=timeout_ms)
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", f"{login}-pw" if password is None else password)
    page.get_by_role("button", name="Sign in", exact=True).click()
