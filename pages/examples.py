"""Examples: the filtered examples to read (prompt and both full responses side by side, shared
words highlighted, score badge and rater count) or as a compact table whose selected row opens
the side-by-side view."""

import math

import streamlit as st

from comparator.analysis.filters import SORTS, order, table
from comparator.ui import search, state, widgets
from comparator.ui.reading import reading_view

PAGE_SIZE = 50
READ_SIZES = (10, 25, 50)

page = widgets.analysis_page("Examples")
comp, mask, t, judges = page.comp, page.mask, page.t, page.judges
st.caption(f"{int(mask.sum()):,} of {len(comp.examples):,} · "
           f"{widgets.md_text(state.filters().describe())}")
query, meaning = search.box()
if query:
    found = search.hits(comp, mask, query, meaning)
    if not found:
        st.info("No example among the filtered ones matches the search.")
        st.stop()
    st.caption(f"Top {len(found)} matches, best first (match score: the search's ranking; "
               "judge score and winner: the judge's verdict).")
    event = st.dataframe(search.table(comp, found, t, judges), hide_index=True,
                         on_select="rerun", selection_mode="single-row",
                         key=f"ranked_{query}_{meaning}", column_config={"#": None})
    if event and event.selection.rows:
        st.session_state[state.SELECTED] = found[event.selection.rows[0]].index
    sel = st.session_state.get(state.SELECTED)
    if sel is not None and mask[sel]:
        st.divider()
        widgets.side_by_side(comp, sel, t, judges)
    st.stop()
c0, c1, c3, c2 = st.columns([1.2, 2, 1, 1])
mode = c0.segmented_control("View", ["Table", "Read"], default="Table", key="ex_view",
                            help="Table: compact, select a row for its judgments. Read: every "
                                 "prompt and both full responses side by side")
sort = c1.selectbox("Sort", list(SORTS), key=state.F_SORT)
reading = mode == "Read"
size = c3.selectbox("Per page", READ_SIZES, key="ex_read_size") if reading else PAGE_SIZE
rows = order(comp, mask, SORTS[sort], judges, st.session_state.get(state.F_CLUSTER))
pages = max(1, math.ceil(len(rows) / size))
if st.session_state.get(state.F_PAGE, 1) > pages:
    st.session_state[state.F_PAGE] = 1
number = c2.number_input(f"Page (of {pages})", 1, pages, key=state.F_PAGE)
shown = rows[(number - 1) * size: number * size]
if not len(shown):
    st.info("No example matches the filters.")
    st.stop()
if reading:
    reading_view(comp, shown, t, judges)
    st.caption("Green: words both responses share. Table view: select a row for every "
               "judgment and rationale.")
    st.stop()
event = st.dataframe(table(comp, shown, t, judges), hide_index=True, on_select="rerun",
                     selection_mode="single-row", key=f"table_{number}_{sort}",
                     column_config={"#": None})
picked = event.selection.rows if event else []
if picked:
    st.session_state[state.SELECTED] = int(shown[picked[0]])
sel = st.session_state.get(state.SELECTED)
if sel is None or not mask[sel]:
    st.caption("Select a row to see the example side by side.")
else:
    st.divider()
    widgets.side_by_side(comp, sel, t, judges)
