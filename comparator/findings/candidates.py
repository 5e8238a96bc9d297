"""The candidate conditions of slice discovery: one *predicate* per value of every slice field
the product knows (category, tags, low-cardinality metadata, discovered prompt categories,
rationale themes) and per quantile bin of every numeric field (the built-in metrics of A, of B,
their differences A - B, the prompt's words and turns, user and stored metrics).

Each predicate is one or two filter conditions (a bin ``[120, 480)`` is ``a-b.words>=120`` and
``a-b.words<480``) whose expressions ``comparator.analysis.expr`` parses: the members of a
finding are exactly what its filter selects in the dashboard, the reports and ``--filter``.
Predicates of one field are never combined with each other (a conjunction takes one predicate
per field).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comparator.analysis.clusters import reason_arrays
from comparator.analysis.columnar import metadata_keys, metadata_values
from comparator.analysis.metrics import metric_fields
from comparator.analysis.metrics.builtin import BUILTINS
from comparator.analysis.metrics.slicing import bin_edges, column, fmt
from comparator.analysis.stats import slice_values
from comparator.schema.records import Comparison
from comparator.store.table import store_for

N_BINS = 5
FEW_VALUES = 6  # a number field with at most this many values: one predicate per value
MAX_VALUES = 50  # a categorical field with more values than this is an id, not a slice
MAX_SHARE = 0.9  # a predicate holding more of the scored examples narrows nothing
PROMPT_FIELDS = ("prompt.words", "prompt.turns")
DIFF_METRICS = ("words", "characters", "has_list", "has_headings", "has_code", "has_url",
                "affirmation", "refusal", "repeated_sentences")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # "=", ">=", "<"
    value: str | float

    def expr(self) -> str:
        """The filter expression (``comparator.analysis.expr``) of this condition."""
        v = self.value if isinstance(self.value, str) else fmt_number(self.value)
        return f"{self.field}{self.op}{v}"

    def as_dict(self) -> dict:
        return {"field": self.field, "op": self.op, "value": self.value}


@dataclass
class Predicate:
    feature: str
    conditions: tuple[Condition, ...]
    label: str  # how a sentence reads it: "A's words - B's words in [120, 480)"
    mask: np.ndarray


def fmt_number(x: float) -> str:
    return repr(float(x)).removesuffix(".0")


def categorical_fields(comp: Comparison) -> list[str]:
    """Slice fields of the examples (not metrics): category, tags, and metadata keys with 2 to
    50 values in the first 5,000 examples. Judge is left out: findings compare examples under
    one judge selection (a judge slice is a slice of judgments, see ``stats.slice_scores``)."""
    st = store_for(comp)

    def build() -> list[str]:
        fields = [f for f in ("category", "tags") if st.any_value(f)]
        seen: dict[str, set] = {}
        for k in metadata_keys(st, limit=5000):
            vals = metadata_values(st, k) or []
            distinct: set = seen.setdefault(k, set())
            for v in vals[:5000]:
                for x in v if isinstance(v, list) else [v]:
                    if not isinstance(x, dict):
                        distinct.add(str(x))
                if len(distinct) > MAX_VALUES:
                    break
        return fields + [k for k, d in seen.items() if 1 < len(d) <= MAX_VALUES]

    return st.memo(("findings", "fields"), build)


def _side(name: str) -> str:
    side, metric = name.split(".", 1)
    desc = BUILTINS.get(metric, ("", None, metric.replace("_", " ")))[2]
    who = {"a": "A", "b": "B", "prompt": "the prompt"}.get(side)
    if side == "a-b":
        return f"A's {metric} - B's {metric}"
    if who == "the prompt":
        return f"prompt {metric}"
    if BUILTINS.get(metric, ("count",))[0] == "bool":
        return f"{who}: {desc.split(' (')[0]}"
    return f"{who}'s {metric}"


BOOL_PHRASES = {"has_list": ("has a list", "has no list"),
                "has_headings": ("has headings", "has no headings"),
                "has_code": ("has a code block", "has no code block"),
                "has_url": ("has a URL", "has no URL"),
                "affirmation": ("starts with an affirmation", "does not start with one"),
                "refusal": ("refuses", "does not refuse")}


def _value_label(name: str, label: str, v: float, values: set) -> str:
    """A value of a few-valued number: what A (or B) has for a boolean metric, who has it for
    the difference of two booleans, else ``label = v``."""
    side, metric = name.split(".", 1)
    yes, no = BOOL_PHRASES.get(metric, (f"{metric}: yes", f"{metric}: no"))
    if values <= {0.0, 1.0} and side in ("a", "b"):
        return f"{side.upper()} {yes if v else no}"
    if values <= {-1.0, 0.0, 1.0} and side == "a-b" and metric in BOOL_PHRASES:
        return {1.0: f"A {yes}, B not", -1.0: f"B {yes}, A not",
                0.0: f"both or neither {yes}"}[v]
    return f"{label} = {fmt(v)}"


def number_fields(comp: Comparison) -> list[str]:
    """The numeric fields binned into predicates: every metric of A and of B, the differences
    A - B of the built-ins, and the prompt's words and turns."""
    fields = list(metric_fields(comp))
    fields += [f"a-b.{m}" for m in DIFF_METRICS]
    return fields + list(PROMPT_FIELDS)


