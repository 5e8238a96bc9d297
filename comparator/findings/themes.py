"""Why a finding holds: the rationale themes over-represented among its examples' reasons
(``comparator.clustering.themes``: the file's rationale clusters, clustered as properties of
the preferred response, so a theme's share of reasons favouring A or B says which model the
judge credits with it). A file without clusters has no themes (cluster its reasons first)."""

from __future__ import annotations

from typing import Any

import numpy as np

from comparator.clustering.themes import reason_themes, theme_lift
from comparator.schema.records import Comparison

TOP = 3


def reason_themes_of(comp: Comparison):
    return reason_themes(comp)


def lift(themes, members: np.ndarray, top: int = TOP, exclude: set[int] = frozenset()
         ) -> list[dict[str, Any]]:
    """The themes of a finding's examples (``[]`` without clusters), but those that define
    the finding (a ``cluster=N`` condition: its own theme is over-represented by definition)."""
    if themes is None:
        return []
    rows = theme_lift(themes, members, top=top + len(exclude))
    return [r for r in rows if r["theme"] not in exclude][:top]
