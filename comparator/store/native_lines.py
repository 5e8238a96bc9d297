"""A block of native JSON lines read one line at a time with pydantic: what
``comparator.store.native`` does with the rare block Arrow's reader cannot take, to name the line
and field of its first problem (the messages of ``comparator.formats.native``), or, when the
block is valid after all, to give its rows in the store's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from pydantic import ValidationError

from comparator.formats.common import check_utf8
from comparator.formats.native import check_statuses, validation_error
from comparator.schema.errors import InputError
from comparator.schema.records import EXAMPLE
from comparator.store import schema
from comparator.store.ids import Ids

BATCH = 20_000


def _check_utf8_line(path: Path, raw: bytes, n: int) -> None:
    """The importer's message for a line that is not UTF-8 (byte and column), on line n."""
    try:
        check_utf8(path, raw)
    except InputError as e:
        raise InputError(path, e.message, line=n) from None


def read_lines(path: Path, data: bytes, first_line: int, batcher: schema.Batcher, ids: Ids,
               deferred: list[InputError]) -> list[pa.RecordBatch]:
    """The lines of ``data`` (whole lines; the first is line ``first_line`` of ``path``) as
    record batches; InputError at the first line that is not a valid example. What the
    importer checks only once every line is valid is left to the end of the file, as there:
    a judgment's status against its score (the first such error is added to ``deferred``)
    and unique ids (``ids`` gets the block's). ``batcher`` gives the batches the file's
    schema (FreeMismatch when a free-form value does not fit it)."""
    validate = EXAMPLE.validate_json
    out: list[pa.RecordBatch] = []
    rows, lines = [], []

    def flush() -> None:
        nonlocal rows, lines
        if not deferred:
            try:
                check_statuses(path, rows, lines)
            except InputError as e:
                deferred.append(e)
        out.append(batcher.batch(rows))
        ids.add(out[-1].column("id"), np.array(lines, np.int64))
        rows, lines = [], []

    for n, raw in enumerate(data.split(b"\n"), start=first_line):
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
    return out
