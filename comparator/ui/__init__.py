"""The Streamlit layer: the only part of comparator that imports streamlit.

``state``: session keys, the loaded comparison, shared filters and the URL query string.
``widgets``: the sidebar filters, the side-by-side view and other reusable pieces.
"""


def _leave_pages_folder_mode() -> None:
    """app.py's st.navigation is the only navigation. Streamlit starts a server in its old
    ``pages/``-folder mode (it sees ``pages/`` beside app.py) and leaves it only when app.py has
    called st.navigation; a deep link (``/data``) on a fresh server would run pages/data.py
    alone, with the folder's navigation. The first page that imports this package in that mode
    switches the server to st.navigation mode and reruns, so app.py draws the page instead.
    (Streamlit has no setting for this; ``PagesManager.uses_pages_directory`` is the flag it
    checks before each run.)"""
    try:  # inside a guard: PagesManager is Streamlit's private API and may move
        import streamlit as st
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # another Streamlit layout: nothing to do
        return
    if PagesManager.uses_pages_directory and st.runtime.exists():
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_pages_folder_mode()
