"""Rationale clusters within a view: how many of the filtered examples' reasons fall in each
cluster and which model they favour (share of A with a 95% Wilson interval)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from comparator.analysis.intervals import wilson
from comparator.schema.records import Comparison
from comparator.store.table import store_for


def reason_arrays(comp: Comparison) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(example index, cluster id, favours code 0 = A, 1 = B, 2 = neither) per reason; cached
    under ``("reason_arrays",)``."""
    st = store_for(comp)

    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r = st.nested("reasons", ("cluster", "favours"))
        cl = pc.fill_null(r["cluster"], -1).to_numpy(zero_copy_only=False).astype(np.int64)
        fav = pc.fill_null(pc.index_in(r["favours"], value_set=pa.array(["A", "B"])), 2)
        return (np.asarray(r["parent"], dtype=np.int64), cl,
                fav.to_numpy(zero_copy_only=False).astype(np.int8))

    return st.memo(("reason_arrays",), build)


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
