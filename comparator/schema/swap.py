"""Swap A and B: the same comparison with the other model as A (``swap``), the one function the
dashboard's "Swap A and B" and ``convert --swap`` go through. ``swap(swap(x)) == x`` exactly.

What changes, per example: ``model_a`` and ``model_b``, the responses (every turn), every
judgment's score (negated; a tie stays a tie) and ``reported_score``, each reason's ``favours``
and the A/B it names, and the fields named after a side: ``a_<x>`` / ``b_<x>``, ``<x>_a`` /
``<x>_b`` and ``generator_1`` / ``model_1`` / ``output_1`` ... keys of metadata and extras (stored
metrics, MT-Bench single grades, AlpacaEval generators), and AlpacaEval's ``referenced_models``
(which output the judge called "M" / "m").

What stays: ids, prompts, messages, references, categories, tags, the comparison's metadata
(single grades are kept per model name; Arena-Hard names its baselines) and which response the
judge saw first: that is a property of the judgment, so ``flipped`` ("the judge saw B first")
turns over with the models and position-bias figures do not move. A label is kept as the judge
wrote it when labels are written about the order shown (MT-Bench ``[[A]]``, LLMBar, JudgeBench,
Arena-Hard: ``label_orientation``), and mirrored (``mirror_label``) when it is in A/B terms (LLM
Comparator's ``rating_label``; any judgment whose order is unknown). A rationale is likewise
kept when written about the order shown and mirrored (``swap_ab``) when in A/B terms (our own
judge's runs, whose rationales are turned back to A/B; a judgment whose order is unknown).
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from typing import Any

from comparator.schema.labels import label_to_score, swap_ab
from comparator.schema.records import Comparison, Example, Judgment, judge_key

POSITION, MODEL = "position", "model"
# formats whose labels are in A/B terms even when the order shown was swapped
MODEL_LABELS = frozenset({"llm-comparator"})

_LETTER = re.compile(r"(?<![A-Za-z0-9])([ABab])(?![A-Za-z0-9])")
_NUMBERED = re.compile(r"\b(model|output|response)_?([12])\b", re.I)
_NUMBER = re.compile(r"(\s*)(\d+(?:\.\d+)?)(\s*)")
_VERSUS = re.compile(r"(\S+) vs (\S+)")
_OTHER = {"A": "B", "B": "A", "a": "b", "b": "a", "1": "2", "2": "1"}
_SIDE_KEY = (re.compile(r"^([abAB])(_.+)$"), re.compile(r"^(.+_)([abAB])$"),
             re.compile(r"^((?:generator|model|output|response)_?)([12])$"))
_OUTPUTS = {"output_1": "output_2", "output_2": "output_1"}


def mirror_label(label: str) -> str:
    """A verdict label read from B's side: ``[[A]]`` <-> ``[[B]]``, ``A>>B`` <-> ``B>>A``,
    ``A is better`` <-> ``B is better``, ``Output (a)`` <-> ``Output (b)``, ``1`` <-> ``2``, an
    AlpacaEval preference p in [1, 2] <-> 3 - p (its digits kept), an MT-Bench single-grade
    pair ``8 vs 6`` <-> ``6 vs 8``. A label that is no known verdict, or a tie, is kept."""
    if m := _NUMBER.fullmatch(label):
        p = Decimal(m.group(2))
        return f"{m.group(1)}{Decimal(3) - p}{m.group(3)}" if 1 <= p <= 2 else label
    if m := _VERSUS.fullmatch(label):
        return f"{m.group(2)} vs {m.group(1)}"
    s = label_to_score(label)
    if not s:
        return label
    out = _NUMBERED.sub(lambda m: m.group(1) + "_" * ("_" in m.group(0)) + _OTHER[m.group(2)],
                        _LETTER.sub(lambda m: _OTHER[m.group(1)], label))
    return out if label_to_score(out) == -s else label


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def label_orientation(examples: list[Example], source_format: str | None) -> dict[str, str]:
    """Per judge: whether its labels are written about the order shown (``"position"``) or in
    A/B terms (``"model"``), read from its judgments shown B first whose label and score pick a
    side; without such evidence, the format's convention (``MODEL_LABELS``, else position).
    Evidence from the judgments shown A first is impossible (both readings agree), so the
    decision survives a swap: the swapped file's B-first judgments carry it."""
    votes: dict[str, Counter] = {}
    for ex in examples:
        for j in ex.get("judgments") or ():
            if j.get("flipped") is not True or not j.get("score"):
                continue
            ls = label_to_score(j.get("label"))
            if not ls:
                continue
            s = _sign(j["score"])
            vote = POSITION if _sign(-ls) == s else MODEL if _sign(ls) == s else None
            if vote:
                votes.setdefault(judge_key(j), Counter())[vote] += 1
    default = MODEL if source_format in MODEL_LABELS else POSITION
    out = {}
    for judge, c in votes.items():
        out[judge] = MODEL if c[MODEL] > c[POSITION] else POSITION if c[POSITION] else default
    out[""] = default
    return out


