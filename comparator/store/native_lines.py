"""Native JSONL into the store line by line with pydantic, a batch at a time: the fallback of
Arrow's JSON reader (``comparator.store.native``) with the messages of ``comparator.formats.native``
(line and field of the first problem), never holding more than one batch of example dicts."""

from __future__ import annotations

from pathlib import Path

import pyarrow.ipc as ipc
from pydantic import ValidationError

from comparator.formats.common import check_utf8
from comparator.formats.native import check_statuses, validation_error
from comparator.schema.errors import InputError, excerpt
from comparator.schema.records import EXAMPLE
from comparator.store import schema
from comparator.store.writer import BatchWriter

BATCH = 20_000


def _check_utf8_line(path: Path, raw: bytes, n: int) -> None:
    """The importer's message for a line that is not UTF-8 (byte and column), on line n."""
    try:
        check_utf8(path, raw)
    except InputError as e:
        raise InputError(path, e.message, line=n) from None


def stream_lines(path: Path, offset: int, out: Path) -> None:
    """Validate and write the lines after the header (``offset`` bytes) to the IPC file
    ``out``; raises InputError at the first problem."""
    schema.typed_else_json(lambda json_free: _stream(path, offset, out,
                                                     schema.Batcher(json_free)))


def _stream(path: Path, offset: int, out: Path, batcher: schema.Batcher) -> None:
    validate = EXAMPLE.validate_json
    seen: dict[str, int] = {}
    writer = BatchWriter(out)
    rows, lines = [], []

    def flush() -> None:
        nonlocal rows, lines
        check_statuses(path, rows, lines)
        for ex, n in zip(rows, lines):
            first = seen.setdefault(ex["id"], n)
            if first != n:
                raise InputError(path, f"duplicate id {excerpt(ex['id'])} (first on line "
                                 f"{first})", line=n, field="id")
        writer.put(batcher.batch(rows))
        rows, lines = [], []

    try:
        with open(path, "rb") as f:
            f.seek(offset)
            for n, raw in enumerate(f, start=2):
                if not raw.strip():
                    continue
                try:
                    rows.append(validate(raw))
                except ValidationError as err:
                    _check_utf8_line(path, raw, n)
                    raise validation_error(path, err, n) from None
                lines.append(n)
                if len(rows) == BATCH:
                    flush()
        if rows:
            flush()
    finally:
        written = writer.close()
    if not written:  # a header and no examples: an empty store (load() warns the same)
        with ipc.new_file(str(out), schema.EMPTY) as w:
            w.write_table(schema.EMPTY.empty_table())
