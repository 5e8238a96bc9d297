"""Leaderboard page helpers: battles of uploaded files (cached per file) and the open one."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from comparator.analysis.leaderboard import battles_of
from comparator.formats import InputError
from comparator.formats.battles import Battles
from comparator.ui.state import saved_upload


@st.cache_data(max_entries=32, show_spinner="Reading battles…")
def _file_battles(path: str, mtime: float, tie_threshold: float) -> tuple[Battles, list[str]]:
    return battles_of(Path(path), None, tie_threshold)


def uploaded_battles(files, tie_threshold: float) -> tuple[list[Battles], list[str]]:
    """(battles, problems) of the uploaded files; a file that cannot be read is reported in
    ``problems`` (one line each) and left out."""
    parts, problems = [], []
    for up in files or []:
        path = saved_upload(up)
        try:
            b, warnings = _file_battles(str(path), path.stat().st_mtime, tie_threshold)
        except (InputError, ValueError, OSError) as e:
            problems.append(f"{up.name}: {e}")
            continue
        parts.append(b)
        problems += [f"{up.name}: {w}" for w in warnings]
    return parts, problems