def swap_keys(d: dict[str, Any]) -> dict[str, Any]:
    """A free-form dict (metadata, extra) with its side-named keys swapped, order kept."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        for pattern in _SIDE_KEY:
            if isinstance(k, str) and (m := pattern.match(k)):
                a, b = m.groups()
                k = (_OTHER[a] + b) if pattern is _SIDE_KEY[0] else a + _OTHER[b]
                break
        if k == "referenced_models" and isinstance(v, dict):  # AlpacaEval: {"M": "output_1"}
            v = {x: _OUTPUTS.get(y, y) if isinstance(y, str) else y for x, y in v.items()}
        out[k] = v
    return out


def _swap_judgment(j: Judgment, orientation: dict[str, str]) -> Judgment:
    out: dict[str, Any] = dict(j)
    if out.get("score") is not None:
        out["score"] = -out["score"] + 0.0  # a tie stays 0.0, never -0.0
    flipped = out.get("flipped")
    by_order = flipped is not None and orientation.get(judge_key(j),
                                                       orientation[""]) == POSITION
    if flipped is not None:
        out["flipped"] = not flipped
    if isinstance(out.get("label"), str) and not by_order:
        out["label"] = mirror_label(out["label"])
    extra = out.get("extra")
    in_ab_terms = flipped is None or (isinstance(extra, dict) and "run" in extra)
    if isinstance(out.get("rationale"), str) and in_ab_terms and not (
            isinstance(extra, dict) and "referenced_models" in extra):
        out["rationale"] = swap_ab(out["rationale"])
    if isinstance(extra, dict):
        out["extra"] = swap_keys(extra)
    return out  # type: ignore[return-value]


def swap_example(ex: Example, orientation: dict[str, str]) -> Example:
    """One example read from B's side (``orientation``: ``label_orientation`` of its file)."""
    out: dict[str, Any] = dict(ex)
    out["response_a"], out["response_b"] = ex["response_b"], ex["response_a"]
    if ex.get("reported_score") is not None:
        out["reported_score"] = -ex["reported_score"] + 0.0
    if "judgments" in ex:
        out["judgments"] = [_swap_judgment(j, orientation) for j in ex["judgments"]]
    if "reasons" in ex:
        out["reasons"] = [{**r, "text": swap_ab(r["text"]),
                           **({"favours": _OTHER[r["favours"]]} if r.get("favours") else {})}
                          for r in ex["reasons"]]
    for k in ("metadata", "extra"):
        if isinstance(ex.get(k), dict):
            out[k] = swap_keys(ex[k])
    return out  # type: ignore[return-value]


def is_swapped(comp: Comparison) -> bool:
    """Whether ``comp`` is a file read from B's side (``swap`` of it; swapped twice: not)."""
    return comp._swapped


def swap(comp: Comparison) -> Comparison:
    """``comp`` with B as A: a new comparison of new example dicts (``comp`` is not changed;
    texts are shared). See the module's docstring for what turns over and what stays."""
    examples = list(comp.examples)
    orientation = label_orientation(examples, comp.source_format)
    out = comp.subset([swap_example(ex, orientation) for ex in examples])
    out.model_a, out.model_b = comp.model_b, comp.model_a
    out._swapped = not comp._swapped
    return out
