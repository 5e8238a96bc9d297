"""Plotly figures of the dashboard, built from statistics (no Streamlit here).

Each clickable figure carries ``customdata`` so a click names what to filter on.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from comparator.analysis.bins import SCORE_EDGES, bars
from comparator.schema.labels import SCORE_MAX, SCORE_MIN
from comparator.schema.visible import visible

COLOR_A, COLOR_B, COLOR_TIE = "#1f77b4", "#ff7f0e", "#9e9e9e"


def plain(text: object) -> str:
    """``text`` for a plotly label, legend or hover: plotly renders a subset of HTML there
    (<a href>, <b>, <br>, <img> is dropped but links are live), so ``<``, ``>`` and ``&`` from
    files are escaped and the text is shown as written, its invisible characters as escapes
    (``visible``: two names that differ by a zero-width space look different). The one label
    formatter of the report's and the dashboard's charts."""
    return html.escape(visible(text), quote=False)


def score_histogram(scores: np.ndarray, tie_threshold: float,
                    model_a: str = "A", model_b: str = "B") -> go.Figure:
    """Pre-binned histogram with the tie band shaded. Bars and what a click on bar ``i``
    selects come from ``analysis.bins`` (``SCORE_EDGES``): ``state.on_bin_click`` reads the
    clicked bar's index, never a value sent back by the browser."""
    edges = SCORE_EDGES
    counts = [b.count for b in bars(scores, edges)]
    mids = (edges[:-1] + edges[1:]) / 2
    colors = [COLOR_A if m > tie_threshold else COLOR_B if m < -tie_threshold else COLOR_TIE
              for m in mids]
    last = len(counts) - 1
    fig = go.Figure(go.Bar(
        x=mids, y=counts, width=np.diff(edges) * 0.95, marker_color=colors,
        customdata=[f"{lo:+g} ≤ score {'≤' if i == last else '<'} {hi:+g}"
                    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))],
        hovertemplate="%{customdata}<br>%{y} examples<extra></extra>"))
    fig.add_vrect(x0=-tie_threshold, x1=tie_threshold, fillcolor=COLOR_TIE, opacity=0.15,
                  line_width=0, annotation_text="tie band", annotation_position="top left")
    fig.update_layout(
        height=300, margin=dict(l=10, r=10, t=30, b=10), bargap=0.02,
        xaxis=dict(title=f"← {plain(model_b)} better      score      {plain(model_a)} better →",
                   range=[SCORE_MIN - 0.05, SCORE_MAX + 0.05]),
        yaxis_title="examples", clickmode="event+select", dragmode=False,
        hovermode="x")  # a click anywhere in a bar's column picks it (a bar of 2 in 700: 1 px)
    return fig


def slice_bars(rows: list[dict[str, Any]], title: str = "") -> go.Figure:
    """Win rate of A per slice with its 95% interval; slices that differ from the rest
    (BH-adjusted test) marked ★, small ones in a lighter colour. Bars carry the slice value
    in customdata."""
    rows = [r for r in rows if r["win_rate_a"] is not None]
    labels = [f"{'★ ' if r['significant'] else ''}{plain(r['value'])} (n={r['n']})" for r in rows]
    rate = np.array([r["win_rate_a"] for r in rows]) * 100
    lo = np.array([r["win_rate_a_ci95"][0] for r in rows]) * 100
    hi = np.array([r["win_rate_a_ci95"][1] for r in rows]) * 100
    colors = [("#9ecae1" if r["small_n"] else COLOR_A) if r["win_rate_a"] >= 0.5 else
              ("#fdd0a2" if r["small_n"] else COLOR_B) for r in rows]
    fig = go.Figure(go.Bar(
        y=labels, x=rate, orientation="h", marker_color=colors,
        error_x=dict(type="data", symmetric=False, array=hi - rate, arrayminus=rate - lo),
        customdata=[r["value"] for r in rows],
        hovertemplate="%{y}<br>win rate of A %{x:.1f}%<extra></extra>"))
    fig.add_vline(x=50, line_dash="dot", line_color="#555")
    fig.update_layout(
        title=plain(title), height=max(220, 28 * len(rows) + 80),
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(title="win rate of A (%), 95% interval", range=[0, 100]),
        yaxis=dict(autorange="reversed"), clickmode="event+select", dragmode=False)
    return fig


def confusion_heatmap(matrix: list[list[int]], labels: list[str], rows: str, cols: str
                      ) -> go.Figure:
    labels = [plain(x) for x in labels]
    fig = go.Figure(go.Heatmap(z=matrix, x=labels, y=labels, colorscale="Blues",
                               text=matrix, texttemplate="%{text}", showscale=False))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title=plain(cols), yaxis=dict(title=plain(rows), autorange="reversed"))
    return fig


# one colour per cluster id (KMeans goes up to k = 40), the same in every chart and filter
CLUSTER_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                   "#7f7f7f", "#bcbd22", "#17becf", *(c for c in plotly.colors.qualitative.Dark24
                                                       if c not in ("#222A2A",)),
                   *plotly.colors.qualitative.Light24]


def cluster_color(cluster_id: int) -> str:
    """A cluster's colour, by its id in the full clustering (never by its position in a
    filtered list): a cluster keeps its colour across filters; unclustered (-1) is grey."""
    return "#cccccc" if cluster_id < 0 else CLUSTER_PALETTE[cluster_id % len(CLUSTER_PALETTE)]


def reason_map(x: np.ndarray, y: np.ndarray, groups: list[str], examples: np.ndarray,
               hover: list[str], title: str = "", colors: dict[str, str] | None = None
               ) -> go.Figure:
    """The 2-D map of reasons (WebGL, fine at 10k+ points), one trace per group (cluster or
    favoured model); each point carries its example index in customdata. ``colors``: each
    group's colour and the legend's order (``cluster_color`` for clusters), so a group keeps
    its colour whichever groups a filter leaves."""
    fig = go.Figure()
    fixed = {"favours A": COLOR_A, "favours B": COLOR_B, "neither": COLOR_TIE,
             "unclustered": "#cccccc", **(colors or {})}
    arr = np.asarray(groups, dtype=object)
    present = set(groups)
    names = [g for g in (colors or {}) if g in present]
    for k, g in enumerate(names + [g for g in dict.fromkeys(groups) if g not in names]):
        m = arr == g
        fig.add_trace(go.Scattergl(
            x=x[m], y=y[m], mode="markers", name=plain(g),
            marker=dict(size=5, opacity=0.7, color=fixed.get(g, CLUSTER_PALETTE[
                k % len(CLUSTER_PALETTE)])),
            customdata=examples[m], text=np.asarray([plain(h) for h in hover], dtype=object)[m],
            hovertemplate="%{text}<extra>%{fullData.name}</extra>"))
    fig.update_layout(title=plain(title), height=520, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(visible=False), yaxis=dict(visible=False),
                      dragmode="lasso", legend=dict(itemsizing="constant"))
    return fig
