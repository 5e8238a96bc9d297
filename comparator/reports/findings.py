"""The report's Findings section: ``comparator.findings.find`` on the report's view (its judges,
tie threshold and filtered examples), shared by the HTML and Markdown renderers as display
strings (sentences, one table row per finding, the judge biases) and kept whole in the JSON.

A report without ``--filter`` holds the findings of the whole comparison under its judges and
tie threshold (what the Overview shows); a filtered report is about a view, so its findings are
those found among the view's examples (``find(comp, cfg, mask)``). The section says which
examples they were found among and how many conjunctions were tested (``method``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from comparator.findings import FindingsConfig, find
from comparator.findings.sentences import p_text, points
from comparator.reports.tables import fmt_ci, fmt_pct, shown
from comparator.schema.records import Comparison

DEFAULT_DEPTH = 2
FINDINGS = ["#", "where", "filter", "n", "win rate A", "95% CI", "rest", "difference",
            "adjusted p", "confirmed", "top theme"]


def report_findings(comp: Comparison, mask: np.ndarray, judges: Any, tie_threshold: float,
                    depth: int) -> dict[str, Any]:
    """``find()`` of the view: of the whole comparison when ``mask`` keeps every example (the
    Overview's findings, same cache entry), else of the examples in ``mask``."""
    cfg = FindingsConfig(depth=depth, tie_threshold=tie_threshold, judges=judges)
    return find(comp, cfg, None if mask.all() else mask)


def findings_intro(d: dict[str, Any]) -> str:
    """Which examples the findings were found among, and how (plain text: escape it)."""
    f = d["findings"]
    among = (f"all {f['n_scored']:,} scored examples of the comparison"
             if d["n_filtered"] == d["n_total"] else
             f"the {f['n_scored']:,} scored examples of this view "
             f"({d['provenance']['filter_description']}), not the whole comparison")
    found = (f"{len(f['findings'])} finding(s) with adjusted p < 0.05 among {among}"
             if f["findings"] else f"No slice differs from the rest after correction "
             f"among {among}")
    return f"{found}; {f['tested']:,} conjunctions tested. Method: {f['method']}."


def finding_rows(f: dict[str, Any]) -> list[list[Any]]:
    """One row of figures per finding (``FINDINGS``), numbered as the sentences."""
    rows = []
    for k, x in enumerate(f["findings"], 1):
        theme = x["themes"][0] if x.get("themes") else None
        rows.append([k, " and ".join(x["labels"]), x["filter"], x["n"],
                     fmt_pct(x["win_rate_a"]), fmt_ci(x["win_rate_a_ci95"]),
                     fmt_pct(x["rest_win_rate_a"]), points(x["difference"]),
                     p_text(x["p_adjusted"]).removeprefix("= "),
                     "✓" if x["confirmed"] else "no",
                     "" if theme is None else f"{theme['title']} ({theme['lift']:.1f}×)"])
    return shown(rows)
