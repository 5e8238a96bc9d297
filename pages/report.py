"""Report: the current view (filters, slice fields, judge, tie threshold, interval) as a
self-contained HTML, Markdown, CSV or JSON download, with the link and the command line that
reproduce it."""

import re

import streamlit as st

from comparator.formats import InputError
from comparator.ui import report as rep
from comparator.ui import state, widgets

page = widgets.analysis_page("Report")
st.caption(f"{int(page.mask.sum()):,} of {len(page.comp.examples):,} examples · "
           + widgets.md_text(state.filters().describe()))
spec = rep.controls(page.loaded)
try:
    report = rep.make(page.loaded, spec)
except (ValueError, KeyError, InputError, re.error) as e:
    st.error("Cannot build the report: " + widgets.md_text(str(e.args[0] if e.args else e)))
    st.stop()
st.subheader("Download")
rep.downloads(report, f"report-{page.comp.model_a}-vs-{page.comp.model_b}")
st.markdown("**Reproduce this view** from the command line:")
st.code(spec.command(rep.input_name(page.loaded), page.loaded.format,
                     "report.html"), language="bash")
st.markdown("**Link to this view** (for files this server may open):")
st.code(rep.view_link(), language=None)
if st.session_state.get(state.SOURCE, ("",))[0] == "upload" and not \
        st.session_state.get(state.UPLOAD_PATH):
    st.caption("This comparison exists only in this session (an upload read with a chosen "
               "format or column mapping, or a copy changed here, e.g. by a clustering run): "
               "the link carries the filters but not the file.")
st.subheader("Preview")
rep.preview(report)
