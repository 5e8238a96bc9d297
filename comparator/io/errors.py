"""The one error type every importer raises for bad input."""

from __future__ import annotations

from pathlib import Path


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
        self.path = str(path) if path is not None else "<input>"
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
            text += f"field '{field}': "
        text += " ".join(message.split())
        super().__init__(text)
