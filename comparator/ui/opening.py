"""Opening a file on the Data page, by upload or by path/URL alike: one form for the options a
file may need before it is read (its format, a table's column mapping, MT-Bench's question
file, the model pair of a file of several models), and a refusal said once, in the dashboard's
words, leaving the open comparison as it was (``state.open_path`` / ``state.open_upload`` read
first and change the session only once the file has loaded)."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import streamlit as st

from comparator.formats import FORMATS, InputError, LoadOptions, peek
from comparator.formats.common import Source
from comparator.formats.fetch import fetch_location, looks_like_url
from comparator.formats.tabular import resolve_columns
from comparator.schema.files import open_binary
from comparator.schema.settings import allowed_path
from comparator.ui import auth, state, view, widgets
from comparator.ui.text import md_text
from comparator.ui.wording import dashboard_words

Head = tuple[Source, bool]  # a bounded head of the file (peek.head) and whether it is all of it


def head_of(fileobj: BinaryIO, name: str | Path) -> Head | None:
    """The first MiB of a file (never read whole for a preview); None when its bytes cannot be
    read as text (then loading it says why)."""
    try:
        return peek.head(fileobj, name)
    except InputError:
        return None


def path_head(location: str) -> Head | None:
    """The head of the "Path or URL" file when it is a file inside the allowed folders (a URL
    is downloaded only by "Open"; anything else is refused then, with the reason)."""
    location = location.strip()
    if not location or looks_like_url(location):
        return None
    try:
        real = allowed_path(location)
        with open_binary(real) as f:
            return head_of(f, real)
    except (ValueError, OSError):
        return None


def file_options(kind: str, head: Head | None) -> tuple[str | None, LoadOptions]:
    """(format or None to detect it, LoadOptions) from the same controls for an upload
    (``kind`` "upload") and a path or URL (``kind`` "path"): the Format choice; for a table,
    its column mapping; for MT-Bench judgments, the question.jsonl file; the model pair."""
    fmt = st.selectbox("Format", ["auto-detect", *FORMATS], key=f"{kind}_format")
    fmt = None if fmt == "auto-detect" else fmt
    options = LoadOptions()
    detected = fmt
    if head is not None:
        src, complete = head
        try:
            detected = fmt or peek.detect(src, complete)
        except InputError as e:
            detected = "table"
            st.info(f"{md_text(dashboard_words(str(e)))}  \n"
                    "Map the columns below to read it as a table.")
        if detected == "table":
            try:
                columns = peek.columns(src, complete)
            except InputError as e:
                columns = []
                st.error(md_text(dashboard_words(str(e))))
            options.mapping = widgets.column_mapping(columns, resolve_columns(columns, {}),
                                                     key="map" if kind == "upload" else kind)
    if detected in ("mt-bench", "mt-bench-single"):
        q = st.file_uploader("MT-Bench question.jsonl (categories; optional)", type=["jsonl"],
                             key="questions" if kind == "upload" else f"{kind}_questions")
        if q is not None:
            options.questions = state.saved_upload(q)
    pair = st.text_input("Model pair for multi-pair files (A,B; optional)", key=f"{kind}_pair")
    if pair and len(pair.split(",")) == 2:
        options.pair = tuple(x.strip() for x in pair.split(","))
    return fmt, options


def refused(error: Exception, what: str = "Not opened") -> None:
    """Why a file was not opened: one message, in the dashboard's words (its controls, not the
    CLI's options), with a link to the page that reads it when that is another page."""
    message = dashboard_words(str(error))
    st.error(f"{what}: {md_text(message)}")
    if "the Leaderboard page" in message:
        st.page_link("pages/leaderboard.py", label="Open the Leaderboard page",
                     icon=":material/leaderboard:")


def open_location(location: str, fmt: str | None, options: LoadOptions) -> bool:
    """Open the "Path or URL" (a URL is downloaded first) with ``fmt`` and ``options``: a
    success message, or the reason it was refused (the open comparison unchanged)."""
    try:
        with st.spinner("Opening…"):
            state.open_path(fetch_location(location), fmt, options)
        view.write_view()  # the link to the new view, at once
    except (ValueError, OSError) as e:  # InputError is a ValueError
        auth.note("refused", path=location.strip(), reason=str(e))
        refused(e)
        return False
    st.success(f"Opened {md_text(location.strip())}.")
    return True


def open_upload(up, fmt: str | None, options: LoadOptions) -> bool:
    """Make the upload ``up`` the open comparison: a success message, or the reason it was
    refused (the open comparison unchanged)."""
    try:
        state.open_upload(up.name, up, fmt, options)
        view.write_view()
    except (ValueError, OSError) as e:
        refused(e, "Could not load")
        return False
    st.success(f"Loaded {md_text(up.name)}.")
    return True
