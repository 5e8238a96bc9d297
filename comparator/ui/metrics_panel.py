"""The Metrics page's pieces: metric charts whose clicks filter, the user-metric form and the
n-gram panel. Filters go through ``state`` (``set_metric_filter``); chart clicks are read with
``state._first_customdata``."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

import streamlit as st

from comparator.analysis.filters import apply
from comparator.analysis.metrics import (
    BUILTINS,
    MetricError,
    add_user_metric,
    metric_columns,
    remove_user_metric,
)
from comparator.analysis.metrics.ngrams import MAX_EXAMPLES, cached_ngram_table
from comparator.analysis.metrics.summary import metric_summary
from comparator.analysis.metrics.user import user_specs
from comparator.formats import save
from comparator.reports.metric_charts import distributions, ngram_bars, share_bars
from comparator.schema.records import Comparison
from comparator.ui import state
from comparator.ui.widgets import Page, md_label, md_text


def on_metric_click(chart_key: str) -> None:
    """A bar ([metric, "==", 1]) or a bin ([metric, lo, hi]: lo <= value < hi, None an open
    end) keeps the matching examples; it replaces any earlier condition on the same metric."""
    data = state._first_customdata(chart_key)
    if not data or len(data) != 3:
        return
    name, lo, hi = data
    conds = [c for c in st.session_state.get(state.F_METRICS) or [] if c[0] != name]
    if lo == "==":
        conds.append((name, "==", float(hi)))
    else:  # a bin of analysis.bins: lo <= value < hi, None an open end
        if lo is not None:
            conds.append((name, ">=", float(lo)))
        if hi is not None:
            conds.append((name, "<", float(hi)))
        if lo is None and hi is None:  # the one bin: every value (a missing one is not)
            conds.append((name, ">", float("-inf")))
    state.set_metric_filter(conds, st.session_state.get(state.F_NGRAM))


def on_ngram_click(chart_key: str) -> None:
    gram = state._first_customdata(chart_key)
    if isinstance(gram, str) and gram:
        state.set_metric_filter(st.session_state.get(state.F_METRICS), gram)


def active_filters() -> None:
    f = state.filters()
    if f.metrics or f.ngram:
        parts = [f"{n} {op} {v:g}" for n, op, v in f.metrics]
        parts += [f"contains “{f.ngram}”"] if f.ngram else []
        c1, c2 = st.columns([4, 1])
        c1.info("Metric filter: " + md_text("; ".join(parts)))
        c2.button("Clear metric filter", on_click=state.set_metric_filter, args=(None,))


def metric_charts(page: Page) -> None:
    comp, mask = page.comp, page.mask
    rows = metric_summary(comp, mask)
    flags = [r for r in rows if r["kind"] == "bool"]
    numbers = [r for r in rows if r["kind"] == "number"]
    if flags:
        st.subheader("Features: share of responses")
        st.plotly_chart(share_bars(flags, comp.model_a, comp.model_b), key="metric_flags",
                        on_select=partial(on_metric_click, "metric_flags"),
                        selection_mode="points")
        st.caption("Click a bar to keep the examples whose response on that side has the "
                   "feature.")
    if numbers:
        st.subheader("Distributions")
        names = [r["metric"] for r in numbers]
        name = st.selectbox("Metric", names, key="metric_number",
                            help="; ".join(f"{k}: {v[2]}" for k, v in BUILTINS.items()
                                           if v[0] == "count"))
        row = numbers[names.index(name)]
        if row["mean_a"] is not None:
            ci = row["mean_diff_ci95"]
            st.caption(f"mean A {row['mean_a']:.4g} · mean B {row['mean_b']:.4g} · mean A − B "
                       f"{row['mean_diff']:+.4g}" + (f" [95% CI {ci[0]:+.4g}, {ci[1]:+.4g}]"
                                                     if ci else "") + f" · n = {row['n']:,}")
        cols = metric_columns(comp)
        fig, dfig = distributions(cols[f"a.{name}"][mask], cols[f"b.{name}"][mask], name,
                                  comp.model_a, comp.model_b)
        c1, c2 = st.columns(2)
        with c1:
            st.plotly_chart(fig, key=f"dist_{name}", selection_mode="points",
                            on_select=partial(on_metric_click, f"dist_{name}"))
        with c2:
            st.plotly_chart(dfig, key=f"diff_{name}", selection_mode="points",
                            on_select=partial(on_metric_click, f"diff_{name}"))
        st.caption("Click a bin to keep the examples in it (a bin of A, of B, or of A − B).")


def user_metric_form(comp: Comparison) -> None:
    with st.expander("Add a metric (regular expression)", expanded=not user_specs(comp)):
        with st.form("user_metric", clear_on_submit=False):
            c1, c2, c3 = st.columns([1, 2, 1])
            name = c1.text_input("Name", placeholder="apology")
            pattern = c2.text_input("Regular expression (Python syntax)",
                                    help="RE2 runs it (fast on any text); look-arounds and "
                                    "back-references run under a time limit "
                                    "(COMPARATOR_REGEX_SECONDS)",
                                    placeholder=r"(?i)\b(sorry|apologi[sz]e)\b")
            kind = c3.radio("Measure", ["bool", "count"], horizontal=True,
                            help="bool: does the response match? count: how many matches")
            if st.form_submit_button("Add metric"):
                try:
                    add_user_metric(comp, name.strip(), pattern, kind)
                    nm = md_text(name.strip())
                    st.success(f"Added {nm} (a.{nm}, b.{nm}): also "
                               "a slice field, and saved in the comparison's exports.")
                except MetricError as e:
                    st.error(md_text(str(e)))
        for spec in user_specs(comp):
            c1, c2 = st.columns([5, 1])
            c1.caption(md_text(f"{spec['name']} ({spec['kind']}): {spec['pattern']}"))
            c2.button("Remove", key=f"rm_metric_{spec['name']}", on_click=remove_user_metric,
                      args=(comp, spec["name"]))
        if user_specs(comp):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "comparison.jsonl"
                save(comp, out)
                st.download_button("Download the comparison with its metrics (native JSONL)",
                                   out.read_bytes(), "comparison_with_metrics.jsonl")


def ngram_panel(page: Page) -> None:
    comp = page.comp
    st.subheader("N-grams: who says what")
    c1, c2, c3, c4 = st.columns(4)
    lo, hi = c1.select_slider("n-gram length", [1, 2, 3, 4], value=(1, 4), key="ngram_n")
    min_count = c2.number_input("minimum count (A + B)", 1, 1000, 5, key="ngram_min")
    top = c3.number_input("n-grams shown per side", 5, 100, 20, key="ngram_top")
    cap = c4.number_input("examples counted at most", 100, 100_000, MAX_EXAMPLES, step=500,
                          key="ngram_cap", help="a seeded sample beyond this (about 1 s per "
                          "1,000 examples on 2 cores)")
    base = state.filters()
    base.ngram = None  # the panel ranks n-grams over the examples without its own filter
    try:
        mask = apply(comp, base, page.t, page.judges)
    except Exception:  # bad regex: reported at the top of the page
        mask = page.mask
    n = int(mask.sum())
    with st.spinner("Counting n-grams…"):
        df = cached_ngram_table(comp, None if mask.all() else mask, ngram_range=(lo, hi),
                                min_count=int(min_count), max_examples=int(cap))
    st.caption(f"Weighted log-odds with an informative Dirichlet prior (Monroe et al. 2008): "
               f"z > 0 = used more by A. Counted on {min(n, int(cap)):,} of {n:,} filtered "
               "examples" + (" (a seeded sample)" if n > cap else "") +
               "; click an n-gram to keep the examples whose A or B response contains it.")
    if df.empty:
        st.info("No n-gram reaches the minimum count.")
        return
    a_side, b_side = st.columns(2)
    with a_side:
        st.markdown(f"**More in A** ({md_label(comp.model_a)})")
        st.plotly_chart(ngram_bars(df[df.z > 0], "a", int(top)), key="ngram_a",
                        on_select=partial(on_ngram_click, "ngram_a"), selection_mode="points")
    with b_side:
        st.markdown(f"**More in B** ({md_label(comp.model_b)})")
        st.plotly_chart(ngram_bars(df[df.z < 0], "b", int(top)), key="ngram_b",
                        on_select=partial(on_ngram_click, "ngram_b"), selection_mode="points")
    with st.expander("Table"):
        st.dataframe(df.round({"z": 3}), hide_index=True)


__all__ = ["active_filters", "metric_charts", "ngram_panel", "user_metric_form"]
