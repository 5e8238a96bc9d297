"""Word-level differences between two responses (for the side-by-side view).

Words and punctuation are matched; whitespace is carried along with the word before it, so a
replaced run of words is one highlighted stretch, not one chip per word.
"""

from __future__ import annotations

import difflib
import re

_UNIT = re.compile(r"(\w+|[^\w\s])(\s*)")
MAX_UNITS = 20_000  # beyond this the diff is skipped: the view shows plain text

Segments = list[tuple[str, bool]]


def units(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Leading whitespace, then (token, following whitespace) pairs."""
    lead = text[: len(text) - len(text.lstrip())]
    return lead, _UNIT.findall(text)


def word_diff(a: str, b: str) -> tuple[Segments, Segments] | None:
    """Each text as (segment, differs) pairs: True where the words are not shared with the
    other response. None when too long to diff."""
    lead_a, ua = units(a)
    lead_b, ub = units(b)
    if len(ua) > MAX_UNITS or len(ub) > MAX_UNITS:
        return None
    sm = difflib.SequenceMatcher(a=[t for t, _ in ua], b=[t for t, _ in ub], autojunk=False)
    out_a: Segments = [(lead_a, False)] if lead_a else []
    out_b: Segments = [(lead_b, False)] if lead_b else []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        _extend(out_a, ua[i1:i2], op != "equal")
        _extend(out_b, ub[j1:j2], op != "equal")
    return out_a, out_b


def _extend(out: Segments, run: list[tuple[str, str]], differs: bool) -> None:
    if not run:
        return
    text = "".join(t + ws for t, ws in run)
    if differs:  # keep the run's trailing whitespace outside the highlight
        body = text.rstrip()
        _push(out, body, True)
        _push(out, text[len(body):], False)
    else:
        _push(out, text, False)


def _push(out: Segments, text: str, differs: bool) -> None:
    if not text:
        return
    if out and out[-1][1] == differs:
        out[-1] = (out[-1][0] + text, differs)
    else:
        out.append((text, differs))

