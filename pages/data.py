"""Data: choose a bundled demo, open a file path or URL, or upload a judged file; see its
validation report."""

import streamlit as st

from comparator.analysis.stats import judgment_counts
from comparator.formats import FORMATS, InputError, LoadOptions, peek
from comparator.formats.fetch import fetch_location
from comparator.formats.tabular import resolve_columns
from comparator.ui import state, widgets

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
st.caption("A file inside the folders this server allows (COMPARATOR_DATA_DIRS), or an http(s) "
           "URL under a prefix it allows (COMPARATOR_URL_PREFIXES); the format is detected.")
location = st.text_input("Path or URL", key="open_location")
if st.button("Open"):
    try:
        with st.spinner("Opening…"):
            opened = fetch_location(location)
        state.open_path(opened)
        st.success(f"Opened {widgets.md_text(location.strip())}.")
    except ValueError as e:
        st.error(f"Not opened: {widgets.md_text(str(e))}")

st.subheader("Upload a judged file")
st.caption("Native JSONL, LLM Comparator JSON, FastChat MT-Bench judgments (pairwise or "
           "single grades), Arena battles, Arena-Hard-Auto judgments, JudgeBench outputs, "
           "AlpacaEval annotations, LLMBar, PandaLM, or any CSV/TSV/JSONL table with a column "
           "mapping. The format is detected from the content.")
up = st.file_uploader("File", type=["jsonl", "json", "csv", "tsv"], key="upload")
if up is not None:
    fmt = st.selectbox("Format", ["auto-detect", *FORMATS], key="upload_format")
    fmt = None if fmt == "auto-detect" else fmt
    options = LoadOptions()
    src = None
    try:  # from the first MiB only: the upload is not copied whole in memory
        src, complete = peek.head(up, up.name)  # refuses binary or wrongly encoded bytes
        detected = fmt or peek.detect(src, complete)
    except InputError as e:
        detected = "table" if src is not None else None  # unreadable bytes: "Load" says why
        if src is not None:
            st.info(f"{e}  \nMap the columns below to read it as a table.")
    if detected == "table" and src is not None:
        try:
            columns = peek.columns(src, complete)
        except InputError as e:
            columns = []
            st.error(widgets.md_text(str(e)))
        options.mapping = widgets.column_mapping(columns, resolve_columns(columns, {}))
    src = None  # the head is not needed any more
    if detected == "mt-bench":
        q = st.file_uploader("MT-Bench question.jsonl (categories; optional)", type=["jsonl"],
                             key="questions")
        if q is not None:
            options.questions = state.saved_upload(q)
    pair = st.text_input("Model pair for multi-pair files (A,B; optional)", key="upload_pair")
    if pair and len(pair.split(",")) == 2:
        options.pair = tuple(x.strip() for x in pair.split(","))
    if st.button("Load", type="primary"):
        try:
            state.open_upload(up.name, up, fmt, options)
            st.success(f"Loaded {widgets.md_text(up.name)}.")
        except InputError as e:
            st.error(f"Could not load: {widgets.md_text(str(e))}")
        except ValueError as e:
            st.error(f"Could not load {widgets.md_text(up.name)}: {widgets.md_text(str(e))}")

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
