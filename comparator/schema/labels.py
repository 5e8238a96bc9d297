"""Verdict labels and the canonical score scale.

Scores are always in model A's orientation: +1.5 (A much better) ... -1.5 (B much better).
This module maps the labels that judges and annotation files write onto that scale.
"""

from __future__ import annotations

import re

SCORE_MIN, SCORE_MAX = -1.5, 1.5
DEFAULT_TIE_THRESHOLD = 0.25

# The 7-level scale (LLM Comparator's vocabulary), A-oriented.
SEVEN_LEVEL = {
    "A is much better": 1.5,
    "A is better": 1.0,
    "A is slightly better": 0.5,
    "same": 0.0,
    "B is slightly better": -0.5,
    "B is better": -1.0,
    "B is much better": -1.5,
}

# Verdict tokens written by common judges, as seen by the judge (not yet un-swapped).
_TOKENS = {
    # MT-Bench pairwise
    "[[A]]": 1.0, "[[B]]": -1.0, "[[C]]": 0.0,
    # Arena-Hard 5-level
    "[[A>>B]]": 1.5, "[[A>B]]": 0.5, "[[A=B]]": 0.0, "[[B>A]]": -0.5, "[[B>>A]]": -1.5,
}

_PLAIN = {
    "a": 1.0, "b": -1.0, "tie": 0.0, "c": 0.0, "draw": 0.0, "same": 0.0, "equal": 0.0,
    "model_a": 1.0, "model_b": -1.0, "model_1": 1.0, "model_2": -1.0,
    "1": 1.0, "2": -1.0, "0": 0.0,
    "output (a)": 1.0, "output (b)": -1.0,
    "tie (bothbad)": 0.0, "both_bad": 0.0, "both bad": 0.0,
    "a>>b": 1.5, "a>b": 0.5, "a=b": 0.0, "b>a": -0.5, "b>>a": -1.5,
    "a much better": 1.5, "a better": 1.0, "a slightly better": 0.5,
    "b much better": -1.5, "b better": -1.0, "b slightly better": -0.5,
}
_PLAIN.update({k.lower(): v for k, v in SEVEN_LEVEL.items()})
_PLAIN.update({k.lower(): v for k, v in _TOKENS.items()})


def label_to_score(label: object) -> float | None:
    """Score for a verdict label such as ``"A"``, ``"[[B]]"``, ``"A>>B"``, ``"tie"``,
    ``"B is slightly better"``; ``None`` when the label is not a known verdict."""
    if label is None:
        return None
    if isinstance(label, bool):
        return None
    if isinstance(label, (int, float)):
        label = str(int(label)) if float(label).is_integer() else str(label)
    key = " ".join(str(label).strip().lower().split())
    return _PLAIN.get(key)


_VERDICT_RE = re.compile(r"\[\[(A>>B|A>B|A=B|B>A|B>>A|A|B|C)\]\]")


def last_verdict_token(text: str | None) -> str | None:
    """The last ``[[...]]`` verdict token in a judge's text, e.g. ``"[[A]]"``."""
    if not text:
        return None
    found = _VERDICT_RE.findall(text)
    return f"[[{found[-1]}]]" if found else None


def winner_of(score: float | None, tie_threshold: float = DEFAULT_TIE_THRESHOLD) -> str:
    """``"A"`` if score > t, ``"B"`` if score < -t, ``"tie"`` otherwise, ``"unscored"`` for None."""
    if score is None or score != score:  # None or NaN
        return "unscored"
    if score > tie_threshold:
        return "A"
    if score < -tie_threshold:
        return "B"
    return "tie"


_MENTION = re.compile(r"\b(Responses?|Assistants?|Answers?|Outputs?|Models?|Conversations?)"
                      r"(\s+|_)([AB])\b|\[\[([AB])\]\]|\b([AB])('s)\b|"
                      r"\b(response|conversation)_([ab])\b")


def swap_ab(text: str) -> str:
    """The A and B a text names, turned over: "Response A" becomes "Response B", "[[B]]"
    "[[A]]", "A's" "B's", ``response_a`` ``response_b`` (and back: applied twice it gives the
    text back). Used to turn a rationale written about the swapped order back to the file's
    A/B (what the judge saw first was model B), and by ``comparator.schema.swap``."""
    def flip(m: re.Match) -> str:
        if m.group(1):
            return f"{m.group(1)}{m.group(2)}{'B' if m.group(3) == 'A' else 'A'}"
        if m.group(4):
            return f"[[{'B' if m.group(4) == 'A' else 'A'}]]"
        if m.group(7):
            return f"{m.group(7)}_{'b' if m.group(8) == 'a' else 'a'}"
        return f"{'B' if m.group(5) == 'A' else 'A'}{m.group(6)}"

    return _MENTION.sub(flip, text)
