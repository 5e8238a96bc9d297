"""Is a slice different from the rest of the data? Two-sample test + Benjamini–Hochberg.

A slice's win rate (mean of its {1, 1/2, 0} outcomes) is tested against the win rate of the
examples NOT in the slice, not against 50%: two-sample z test of the difference of means with
the pooled outcome variance (under H0 both groups share one outcome distribution; without ties
this is the pooled two-proportion z test). The p-values of the slices shown are then adjusted by
Benjamini–Hochberg at q = 0.05 (statsmodels ``multipletests``); ``significant`` = adjusted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Q = 0.05


def two_sample(counts: np.ndarray, total: np.ndarray) -> dict[str, np.ndarray]:
    """The test, vectorised over slices. ``counts``: (k, 3) A/tie/B counts of each slice;
    ``total``: the (3,) counts over all examples (each once). Per slice: its size ``n``, win
    rates of the slice (``rate``) and of the rest (``rest``), their difference ``diff``, its
    pooled standard error ``se``, ``z`` and the two-sided ``p``; NaN where a group is empty or
    the outcome never varies (``testable`` False). Own code: statsmodels' two-proportion tests
    take 0/1 outcomes only, and a tie counts 1/2 here."""
    from scipy.special import ndtr  # heavy import (scipy): only when a p-value is asked

    counts = np.asarray(counts, dtype=float)
    rest = np.asarray(total, dtype=float)[None, :] - counts
    value = np.array([1.0, 0.5, 0.0])
    n1, n2 = counts.sum(1), rest.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m1, m2 = counts @ value / n1, rest @ value / n2
        pooled = (counts + rest)
        n = n1 + n2
        mean = pooled @ value / n
        var = pooled @ (value**2) / n - mean**2
        se = np.sqrt(var * (1 / n1 + 1 / n2))
        z = (m1 - m2) / se
        p = 2 * ndtr(-np.abs(z))
    testable = (n1 > 0) & (n2 > 0) & (var > 1e-15)
    p[~testable] = np.nan
    z[~testable] = np.nan
    return {"n": n1, "rate": m1, "rest": m2, "diff": m1 - m2, "se": se, "z": z, "p": p,
            "testable": testable}


def versus_rest(counts: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Two-sided p-values of ``two_sample``, one per slice (NaN where untestable)."""
    return two_sample(counts, total)["p"]


def benjamini_hochberg(p: np.ndarray, q: float = Q) -> tuple[np.ndarray, np.ndarray]:
    """(adjusted p-values, rejected) over the finite p-values; NaN / False elsewhere."""
    p = np.asarray(p, dtype=float)
    adj = np.full(p.shape, np.nan)
    rej = np.zeros(p.shape, dtype=bool)
    ok = np.isfinite(p)
    if ok.any():
        adj[ok] = bh_adjusted(p[ok])
        rej[ok] = adj[ok] <= q
    return adj, rej


def bh_adjusted(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (statsmodels' ``multipletests(method="fdr_bh")``,
    in closed form: importing statsmodels costs a second): each sorted p times m over its
    rank, then the running minimum from the largest down, at most 1."""
    order = np.argsort(p, kind="mergesort")
    m = len(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    out = np.empty(m)
    out[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return out


def mark(rows: list[dict[str, Any]], q: float = Q) -> list[dict[str, Any]]:
    """Set ``p_adjusted`` and ``significant`` (BH over ``rows``) from each row's ``p_value``."""
    p = np.array([np.nan if r.get("p_value") is None else r["p_value"] for r in rows])
    adj, rej = benjamini_hochberg(p, q)
    for r, a, s in zip(rows, adj, rej):
        r["p_adjusted"] = None if np.isnan(a) else float(a)
        r["significant"] = bool(s)
    return rows
