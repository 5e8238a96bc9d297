"""Histogram bars and what a click on one selects: one rule for both, so a bar's click keeps
exactly the examples the bar counts (the score histogram of the Overview, the metric
distributions of the Metrics page).

Bar ``i`` of ``edges`` holds the values ``v`` with ``edges[i] <= v < edges[i + 1]``; the first
bar is open below and the last open above, so every number falls in exactly one bar (NaN in
none). ``Bar.lo`` / ``Bar.hi`` are those bounds (None: open), the selection of a click.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from comparator.schema.labels import SCORE_MAX, SCORE_MIN

SCORE_BINS = 24
SCORE_EDGES = np.linspace(SCORE_MIN, SCORE_MAX, SCORE_BINS + 1)  # multiples of 1/8: exact


@dataclass(frozen=True)
class Bar:
    lo: float | None  # the bar holds v >= lo (None: no lower bound, the first bar)
    hi: float | None  # ... and v < hi (None: no upper bound, the last bar)
    count: int


def bounds(edges: np.ndarray, i: int) -> tuple[float | None, float | None]:
    """The selection of bar ``i``: ``lo <= v < hi``, None for the open ends."""
    n = len(edges) - 1
    if not 0 <= i < n:
        raise IndexError(f"bar {i} of {n}")
    return (None if i == 0 else float(edges[i]), None if i == n - 1 else float(edges[i + 1]))


def in_bar(values: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    """The values a bar with these bounds holds (NaN never)."""
    v = np.asarray(values, dtype=np.float64)
    mask = ~np.isnan(v)
    if lo is not None:
        mask &= v >= lo
    if hi is not None:
        mask &= v < hi
    return mask


def bars(values: np.ndarray, edges: np.ndarray) -> list[Bar]:
    """The bars of ``values`` over ``edges``, each with its count and its selection. The count
    is ``in_bar``'s rule: ``searchsorted(inner, v, "right")`` is the k with
    ``inner[k-1] <= v < inner[k]``, one pass for every bar."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    n = len(edges) - 1
    codes = np.searchsorted(np.asarray(edges[1:-1], dtype=np.float64), v, side="right")
    counts = np.bincount(codes, minlength=n)
    return [Bar(*bounds(edges, i), int(counts[i])) for i in range(n)]


def readable(edges: np.ndarray, digits: int = 4) -> np.ndarray:
    """``edges`` rounded to ``digits`` significant digits of the largest one (more where
    fewer would merge two edges): labels, links and filters read ``-18``, not
    ``-18.005333333333112``. The bars are counted on the rounded edges, so a click still
    selects exactly its bar."""
    e = np.asarray(edges, dtype=np.float64)
    top = float(np.max(np.abs(e))) if len(e) else 0.0
    if top == 0 or not math.isfinite(top):
        return e
    decimals = digits - 1 - math.floor(math.log10(top))
    while decimals < 17:
        r = np.round(e, decimals) + 0.0  # + 0.0: no -0
        if np.all(np.diff(r) > 0):
            return r
        decimals += 1
    return e
