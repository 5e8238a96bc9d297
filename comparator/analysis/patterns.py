"""Every user-written regular expression (search, ``regex=`` filters and links, user metrics)
is compiled and run here, and nowhere else.

RE2 (Arrow's kernels) runs in time linear in the text, so a pattern it takes cannot hang the
server. A pattern RE2 refuses (look-arounds, back-references) runs on the ``regex`` package's
engine, which releases the GIL while it matches (other sessions and the health endpoint keep
answering) and under one deadline for the whole call (``COMPARATOR_REGEX_SECONDS``, default
5 s): past it, the call stops with a ``PatternError`` that says what to do. Python's own ``re``
can backtrack for hours inside one call and is never used for a user's pattern.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import regex

from comparator.schema.settings import settings

MAX_LENGTH = 2000  # characters of a pattern
_PROBE = pa.array([""], pa.string())


class PatternError(ValueError):
    """A regular expression that is invalid, too long, or stopped at its deadline."""


@dataclass(frozen=True)
class Pattern:
    text: str
    ignore_case: bool
    re2: bool  # Arrow's RE2 runs it
    why_not_re2: str = ""
    python: Any = None  # the compiled ``regex`` pattern when RE2 cannot run it


@lru_cache(maxsize=256)
def compile_pattern(text: str, ignore_case: bool = False) -> Pattern:
    """``text`` checked and compiled (raises PatternError with a one-line message)."""
    if not text:
        raise PatternError("the regular expression is empty")
    if len(text) > MAX_LENGTH:
        raise PatternError(f"the regular expression is {len(text):,} characters long; "
                           f"the most is {MAX_LENGTH:,}")
    try:
        pc.match_substring_regex(_PROBE, text, ignore_case=ignore_case)
        return Pattern(text, ignore_case, True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        why = str(e).split(":", 1)[-1].strip() or "RE2 refuses it"
    try:
        compiled = regex.compile(text, regex.V0 | (regex.IGNORECASE if ignore_case else 0))
    except (regex.error, OverflowError, RecursionError) as e:
        raise PatternError(f"bad regular expression {text!r}: {e}") from None
    return Pattern(text, ignore_case, False, why, compiled)


class Deadline:
    """One time limit shared by every text a call matches."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = settings().regex_seconds if seconds is None else seconds
        self.end = time.monotonic() + self.seconds

    def left(self, pat: Pattern) -> float:
        """Seconds left (PatternError when none is)."""
        left = self.end - time.monotonic()
        if left <= 0:
            self.expired(pat)
        return left

    def expired(self, pat: Pattern) -> NoReturn:
        raise PatternError(
            f"the regular expression \"{pat.text}\" was stopped after {self.seconds:g} s: "
            f"RE2 (which never takes long) cannot run it ({pat.why_not_re2}), and the "
            "slower engine for look-arounds and back-references ran out of time. Rewrite "
            "it without them, or raise COMPARATOR_REGEX_SECONDS")


def _python(texts: pa.Array, pat: Pattern, deadline: Deadline, count: bool) -> np.ndarray:
    out = np.zeros(len(texts), np.int64)
    for i, s in enumerate(texts.to_pylist()):
        if s is None:
            continue
        try:
            if count:
                out[i] = len(pat.python.findall(s, timeout=deadline.left(pat), concurrent=True))
            else:
                out[i] = pat.python.search(s, timeout=deadline.left(pat),
                                           concurrent=True) is not None
        except TimeoutError:
            deadline.expired(pat)
    return out


def matches(texts: pa.Array, pat: Pattern, deadline: Deadline | None = None) -> np.ndarray:
    """Whether each text (a null: no) contains a match of ``pat``."""
    if pat.re2:
        m = pc.match_substring_regex(texts, pat.text, ignore_case=pat.ignore_case)
        return np.asarray(m.to_numpy(zero_copy_only=False), bool)
    return _python(texts, pat, deadline or Deadline(), False).astype(bool)


def counts(texts: pa.Array, pat: Pattern, deadline: Deadline | None = None) -> np.ndarray:
    """Non-overlapping matches of ``pat`` in each text (a null: 0)."""
    if pat.re2:
        c = pc.count_substring_regex(texts, pat.text, ignore_case=pat.ignore_case)
        return np.nan_to_num(np.asarray(c.to_numpy(zero_copy_only=False), float)).astype(
            np.int64)
    return _python(texts, pat, deadline or Deadline(), True)
