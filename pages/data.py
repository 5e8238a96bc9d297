"""Data: choose a bundled demo, open a file path or URL, or upload a judged file; see its
validation report."""

import streamlit as st

from comparator.analysis.stats import judgment_counts
from comparator.formats import LoadOptions
from comparator.ui import opening, state, widgets

st.title("Data")
demos = state.demos()
st.subheader("Bundled demos")
labels = list(demos)
cur = state.source_label()
choice = st.radio("Open a demo", labels, index=labels.index(cur) if cur in labels else None,
                  key="demo_choice")
if choice and choice != cur and st.session_state.get(state.SOURCE, ("demo",))[0] == "demo":
    state.open_demo(choice)
    st.rerun()
if choice and st.button("Open this demo", disabled=choice == cur):
    state.open_demo(choice)
    st.rerun()

st.subheader("Open a file on this server or a URL")
st.caption("A file inside this server's $COMPARATOR_HOME (its runs) or the folders it allows "
           "(COMPARATOR_DATA_DIRS), or an http(s) URL under a prefix it allows "
           "(COMPARATOR_URL_PREFIXES); the format is detected, or chosen below.")
location = st.text_input("Path or URL", key="open_location")
path_fmt, path_options = (  # the upload's options, read from the file's head when it is a path
    opening.file_options("path", opening.path_head(location)) if location.strip()
    else (None, LoadOptions()))
if st.button("Open"):
    opening.open_location(location, path_fmt, path_options)

st.subheader("Upload a judged file")
st.caption("Native JSONL, LLM Comparator JSON, FastChat MT-Bench judgments (pairwise or "
           "single grades), Arena-Hard-Auto judgments, JudgeBench outputs, AlpacaEval "
           "annotations, LLMBar, PandaLM, Arena battles with their conversations, or any "
           "CSV/TSV/JSONL table with a column mapping. The format is detected from the content. "
           "An Arena battle log (model_a, model_b, winner only) ranks models: open it on the "
           "Leaderboard page.")
up = st.file_uploader("File", type=["jsonl", "json", "csv", "tsv"], key="upload")
if up is not None:
    fmt, options = opening.file_options("upload", opening.head_of(up, up.name))
    if st.button("Load", type="primary"):
        opening.open_upload(up, fmt, options)

loaded = state.current()
if loaded is not None:
    comp = loaded.comparison
    st.subheader("Validation report")
    by_status = judgment_counts(comp)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Examples", f"{len(comp.examples):,}")
    c2.metric("Judgments ok", f"{by_status['ok']:,}")
    c3.metric("Unscored", f"{by_status['unscored']:,}")
    c4.metric("Errors", f"{by_status['error']:,}")
    st.caption(f"{widgets.md_text(comp.model_a)} (A) vs {widgets.md_text(comp.model_b)} (B) · "
               f"format {loaded.format} · judges: "
               f"{widgets.md_text(', '.join(comp.judges()) or 'none')}")
    mapping = comp.metadata.get("column_mapping")
    if mapping:
        st.markdown("**Read as a table** — which column became which field (change it with the "
                    "column mapping above and load again):")
        st.dataframe([{"field": k, "column": v} for k, v in mapping.items()], hide_index=True)
    for w in loaded.warnings[:50]:
        st.warning(widgets.md_text(w))
