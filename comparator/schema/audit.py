"""The audit log of a team server (issue 24): ``$COMPARATOR_HOME/audit.jsonl``, append-only.

One JSON line per event (``Event``: who signed in or out, opened which file by its SHA-256,
started which run, exported which report, was refused what). A line is written by one
``write`` of a file opened with ``O_APPEND``, so lines of several server processes never
interleave and nothing already written is ever rewritten. Secrets never reach it: every text
is passed through ``redact`` (API keys, URL credentials) first. A failed write (a full disk)
is reported on the server's stderr and never stops the page.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from comparator.schema.redact import redact
from comparator.schema.settings import data_dir, settings

SCHEMA_VERSION = 1
Kind = Literal["sign-in", "sign-out", "open", "run", "export", "refused"]


class Event(BaseModel):
    """One line of the audit log."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    time: str  # ISO 8601, UTC, to the millisecond
    event: Kind
    user: str | None  # the signed-in identity; None on a server without sign-in
    detail: dict[str, Any] = {}


def log_path() -> Path:
    return data_dir() / "audit.jsonl"


def _keys() -> list[str]:
    """The server's API keys (``COMPARATOR_API_KEY_*``): never in a line, in any form."""
    s = settings()
    return [k.get_secret_value() for k in (s.api_key_a, s.api_key_b, s.api_key_judge,
                                           s.api_key_llm) if k is not None]


def _clean(v: Any, keys: list[str]) -> Any:
    if isinstance(v, str):
        return redact(v, keys, limit=2000)
    if isinstance(v, dict):
        return {redact(str(k), keys, limit=200): _clean(x, keys) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x, keys) for x in v]
    return v


def record(event: Kind, user: str | None, **detail: Any) -> bool:
    """Append one event; False (said on stderr) when it could not be written."""
    line = Event(time=datetime.now(UTC).isoformat(timespec="milliseconds"), event=event,
                 user=user, detail=_clean(detail, _keys()))
    data = orjson.dumps(line.model_dump()) + b"\n"
    try:
        fd = os.open(log_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if os.write(fd, data) != len(data):
                raise OSError("short write")
        finally:
            os.close(fd)
    except OSError as e:
        print(f"comparator: the audit log {log_path()} was not written ({e}): {event} by "
              f"{user}", file=sys.stderr, flush=True)
        return False
    return True


def read(path: Path | None = None) -> list[Event]:
    """Every event of the log, oldest first (a line that is not an event is skipped)."""
    out = []
    try:
        lines = (path or log_path()).read_bytes().splitlines()
    except FileNotFoundError:
        return []
    for raw in lines:
        try:
            out.append(Event.model_validate_json(raw))
        except ValueError:
            continue
    return out
