"""Rationale themes for findings: which properties the judge cites more often in a slice.

A *theme* is a stored rationale cluster (``metadata.clusters``, written by
``pipeline.cluster_rationales``). Reasons are clustered with the outputs named by role
(``rationale.roles``), so a theme is a property ("the preferred response is more concise") and
the side its reasons favour says which model the judge credits with it.

``reason_themes(comp)`` reads the stored clusters once per store into arrays (no re-clustering);
``theme_lift(themes, members)`` compares a slice of examples with the rest:

- *share*: of the examples the judge gave reasons for (at least one stored reason, clustered
  or not), the share with at least one reason in the theme; in the slice (``share_in``) and
  among the rest (``share_out``); examples without any reason count in neither;
- *lift* = ``share_in / share_out``; with no example of the rest in the theme, ``share_out``
  counts half an example (a continuity correction) so the lift stays finite;
- *p_value*: the pooled two-proportion z test of ``share_in`` against ``share_out``, two-sided
  (``two_proportion_p``, the 0/1 case of ``analysis.significance.versus_rest`` with one total
  per theme), not adjusted: the caller corrects over what it reports;
- *favours*: the side ("A" / "B") that most of the theme's reasons within the slice favour
  (None on a draw or when none favours a side), with the counts ``favours_a`` / ``favours_b``.

Kept: lift > 1 with at least ``min_support`` slice examples in the theme (and p < ``alpha``
when given); sorted by lift, highest first, then by p-value; the first ``top``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from comparator.analysis.clusters import reason_arrays
from comparator.schema.records import Comparison
from comparator.store.table import store_for

FAVOURS = ("A", "B", None)  # the codes of Themes.favours: 0, 1, 2


@dataclass(frozen=True, eq=False)
class Themes:
    """The stored rationale clusters of a comparison as arrays (one row per reason, in file
    order) and, precomputed for ``theme_lift``, each distinct (theme, example) pair."""

    n: int  # examples in the comparison
    example: np.ndarray  # int64: the example of each reason
    theme: np.ndarray  # int64: its cluster id (-1 unclustered)
    favours: np.ndarray  # int8: the side it favours, 0 = A, 1 = B, 2 = neither (FAVOURS)
    ids: np.ndarray  # int64: the theme ids, in the order of metadata.clusters
    titles: dict[int, str]  # theme id -> title
    position: np.ndarray  # int64: each reason's theme as a position in ``ids`` (-1: none)
    has_reason: np.ndarray  # bool per example: at least one stored reason
    pair_index: np.ndarray  # int64: the position in ``ids`` of each distinct (theme, example)
    pair_example: np.ndarray  # int64: its example


def reason_themes(comp: Comparison) -> Themes | None:
    """The comparison's stored rationale clusters as ``Themes``; None when it has none. Read
    from the store's columns (``analysis.clusters.reason_arrays``) and cached per store under
    ``("reason_themes",)``."""
    clusters = (comp.metadata.get("clusters") or {}).get("clusters") or []
    if not clusters:
        return None
    st = store_for(comp)

    def build() -> Themes:
        ex, cl, fav = reason_arrays(comp)
        ids = np.array([int(c["id"]) for c in clusters], dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        pos = np.searchsorted(ids[order], cl)
        pos = np.minimum(pos, len(ids) - 1)
        known = ids[order][pos] == cl
        index = np.where(known, order[pos], -1)  # position in ids, -1: unclustered / unknown
        has = np.zeros(st.n, bool)
        has[ex] = True
        keep = index >= 0
        pairs = np.unique(index[keep] * np.int64(max(st.n, 1)) + ex[keep])
        return Themes(
            n=st.n, example=ex, theme=cl, favours=fav, ids=ids, position=index,
            titles={int(c["id"]): str(c.get("title") or c.get("keyword_title")
                                      or f"cluster {c['id']}") for c in clusters},
            has_reason=has, pair_index=pairs // max(st.n, 1), pair_example=pairs % max(st.n, 1))

    return st.memo(("reason_themes",), build)


def theme_lift(themes: Themes, members: np.ndarray, top: int = 3, min_support: int = 5,
               alpha: float | None = None) -> list[dict[str, Any]]:
    """The themes over-represented among the reasons of the examples in ``members`` (a bool
    array over the comparison's examples) compared with the rest (see the module docstring):
    ``[{"theme", "title", "lift", "share_in", "share_out", "n_in", "p_value", "favours",
    "favours_a", "favours_b"}]``, at most ``top``. ``n_in``: the slice's examples with a reason
    in the theme. Empty when the slice or the rest has no example with reasons."""
    members = np.asarray(members, dtype=bool)
    if members.shape != (themes.n,):
        raise ValueError(f"members must be a bool array over the {themes.n} examples, "
                         f"got shape {members.shape}")
    k = len(themes.ids)
    slice_n = int((members & themes.has_reason).sum())
    rest_n = int((~members & themes.has_reason).sum())
    if not k or not slice_n or not rest_n:
        return []
    # one bincount over (theme, in the slice) of the distinct (theme, example) pairs
    both = np.bincount(themes.pair_index * 2 + members[themes.pair_example], minlength=2 * k)
    has_out, has_in = both[0::2], both[1::2]
    share_in, share_out = has_in / slice_n, has_out / rest_n
    lift = share_in / np.where(has_out > 0, share_out, 0.5 / rest_n)
    p = two_proportion_p(has_in, slice_n, has_out, rest_n)
    ok = members[themes.example] & (themes.position >= 0)
    fav = np.bincount(themes.position[ok] * 3 + themes.favours[ok],
                      minlength=3 * k).reshape(k, 3)
    keep = (lift > 1) & (has_in >= min_support)
    if alpha is not None:
        keep &= np.nan_to_num(p, nan=1.0) < alpha
    rows = []
    for t in np.flatnonzero(keep):
        a, b = int(fav[t, 0]), int(fav[t, 1])
        rows.append({"theme": int(themes.ids[t]), "title": themes.titles[int(themes.ids[t])],
                     "lift": float(lift[t]), "share_in": float(share_in[t]),
                     "share_out": float(share_out[t]), "n_in": int(has_in[t]),
                     "p_value": None if np.isnan(p[t]) else float(p[t]),
                     "favours": "A" if a > b else "B" if b > a else None,
                     "favours_a": a, "favours_b": b})
    rows.sort(key=lambda r: (-r["lift"], 1.0 if r["p_value"] is None else r["p_value"],
                             r["theme"]))
    return rows[:top]


def two_proportion_p(x1: np.ndarray, n1: int, x2: np.ndarray, n2: int) -> np.ndarray:
    """Two-sided p-values of the pooled two-proportion z test, ``x1 / n1`` against
    ``x2 / n2``, vectorised over the themes; NaN where the pooled share is 0 or 1."""
    from scipy.special import ndtr  # heavy import (scipy): only when a p-value is asked

    x1, x2 = np.asarray(x1, float), np.asarray(x2, float)
    pooled = (x1 + x2) / (n1 + n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x1 / n1 - x2 / n2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = 2 * ndtr(-np.abs(z))
    p[~((pooled > 0) & (pooled < 1))] = np.nan
    return p
