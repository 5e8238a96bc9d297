"""Metrics: built-in and user response metrics for A vs B (clicks filter), and the n-gram
panel."""

import streamlit as st

from comparator.ui import metrics_panel, widgets

page = widgets.analysis_page("Response metrics")
metrics_panel.active_filters()
if not page.mask.any():
    st.info("No example matches the filters.")
    st.stop()
metrics_panel.user_metric_form(page.comp)
metrics_panel.metric_charts(page)
st.divider()
metrics_panel.ngram_panel(page)
