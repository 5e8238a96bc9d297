"""The Metrics page through Streamlit's AppTest on the bundled demos: charts draw, a user metric
is added (a bad pattern is a one-line error, no traceback), metric and n-gram filters narrow
the examples exactly as computed here, and metrics are slice fields in the sidebar."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from comparator.io import load
from comparator.io.schema import response_text
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
