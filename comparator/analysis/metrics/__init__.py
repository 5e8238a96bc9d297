"""Metrics on responses, one numpy column per metric aligned with ``comp.examples``, named
``a.<metric>`` / ``b.<metric>``: built-ins (``builtin``), user regular expressions (``user``),
reference metrics (``reference``) and log-probability metrics recorded by generation or by
``python -m comparator metrics --perplexity`` (``perplexity``). Computed once per comparison,
cached in the store's memo (``comparator.store.table``) under ``("metrics", ...)`` keys that
hold every parameter (a user metric's pattern too). Booleans are bool arrays, numbers float64
(NaN = missing).
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from comparator.analysis.columnar import metadata_keys, metadata_values
from comparator.analysis.metrics.builtin import BUILTINS, builtin_columns, flatten
from comparator.analysis.metrics.reference import (
    REFERENCE_METRICS,
    has_reference,
    reference_columns,
)
from comparator.analysis.metrics.user import MetricError, check, turn_counts, user_specs
from comparator.analysis.patterns import PatternError, compile_pattern
from comparator.schema.records import Comparison
from comparator.store.table import store_for

# numbers stored per response in example metadata as a_<name> / b_<name>
STORED = ("mean_logprob", "perplexity", "ref_mean_logprob", "ref_perplexity",
          *REFERENCE_METRICS)
CACHE = "metrics"  # first element of every metric key in the store's memo


def cached(comp: Comparison, key: tuple, compute):
    """The store's memo of ``(CACHE, *key)``, computed by ``compute()`` on first use."""
    return store_for(comp).memo((CACHE, *key), compute)


def _turns(comp: Comparison, side: str):
    """(turns, owning example, turns as str) of one side's responses."""
    st = store_for(comp)

    def build():
        if st.column(f"response_{side}_turns").null_count == st.n:  # single-turn: the texts
            col = st.texts(f"response_{side}").combine_chunks()
            return col, np.arange(st.n, dtype=np.int64), col.to_pylist()
        return flatten(_side(st, side))

    return cached(comp, ("turns", side), build)


def _side(st, side: str) -> list:
    """Each example's response on ``side``: its list of turns, or its text."""
    turns = st.column(f"response_{side}_turns").to_pylist()
    texts = st.texts(f"response_{side}").to_pylist()
    return [t if t is not None else x for t, x in zip(turns, texts, strict=True)]


def _builtins(comp: Comparison) -> dict[str, np.ndarray]:
    return cached(comp, ("builtin",), lambda: {
        k: v for s in "ab" for k, v in builtin_columns(*_turns(comp, s), len(comp.examples),
                                                       s).items()})


def _stored(comp: Comparison) -> dict[str, np.ndarray]:
    def compute() -> dict[str, np.ndarray]:
        out = {}
        st = store_for(comp)
        present = set(metadata_keys(st))
        for name in STORED:
            for s in "ab":
                if f"{s}_{name}" not in present:
                    continue
                values = metadata_values(st, f"{s}_{name}") or [None] * st.n
                col = np.fromiter(map(_number, values), np.float64, st.n)
                if not np.isnan(col).all():
                    out[f"{s}.{name}"] = col
        if not any(k.endswith(".rouge1") for k in out) and has_reference(comp):
            out.update(reference_columns(comp))
        return out

    return cached(comp, ("stored",), compute)


def _number(v) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan


def user_columns(comp: Comparison, spec: dict) -> dict[str, np.ndarray]:
    """A user metric's two columns; none when its pattern ran past its deadline (a saved
    metric of a file: ``add_user_metric`` refuses such a pattern with the reason)."""
    def compute() -> dict[str, np.ndarray]:
        out, n = {}, len(comp.examples)
        for s in "ab":
            turns, owner, _ = _turns(comp, s)
            try:
                found = turn_counts(turns, spec["pattern"])
            except PatternError:
                return {}
            counts = np.bincount(owner, weights=found, minlength=n)
            out[f"{s}.{spec['name']}"] = counts > 0 if spec["kind"] == "bool" else counts
        return out

    return cached(comp, ("user", spec["name"], spec["pattern"], spec["kind"]), compute)


