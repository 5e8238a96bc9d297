"""Agreement between two judges on the same examples (e.g. an LLM judge vs ``human``).

Each judge's verdict on an example is the winner of the mean of its ok scores there (same tie
threshold as everywhere). Over the examples both judges scored: agreement rate with ties (three
classes A / tie / B), agreement without ties (only examples where neither says tie, as in the
MT-Bench paper), Cohen's kappa on the three classes, and the confusion matrix.
Judgment-level agreement (LLMBar's ``correct_average``): every judgment of ``judge_x`` (each
order of a pair counted separately) against ``judge_y``'s example verdict, over the examples
``judge_y`` scored; an unscored or error judgment counts as a disagreement.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np
import pyarrow.compute as pc

from comparator.analysis.filters import slice_mask
from comparator.analysis.human_vote import MAJORITY
from comparator.analysis.judgments import judgment_arrays
from comparator.analysis.stats import OUTCOMES, derive, outcomes, slice_values
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison
from comparator.store.table import store_for


def kappa_score(x: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    """Cohen's kappa of two raters' labels ``0..k-1`` (unweighted, as scikit-learn's
    ``cohen_kappa_score`` with ``labels=range(k)``, in closed form: importing scikit-learn costs
    1.5 s); NaN when chance agreement is 1 (both raters give one same label throughout)."""
    confusion = np.bincount(np.asarray(x, np.int64) * k + np.asarray(y, np.int64),
                            minlength=k * k).reshape(k, k).astype(float)
    if not confusion.sum():
        return math.nan
    expected = np.outer(confusion.sum(0), confusion.sum(1)) / confusion.sum()
    off = 1.0 - np.eye(k)
    chance = float((off * expected).sum())
    return 1.0 - float((off * confusion).sum()) / chance if chance else math.nan


def cohen_kappa(x: np.ndarray, y: np.ndarray, k: int = 3) -> float | None:
    """Cohen's kappa (``kappa_score``); 1.0 when both raters give one same label throughout."""
    if len(x) == 0:
        return None
    if np.all(x == x[0]) and np.all(y == x[0]):
        return 1.0  # chance agreement is 1: the formula is 0 / 0
    return kappa_score(x, y, k)


def agreement(comp: Comparison, judge_x: str, judge_y: str,
              tie_threshold: float = DEFAULT_TIE_THRESHOLD,
              mask: np.ndarray | None = None) -> dict[str, Any]:
    """Agreement of ``judge_x`` with ``judge_y`` (names as in the file's ``judge``, or
    ``judge:rater`` for one of several annotators)."""
    dx = derive(comp, frozenset([judge_x]))
    dy = derive(comp, frozenset([judge_y]))
    both = ~np.isnan(dx.score) & ~np.isnan(dy.score)
    if mask is not None:
        both &= mask
    x = outcomes(dx.score[both], tie_threshold).astype(np.int64)
    y = outcomes(dy.score[both], tie_threshold).astype(np.int64)
    n = len(x)
    no_tie = (x != 1) & (y != 1)
    m = np.bincount(x * 3 + y, minlength=9).reshape(3, 3) if n else np.zeros((3, 3), int)
    labels = list(OUTCOMES[:3])
    ja = judgment_arrays(comp, frozenset([judge_x]))
    keep = ~np.isnan(dy.score[ja.example])
    if mask is not None:
        keep &= mask[ja.example]
    # NaN (unscored/error) -> code 3, never equal to a scored verdict (0..2)
    jmatch = outcomes(ja.score[keep], tie_threshold) == outcomes(
        dy.score[ja.example[keep]], tie_threshold)
    return {
        "judge_x": judge_x, "judge_y": judge_y, "n": n,
        "agreement": float((x == y).mean()) if n else None,
        "n_without_ties": int(no_tie.sum()),
        "agreement_without_ties": float((x[no_tie] == y[no_tie]).mean()) if no_tie.any() else None,
        "cohen_kappa": cohen_kappa(x, y),
        "judgment_n": int(jmatch.size),
        "judgment_agreement": float(jmatch.mean()) if jmatch.size else None,
        # per order shown (LLMBar's correct_False / correct_True); None when unknown
        "judgment_agreement_by_order": {
            order: float(jmatch[sel].mean()) if sel.any() else None
            for order, sel in (("shown", ja.flipped[keep] == 0),
                               ("swapped", ja.flipped[keep] == 1))},
        "confusion": {"labels": labels, "rows": judge_x, "cols": judge_y,
                      "matrix": m.tolist()},
    }


def raters(comp: Comparison, judge: str = "human") -> list[str]:
    """``judge:rater`` selectors of the individual annotators of ``judge`` (e.g. PandaLM's
    three humans), for annotator-vs-annotator agreement."""
    j = store_for(comp).judgments()
    mine = pc.fill_null(pc.equal(j["judge"], judge), False)  # on columns: millions of rows
    return sorted(f"{judge}:{r}" for r in pc.unique(pc.filter(j["rater"], mine)).to_pylist()
                  if r)


def pairwise_table(comp: Comparison, selectors: list[str],
                   tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                   mask: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Agreement and kappa for every pair of selectors."""
    rows = []
    for x, y in combinations(selectors, 2):
        a = agreement(comp, x, y, tie_threshold, mask)
        rows.append({"annotator": x, "with": y, "n": a["n"],
                     "agreement %": None if a["agreement"] is None else
                     round(100 * a["agreement"], 1),
                     "Cohen's κ": None if a["cohen_kappa"] is None else
                     round(a["cohen_kappa"], 3)})
    return rows


def agreement_by_slice(comp: Comparison, judge_x: str, judge_y: str, field: str,
                       tie_threshold: float = DEFAULT_TIE_THRESHOLD) -> list[dict[str, Any]]:
    """``agreement`` for every value of a slice field (largest first). The field ``judge`` is
    a slice of judgments, not of examples: its row J is J's own verdicts against ``judge_y``
    (``judge_y`` itself has no row); as a slice of examples every judge's row would repeat the
    same agreement wherever the judges scored the same examples."""
    rows = []
    for value in slice_values(comp, field)[2]:
        if field == "judge":
            if value in (judge_y, judge_y.removesuffix(MAJORITY)):
                continue
            a = agreement(comp, value, judge_y, tie_threshold)
        else:
            a = agreement(comp, judge_x, judge_y, tie_threshold, slice_mask(comp, field, value))
        if a["n"]:
            rows.append({"field": field, "value": value, **{k: a[k] for k in (
                "n", "agreement", "n_without_ties", "agreement_without_ties", "cohen_kappa")}})
    return sorted(rows, key=lambda r: (-r["n"], r["value"]))
