"""People vs judge: a comparison's model judges against human ratings, and raters among
themselves. Built on ``agreement``, ``derive``, ``summary`` and ``first_position_preference``.

The human verdict of an example rated by several people is by default the **mean** of their
scores, then the tie threshold (exactly how every example score is made); ``human`` =
``"human@majority"`` takes their majority vote instead (``slices.human_vote``).
Proportions get 95% Wilson intervals; Cohen's kappa its asymptotic 95% interval and Fleiss'
kappa come from statsmodels, rater-vs-rater Cohen's kappa from scikit-learn.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from comparator.analysis.agreement import agreement, agreement_by_slice, kappa_score, raters
from comparator.analysis.human_vote import fleiss
from comparator.analysis.reliability import first_position_preference
from comparator.analysis.stats import derive, outcomes, summary, wilson
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison

HUMAN = "human"
HUMAN_VERDICT = "mean of the raters' scores, then the tie threshold"
MAJORITY_VERDICT = "majority vote of the raters' verdicts (no strict majority: tie)"


def verdict_text(human: str = HUMAN) -> str:
    return MAJORITY_VERDICT if human.endswith("@majority") else HUMAN_VERDICT


def _ci(rate: float | None, n: int) -> list[float] | None:
    return None if rate is None or not n else list(wilson(rate, n))


def kappa_with_ci(matrix) -> dict[str, Any]:
    """Cohen's kappa of a square confusion matrix with its asymptotic 95% interval
    (statsmodels); None when the matrix is empty."""
    from statsmodels.stats.inter_rater import cohens_kappa  # heavy import: when asked

    m = np.asarray(matrix, dtype=float)
    if m.sum() == 0:
        return {"kappa": None, "ci95": None}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        r = cohens_kappa(m)
    k = float(r.kappa) if math.isfinite(r.kappa) else None
    lo, hi = float(r.kappa_low), float(r.kappa_upp)
    return {"kappa": k, "ci95": [lo, hi] if k is not None and math.isfinite(lo + hi) else None}


def rated_mask(comp: Comparison) -> np.ndarray:
    """Examples with at least one (not skipped) human rating."""
    return ~np.isnan(derive(comp, frozenset([HUMAN])).score)


def people_vs_judge(comp: Comparison, judge: str, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                    mask: np.ndarray | None = None, human: str = HUMAN) -> dict[str, Any]:
    """``agreement(judge, human)`` with intervals: agreement with and without ties (and at the
    judgment level when ``agreement`` reports it), Cohen's kappa, and each confusion cell as a
    share of its row (the judge's verdict)."""
    a = agreement(comp, judge, human, tie_threshold, mask=mask)
    out = dict(a)
    out["agreement_ci95"] = _ci(a["agreement"], a["n"])
    out["agreement_without_ties_ci95"] = _ci(a["agreement_without_ties"], a["n_without_ties"])
    if a.get("judgment_agreement") is not None:
        out["judgment_agreement_ci95"] = _ci(a["judgment_agreement"], a.get("judgment_n", 0))
    kc = kappa_with_ci(a["confusion"]["matrix"])
    out["cohen_kappa_ci95"] = kc["ci95"]
    m = np.asarray(a["confusion"]["matrix"])
    out["confusion"] = {**a["confusion"], "row_shares": [
        [None if not m[i].sum() else {"share": m[i, j] / m[i].sum(),
                                      "ci95": list(wilson(m[i, j] / m[i].sum(), m[i].sum())),
                                      "n": int(m[i].sum())} for j in range(3)]
        for i in range(3)]}
    return out


def people_by_slice(comp: Comparison, judge: str, field: str,
                    tie_threshold: float = DEFAULT_TIE_THRESHOLD, human: str = HUMAN
                    ) -> list[dict[str, Any]]:
    """Agreement of ``judge`` with the people per value of ``field``: lowest agreement first
    (the slices where people and judge part most), each with its interval and n."""
    rows = agreement_by_slice(comp, judge, human, field, tie_threshold)
    for r in rows:
        r["agreement_ci95"] = _ci(r["agreement"], r["n"])
    return sorted(rows, key=lambda r: (r["agreement"], -r["n"], r["value"]))


def win_rates(comp: Comparison, judge: str, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
              human: str = HUMAN) -> dict[str, Any]:
    """Win rate of A by the people and by ``judge`` on the same examples: those rated by
    people and scored by the judge."""
    both = rated_mask(comp) & ~np.isnan(derive(comp, frozenset([judge])).score)
    return {"n": int(both.sum()),
            "human": summary(comp, tie_threshold, frozenset([human]), mask=both),
            "judge": summary(comp, tie_threshold, frozenset([judge]), mask=both)}


def rater_labels(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD
                 ) -> tuple[list[str], np.ndarray]:
    """(rater selectors ``human:NAME``, outcome codes per rater x example; 3 = not rated)."""
    sels = raters(comp, HUMAN)
    codes = np.stack([outcomes(derive(comp, frozenset([s])).score, tie_threshold)
                      for s in sels]) if sels else np.zeros((0, len(comp.examples)), np.int8)
    return sels, codes


def rater_agreement(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD
                    ) -> dict[str, Any] | None:
    """Among raters (A / tie / B): Cohen's kappa (``agreement.kappa_score``) for two raters on
    the examples both rated, Fleiss' kappa (``human_vote.fleiss``) for more, on the examples
    rated by the most common number of raters. None with fewer than two raters."""
    sels, codes = rater_labels(comp, tie_threshold)
    if len(sels) < 2:
        return None
    names = [s.split(":", 1)[1] for s in sels]
    common = (codes != 3).all(0)
    n = int(common.sum())
    out: dict[str, Any] = {"raters": names, "n": n}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if len(sels) == 2:
            k = kappa_score(codes[0, common], codes[1, common]) if n else math.nan
            out.update(method="cohen_kappa", cohen_kappa=None if math.isnan(k) else float(k))
            out["agreement"] = float((codes[0, common] == codes[1, common]).mean()) if n else None
            out["agreement_ci95"] = _ci(out["agreement"], n)
        else:  # issue 10's Fleiss (statsmodels): examples with the most common rater count
            f = fleiss(comp, HUMAN, tie_threshold)
            out.update(method="fleiss_kappa", fleiss_kappa=f["fleiss_kappa"], n=f["fleiss_n"],
                       raters_per_example=f["raters_per_example"])
    return out


def left_bias(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD
              ) -> list[dict[str, Any]]:
    """Per rater: share of the ratings that picked a side which picked the left one (the
    response shown first; 50% = no position bias), with its Wilson interval and n."""
    return [{"rater": s.split(":", 1)[1],
             **first_position_preference(comp, tie_threshold, frozenset([s]))}
            for s in raters(comp, HUMAN)]


def people_report(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                  by: tuple[str, ...] = (), human: str = HUMAN) -> dict[str, Any]:
    """Everything above for a comparison with ratings merged in (``ratings.with_ratings``)."""
    judges = [j for j in comp.judges() if j != HUMAN]
    return {
        "n_rated": int(rated_mask(comp).sum()), "human_verdict": verdict_text(human),
        "judges": {j: {**people_vs_judge(comp, j, tie_threshold, human=human),
                       "win_rates": win_rates(comp, j, tie_threshold, human),
                       "slices": [r for f in by for r in people_by_slice(
                           comp, j, f, tie_threshold, human)]}
                   for j in judges},
        "rater_agreement": rater_agreement(comp, tie_threshold),
        "left_bias": left_bias(comp, tie_threshold),
    }
