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

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from comparator.schema.visible import visible


class OutputClosed(Exception):  # noqa: N818 (not an error: the reader is done)
    """The reader of the command's output has gone (``... | head``): the command stops
    quietly (``cli.main``). Not an OSError, so that no handler of file errors reports it."""


class SafeStream:
    """A text stream that writes ``visible(text)`` to the stream it wraps; a closed pipe
    raises ``OutputClosed``."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            if not isinstance(text, str):
                return self._stream.write(text)  # refused by the text stream, as before
            head = "\r" if text.startswith("\r") else ""
            self._stream.write(head + visible(text[len(head):], keep="\n\t"))
        except BrokenPipeError:
            raise OutputClosed from None
        return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise OutputClosed from None

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding, fileno, buffer ...
        return getattr(self._stream, name)


def quiet_closed_output() -> int:
    """After ``OutputClosed``: stdout pointed at /dev/null, so that the flush at exit cannot
    fail again (Python's advice, "Note on SIGPIPE" in the signal module's docs); the exit code
    a shell shows for a writer whose reader left, 141 (128 + SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError):  # no stdout at all: nothing to flush
        pass
    return 141


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
