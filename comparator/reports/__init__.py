"""Presentation that needs no Streamlit: plotly figures and word-level text diffs."""
