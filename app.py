"""comparator dashboard: `streamlit run app.py` (opens on the bundled demo)."""

from pathlib import Path

import streamlit as st

from comparator.ui import auth, view

# a local image: an icon name (":material/...:") makes the browser fetch it from a font server,
# and no page of this app requests anything beyond its own server
FAVICON = Path(__file__).resolve().parent / "comparator" / "ui" / "favicon.png"
st.set_page_config(page_title="comparator", page_icon=str(FAVICON), layout="wide")
auth.gate()  # first: nothing reads a file or the URL for someone who may not see data
view.persist()
st.navigation([
    st.Page("pages/overview.py", title="Overview", icon=":material/bar_chart:", default=True),
    st.Page("pages/findings.py", title="Findings", icon=":material/lightbulb:"),
    st.Page("pages/examples.py", title="Examples", icon=":material/table_rows:"),
    st.Page("pages/reliability.py", title="Judge reliability", icon=":material/balance:"),
    st.Page("pages/rate.py", title="Rate", icon=":material/thumbs_up_down:"),
    st.Page("pages/clusters.py", title="Clusters", icon=":material/bubble_chart:"),
    st.Page("pages/report.py", title="Report", icon=":material/summarize:"),
    st.Page("pages/metrics.py", title="Metrics", icon=":material/straighten:"),
    st.Page("pages/leaderboard.py", title="Leaderboard", icon=":material/leaderboard:"),
    st.Page("pages/data.py", title="Data", icon=":material/folder_open:"),
    st.Page("pages/generate.py", title="Generate", icon=":material/play_arrow:"),
    st.Page("pages/judge.py", title="Judge", icon=":material/gavel:"),
]).run()
