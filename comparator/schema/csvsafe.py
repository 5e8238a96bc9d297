"""CSV cells that a spreadsheet will not run (OWASP "CSV injection").

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel / LibreOffice / Sheets (``=HYPERLINK(...)``, ``-2+3+cmd|...``); it gets a leading single
quote, which spreadsheets show as text. Numbers (int / float values, and text that is a plain
number such as ``-1.5``) are left as they are. Every CSV comparator writes goes through here.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from comparator.schema.atomic import atomic_write

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise(value: Any) -> Any:
    """``value`` safe to open in a spreadsheet (non-text values unchanged)."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _PLAIN_NUMBER.fullmatch(
            value):
        return "'" + value
    return value


def dump(f: TextIO, header: list[str], rows: Iterable[dict[str, Any]]) -> None:
    """Dict rows as CSV into ``f``, every cell neutralised (the header too: column names can
    come from the data)."""
    w = csv.writer(f)
    w.writerow([neutralise(h) for h in header])
    for row in rows:
        w.writerow([neutralise(row.get(h, "")) for h in header])


def csv_text(header: list[str], rows: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    dump(buf, header, rows)
    return buf.getvalue()


def write_rows(path: str | Path, header: list[str], rows: Iterable[dict[str, Any]]) -> None:
    """``dump`` into ``path`` through the one atomic writer (``comparator.schema.atomic``)."""
    with atomic_write(path, "w", newline="") as f:
        dump(f, header, rows)
