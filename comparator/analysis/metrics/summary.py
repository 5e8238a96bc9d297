"""Per-metric figures for A vs B (the Metrics page, the ``metrics`` command, reports):
booleans -> share of responses with the feature in A and in B with 95% Wilson intervals;
numbers -> means of A, B and of the paired difference A - B (Student-t 95% interval)."""

from __future__ import annotations

from typing import Any

import numpy as np

from comparator.analysis.intervals import t_interval, wilson
from comparator.analysis.metrics import metric_columns
from comparator.schema.records import Comparison


def metric_summary(comp: Comparison, mask: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One row per metric name: ``metric``, ``kind`` (bool / number), ``n`` and either
    ``share_a``, ``share_a_ci95``, ``share_b``, ``share_b_ci95`` or ``mean_a``, ``mean_b``,
    ``mean_diff``, ``mean_diff_ci95``."""
    cols = metric_columns(comp)
    rows = []
    for name in dict.fromkeys(k.split(".", 1)[1] for k in cols):
        a, b = cols.get(f"a.{name}"), cols.get(f"b.{name}")
        if a is None or b is None:
            continue
        if mask is not None:
            a, b = a[mask], b[mask]
        if a.dtype == bool:
            n = len(a)
            row = {"metric": name, "kind": "bool", "n": n}
            for s, col in (("a", a), ("b", b)):
                p = float(col.mean()) if n else None
                row[f"share_{s}"] = p
                row[f"share_{s}_ci95"] = list(wilson(p, n)) if n else None
        else:
            both = ~np.isnan(a) & ~np.isnan(b)
            diff, ci = t_interval(a[both] - b[both])
            row = {"metric": name, "kind": "number", "n": int(both.sum()),
                   "mean_a": float(a[both].mean()) if both.any() else None,
                   "mean_b": float(b[both].mean()) if both.any() else None,
                   "mean_diff": diff, "mean_diff_ci95": ci}
        rows.append(row)
    return rows


def format_row(r: dict[str, Any]) -> str:
    """One line of the ``metrics`` command's table."""
    def pct(p, ci):
        return "n/a" if p is None else f"{100 * p:5.1f}% [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"

    if r["kind"] == "bool":
        return (f"{r['metric']:<22}{r['n']:>7}  A {pct(r['share_a'], r['share_a_ci95']):<24}"
                f"B {pct(r['share_b'], r['share_b_ci95'])}")
    if r["mean_a"] is None:
        return f"{r['metric']:<22}{r['n']:>7}  (no values)"
    ci = r["mean_diff_ci95"]
    diff = f"{r['mean_diff']:+.4g}" + (f" [{ci[0]:+.4g}, {ci[1]:+.4g}]" if ci else "")
    return (f"{r['metric']:<22}{r['n']:>7}  A {r['mean_a']:<12.4g}B {r['mean_b']:<12.4g}"
            f"A-B {diff}")
