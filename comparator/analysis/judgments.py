"""Per-judgment arrays (one row per judgment, not per example), read from the store.

Judgment-level figures (LLMBar's accuracy convention: each judgment, each order counted
separately) are computed from these arrays with numpy. Cached under
``("judgment_arrays", judges)`` in the store's memo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comparator.analysis.columnar import selected
from comparator.schema.records import Comparison
from comparator.store.table import store_for


@dataclass
class JudgmentArrays:
    """``example``: index of the judgment's example; ``score``: NaN when not ``ok`` (unscored
    or error); ``flipped``: 1 swapped order, 0 shown order, -1 unknown."""

    example: np.ndarray
    score: np.ndarray
    flipped: np.ndarray


def judgment_arrays(comp: Comparison, judges: frozenset[str] | None) -> JudgmentArrays:
    st = store_for(comp)

    def build() -> JudgmentArrays:
        j = st.judgments()
        keep = selected(st, judges)
        score = j["score"] if j["ok"].all() else np.where(j["ok"], j["score"], np.nan)
        arrays = (np.asarray(j["parent"], dtype=np.int64), score,
                  j["flipped"].astype(np.int8, copy=False))
        return JudgmentArrays(*(arrays if keep.all() else (a[keep] for a in arrays)))

    return st.memo(("judgment_arrays", judges), build)
