"""The Metrics page through Streamlit's AppTest on the bundled demos: charts draw, a user metric
is added (a bad pattern is a one-line error, no traceback), metric and n-gram filters narrow
the examples exactly as computed here, and metrics are slice fields in the sidebar."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from comparator.formats import load
from comparator.schema.records import response_text
from comparator.ui import state

DEMO = next(d for d in state.demos() if d.startswith("AlpacaEval"))


def app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    at.switch_page("pages/metrics.py").run()
    assert not at.exception, at.exception
    return at


def shown(at) -> int:
    cap = next(c.value for c in at.sidebar.caption if " of " in c.value and "examples" in c.value)
    return int(cap.split(" of ")[0].replace(",", ""))


@pytest.mark.parametrize("demo", list(state.demos()))
def test_metrics_page_draws_on_every_demo(demo):
    at = app()
    at.session_state[state.SOURCE] = ("demo", demo)
    at.run()
    assert not at.exception and not at.error, at.exception
    assert len(at.get("plotly_chart")) >= 4  # features, A/B distribution, A-B, n-grams


def test_user_metric_bad_pattern_then_good_one_and_filters():
    at = app()
    comp = load(state.demos()[DEMO]).comparison
    at.text_input[0].input("apology")
    at.text_input[1].input("(sorry")
    at.button(key="FormSubmitter:user_metric-Add metric").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "bad regular expression" in at.error[0].value
    assert "\n" not in at.error[0].value
    at.text_input[1].input(r"(?i)\bsorry\b")
    at.button(key="FormSubmitter:user_metric-Add metric").click().run()
    assert not at.exception and not at.error
    # a click on the "B has apology" bar sets this condition; so does a bin [lo, hi)
    at.session_state[state.F_METRICS] = [("b.apology", "==", 1.0), ("a.words", ">=", 100.0),
                                         ("a.words", "<", 400.0)]
    at.run()
    want = sum(1 for ex in comp.examples
               if re.search(r"(?i)\bsorry\b", response_text(ex["response_b"]))
               and 100 <= len(response_text(ex["response_a"]).split()) < 400)
    assert shown(at) == want > 0
    at.session_state[state.F_METRICS] = []
    at.session_state[state.F_NGRAM] = "step by step"
    at.run()
    pat = re.compile(r"(?i)(?:^|\W)step\W+by\W+step(?:$|\W)")
    want = sum(1 for ex in comp.examples if pat.search(response_text(ex["response_a"]))
               or pat.search(response_text(ex["response_b"])))
    assert shown(at) == want > 0
    assert "b.apology" in at.sidebar.selectbox(key=state.W_FIELD).options


def test_metric_is_a_sidebar_slice_field():
    at = app()
    assert "a.has_list" in at.sidebar.selectbox(key=state.W_FIELD).options
    at.sidebar.selectbox(key=state.W_FIELD).select("a.has_list").run()
    at.sidebar.selectbox(key=state.W_VALUE).select("true").run()
    assert not at.exception
    comp = load(state.demos()[DEMO]).comparison
    want = sum(1 for ex in comp.examples if re.search(
        r"(?m)^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+\S", response_text(ex["response_a"])))
    assert shown(at) == want


def test_overview_slices_by_a_metric():
    from comparator.analysis import slice_table

    at = app()
    at.switch_page("pages/overview.py").run()
    at.selectbox(key="overview_field").select("b.words").run()
    assert not at.exception and not at.error
    comp = load(state.demos()[DEMO]).comparison
    rows = slice_table(comp, "b.words")
    shown_rows = at.dataframe[0].value
    assert len(shown_rows) == len(rows) == 5 and sum(r["n"] for r in rows) == len(comp.examples)


def _click(customdata, handler: str):
    """Run a chart-click handler in a real Streamlit script run, as if the chart's selection
    event carried one point with ``customdata``; returns the metric filters it set."""
    from streamlit.testing.v1 import AppTest

    def script(customdata, handler):
        import streamlit as st

        from comparator.ui import metrics_panel, state

        st.session_state["chart"] = {"selection": {"points": [{"customdata": customdata}]}}
        getattr(metrics_panel, handler)("chart")
        st.session_state["out"] = (st.session_state.get(state.F_METRICS),
                                   st.session_state.get(state.F_NGRAM))

    at = AppTest.from_function(script, args=(customdata, handler), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at.session_state["out"]


def test_chart_clicks_become_the_filters_that_keep_the_clicked_examples():
    import numpy as np

    from comparator.analysis.filters import Filters, apply
    from comparator.analysis.metrics import metric_columns
    from comparator.analysis.metrics.ngrams import ngram_table
    from comparator.analysis.metrics.summary import metric_summary
    from comparator.reports.metric_charts import distributions, ngram_bars, share_bars

    comp = load(state.demos()[DEMO]).comparison
    cols = metric_columns(comp)
    flags = [r for r in metric_summary(comp) if r["kind"] == "bool"]
    bar = share_bars(flags).data[1].customdata[0]  # B's bar of the first feature
    conds, _ = _click(list(bar), "on_metric_click")
    assert apply(comp, Filters(metrics=conds)).tolist() == cols[f"b.{flags[0]['metric']}"].tolist()
    fig, dfig = distributions(cols["a.words"], cols["b.words"], "words")
    for k in (0, len(fig.data[0].customdata) - 1):  # the open-ended first and last bins
        lo = fig.data[0].customdata[k][1]
        conds, _ = _click(list(fig.data[0].customdata[k]), "on_metric_click")
        got = apply(comp, Filters(metrics=conds))
        counts = fig.data[0].y[k]
        assert got.sum() == counts and (lo is None or (cols["a.words"][got] >= lo).all())
    diff = cols["a.words"] - cols["b.words"]
    conds, _ = _click(list(dfig.data[0].customdata[3]), "on_metric_click")
    got = apply(comp, Filters(metrics=conds))
    assert got.sum() == dfig.data[0].y[3] and np.isfinite(diff[got]).all()
    gram = ngram_bars(ngram_table(comp), "b", 5).data[0].customdata[0]
    _, ngram = _click(gram, "on_ngram_click")
    assert ngram == gram and apply(comp, Filters(ngram=ngram)).sum() > 0
