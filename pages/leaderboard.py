"""Leaderboard: Bradley–Terry ratings of several models from several comparison files."""

import pandas as pd
import streamlit as st

from comparator.analysis.leaderboard import combine, from_comparison, leaderboard
from comparator.reports.leaderboard_charts import rating_chart, win_matrix_heatmap
from comparator.ui import state
from comparator.ui.leaderboard import uploaded_battles

st.title("Leaderboard")
st.caption("Several models rated together: Arena battle logs (`model_a`, `model_b`, `winner`), "
           "AlpacaEval annotations of several models against one baseline, FastChat pair "
           "judgments, or any judged files; models are matched by name across files.")
files = st.file_uploader("Battle logs or judged files", accept_multiple_files=True,
                         key="lb_files")
loaded = state.current()
use_open = st.checkbox(f"Include the open comparison ({state.source_label()})", value=True,
                       key="lb_open", disabled=loaded is None)
rounds = st.select_slider("Bootstrap rounds", [0, 100, 200, 500, 1000], value=1000,
                          key="lb_rounds")
t = state.tie_threshold()
parts, problems = uploaded_battles(files, t)
for p in problems:
    st.warning(p)
if use_open and loaded is not None:
    parts.append(from_comparison(loaded.comparison, t, state.score_judges(loaded.comparison)))
battles = combine(parts)
if len(battles.models) < 2 or len(battles) == 0:
    st.info("Add comparison files (or include the open one) with at least two models.")
    st.stop()
lb = leaderboard(battles, rounds)
st.dataframe(pd.DataFrame([{
    "#": k, "model": m["name"], "rating": round(m["rating"], 1),
    "95% CI": "n/a" if not m["ci95"] else f"[{m['ci95'][0]:.0f}, {m['ci95'][1]:.0f}]",
    "battles": m["n"], "W / T / L": f"{m['wins']} / {m['ties']} / {m['losses']}",
} for k, m in enumerate(lb["models"], 1)]), hide_index=True)
st.caption(f"{lb['n_battles']:,} battles. Bradley–Terry maximum likelihood, {lb['scale']}; "
           f"ties count half to each side; 95% intervals from {lb['bootstrap_rounds']} "
           "bootstrap resamples of the battles.")
if not lb["connected"]:
    st.warning("These models do not form one connected comparison graph: ratings of models "
               "that never met (directly or through others) are not comparable.")
elif not lb["mle_exists"]:
    st.warning("A model never lost (or never won) against the others: its rating is unbounded "
               "and only shown capped.")
c1, c2 = st.columns(2)
c1.plotly_chart(rating_chart(lb["models"]), key="lb_ratings")
c2.plotly_chart(win_matrix_heatmap(lb["win_matrix"]), key="lb_matrix")
c2.caption("Predicted chance (%) that the row model beats the column model.")
