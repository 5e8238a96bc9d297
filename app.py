"""comparator dashboard: `streamlit run app.py` (opens on the bundled demo)."""

import streamlit as st

from comparator.ui import state

st.set_page_config(page_title="comparator", page_icon="⚖️", layout="wide")
state.persist()
st.navigation([
    st.Page("pages/overview.py", title="Overview", icon="📊", default=True),
    st.Page("pages/examples.py", title="Examples", icon="🔍"),
    st.Page("pages/reliability.py", title="Judge reliability", icon="⚖️"),
    st.Page("pages/data.py", title="Data", icon="📂"),
]).run()
