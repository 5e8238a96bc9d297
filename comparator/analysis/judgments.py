"""Per-judgment arrays (one row per judgment, not per example), cached on the comparison.

Judgment-level figures (LLMBar's accuracy convention: each judgment, each order counted
separately) are computed from these arrays with numpy, not by walking the example dicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comparator.analysis.stats import is_selected
from comparator.schema.records import Comparison, is_ok


@dataclass
class JudgmentArrays:
    """``example``: index of the judgment's example; ``score``: NaN when not ``ok`` (unscored
    or error); ``flipped``: 1 swapped order, 0 shown order, -1 unknown."""

    example: np.ndarray
    score: np.ndarray
    flipped: np.ndarray


def judgment_arrays(comp: Comparison, judges: frozenset[str] | None) -> JudgmentArrays:
    key = ("judgments", judges)
    hit = comp._derived.get(key)
    if hit is not None:
        return hit
    idx: list[int] = []
    score: list[float] = []
    flipped: list[int] = []
    for i, ex in enumerate(comp.examples):
        for j in ex.get("judgments") or ():
            if not is_selected(j, judges):
                continue
            idx.append(i)
            score.append(j["score"] if is_ok(j) else np.nan)
            f = j.get("flipped")
            flipped.append(-1 if f is None else int(f))
    out = JudgmentArrays(np.asarray(idx, dtype=np.int64), np.asarray(score, dtype=float),
                         np.asarray(flipped, dtype=np.int8))
    comp._derived[key] = out
    return out
