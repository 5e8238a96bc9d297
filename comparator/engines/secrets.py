"""API keys and base URLs per side (A / B): from flags, then the environment
(``COMPARATOR_API_KEY_A``, ``OPENAI_API_KEY`` ...), then ``.streamlit/secrets.toml``
(``api_key_a``, ``api_key_b``, ``OPENAI_API_KEY``). Keys are only ever passed to the client;
each one handed out (and the user info of each base URL) is remembered by
``comparator.schema.redact``, so that every recorded error hides it in any form."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from comparator.schema.redact import remember, url_secrets
from comparator.schema.settings import settings


def _secrets_file() -> dict:
    for p in (Path.cwd() / ".streamlit" / "secrets.toml",
              Path.home() / ".streamlit" / "secrets.toml"):
        if p.is_file():
            try:
                return tomllib.loads(p.read_text())
            except (OSError, tomllib.TOMLDecodeError):
                return {}
    return {}


def api_key(side: str, given: str | None = None) -> str | None:
    """The key of ``side``; remembered, so that no error this process records shows it."""
    key = _api_key(side, given)
    remember(key)
    return key


def base_urls(side: str, given: list[str] | None = None) -> list[str] | None:
    """The base URLs of ``side`` (as given: the client needs their user info; record them only
    through ``comparator.schema.redact.public_url``); their user info is remembered as secret."""
    urls = _base_urls(side, given)
    remember(*url_secrets(urls or ()))
    return urls


def _api_key(side: str, given: str | None) -> str | None:
    if given:
        return given
    own = getattr(settings(), f"api_key_{side.lower()}")  # COMPARATOR_API_KEY_<SIDE>
    if own:
        return own.get_secret_value()
    if os.environ.get("OPENAI_API_KEY"):
        return os.environ["OPENAI_API_KEY"]
    sec = _secrets_file()
    return sec.get(f"api_key_{side.lower()}") or sec.get("OPENAI_API_KEY")


def _base_urls(side: str, given: list[str] | None) -> list[str] | None:
    if given:
        return given
    env = getattr(settings(), f"base_url_{side.lower()}")  # COMPARATOR_BASE_URL_<SIDE>
    if env:
        return env
    sec = _secrets_file().get(f"base_url_{side.lower()}")
    if isinstance(sec, str):
        return [sec]
    if isinstance(sec, list):
        return [str(u) for u in sec]
    return None
