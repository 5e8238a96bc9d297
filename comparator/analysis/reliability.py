"""How far to trust the judge: position bias, length bias, self-agreement, ties.

All over the ``ok`` judgments of the selected judges (the score judges by default), with the
same tie threshold as the win rate. Rates come with 95% Wilson intervals where they are
proportions of independent-ish events (judgments or examples).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from comparator.analysis.judgments import judgment_arrays
from comparator.analysis.length_control import length_difference
from comparator.analysis.stats import default_judges, derive, outcomes, wilson
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison
from comparator.store.table import store_for


def _rate(hits: int, n: int) -> dict[str, Any]:
    return {"rate": hits / n if n else None, "ci95": list(wilson(hits / n, n)) if n else None,
            "n": n}


def _judgments(comp: Comparison, judges) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(example index, score, flipped: 1 / 0 / -1 unknown) of every ok judgment of the selected
    judges, in file order."""
    ja = judgment_arrays(comp, default_judges(comp) if judges == "auto" else judges)
    ok = ~np.isnan(ja.score)
    if ok.all():  # (no copies of a million judgments)
        return ja.example, ja.score, ja.flipped
    return ja.example[ok], ja.score[ok], ja.flipped[ok]


def first_position_preference(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                              judges="auto") -> dict[str, Any]:
    """Of the judgments that picked a side and know the order shown, the share that picked the
    response shown first (0.5 = no position bias)."""
    _, score, flip = _judgments(comp, judges)
    a, b = score > tie_threshold, score < -tie_threshold  # the side picked, as the file shows
    first = np.count_nonzero(a & (flip == 0)) + np.count_nonzero(b & (flip == 1))
    return _rate(int(first), int(np.count_nonzero((a | b) & (flip >= 0))))


def length_preference(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                      judges="auto") -> dict[str, Any]:
    """Of the examples with a winner and responses of different length (characters), the share
    won by the longer response (0.5 = no length bias); plus the mean length ratio."""
    oc = outcomes(derive(comp, judges).score, tie_threshold)
    diff = length_difference(comp)
    m = ((oc == 0) | (oc == 2)) & (diff != 0)
    return _rate(int(((diff[m] > 0) == (oc[m] == 0)).sum()), int(m.sum()))


def self_agreement(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                   judges="auto") -> dict[str, Any]:
    """Mean, over examples with two or more judgments, of the share of judgment pairs with the
    same verdict (A / tie / B, in the file's orientation): repeats and both orders together.
    Per example: sum over verdicts of C(n_v, 2) / C(n, 2)."""
    ex_i, score, _ = _judgments(comp, judges)
    many = np.bincount(ex_i, minlength=len(comp.examples)) >= 2
    take = many[ex_i]  # the judgments of those examples, each example renumbered 0, 1, ...
    m = int(many.sum())
    per = np.bincount((np.cumsum(many) - 1)[ex_i[take]] * 3 + outcomes(score[take],
                      tie_threshold), minlength=3 * m).reshape(m, 3).astype(float)
    k = per.sum(1)
    shares = (per * (per - 1) / 2).sum(1) / (k * (k - 1) / 2)
    return {"rate": float(shares.mean()) if m else None, "n": m}


def tie_rate(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
             judges="auto") -> dict[str, Any]:
    """Share of judgments that call a tie."""
    _, score, _ = _judgments(comp, judges)
    return _rate(int((np.abs(score) <= tie_threshold).sum()), len(score))


def reliability(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                judges="auto") -> dict[str, Any]:
    if judges == "auto":
        judges = default_judges(comp)
    return store_for(comp).memo(("reliability", tie_threshold, judges), lambda: {
        "first_position_preference": first_position_preference(comp, tie_threshold, judges),
        "length_preference": length_preference(comp, tie_threshold, judges),
        "self_agreement": self_agreement(comp, tie_threshold, judges),
        "tie_rate": tie_rate(comp, tie_threshold, judges),
    })
