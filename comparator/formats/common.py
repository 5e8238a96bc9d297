"""Helpers shared by the importers: reading records, stable ids, final validation."""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import struct
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
from pydantic import ValidationError

from comparator.schema.errors import InputError, excerpt
from comparator.schema.files import note_read, open_regular, os_error
from comparator.schema.records import EXAMPLE, Comparison, Example
from comparator.schema.settings import settings

_SPACE = re.compile(rb"\s*")


class Source:
    """A file being imported: its bytes, parsed once on demand as JSON or JSONL. The peeks
    (``first_char``, ``first_line``, ``one_line``) never copy the data: files reach GBs."""

    def __init__(self, path: Path, data: bytes | None = None) -> None:
        self.path = Path(path)
        self.data = text_bytes(self.path, read_file(self.path) if data is None else data)
        self._start = _SPACE.match(self.data).end()
        nl = self.data.find(b"\n", self._start)
        self._first_end = len(self.data) if nl < 0 else nl

    @property
    def empty(self) -> bool:
        return self._start == len(self.data)

    @property
    def first_char(self) -> bytes:
        return self.data[self._start:self._start + 1]

    @property
    def first_line(self) -> bytes:
        return self.data[self._start:self._first_end]

    @property
    def one_line(self) -> bool:
        """Nothing but whitespace after the first line."""
        return _SPACE.match(self.data, self._first_end).end() == len(self.data)

    @cached_property
    def json(self) -> Any:
        return read_json(self.path, self.data)

    @cached_property
    def jsonl(self) -> list[tuple[int, dict]]:
        return read_jsonl(self.path, self.data)


_HEAD = 65536  # bytes looked at before reading a whole file


def _open_regular(path: Path, within: Path | None = None) -> int:
    """A descriptor of ``path`` if it is a regular file the read rules allow (see
    ``comparator.schema.files``: resolved, inside ``within`` and the allowed folders when a
    policy is in force); anything else is refused before reading, so it can never block."""
    return open_regular(path, within=within)


def check_file(path: Path, within: Path | None = None) -> None:
    """Refuse what ``read_file`` refuses (not a regular file; binary), reading 64 KB only."""
    with os.fdopen(_open_regular(path, within), "rb") as f:
        try:
            _refuse_binary(path, f.read(_HEAD))
        except OSError as e:
            raise os_error(path, e) from None


def read_file(path: Path, within: Path | None = None) -> bytes:
    """The bytes of a regular file (see ``_open_regular``; ``within``: the folder tree a file
    named by another file's content must lie in); a binary file is refused from its first
    64 KB."""
    fd = _open_regular(path, within)
    with os.fdopen(fd, "rb") as f:
        _check_memory(path, os.fstat(fd).st_size)
        try:
            _refuse_binary(path, f.read(_HEAD))
            f.seek(0)
            data = f.read()
        except OSError as e:
            raise os_error(path, e) from None
    note_read(path, data)
    return data


MEMORY_PER_BYTE = 3  # peak memory of a load per byte of file, measured (README, Benchmarks)


def free_memory() -> int | None:
    """Bytes of memory free for a load: ``COMPARATOR_MAX_MEMORY`` (bytes, or with a K/M/G
    suffix) when set, else the kernel's MemAvailable (None where unknown)."""
    limit = settings().max_memory
    if limit is not None:
        return limit
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _check_memory(path: Path, size: int) -> None:
    """Refuse, before reading, a file whose load would not fit in memory (rather than be
    killed by the kernel half-way)."""
    free = free_memory()
    if free is not None and size * MEMORY_PER_BYTE > free:
        gb = 1 << 30
        raise InputError(path, f"is {size / gb:.1f} GB: loading it needs about "
                         f"{size * MEMORY_PER_BYTE / gb:.1f} GB of memory and {free / gb:.1f} GB "
                         "is free; split the file (e.g. split -l) or use a machine with more "
                         "memory")


def _line_col(data: bytes, pos: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, pos) + 1
    return data.count(b"\n", 0, pos) + 1, pos - line_start + 1


def _refuse_binary(path: Path, data: bytes) -> None:
    """A NUL byte never occurs in UTF-8 text files (JSON and CSV escape it)."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return
    nul = data.find(b"\0")
    if nul < 0:
        return
    line, col = _line_col(data, nul)
    if data[1:200:2].count(0) > 50 or data[0:200:2].count(0) > 50:
        hint = "it looks like UTF-16 without a byte order mark: re-save it as UTF-8"
    else:
        hint = "a binary file, or text with NUL characters: give a UTF-8 JSON, JSONL or CSV file"
    raise InputError(path, f"a NUL byte at column {col}: {hint}", line=line)


def check_utf8(path: Path, data: bytes) -> None:
    """Refuse bytes that are not UTF-8, naming the line, column and byte."""
    if data.isascii() or _valid_utf8(data):
        return
    view, step, start = memoryview(data), 1 << 24, 0  # 16 MB at a time: never a GB-long str
    while start < len(data):
        end = min(start + step, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # not inside a character
            end -= 1
        try:
            str(view[start:end], "utf-8")
        except UnicodeDecodeError as e:
            pos = start + e.start
            line, col = _line_col(data, pos)
            raise InputError(path, f"byte {excerpt(data[pos:pos + 1])[1:]} at column {col} is "
                             "not valid UTF-8: re-save the file as UTF-8 (e.g. iconv -f latin1 "
                             "-t utf-8, or \"CSV UTF-8\" in a spreadsheet)", line=line) from None
        start = end


def _valid_utf8(data: bytes) -> bool:
    """Arrow's (vectorised) UTF-8 validation of the whole buffer, without a copy."""
    offsets = pa.py_buffer(struct.pack("<qq", 0, len(data)))
    try:
        pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False  # the loop names the line and column
    return True


