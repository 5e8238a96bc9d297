"""The Streamlit layer: the only part of comparator that imports streamlit.

``state``: session keys, the loaded comparison, shared filters and the URL query string.
``widgets``: the sidebar filters, the side-by-side view and other reusable pieces.
"""
