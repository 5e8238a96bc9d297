"""The one error type every importer raises for bad input."""

from __future__ import annotations

import reprlib
from pathlib import Path

from comparator.schema.visible import visible

MAX_MESSAGE = 1000  # characters of a message kept; a file's content is never echoed at length


def escaped(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line: control and invisible characters escaped (``visible``), cut to
    ``limit`` characters."""
    text = visible(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 80, 80


def excerpt(value: object, limit: int = 60) -> str:
    """A short, escaped excerpt of a value read from a file, for an error message (depth-limited:
    a value nested 100k deep is shown as ``[[[...]]]``)."""
    return escaped(_REPR.repr(value), limit)


class InputError(ValueError):
    """Bad input, located: which file, which line (1-based) or record, which field.

    ``str(err)`` is a one-line message meant for the user, e.g.
    ``data.jsonl:12: field 'judgments[0].score': 2.0 is outside [-1.5, 1.5]``.
    """

    def __init__(
        self,
        path: str | Path | None,
        message: str,
        *,
        line: int | None = None,
        record: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = escaped(str(path), 200) if path is not None else "<input>"
        self.line = line
        self.record = record
        self.field = field
        self.message = message
        where = self.path
        if line is not None:
            where += f":{line}"
        elif record is not None:
            where += f": record {record}"
        text = f"{where}: "
        if field:
            text += f"field '{escaped(field, 80)}': "
        text += escaped(" ".join(message.split()))
        super().__init__(text)
