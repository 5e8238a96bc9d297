"""Pairwise statistics: win rates with intervals, slices, position consistency, agreement.

Pure functions over a ``Comparison``; no Streamlit. See ``stats`` and ``agreement``.
"""

from comparator.analysis.agreement import agreement
from comparator.analysis.stats import (
    Derived,
    derive,
    position_consistency,
    slice_table,
    slice_values,
    summarize,
    summary,
)

__all__ = ["Derived", "agreement", "derive", "position_consistency", "slice_table",
           "slice_values", "summarize", "summary"]
