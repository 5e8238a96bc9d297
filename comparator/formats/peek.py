"""Format detection and table columns from a bounded head of a file (the Data page's preview of
an upload), so a preview never reads a second full copy of a big file into memory."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import BinaryIO

import orjson

from comparator.formats.common import Source
from comparator.formats.detect import detect_format, records_format
from comparator.formats.tabular import peek_columns

HEAD_BYTES = 1 << 20


def head(fileobj: BinaryIO, name: str | Path, limit: int = HEAD_BYTES) -> tuple[Source, bool]:
    """A Source over the first ``limit`` bytes of ``fileobj`` cut after its last whole line,
    named ``name``, and whether that is the whole file. Raises InputError for binary or wrongly
    encoded bytes, as Source does."""
    fileobj.seek(0)
    data = fileobj.read(limit + 1)
    fileobj.seek(0)
    complete = len(data) <= limit
    if not complete and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        data, complete = fileobj.read(), True  # rare: UTF-16 is read whole, as load does
        fileobj.seek(0)
    if not complete:
        nl = data.rfind(b"\n", 0, limit)
        data = data[:nl + 1] if nl >= 0 else data[:limit]
        if nl < 0:  # one long line: never end inside a UTF-8 character
            while data and data[-1] & 0xC0 == 0x80:
                data = data[:-1]
            if data and data[-1] >= 0xC0:
                data = data[:-1]
    return Source(Path(name), data), complete


def _first_record(src: Source) -> dict | None:
    """The first object of a JSON list whose head is cut off."""
    text = src.data.decode("utf-8", errors="replace")
    start = text.find("[") + 1
    while start < len(text) and text[start].isspace():
        start += 1
    try:
        first, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    return first if isinstance(first, dict) else None


def detect(src: Source, complete: bool) -> str | None:
    """The file's format as ``detect_format`` says; from a cut head, None when the head cannot
    tell (e.g. one JSON document larger than the head): loading the whole file detects it then."""
    if complete or src.path.suffix.lower() in (".csv", ".tsv"):
        return detect_format(src)
    if src.first_char == b"[":
        first = _first_record(src)
        return records_format(src, set(first)) if first is not None else None
    if src.first_char == b"{":
        try:
            first = orjson.loads(src.first_line)
        except orjson.JSONDecodeError:
            return None  # one JSON document spread over lines
        return detect_format(src) if isinstance(first, dict) and not src.one_line else None
    if src.empty:
        return None
    return detect_format(src)  # neither JSON nor a table: says so


def columns(src: Source, complete: bool) -> list[str]:
    """The column names of a table, from the head."""
    if not complete and src.first_char == b"[":
        return list(_first_record(src) or {})
    return peek_columns(src)
