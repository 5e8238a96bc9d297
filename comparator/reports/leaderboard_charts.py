"""Plotly figures of the Leaderboard page (ratings with intervals, predicted win matrix)."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from comparator.reports.charts import COLOR_A, plain


def rating_chart(models: list[dict[str, Any]]) -> go.Figure:
    """Ratings with their bootstrap 95% intervals, best on top."""
    names = [plain(m["name"]) for m in models][::-1]
    r = np.array([m["rating"] for m in models])[::-1]
    ci = np.array([m["ci95"] or [m["rating"]] * 2 for m in models])[::-1]
    fig = go.Figure(go.Scatter(
        x=r, y=names, mode="markers", marker=dict(size=9, color=COLOR_A),
        error_x=dict(type="data", symmetric=False, array=ci[:, 1] - r, arrayminus=r - ci[:, 0]),
        hovertemplate="%{y}: %{x:.0f}<extra></extra>"))
    fig.add_vline(x=1000, line_dash="dot", line_color="#9e9e9e")
    fig.update_layout(height=max(220, 28 * len(models) + 80), margin=dict(l=10, r=10, t=30,
                      b=10), xaxis_title="rating (400·log10, mean 1000) with 95% interval")
    return fig


def win_matrix_heatmap(win: dict[str, Any]) -> go.Figure:
    """P(row beats column) predicted by the ratings, in %."""
    z = np.round(100 * np.array(win["matrix"]), 0)
    np.fill_diagonal(z, np.nan)  # a model against itself: no colour, "—" as its text
    text = [["—" if i == j else f"{v:.0f}" for j, v in enumerate(row)]
            for i, row in enumerate(100 * np.array(win["matrix"]))]
    names = [plain(m) for m in win["models"]]
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="RdBu",
                               zmin=0, zmax=100, text=text, texttemplate="%{text}",
                               hoverongaps=False,
                               hovertemplate="%{y} beats %{x}: %{z:.0f}%<extra></extra>"))
    fig.update_layout(height=max(300, 40 * len(win["models"]) + 120),
                      margin=dict(l=10, r=10, t=30, b=10),
                      yaxis=dict(title="model", autorange="reversed"), xaxis_title="opponent")
    return fig
