"""Every click selects what its bar counts (issue 21, defect 2 and the metric-bin edges of
defect 8), without a browser: the click's selection event is built as Streamlit's frontend sends
it (captured from Chromium: a row of a typed-array ``customdata`` arrives as ``{"0": lo, "1":
hi}``), handed to the page's click handler, and the filtered count compared with the bar."""

from __future__ import annotations

import base64
import json
import logging
import re

import numpy as np
import pytest
import streamlit as st

from comparator.analysis.metrics import metric_columns
from comparator.analysis.stats import derive
from comparator.reports.charts import score_histogram
from comparator.reports.metric_charts import distributions
from comparator.store.cache import open_store
from comparator.ui import metrics_panel, state, view

DEMOS = list(state.demos().values())
# session state outside a script run (bare mode) warns on every access
logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(
    logging.ERROR)


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    state.clear_filters()
    st.session_state.clear()
    yield
    st.session_state.clear()


def _decode(v):
    """A plotly JSON value: typed arrays ({"dtype", "bdata", "shape"}) as numpy."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        return a.reshape([int(x) for x in str(v.get("shape", len(a))).split(",")])
    return v


def _click(fig, curve: int, i: int) -> dict:
    """The selection event of a click on bar ``i`` of trace ``curve``, as the browser sends it."""
    tr = json.loads(fig.to_json())["data"][curve]
    cd = _decode(tr.get("customdata"))
    row = cd[i] if cd is not None else None
    if isinstance(row, np.ndarray):  # a typed-array row: a JSON object keyed by position
        row = {str(k): float(x) for k, x in enumerate(row)}
    x, y = _decode(tr["x"]), _decode(tr["y"])
    point = {"curve_number": curve, "point_number": i, "point_index": i, "x": float(x[i]),
             "y": int(y[i]), "customdata": row}
    return {"selection": {"points": [point], "point_indices": [i], "box": [], "lasso": []}}


def _heights(fig, curve: int = 0) -> list[int]:
    return [int(h) for h in _decode(json.loads(fig.to_json())["data"][curve]["y"])]


@pytest.mark.parametrize("path", DEMOS, ids=[p.stem for p in DEMOS])
def test_every_score_bar_selects_its_height(path):
    loaded = open_store(path)
    comp = loaded.comparison
    fig = score_histogram(derive(comp).score, state.tie_threshold())
    heights = _heights(fig)
    assert sum(heights) == int((~np.isnan(derive(comp).score)).sum())
    for i, h in enumerate(heights):
        state.clear_filters()
        st.session_state["hist"] = _click(fig, 0, i)
        state.on_bin_click("hist")
        n = int(state.mask(loaded)[0].sum())
        assert n == h, f"{path.name}: bar {i} counts {h}, its click selects {n}"
        # the link of the view selects the same examples
        qp = view.view_query()
        state.clear_filters()
        view.read_view(qp)
        assert int(state.mask(loaded)[0].sum()) == h, qp


def _significant(number: str) -> int:
    digits = re.sub(r"[^0-9]", "", number.split("e")[0]).lstrip("0")
    return len(digits.rstrip("0")) if "." in number else len(digits)


@pytest.mark.parametrize("path", DEMOS, ids=[p.stem for p in DEMOS])
def test_every_metric_bin_selects_its_height_with_rounded_edges(path):
    loaded = open_store(path)
    comp = loaded.comparison
    cols = metric_columns(comp)
    names = sorted(k[2:] for k in cols if k.startswith("a.") and cols[k].dtype != bool)
    assert names
    for name in names:
        fig, dfig = distributions(cols[f"a.{name}"], cols[f"b.{name}"], name)
        for f, curves in ((fig, (0, 1)), (dfig, (0,))):
            for curve in curves:
                for i, h in enumerate(_heights(f, curve)):
                    state.clear_filters()
                    st.session_state["m"] = _click(f, curve, i)
                    metrics_panel.on_metric_click("m")
                    n = int(state.mask(loaded)[0].sum())
                    assert n == h, f"{path.name} {name} trace {curve} bin {i}: {h} vs {n}"
                    link = view.view_query().get("metric", "")
                    numbers = re.findall(r"(?:<=|>=|<|>|=)(-?[\d.e+-]+)", link)
                    assert numbers, link
                    assert all(_significant(x) <= 4 for x in numbers), link
                    assert all(_significant(f"{v:g}") <= 4
                               for _, _, v in state.filters().metrics), link


def test_a_typed_array_row_from_the_browser_reads_as_its_values():
    """The root of defect 2: a row of numbers came back as {"0": lo, "1": hi} and its keys
    were read as the range (every bar selected scores 0 to 1)."""
    st.session_state["c"] = {"selection": {"points": [{"customdata": {"1": 2.5, "0": -1.5}}]}}
    assert state._first_customdata("c") == [-1.5, 2.5]
