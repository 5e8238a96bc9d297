"""Example filters shared by the dashboard pages and the reports: a boolean mask per filter.

Pure functions over a Comparison (cached arrays), fast on 100k examples: a slice or winner
change is a numpy operation; a text search scans prompt and responses once per query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from comparator.analysis import columnar
from comparator.analysis.metrics.ngrams import ngram_mask
from comparator.analysis.metrics.slicing import condition_mask
from comparator.analysis.patterns import compile_pattern
from comparator.analysis.stats import OUTCOMES, derive, outcomes, slice_values
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison, prompt_text, response_text
from comparator.store.table import store_for


@dataclass
class Filters:
    """What the user narrowed the examples to. Empty fields filter nothing."""

    slice_field: str | None = None
    slice_value: str | None = None
    winners: list[str] = field(default_factory=list)  # subset of A, tie, B, unscored
    score_min: float | None = None
    score_max: float | None = None
    score_below: float | None = None  # score < this (a histogram bar's upper edge)
    search: str = ""
    regex: bool = False
    cluster: int | None = None  # examples with a reason in this rationale cluster
    selected: list[int] | None = None  # examples picked on the map (box / lasso)
    # metric conditions (name, op, value), e.g. ("a.words", ">", 200); op in < <= > >= == !=
    metrics: list[tuple[str, str, float]] = field(default_factory=list)
    ngram: str | None = None  # examples whose A or B response contains this n-gram
    # further slices (field, value) ANDed with the first (a finding's conjunction, ``?and=``)
    slices: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        parts = []
        if self.slice_field and self.slice_value is not None:
            parts.append(f"{self.slice_field} = {self.slice_value}")
        parts += [f"{name} = {value}" for name, value in self.slices]
        if self.winners:
            parts.append("winner in " + ", ".join(self.winners))
        if any(x is not None for x in (self.score_min, self.score_max, self.score_below)):
            lo = "-1.5" if self.score_min is None else f"{self.score_min:+g}"
            hi = "+1.5]" if self.score_max is None else f"{self.score_max:+g}]"
            if self.score_below is not None and (self.score_max is None
                                                 or self.score_below <= self.score_max):
                hi = f"{self.score_below:+g})"
            parts.append(f"score in [{lo}, {hi}")
        if self.search:
            parts.append(f"{'regex' if self.regex else 'text'} {self.search!r}")
        if self.cluster is not None:
            parts.append(f"reason cluster {self.cluster}")
        if self.selected is not None:
            parts.append(f"{len(self.selected)} picked on the map")
        parts += [f"{name} {op} {value:g}" for name, op, value in self.metrics]
        if self.ngram:
            parts.append(f"n-gram {self.ngram!r}")
        return "; ".join(parts) or "all examples"


def slice_mask(comp: Comparison, slice_field: str, value: str) -> np.ndarray:
    idx, code, names = slice_values(comp, slice_field)
    mask = np.zeros(len(comp.examples), dtype=bool)
    if value in names:
        mask[idx[code == names.index(value)]] = True
    return mask


def search_mask(comp: Comparison, query: str, regex: bool = False) -> np.ndarray:
    """Examples whose prompt, response A or response B contains ``query`` (case-insensitive),
    or matches it as a regular expression (each text on its own). Raises ``PatternError`` for
    a bad one, or one stopped at its deadline; the caller shows the message. Cached under
    ``("search", query, regex)``."""
    if regex:
        compile_pattern(query, ignore_case=True)  # a bad one raises here, before the cache
    st = store_for(comp)
    return st.memo(("search", query, regex), lambda: columnar.search(st, query, regex))


def apply(comp: Comparison, f: Filters, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
          judges="auto") -> np.ndarray:
    """The mask of examples passing every filter (raises PatternError for a bad regex, KeyError
    for an unknown slice field or metric)."""
    d = derive(comp, judges)
    mask = np.ones(len(comp.examples), dtype=bool)
    if f.slice_field and f.slice_value is not None:
        mask &= slice_mask(comp, f.slice_field, f.slice_value)
    for name, value in f.slices:
        mask &= slice_mask(comp, name, value)
    if f.winners and set(f.winners) != set(OUTCOMES):
        codes = [OUTCOMES.index(w) for w in f.winners]
        mask &= np.isin(outcomes(d.score, tie_threshold), codes)
    if f.score_min is not None:
        mask &= d.score >= f.score_min
    if f.score_max is not None:
        mask &= d.score <= f.score_max
    if f.score_below is not None:
        mask &= d.score < f.score_below
    if f.search:
        mask &= search_mask(comp, f.search, f.regex)
    if f.cluster is not None:
        mask &= cluster_closeness(comp, f.cluster) > -np.inf
    if f.selected is not None:
        picked = np.zeros(len(comp.examples), dtype=bool)
        picked[[i for i in f.selected if 0 <= i < len(picked)]] = True
        mask &= picked
    if f.metrics or f.ngram:
        for name, op, value in f.metrics:
            mask &= condition_mask(comp, name, op, value)
        if f.ngram:
            mask &= ngram_mask(comp, f.ngram)
    return mask


def cluster_closeness(comp: Comparison, cluster: int) -> np.ndarray:
    """Per example, the highest similarity of its reasons in ``cluster`` to the cluster's
    centre (-inf when it has no reason there). Cached under ``("closeness", cluster)``."""
    st = store_for(comp)
    return st.memo(("closeness", cluster), lambda: columnar.closeness(st, cluster))


def _short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def table(comp: Comparison, rows: np.ndarray, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
          judges="auto") -> pd.DataFrame:
    """Display rows (example indices) as a table: score and winner first (what a reader scans
    for), then id, category and the texts truncated."""
    d = derive(comp, judges)
    oc = outcomes(d.score, tie_threshold)
    recs = []
    for i in rows:
        ex = comp.examples[int(i)]
        recs.append({
            "#": int(i), "id": ex["id"], "category": ex.get("category") or ", ".join(
                ex.get("tags") or []),
            "prompt": _short(prompt_text(ex)),
            "response A": _short(response_text(ex["response_a"])),
            "response B": _short(response_text(ex["response_b"])),
            "score": None if np.isnan(d.score[i]) else round(float(d.score[i]), 3),
            "winner": OUTCOMES[oc[i]], "judgments": len(ex.get("judgments") or []),
        })
    return pd.DataFrame.from_records(recs, columns=["#", "score", "winner", "id", "category",
                                                    "prompt", "response A", "response B",
                                                    "judgments"])


SORTS = {"file order": None, "score (A best first)": "score_desc",
         "score (B best first)": "score_asc", "judge disagreement": "spread",
         "closeness to the reason cluster": "closeness"}


def order(comp: Comparison, mask: np.ndarray, sort: str | None, judges="auto",
          cluster: int | None = None) -> np.ndarray:
    """Indices of the masked examples in the chosen order (unscored last)."""
    rows = np.flatnonzero(mask)
    if not sort or (sort == "closeness" and cluster is None):
        return rows
    if sort == "closeness":
        return rows[np.argsort(-cluster_closeness(comp, cluster)[rows], kind="stable")]
    d = derive(comp, judges)
    if sort == "spread":
        key = -np.nan_to_num(np.abs(d.score_unflipped - d.score_flipped), nan=-1.0)[rows]
    else:
        s = d.score[rows]
        key = np.where(np.isnan(s), np.inf, -s if sort == "score_desc" else s)
    return rows[np.argsort(key, kind="stable")]
