"""The Overview's "Benchmark figures" panel: the figures a benchmark reports for its own files
(Arena-Hard's score, MT-Bench single-grade means per model and turn, a JudgeBench judge's
accuracy against the gold label, overall and per source), from ``benchmark_figures``, the
function ``stats --json`` uses, shown as the reports show them (``benchmark_rows``, whose
labels already show their invisible characters)."""

from __future__ import annotations

import streamlit as st

from comparator.analysis.benchmarks import benchmark_figures
from comparator.reports.tables import BENCHMARK, benchmark_rows
from comparator.schema.records import Comparison
from comparator.ui.text import md_text


def benchmark_panel(comp: Comparison, tie_threshold: float) -> None:
    """A table of the figures; nothing for a file no benchmark figure applies to."""
    rows = benchmark_rows(benchmark_figures(comp, tie_threshold))
    if not rows:
        return
    st.subheader("Benchmark figures")
    st.caption(f"Over all {len(comp.examples):,} examples of the file (the filters do not "
               f"apply), tie threshold ±{tie_threshold}: as `stats --json` and the reports "
               "give them.")
    lines = ["| " + " | ".join(BENCHMARK) + " |", "|---|--:|---|--:|"]
    lines += ["| " + " | ".join(md_text(str(c)) for c in row) + " |" for row in rows]
    st.markdown("\n".join(lines))