def _number_predicates(name: str, values: np.ndarray) -> list[Predicate]:
    ok = np.isfinite(values)
    if not ok.any():
        return []
    vals = values[ok]
    uniq = np.unique(vals)
    if len(uniq) < 2:
        return []
    label = _side(name)
    if len(uniq) <= FEW_VALUES:
        out = []
        for u in uniq:
            v = float(u)
            text = _value_label(name, label, v, set(uniq.tolist()))
            out.append(Predicate(name, (Condition(name, "=", v),), text, values == v))
        return out
    edges = bin_edges(vals, N_BINS)
    out = []
    for k in range(len(edges) - 1):
        lo, hi = float(edges[k]), float(edges[k + 1])
        conds, m = [], ok.copy()
        if k > 0:
            conds.append(Condition(name, ">=", lo))
            with np.errstate(invalid="ignore"):
                m &= values >= lo
        if k < len(edges) - 2:
            conds.append(Condition(name, "<", hi))
            with np.errstate(invalid="ignore"):
                m &= values < hi
        text = (f"{label} < {fmt(hi)}" if k == 0 else f"{label} >= {fmt(lo)}"
                if k == len(edges) - 2 else f"{label} in [{fmt(lo)}, {fmt(hi)})")
        out.append(Predicate(name, tuple(conds), text, m))
    return out


def _categorical_predicates(comp: Comparison, name: str) -> list[Predicate]:
    idx, code, names = slice_values(comp, name)
    n = len(comp.examples)
    out = []
    for c, value in enumerate(names):
        if value == "(none)":
            continue
        m = np.zeros(n, dtype=bool)
        m[idx[code == c]] = True
        out.append(Predicate(name, (Condition(name, "=", value),), f"{name} = {value}", m))
    return out


def _theme_predicates(comp: Comparison) -> list[Predicate]:
    """One per rationale cluster: examples with a reason in it (``cluster=N``)."""
    clusters = (comp.metadata.get("clusters") or {}).get("clusters") or []
    if not clusters:
        return []
    ex_i, cl, _ = reason_arrays(comp)
    n = len(comp.examples)
    out = []
    for c in clusters:
        m = np.zeros(n, dtype=bool)
        m[ex_i[cl == c["id"]]] = True
        title = c.get("title") or f"cluster {c['id']}"
        out.append(Predicate("cluster", (Condition("cluster", "=", str(c["id"])),),
                             f"the judge's reasons include \u201c{title}\u201d", m))
    return out


def candidates(comp: Comparison, min_size: int, scored: np.ndarray, themes: bool = False
               ) -> list[Predicate]:
    """Every predicate with at least ``min_size`` scored examples in it and out of it (and
    at most 90% of them: "both or neither refuse" is everything, its rare values are the
    slices); of a
    two-valued field that splits the scored examples, only the smaller value (the other is the
    same test with the sign turned). Rationale themes are conditions only when ``themes``: a
    reason is written after the verdict, so "the judge cites X" measures the verdict itself
    (examples whose reasons credit B are the ones B won); by default themes explain findings
    (``findings.themes``) instead of defining them."""
    preds: list[Predicate] = []
    for name in categorical_fields(comp):
        preds += _categorical_predicates(comp, name)
    for name in number_fields(comp):
        try:
            values = np.asarray(column(comp, name), dtype=np.float64)
        except KeyError:
            continue
        preds += _number_predicates(name, values)
    if themes:
        preds += _theme_predicates(comp)
    n_scored = int(scored.sum())
    keep = []
    for p in preds:
        size = int((p.mask & scored).sum())
        if min_size <= size <= min(n_scored - min_size, MAX_SHARE * n_scored):
            keep.append(p)
    by_feature: dict[str, list[Predicate]] = {}
    for p in keep:
        by_feature.setdefault(p.feature, []).append(p)
    out = []
    for group in by_feature.values():
        if len(group) == 2 and not (group[0].mask & group[1].mask).any() and int(
                ((group[0].mask | group[1].mask) & scored).sum()) == n_scored:
            group = [min(group, key=lambda p: int((p.mask & scored).sum()))]
        out += group
    return out
