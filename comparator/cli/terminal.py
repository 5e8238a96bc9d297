"""What every command prints goes through here: ``safe_output()`` puts a filter on
``sys.stdout`` and ``sys.stderr`` for the length of a command, so a model, category, judge or
file name holding ESC (an ANSI sequence), a C1 control, a bidirectional override or a
zero-width character never reaches the terminal raw, whichever printer wrote it (tables,
notes, error lines, ``--json``). Each such character is shown as its ``\\uXXXX`` escape
(``comparator.schema.visible``), which keeps JSON output valid and equal in meaning.

Kept as they are: line breaks and tabs, and a carriage return that opens a write (a progress
line redrawn in place: tqdm's bars, the perplexity counter); anywhere else it is escaped, so a
name cannot overwrite what was printed before it on its line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from comparator.schema.visible import visible


class SafeStream:
    """A text stream that writes ``visible(text)`` to the stream it wraps."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            return self._stream.write(text)  # refused by the text stream, as before
        head = "\r" if text.startswith("\r") else ""
        self._stream.write(head + visible(text[len(head):], keep="\n\t"))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding, fileno, buffer ...
        return getattr(self._stream, name)


@contextmanager
def safe_output() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` filtered inside the block (nesting is harmless)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (s if isinstance(s, SafeStream) or s is None else SafeStream(s)
                              for s in saved)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
