"""Metric columns as slice fields: booleans -> true / false, numbers -> quantile bins with
readable edges (``[120, 250)``), missing -> ``(none)``; and metric conditions for filters."""

from __future__ import annotations

import math
import operator

import numpy as np

from comparator.analysis.metrics import (
    PROMPT_METRICS,
    cached,
    metric_columns,
    prompt_columns,
)
from comparator.analysis.metrics.user import user_specs
from comparator.schema.records import Comparison

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
       "==": operator.eq, "!=": operator.ne}
N_BINS = 5
FEW_VALUES = 6  # at most this many distinct values: one slice per value


def column(comp: Comparison, name: str) -> np.ndarray:
    """A metric column: ``a.NAME`` / ``b.NAME``, the paired difference ``a-b.NAME`` (A - B,
    cached like the others) or a prompt number ``prompt.words`` / ``prompt.turns``."""
    if name.startswith("prompt."):
        prompt = prompt_columns(comp)
        if name in prompt:
            return prompt[name]
    cols = metric_columns(comp)
    if name.startswith("a-b.") and f"a.{name[4:]}" in cols and f"b.{name[4:]}" in cols:
        a, b = cols[f"a.{name[4:]}"], cols[f"b.{name[4:]}"]
        return cached(comp, ("diff", name, _spec(comp, name)),
                      lambda: a.astype(np.float64) - b.astype(np.float64))
    if name not in cols:
        raise KeyError(f"no metric {name!r}; metrics are a.NAME / b.NAME / a-b.NAME (A - B) "
                       f"with NAME one of {sorted({k.split('.', 1)[1] for k in cols})}, "
                       f"and {' / '.join('prompt.' + m for m in PROMPT_METRICS)}")
    return cols[name]


def nice(x: float) -> float:
    """``x`` rounded to 2 significant digits (integers stay integers)."""
    if x == 0 or not math.isfinite(x):
        return x
    digits = 1 - int(math.floor(math.log10(abs(x))))
    return round(x, digits) if digits > 0 else float(round(x, digits))


def fmt(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e6 else f"{x:.3g}"


def bin_edges(values: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Quantile edges rounded to readable numbers; the first edge is the minimum and the last
    the maximum (so every value falls in a bin)."""
    q = np.quantile(values, np.linspace(0, 1, n_bins + 1))
    inner = [nice(float(x)) for x in q[1:-1]]
    edges = np.unique([float(q[0]), *inner, float(q[-1])])
    return edges


def metric_slices(comp: Comparison, name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(example index, value code, value names) for ``slice_values``; values sorted. Cached
    under ``("metrics", "slice", name, spec)`` (spec: the user metric's, else None)."""
    return cached(comp, ("slice", name, _spec(comp, name)), lambda: _metric_slices(comp, name))


def _spec(comp: Comparison, name: str) -> tuple | None:
    """The user metric behind ``name`` (its spec: part of cache keys), else None."""
    metric = None if name.startswith("prompt.") else name.split(".", 1)[1]
    return next((tuple(s.values()) for s in user_specs(comp) if s["name"] == metric), None)


def _metric_slices(comp: Comparison, name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    col = column(comp, name)
    n = len(col)
    idx = np.arange(n, dtype=np.int64)
    if col.dtype == bool:
        return idx, (~col).astype(np.int64), ["true", "false"]
    ok = ~np.isnan(col)
    vals = col[ok]
    code = np.zeros(n, dtype=np.int64)
    uniq = np.unique(vals)
    if len(uniq) <= FEW_VALUES:
        names = [fmt(float(u)) for u in uniq]
        code[ok] = np.searchsorted(uniq, vals)
    else:
        edges = bin_edges(vals)
        names = [f"[{fmt(lo)}, {fmt(hi)}{']' if k == len(edges) - 2 else ')'}"
                 for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))]
        code[ok] = np.clip(np.searchsorted(edges, vals, side="right") - 1, 0, len(names) - 1)
    if not ok.all():
        code[~ok] = len(names)
        names.append("(none)")
    return idx, code, names


def condition_mask(comp: Comparison, name: str, op: str, value: float) -> np.ndarray:
    """Examples whose metric ``name`` satisfies ``op value`` (missing values never do)."""
    if op not in OPS:
        raise ValueError(f"metric condition operator {op!r}: use one of {' '.join(OPS)}")
    col = column(comp, name)
    with np.errstate(invalid="ignore"):
        return np.asarray(OPS[op](col.astype(np.float64), float(value)), dtype=bool)
