"""Who is using the dashboard (issue 24): Streamlit's own OpenID Connect sign-in.

``gate()`` runs first on every run of ``app.py``, before anything reads a file or the URL:

- **sign-in configured** (an ``[auth]`` block in ``.streamlit/secrets.toml``, docs/team.md):
  nobody sees a page before signing in; the signed-in identity (``st.user``'s e-mail, else its
  subject) becomes this session's ``User`` (admin when the operator lists it), the library's
  rules ask for it through ``comparator.schema.identity`` (their folders, what they may open
  and start), the sidebar shows who is signed in with a Sign out button, and the audit log
  records the sign-in;
- **no sign-in, this machine only** (``server.address`` is a loopback address, the default of
  ``.streamlit/config.toml``): single-user mode, as the app has always been, and says so;
- **no sign-in on an open address** (``--server.address 0.0.0.0``): a warning on the server's
  stderr, and no data is served unless the operator sets ``COMPARATOR_ALLOW_ANONYMOUS=1``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from comparator.schema import audit, identity
from comparator.schema.identity import User
from comparator.schema.settings import is_admin, loopback_only, settings
from comparator.ui.text import md_text

USER = "_comparator_user"  # session state: this session's signed-in User (from st.user)
LOGGED = "_comparator_logged"  # session state: the id whose sign-in the audit log has
_WARNED: set[str] = set()  # open addresses already warned about on stderr (once a process)


def _session_user() -> User | None:
    """The identity resolver: the signed-in user of the script run (or fragment) calling it."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    try:
        return st.session_state.get(USER)
    except Exception:  # noqa: BLE001 - no session state outside a run: nobody
        return None


identity.use(_session_user)


def configured() -> bool:
    """Whether the operator configured sign-in (an ``[auth]`` block in the secrets)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file, or one Streamlit cannot read
        return False


def open_address() -> str | None:
    """The address the server listens on when others can reach it; None for loopback only."""
    addr = str(st.get_option("server.address") or "").strip().strip("[]")
    if loopback_only(addr):
        return None
    return addr or "every address (server.address is unset)"


def user_from(claims: Mapping[str, Any]) -> User:
    """The ``User`` of a signed-in identity's claims (``st.user``): the e-mail, else the
    subject; the groups from the claim ``COMPARATOR_GROUPS_CLAIM`` names."""
    email = claims.get("email") or None
    ident = str(email or claims.get("sub") or "")
    if not ident:
        raise ValueError("the sign-in provider gave neither an e-mail nor a subject")
    raw = claims.get(settings().groups_claim) or ()
    groups = tuple(str(g) for g in ([raw] if isinstance(raw, str) else raw))
    name = claims.get("name")
    return User(id=ident, email=email, name=str(name) if name else None, groups=groups,
                admin=is_admin(ident, groups))


def current() -> User | None:
    return _session_user()


def who() -> str | None:
    """The signed-in identity (for records that name who made them), None in single-user
    mode."""
    user = current()
    return user.id if user else None


def auditing() -> bool:
    """Whether this server keeps the audit log: a team server (sign-in configured, or an open
    address served anonymously); not in single-user mode."""
    return current() is not None or configured() or open_address() is not None


def note(event: audit.Kind, **detail: Any) -> None:
    """An audit-log line for this session's user, on a team server (``auditing``)."""
    if auditing():
        audit.record(event, who(), **detail)


def _providers() -> list[str]:
    """Named providers (``[auth.NAME]`` blocks with a ``client_id``); empty for the one
    unnamed provider (``[auth.client_kwargs]`` is a setting, not a provider)."""
    try:
        return [k for k, v in st.secrets["auth"].items()
                if isinstance(v, Mapping) and "client_id" in v]
    except Exception:  # noqa: BLE001
        return []


def _only(title: str, view) -> None:
    """Show ``view`` as the app's one page (whatever page the URL asks for; no navigation to
    the others), then end the run."""
    st.navigation([st.Page(view, title=title, default=True)]).run()
    st.stop()


def _sign_in_view() -> None:
    st.title("comparator")
    st.write("This server is shared by a team: sign in to open its comparisons.")
    names = _providers()
    for name in names or [None]:
        label = "Sign in" if name is None else f"Sign in with {name}"
        if st.button(label, type="primary", key=f"sign_in_{name}"):
            try:
                st.login(name) if name else st.login()
            except Exception as e:  # noqa: BLE001 - a bad [auth] block: say what to fix
                st.error(f"Sign-in is not set up correctly: {md_text(str(e))} (see "
                         "docs/team.md)")


def _signed_in() -> User:
    try:
        user = user_from(st.user.to_dict())
    except ValueError as e:
        st.error(f"Signed in, but {md_text(str(e))}: ask the operator to request the "
                 "`email` scope.")
        st.stop()
    st.session_state[USER] = user
    if st.session_state.get(LOGGED) != user.id:
        st.session_state[LOGGED] = user.id
        audit.record("sign-in", user.id, name=user.name, admin=user.admin)
    bar = st.sidebar
    bar.caption(f"Signed in as **{md_text(user.shown)}**" + (" · admin" if user.admin else ""))
    if bar.button("Sign out", key="sign_out"):
        audit.record("sign-out", user.id)
        st.session_state.pop(USER, None)
        st.logout()
    return user


def _warn(where: str) -> str:
    text = (f"the dashboard is reachable from other machines ({where}) and no sign-in is "
            "configured: anyone who can reach it could read the files it may open and start "
            "runs with this server's API keys")
    if where not in _WARNED:
        _WARNED.add(where)
        refusal = ("serving anyway (COMPARATOR_ALLOW_ANONYMOUS=1)" if settings().allow_anonymous
                   else "no data is served until sign-in is configured (docs/team.md) or "
                   "COMPARATOR_ALLOW_ANONYMOUS=1 is set")
        print(f"comparator: warning: {text}; {refusal}", file=sys.stderr, flush=True)
    return text


def gate() -> User | None:
    """Let this run of the app go on only for someone who may see data (see the module's
    docstring): the signed-in ``User``, or None in single-user (or allowed anonymous) mode."""
    if configured():
        if not st.user.is_logged_in:
            st.session_state.pop(USER, None)
            _only("Sign in", _sign_in_view)
        return _signed_in()
    st.session_state.pop(USER, None)
    where = open_address()
    if where is None:
        st.sidebar.caption("Single-user mode: no sign-in, this machine only.")
        return None
    text = _warn(where)
    if not settings().allow_anonymous:
        _only("Not serving data", lambda: st.error(
            f"Not serving data: {md_text(text)}. The operator must configure sign-in "
            "(docs/team.md), or listen on 127.0.0.1 only, or set COMPARATOR_ALLOW_ANONYMOUS=1 "
            "to serve everyone anyway."))
    st.sidebar.warning("No sign-in: everyone who reaches this server shares it.")
    return None