def metric_columns(comp: Comparison) -> dict[str, np.ndarray]:
    """Every metric column of ``comp``: ``{"a.words": array, "b.words": array, ...}``."""
    out = dict(_builtins(comp))
    out.update(_stored(comp))
    for spec in user_specs(comp):
        out.update(user_columns(comp, spec))
    return out


PROMPT_METRICS = ("words", "turns")  # prompt.words, prompt.turns: numbers of the prompt


def prompt_columns(comp: Comparison) -> dict[str, np.ndarray]:
    """The prompt's numbers, float64 like every count: ``prompt.words`` (whitespace-separated
    words of the prompt, user turns joined, as the built-in ``words``) and ``prompt.turns``
    (user turns; 1 for a single-turn prompt). Cached under ``("metrics", "prompt")``."""
    def compute() -> dict[str, np.ndarray]:
        st = store_for(comp)
        texts = st.texts("prompt").to_pylist()
        words = np.fromiter(map(len, map(str.split, texts)), np.float64, st.n)
        turns = np.ones(st.n, dtype=np.float64)
        msgs = st.column("messages")
        if msgs.null_count < len(msgs):
            flat = pc.list_flatten(msgs)
            user = pc.equal(pc.struct_field(flat, "role"), "user").to_numpy(
                zero_copy_only=False)
            owner = pc.list_parent_indices(msgs).to_numpy()
            counts = np.bincount(owner[user], minlength=st.n).astype(np.float64)
            turns = np.where(counts > 0, counts, 1.0)
        return {"prompt.words": words, "prompt.turns": turns}

    return cached(comp, ("prompt",), compute)


def metric_names(comp: Comparison) -> list[str]:
    """The metric names (without the side), built-ins first."""
    return list(dict.fromkeys(k.split(".", 1)[1] for k in metric_columns(comp)))


def metric_fields(comp: Comparison) -> list[str]:
    """The metric slice fields (``a.words``, ``b.words``, ...) without computing any metric:
    built-ins, user metrics, stored numbers seen in the first 5,000 examples, and the
    reference metrics when examples have references."""
    names = list(BUILTINS)
    seen = set(metadata_keys(store_for(comp), limit=5000))
    names += [m for m in STORED if f"a_{m}" in seen or f"b_{m}" in seen]
    if has_reference(comp):
        names += [m for m in REFERENCE_METRICS if m not in names]
    names += [s["name"] for s in user_specs(comp)]
    return [f"{s}.{m}" for m in dict.fromkeys(names) for s in "ab"]


def is_metric_field(name: str) -> bool:
    """Whether ``name`` is a number column rather than a file's field: ``a.NAME``, ``b.NAME``,
    the paired difference ``a-b.NAME`` or a prompt number ``prompt.NAME``."""
    side, dot, rest = name.partition(".")
    return bool(dot and rest) and (side in ("a", "b", "a-b") or side == "prompt"
                                   and rest in PROMPT_METRICS)


def add_user_metric(comp: Comparison, name: str, pattern: str, kind: str = "bool") -> dict:
    """Validate and save a user regex metric in ``comp.metadata`` (replacing one of the same
    name). Raises MetricError with a one-line message for a bad name or pattern, or one that
    RE2 cannot run and that ran past its deadline on these examples."""
    spec = check(name, pattern, kind, reserved=(*BUILTINS, *STORED))
    if not compile_pattern(pattern).re2:  # RE2 never runs long; the other engine may
        try:
            for s in "ab":
                turn_counts(_turns(comp, s)[0], pattern)
        except PatternError as e:
            raise MetricError(str(e)) from None
    specs = [s for s in user_specs(comp) if s["name"] != name] + [spec]
    comp.metadata["user_metrics"] = specs  # cached results are keyed by spec: nothing to drop
    return spec


def remove_user_metric(comp: Comparison, name: str) -> None:
    comp.metadata["user_metrics"] = [s for s in user_specs(comp) if s["name"] != name]


__all__ = ["BUILTINS", "STORED", "MetricError", "add_user_metric", "is_metric_field",
           "metric_columns", "metric_fields", "metric_names", "prompt_columns",
           "remove_user_metric"]
