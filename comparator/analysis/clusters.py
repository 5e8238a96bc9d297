"""Rationale clusters within a view: how many of the filtered examples' reasons fall in each
cluster and which model they favour (share of A with a 95% Wilson interval)."""

from __future__ import annotations

from typing import Any

import numpy as np

from comparator.analysis.stats import wilson
from comparator.schema.records import Comparison


def reason_arrays(comp: Comparison) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(example index, cluster id, favours code 0 = A, 1 = B, 2 = neither) per reason; cached."""
    key = ("reason_arrays",)
    hit = comp._derived.get(key)
    if hit is None:
        ex_i, cl, fav = [], [], []
        code = {"A": 0, "B": 1}
        for i, ex in enumerate(comp.examples):
            for r in ex.get("reasons") or ():
                ex_i.append(i)
                cl.append(int(r.get("cluster", -1)))
                fav.append(code.get(r.get("favours"), 2))
        hit = (np.asarray(ex_i, dtype=np.int64), np.asarray(cl, dtype=np.int64),
               np.asarray(fav, dtype=np.int8))
        comp._derived[key] = hit
    return hit


def reason_clusters(comp: Comparison, mask: np.ndarray | None = None) -> list[dict[str, Any]]:
    """The comparison's rationale clusters (``metadata.clusters``) counted over the reasons of
    the examples in ``mask``: size, favours A / B / neither, share of A among A + B with its
    interval. Empty when the comparison has no clusters."""
    info = comp.metadata.get("clusters") or {}
    clusters = info.get("clusters") or []
    if not clusters:
        return []
    ex_i, cl, fav = reason_arrays(comp)
    keep = np.ones(len(ex_i), bool) if mask is None else mask[ex_i]
    rows = []
    for c in clusters:
        m = keep & (cl == c["id"])
        a, b = int((fav[m] == 0).sum()), int((fav[m] == 1).sum())
        n = int(m.sum())
        rows.append({"id": c["id"], "title": c.get("title"), "keywords": c.get("keywords", []),
                     "size": n, "examples": int(len(np.unique(ex_i[m]))), "favours_a": a,
                     "favours_b": b, "neither": n - a - b,
                     "share_a": a / (a + b) if a + b else None,
                     "share_a_ci95": list(wilson(a / (a + b), a + b)) if a + b else None})
    rows.sort(key=lambda r: (-r["size"], r["id"]))
    return rows
