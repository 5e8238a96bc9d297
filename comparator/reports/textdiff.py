"""Word-level differences between two responses (for the side-by-side view)."""

from __future__ import annotations

import difflib
import re

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
MAX_TOKENS = 20_000  # beyond this the diff is skipped: the view shows plain text


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def word_diff(a: str, b: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]] | None:
    """Each text as (segment, differs) pairs: True where the words are not shared with the
    other response (a replaced run keeps its inner spaces). None when too long to diff."""
    ta, tb = tokens(a), tokens(b)
    if len(ta) > MAX_TOKENS or len(tb) > MAX_TOKENS:
        return None
    sm = difflib.SequenceMatcher(a=ta, b=tb, autojunk=False)
    out_a: list[tuple[str, bool]] = []
    out_b: list[tuple[str, bool]] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        same = op == "equal"
        _extend(out_a, ta[i1:i2], not same)
        _extend(out_b, tb[j1:j2], not same)
    return out_a, out_b


def _extend(out: list[tuple[str, bool]], toks: list[str], differs: bool) -> None:
    for t in toks:
        d = differs
        if out and out[-1][1] == d:
            out[-1] = (out[-1][0] + t, d)
        else:
            out.append((t, d))


def shared_fraction(a: str, b: str) -> float | None:
    diff = word_diff(a, b)
    if diff is None:
        return None
    total = sum(len(s) for s, _ in diff[0] if s.strip())
    same = sum(len(s) for s, d in diff[0] if s.strip() and not d)
    return same / total if total else 1.0
