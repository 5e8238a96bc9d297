"""Reading a judge's reply: the verdict (in the order the judge saw), never guessed.

The last well-formed verdict counts; a reply with none, or whose well-formed verdicts disagree,
is unparseable (the runner asks once more, then records it ``unscored`` with the raw text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from comparator.schema.labels import SEVEN_LEVEL, swap_ab  # noqa: F401 (swap_ab: re-exported)

_XML_VERDICT = re.compile(r"<verdict>\s*(.*?)\s*</verdict>", re.S | re.I)
_XML_RATIONALE = re.compile(r"<rationale>\s*(.*?)\s*</rationale>", re.S | re.I)
_MT = re.compile(r"\[\[([ABC])\]\]")
_ARENA = re.compile(r"\[\[\s*([AB])\s*(>>|>|=|<<|<)\s*([AB])\s*\]\]")
_SEVEN = {k.lower(): (k, v) for k, v in SEVEN_LEVEL.items()}  # lower-case -> (label, score)
_OUTPUT_AB = re.compile(r"\bOutput \(([ab])\)")
_MT_SCORE = {"A": 1.0, "B": -1.0, "C": 0.0}
_ARENA_SCORE = {">>": 1.5, ">": 0.5, "=": 0.0}


@dataclass
class Verdict:
    ok: bool
    score: float | None = None  # as the judge saw it: + favours the response shown first
    label: str | None = None
    rationale: str | None = None
    problem: str | None = None


def _arena_score(m: re.Match) -> float | None:
    left, op, right = m.groups()
    if left == right:
        return None
    if op in ("<<", "<"):
        left, right, op = right, left, {"<<": ">>", "<": ">"}[op]
    s = _ARENA_SCORE[op]
    return s if left == "A" else -s


def parse_verdict(text: str | None, grammar: str) -> Verdict:
    """Verdict of a reply in grammar ``xml7`` (7-level labels in <verdict> tags), ``mtbench``
    ([[A]]/[[B]]/[[C]]), ``arena`` ([[A>>B]] ... [[B>>A]]) or ``output_ab`` (Output (a)/(b))."""
    if not text or not text.strip():
        return Verdict(False, problem="empty reply")
    found: list[tuple[str, float]] = []
    if grammar == "xml7":
        for content in _XML_VERDICT.findall(text):
            key = " ".join(content.strip().strip(".").lower().split())
            if key in _SEVEN:
                found.append(_SEVEN[key])
        rationale = _XML_RATIONALE.findall(text)
        rat = rationale[-1] if rationale else None
    elif grammar == "mtbench":
        found = [(f"[[{t}]]", _MT_SCORE[t]) for t in _MT.findall(text)]
        rat = text.strip()
    elif grammar == "output_ab":  # LLMBar / AlpacaEval 1 style: "Output (a)" or "Output (b)"
        found = [(m.group(0), 1.0 if m.group(1) == "a" else -1.0)
                 for m in _OUTPUT_AB.finditer(text)]
        rat = text.strip()
    elif grammar == "arena":
        for m in _ARENA.finditer(text):
            s = _arena_score(m)
            if s is not None:
                found.append((m.group(0), s))
        rat = text.strip()
    else:
        raise ValueError(f"unknown verdict grammar {grammar!r}")
    if not found:
        return Verdict(False, problem="no verdict in the reply")
    if len({s for _, s in found}) > 1:
        return Verdict(False, problem="conflicting verdicts: " + ", ".join(lbl for lbl, _ in found))
    label, score = found[-1]
    return Verdict(True, score=score, label=label, rationale=rat)