def text_bytes(path: Path, data: bytes) -> bytes:
    """File bytes as UTF-8 without a byte order mark: UTF-16 (with its BOM) is converted, a
    UTF-8 BOM dropped; NUL bytes (binary) and invalid UTF-8 are refused with line and column."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(path, f"not valid UTF-16 (at byte {e.start}): re-save it as UTF-8"
                             ) from None
    elif data[:3] == codecs.BOM_UTF8:
        data = data[3:]
    _refuse_binary(path, data)
    check_utf8(path, data)
    return data


@dataclass
class LoadOptions:
    """What an importer may need beside the file itself.

    questions: MT-Bench ``question.jsonl`` (categories, turns, reference answers).
    pair: (model_a, model_b) to keep and orient when a file holds several model pairs.
    mapping: column mapping for tables, canonical name -> column name.
    model_a / model_b: model names when the file does not say them.
    """

    questions: Path | None = None
    pair: tuple[str, str] | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    model_a: str | None = None
    model_b: str | None = None


def read_json(path: Path, data: bytes | None = None) -> Any:
    data = read_file(path) if data is None else data
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        line = data[: e.pos].count(b"\n") + 1 if e.pos is not None else None
        raise InputError(path, f"not valid JSON ({e.msg})", line=line) from None


def read_jsonl(path: Path, data: bytes | None = None) -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line."""
    data = read_file(path) if data is None else data
    rows = []
    for n, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise InputError(path, f"not valid JSON ({e.msg})", line=n) from None
        if not isinstance(obj, dict):
            raise InputError(path, "each line must be a JSON object", line=n)
        rows.append((n, obj))
    return rows


def records(path: Path, obj: Any, what: str) -> list[dict]:
    if not isinstance(obj, list) or not all(isinstance(r, dict) for r in obj):
        raise InputError(path, f"{what} must be a JSON list of objects")
    return obj


def need(path: Path, row: dict, key: str, *, line: int | None = None, record: int | None = None,
         types: type | tuple = str) -> Any:
    """``row[key]``, or an InputError naming the file, line/record and field."""
    if key not in row or row[key] is None:
        raise InputError(path, "missing", line=line, record=record, field=key)
    value = row[key]
    if not isinstance(value, types):
        kind = types.__name__ if isinstance(types, type) else "/".join(t.__name__ for t in types)
        raise InputError(path, f"must be {kind}, got {type(value).__name__}", line=line,
                         record=record, field=key)
    return value


def text_field(path: Path, row: dict, key: str, warnings: list[str], *, record: int) -> str:
    """A text field; a JSON scalar (``true``, ``3``) is kept as its text, with a warning.
    Real files have these: PandaLM's test set holds responses that were serialised as ``true``."""
    value = need(path, row, key, record=record, types=(str, bool, int, float))
    if isinstance(value, str):
        return value
    text = str(value)
    warnings.append(f"record {record}: field '{key}': JSON {type(value).__name__} "
                    f"{orjson.dumps(value).decode()} read as the text {text!r}")
    return text


def between(text: str, start: str, end: str) -> str | None:
    """The text between the first ``start`` and the next ``end`` (judge prompts' sections)."""
    i = text.find(start)
    if i < 0:
        return None
    i += len(start)
    j = text.find(end, i)
    return text[i:j] if j >= 0 else None


_LABEL = {1: 1.0, 2: -1.0, 0: 0.0}


def label_score(path: Path, value: object, n: int, field: str) -> float:
    """A human label 1 (the first response better), 2 (the second) or 0 (a tie) as a score
    (``true`` and ``1.5`` are not labels)."""
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        return _LABEL[int(value)]
    except (KeyError, TypeError, ValueError):
        raise InputError(path, f"must be 1, 2 (or 0 for a tie), got {excerpt(value)}", record=n,
                         field=field) from None


def text_id(*parts: object) -> str:
    """A stable id from content, so the same prompt gets the same id in every file."""
    h = hashlib.sha1()
    for p in parts:
        h.update(orjson.dumps(p))
        h.update(b"\x00")
    return h.hexdigest()[:12]


def dedupe_ids(ids: list[str]) -> list[str]:
    """Suffix repeats (``x``, ``x~2``, ``x~3``) so ids stay unique and stable."""
    seen: dict[str, int] = {}
    out = []
    for i in ids:
        k = seen.get(i, 0) + 1
        seen[i] = k
        out.append(i if k == 1 else f"{i}~{k}")
    return out


def finish(path: Path, examples: list[dict], *, model_a: str, model_b: str, source_format: str,
           metadata: dict | None = None, where: list[int] | None = None,
           where_is_line: bool = True) -> Comparison:
    """Validate what an importer built; a problem names the source line (or record)."""
    validate = EXAMPLE.validate_python
    out: list[Example] = []
    for i, ex in enumerate(examples):
        try:
            out.append(validate(ex))
        except ValidationError as err:
            first = err.errors()[0]
            loc = ".".join(str(p) for p in first.get("loc", ()))
            pos = where[i] if where else i + 1
            kw = {"line": pos} if where_is_line else {"record": pos}
            raise InputError(path, first.get("msg", "invalid"), field=loc or None, **kw) from None
    return Comparison(model_a=model_a, model_b=model_b, examples=out,
                      source_format=source_format, metadata=metadata or {})


def only_value(values: list[Any]) -> Any:
    """The single distinct value of a column, or None when it varies."""
    first = values[0] if values else None
    return first if all(v == first for v in values) else None  # values may be unhashable
