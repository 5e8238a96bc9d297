"""Plotly figures of response metrics and the n-gram panel (no Streamlit here). Every clickable
mark carries ``customdata`` naming the filter a click applies: ``[metric, lo, hi]`` for a bin
(``lo <= value < hi``, None for the open ends of the first and last bins: ``analysis.bins``),
``[metric, "==", 1]`` for a boolean bar,
the n-gram itself for an n-gram bar."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from comparator.analysis.bins import bars, readable
from comparator.reports.charts import COLOR_A, COLOR_B, plain

COLOR_DIFF = "#6a51a3"


def share_bars(rows: list[dict[str, Any]], model_a: str = "A", model_b: str = "B") -> go.Figure:
    """Boolean metrics: share of responses with the feature in A and in B, 95% Wilson
    intervals; a click on a bar keeps the examples whose response on that side has it."""
    fig = go.Figure()
    names = [r["metric"] for r in rows]
    shown = [plain(n) for n in names]
    for s, label, color in (("a", model_a, COLOR_A), ("b", model_b, COLOR_B)):
        p = np.array([r[f"share_{s}"] or 0.0 for r in rows]) * 100
        lo = np.array([(r[f"share_{s}_ci95"] or [0, 0])[0] for r in rows]) * 100
        hi = np.array([(r[f"share_{s}_ci95"] or [0, 0])[1] for r in rows]) * 100
        fig.add_trace(go.Bar(
            y=shown, x=p, orientation="h", name=f"{s.upper()}: {plain(label)}",
            marker_color=color,
            error_x=dict(type="data", symmetric=False, array=hi - p, arrayminus=p - lo),
            customdata=[[f"{s}.{n}", "==", 1] for n in names],
            hovertemplate="%{y}: %{x:.1f}% of " + s.upper() + "'s responses<extra></extra>"))
    fig.update_layout(
        barmode="group", height=max(220, 44 * len(rows) + 80),
        margin=dict(l=10, r=10, t=30, b=10), xaxis=dict(title="share of responses (%), 95% "
                                                        "interval", range=[0, 100]),
        yaxis=dict(autorange="reversed"), clickmode="event+select", dragmode=False,
        legend=dict(orientation="h", y=1.08))
    return fig


def _bins(values: np.ndarray, n_bins: int) -> np.ndarray:
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return np.array([0.0, 1.0])
    lo, hi = np.quantile(v, [0.0, 0.99]) if len(v) > 100 else (v.min(), v.max())
    hi = max(hi, v.max()) if len(v) <= 100 else hi
    if hi <= lo:
        return np.array([lo - 0.5, lo + 0.5])
    if np.all(v == np.round(v)) and hi - lo < n_bins:  # small integers: one bin per value
        return np.arange(lo - 0.5, hi + 1.0)
    return readable(np.linspace(lo, hi, n_bins + 1))


def _bar(values: np.ndarray, edges: np.ndarray, metric: str, name: str, color: str) -> go.Bar:
    """The bars of ``values`` (``analysis.bins``: a click selects exactly a bar's count)."""
    v = values[np.isfinite(values)]
    shown = bars(v, edges)
    return go.Bar(
        x=(edges[:-1] + edges[1:]) / 2, y=[b.count for b in shown], width=np.diff(edges) * 0.95,
        name=name, marker_color=color, opacity=0.6,
        customdata=[[metric, b.lo, b.hi] for b in shown],
        hovertemplate="around %{x:.4g}<br>%{y}<extra></extra>")


def distributions(a: np.ndarray, b: np.ndarray, name: str, model_a: str = "A",
                  model_b: str = "B", n_bins: int = 30) -> tuple[go.Figure, go.Figure]:
    """A number metric: the distributions of A and B (one figure, shared bins) and of the
    paired difference A - B. The top 1% goes into the last bin when there are >100 values."""
    edges = _bins(np.concatenate([a, b]).astype(np.float64), n_bins)
    fig = go.Figure([_bar(a.astype(np.float64), edges, f"a.{name}", f"A: {plain(model_a)}",
                          COLOR_A),
                     _bar(b.astype(np.float64), edges, f"b.{name}", f"B: {plain(model_b)}",
                          COLOR_B)])
    fig.update_layout(barmode="overlay", height=280, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title=plain(name), yaxis_title="responses", clickmode="event+select",
                      dragmode=False, legend=dict(orientation="h", y=1.1))
    diff = a.astype(np.float64) - b
    dedges = _bins(diff, n_bins)
    dfig = go.Figure(_bar(diff, dedges, f"a-b.{name}", "A − B", COLOR_DIFF))
    dfig.add_vline(x=0, line_dash="dot", line_color="#555")
    dfig.update_layout(height=280, margin=dict(l=10, r=10, t=30, b=10),
                       xaxis_title=f"{plain(name)}: A − B (per example)", yaxis_title="examples",
                       clickmode="event+select", dragmode=False, showlegend=False)
    return fig, dfig


def ngram_bars(df, side: str, top: int = 20) -> go.Figure:
    """The ``top`` n-grams most characteristic of one side (``df`` from ngram_table), by
    z-score; a click keeps the examples containing the n-gram."""
    sub = df.head(top) if side == "a" else df.iloc[::-1].head(top)
    z = sub["z"].to_numpy()
    fig = go.Figure(go.Bar(
        y=[plain(g) for g in sub["ngram"].tolist()], x=np.abs(z), orientation="h",
        marker_color=COLOR_A if side == "a" else COLOR_B,
        customdata=sub["ngram"].tolist(),
        text=[f"A {a} · B {b}" for a, b in zip(sub["count_a"], sub["count_b"], strict=True)],
        textposition="inside",
        hovertemplate="%{y}: |z| %{x:.2f}<br>%{text}<extra></extra>"))
    fig.update_layout(height=max(220, 22 * len(sub) + 60), margin=dict(l=10, r=10, t=10, b=10),
                      xaxis_title="|z| (weighted log-odds, informative Dirichlet prior)",
                      yaxis=dict(autorange="reversed"), clickmode="event+select",
                      dragmode=False)
    return fig
