"""How far to trust the judge: position bias, length bias, self-agreement, ties.

All over the ``ok`` judgments of the selected judges (the score judges by default), with the
same tie threshold as the win rate. Rates come with 95% Wilson intervals where they are
proportions of independent-ish events (judgments or examples).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from comparator.io.labels import DEFAULT_TIE_THRESHOLD
from comparator.io.schema import Comparison, is_ok, response_text
from comparator.slices.stats import default_judges, derive, is_selected, outcomes, wilson


def _rate(hits: int, n: int) -> dict[str, Any]:
    return {"rate": hits / n if n else None, "ci95": list(wilson(hits / n, n)) if n else None,
            "n": n}


def _judgments(comp: Comparison, judges):
    if judges == "auto":
        judges = default_judges(comp)
    for i, ex in enumerate(comp.examples):
        for j in ex.get("judgments") or ():
            if is_selected(j, judges) and is_ok(j):
                yield i, j


def first_position_preference(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                              judges="auto") -> dict[str, Any]:
    """Of the judgments that picked a side and know the order shown, the share that picked the
    response shown first (0.5 = no position bias)."""
    first = n = 0
    for _, j in _judgments(comp, judges):
        if j.get("flipped") is None:
            continue
        shown = -j["score"] if j["flipped"] else j["score"]
        if abs(shown) > tie_threshold:
            n += 1
            first += shown > 0
    return _rate(first, n)


def length_preference(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                      judges="auto") -> dict[str, Any]:
    """Of the examples with a winner and responses of different length (characters), the share
    won by the longer response (0.5 = no length bias); plus the mean length ratio."""
    d = derive(comp, judges)
    oc = outcomes(d.score, tie_threshold)
    longer = n = 0
    for i, ex in enumerate(comp.examples):
        if oc[i] not in (0, 2):
            continue
        la, lb = len(response_text(ex["response_a"])), len(response_text(ex["response_b"]))
        if la == lb:
            continue
        n += 1
        longer += (la > lb) == (oc[i] == 0)
    return _rate(longer, n)


def self_agreement(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                   judges="auto") -> dict[str, Any]:
    """Mean, over examples with two or more judgments, of the share of judgment pairs with the
    same verdict (A / tie / B, in the file's orientation): repeats and both orders together."""
    per: dict[int, list[float]] = {}
    for i, j in _judgments(comp, judges):
        per.setdefault(i, []).append(j["score"])
    shares = []
    for scores in per.values():
        if len(scores) < 2:
            continue
        codes = outcomes(np.asarray(scores), tie_threshold)
        pairs = list(combinations(codes, 2))
        shares.append(sum(a == b for a, b in pairs) / len(pairs))
    return {"rate": float(np.mean(shares)) if shares else None, "n": len(shares)}


def tie_rate(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
             judges="auto") -> dict[str, Any]:
    """Share of judgments that call a tie."""
    ties = n = 0
    for _, j in _judgments(comp, judges):
        n += 1
        ties += abs(j["score"]) <= tie_threshold
    return _rate(ties, n)


def reliability(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                judges="auto") -> dict[str, Any]:
    key = ("reliability", tie_threshold, judges)
    hit = comp._derived.get(key)
    if hit is None:
        hit = comp._derived[key] = {
            "first_position_preference": first_position_preference(comp, tie_threshold, judges),
            "length_preference": length_preference(comp, tie_threshold, judges),
            "self_agreement": self_agreement(comp, tie_threshold, judges),
            "tie_rate": tie_rate(comp, tie_threshold, judges),
        }
    return hit
