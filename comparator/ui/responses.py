"""Every response the dashboard shows (side by side, each turn of a conversation, the reading
view, the reference answer, the rationales, the Rate page) goes through here: rendered by
``comparator.reports.markdown_safe.render`` (safe HTML: nothing from a file runs, loads or
links) and shown with ``st.html``. One control chooses Markdown or the exact raw text; the choice
is kept for the session and in the URL (``?render=raw``)."""

from __future__ import annotations

import streamlit as st

from comparator.reports.markdown_safe import CSS, pair_html, render

LABELS = {"markdown": "Markdown", "raw": "Raw"}
_MODE = "render_mode"  # the session's choice (kept across pages)
_WIDGET = "render_mode_widget"
_QP = "render"


def mode() -> str:
    """The current display mode: 'markdown' (default) or 'raw' (from the URL at first)."""
    ss = st.session_state
    if _MODE not in ss:
        ss[_MODE] = "raw" if st.query_params.get(_QP) == "raw" else "markdown"
    return ss[_MODE]


def _changed() -> None:
    picked = st.session_state.get(_WIDGET)
    if picked:  # a click on the selected option deselects it: keep the mode
        st.session_state[_MODE] = picked


def style() -> None:
    """The responses' stylesheet (no space on the page)."""
    st.html(f"<style>{CSS}</style>")


def control(where=None) -> str:
    """The Markdown / Raw switch (in ``where``, a column or the page) and the stylesheet;
    returns the mode."""
    style()
    ss = st.session_state
    ss[_WIDGET] = mode()
    (where or st).segmented_control(
        "Responses", list(LABELS), format_func=LABELS.get, key=_WIDGET, on_change=_changed,
        help="Markdown: headings, lists, tables and highlighted code (links and images are "
             "shown as text, never followed). Raw: the exact text, every space kept.")
    if ss[_MODE] == "raw":
        st.query_params[_QP] = "raw"
    elif _QP in st.query_params:
        del st.query_params[_QP]
    return ss[_MODE]


def show(where, text: str, empty: str = "(empty)") -> None:
    """One text (a reference answer, a rationale) rendered in the current mode."""
    if text:
        where.html(render(text, mode()))
    else:
        where.caption(empty)


def pair(ca, cb, a: str, b: str, shared: bool = False) -> None:
    """Two responses in columns ``ca`` and ``cb``: the words only one has highlighted (or,
    ``shared``, the runs both share)."""
    ha, hb = pair_html(a, b, mode(), shared)
    for col, text, html in ((ca, a, ha), (cb, b, hb)):
        if text:
            col.html(html)
        else:
            col.caption("(empty)")
