"""How several annotators' labels make one human verdict: the mean (default) or a majority vote.

``mean``: the example score is the mean of the annotators' scores, then the tie threshold
(as for every judge). ``majority`` (PandaLM's own convention): each annotator's label (A / tie /
B at the tie threshold) is a vote and the most frequent label wins; no strict majority -> tie.
Selected as the judge ``human@majority`` (``stats.derive`` dispatches here), so every statistic —
summary, slices, agreement — can use either verdict.
"""

from __future__ import annotations

import math

import numpy as np

from comparator.analysis.columnar import outcomes
from comparator.analysis.judgments import judgment_arrays
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison

MAJORITY = "@majority"
VOTES = ("mean", "majority")


def human_selector(vote: str, judge: str = "human") -> str:
    """The judge selector for ``judge``'s verdict under ``vote``."""
    if vote not in VOTES:
        raise ValueError(f"the human vote is one of {', '.join(VOTES)}, got {vote!r}")
    return judge + MAJORITY if vote == "majority" else judge


def majority_arrays(comp: Comparison, judge: str) -> tuple[np.ndarray, ...]:
    """``stats.Derived``'s arrays (score, unflipped, flipped, n_ok, n_unscored) of ``judge``'s
    majority vote: +1 / 0 / -1 for a strict majority of A / tie / B, 0 without one."""
    n = len(comp.examples)
    ja = judgment_arrays(comp, frozenset([judge]))
    oc = outcomes(ja.score, DEFAULT_TIE_THRESHOLD).astype(np.int64)
    counts = np.bincount(ja.example * 4 + oc, minlength=4 * n).reshape(n, 4)
    votes = counts[:, :3]
    top = votes.max(1)
    strict = (votes == top[:, None]).sum(1) == 1
    score = np.array([1.0, 0.0, -1.0])[votes.argmax(1)]
    score[~strict] = 0.0
    score[top == 0] = np.nan
    nan = np.full(n, np.nan)
    return (score, nan, nan.copy(), votes.sum(1).astype(np.int32),
            counts[:, 3].astype(np.int32))


def fleiss(comp: Comparison, judge: str = "human",
           tie_threshold: float = DEFAULT_TIE_THRESHOLD) -> dict:
    """Fleiss' kappa of ``judge``'s annotators (``fleiss_kappa``) over the examples rated by the
    most common number of annotators (Fleiss needs the same count everywhere), >= 2."""
    n = len(comp.examples)
    ja = judgment_arrays(comp, frozenset([judge]))
    oc = outcomes(ja.score, tie_threshold).astype(np.int64)
    table = np.bincount(ja.example * 4 + oc, minlength=4 * n).reshape(n, 4)[:, :3]
    per = table.sum(1)
    if not (per >= 2).any():
        return {"fleiss_kappa": None, "fleiss_n": 0, "raters_per_example": None}
    k = int(np.bincount(per[per >= 2]).argmax())
    rows = table[per == k]
    return {"fleiss_kappa": fleiss_kappa(rows), "fleiss_n": len(rows), "raters_per_example": k}


def fleiss_kappa(rows: np.ndarray) -> float:
    """Fleiss' kappa of a table of counts (one row per example, one column per category, the
    same number of raters on every row), as statsmodels' ``fleiss_kappa(method="fleiss")``, in
    closed form (importing statsmodels costs a second); NaN when chance agreement is 1."""
    t = np.asarray(rows)
    m = float(t[0].sum())  # raters per example
    share = t.sum(0) / t.sum()  # of each category, over every rating
    # the mean over examples of (sum of squared counts - m) / (m (m - 1)): one sum of squares
    observed = (float(np.einsum("ij,ij->", t, t)) / len(t) - m) / (m * (m - 1))
    chance = float((share * share).sum())
    return float((observed - chance) / (1.0 - chance)) if chance != 1.0 else math.nan
