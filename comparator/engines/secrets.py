"""API keys and base URLs per side (A / B): from flags, then the environment
(``COMPARATOR_API_KEY_A``, ``OPENAI_API_KEY`` ...), then ``.streamlit/secrets.toml``
(``api_key_a``, ``api_key_b``, ``OPENAI_API_KEY``). Keys are only ever passed to the client."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path


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
    if given:
        return given
    s = side.upper()
    for var in (f"COMPARATOR_API_KEY_{s}", "OPENAI_API_KEY"):
        if os.environ.get(var):
            return os.environ[var]
    sec = _secrets_file()
    return sec.get(f"api_key_{side.lower()}") or sec.get("OPENAI_API_KEY")


def base_urls(side: str, given: list[str] | None = None) -> list[str] | None:
    if given:
        return given
    env = os.environ.get(f"COMPARATOR_BASE_URL_{side.upper()}")
    if env:
        return [u.strip() for u in env.split(",") if u.strip()]
    sec = _secrets_file().get(f"base_url_{side.lower()}")
    if isinstance(sec, str):
        return [sec]
    if isinstance(sec, list):
        return [str(u) for u in sec]
    return None
