"""Helpers shared by the importers: reading records, stable ids, final validation."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from comparator.io.errors import InputError
from comparator.io.schema import EXAMPLE, Comparison, Example

_SPACE = re.compile(rb"\s*")


class Source:
    """A file being imported: its bytes, parsed once on demand as JSON or JSONL. The peeks
    (``first_char``, ``first_line``, ``one_line``) never copy the data: files reach GBs."""

    def __init__(self, path: Path, data: bytes | None = None) -> None:
        self.path = Path(path)
        self.data = self.path.read_bytes() if data is None else data
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
    data = path.read_bytes() if data is None else data
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        line = data[: e.pos].count(b"\n") + 1 if e.pos is not None else None
        raise InputError(path, f"not valid JSON ({e.msg})", line=line) from None


def read_jsonl(path: Path, data: bytes | None = None) -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line."""
    data = path.read_bytes() if data is None else data
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
    distinct = set(values)
    return values[0] if len(distinct) == 1 else None
