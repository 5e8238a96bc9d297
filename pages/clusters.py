"""Clusters: why does A win? The judges' reasons grouped into themes, each with the share
favouring A vs B; the map and the table filter the examples."""

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from comparator.clustering import ClusterConfig, cluster_prompts, cluster_rationales
from comparator.reports.charts import cluster_color, reason_map
from comparator.ui import state, widgets

page = widgets.analysis_page("Rationale clusters")
comp = page.comp
info = comp.metadata.get("clusters") or {}

with st.expander("Cluster settings", expanded=not info.get("clusters")):
    c1, c2, c3, c4 = st.columns(4)
    what = c1.radio("Cluster", ["rationales", "prompts"], key="cl_what",
                    help="prompts: discovered categories, usable as a slice everywhere")
    method = c2.radio("Method", ["kmeans", "hdbscan"], key="cl_method")
    k = c3.slider("Clusters (k)", 2, 40, 8, key="cl_k", disabled=method != "kmeans")
    size = c3.slider("Min cluster size", 2, 200, 10, key="cl_min",
                     disabled=method != "hdbscan")
    with_map = c4.checkbox("2-D map (UMAP)", True, key="cl_map",
                           help="the first map in a server process compiles UMAP (~15 s, more "
                                "on 4k+ reasons); maps are cached on disk")
    use_llm = st.checkbox("An LLM writes the reasons and the cluster titles (default: the "
                          "offline splitter and keyword titles)", key="cl_use_llm")
    form = widgets.backend_form("cl_llm_{}", st.container(), sampling=False) if use_llm else None
    if c4.button("Run", type="primary"):
        try:
            llm = widgets.backend_of(form, "llm")[0] if use_llm else None
        except ValueError as e:
            st.error(widgets.md_text(str(e)))
            st.stop()
        cfg = ClusterConfig(method=method, k=k, min_cluster_size=size, seed=0,
                            with_map=with_map, tie_threshold=page.t, llm=llm,
                            llm_params=form["params"] if use_llm else None)
        comp = state.own_copy(page.loaded).comparison  # other sessions keep the original
        with st.spinner("Embedding and clustering… (the first run loads the model)"):
            run = (cluster_rationales if what == "rationales" else cluster_prompts)(comp, cfg)
        if run.n_items == 0:
            st.warning("No rationales to cluster in this file: its judgments carry none. "
                       "Cluster the prompts instead, or judge the pairs first (Judge page).")
        else:
            st.success(f"{len(run.clusters)} clusters over {run.n_items} {what} "
                       f"({run.unclustered} unclustered) in "
                       f"{sum(run.timings.values()):.1f} s.")
        state.set_cluster(None)
        state.set_picked(None)
        st.rerun()

info = comp.metadata.get("clusters") or {}
if not info.get("clusters"):
    st.info("No rationale clusters yet: choose the settings above and press Run.")
    st.stop()

clusters = info["clusters"]
table = pd.DataFrame([{
    "id": c["id"], "theme": c["title"], "keywords": ", ".join(c["keywords"]),
    "reasons": c["size"], "favour A": c["favours_a"], "favour B": c["favours_b"],
    "share A %": None if c["share_a"] is None else round(100 * c["share_a"], 1),
    "95% CI": None if c["share_a_ci95"] is None else
    f"[{100 * c['share_a_ci95'][0]:.0f}, {100 * c['share_a_ci95'][1]:.0f}]",
} for c in clusters])
boiler = (f", {info['boilerplate']} verdict-only sentences left out (\"Therefore, model A is "
          "ranked higher.\", \"Final verdict: [[A]]\")" if info.get("boilerplate") else "")
st.caption(f"{info['reasons']} reasons from the judges' rationales, {len(clusters)} clusters "
           f"({info['method']}), {info['unclustered']} unclustered{boiler}. Outputs are named "
           "A / B as in the file. Click a row to filter the examples to those with a reason in "
           "that cluster (closest first).")
picked = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                      key="cl_table")
rows = picked.selection.rows if picked else []
chosen = int(table.iloc[rows[0]]["id"]) if rows else None
if chosen != st.session_state.get(state.F_CLUSTER) and rows:
    state.set_cluster(chosen)
    st.rerun()

points = [(i, r) for i, ex in enumerate(comp.examples) for r in ex.get("reasons") or ()
          if r.get("x") is not None and page.mask[i]]
if points:
    color = st.radio("Colour by", ["cluster", "favoured model"], horizontal=True,
                     key="cl_color")
    title = {c["id"]: f"{c['id']}: {c['title']}" for c in clusters}
    groups = [title.get(r["cluster"], "unclustered") if color == "cluster" else
              {"A": "favours A", "B": "favours B"}.get(r.get("favours"), "neither")
              for _, r in points]
    # by cluster id in the full clustering: a cluster keeps its colour whatever the filter
    colours = {title[c]: cluster_color(c) for c in sorted(title)} if color == "cluster" else None
    fig = reason_map(np.array([r["x"] for _, r in points]), np.array([r["y"] for _, r in points]),
                     groups, np.array([i for i, _ in points]),
                     [r["text"][:140] for _, r in points],
                     "reasons (box or lasso select to filter the examples)", colours)
    st.plotly_chart(fig, on_select=partial(state.on_map_select, "cl_map_chart"),
                    selection_mode=("box", "lasso"), key="cl_map_chart")
else:
    st.caption("No 2-D map for these clusters (run with the map to draw it).")
if st.session_state.get(state.F_CLUSTER) is not None or st.session_state.get(state.F_PICKED):
    st.page_link("pages/examples.py", label=f"Show the {int(page.mask.sum()):,} examples →",
                 icon=":material/table_rows:")
