"""The summary of a comparison that ``stats --json``, reports and pages share."""

from __future__ import annotations

from typing import Any

from comparator.analysis import agreement, slice_table, summary
from comparator.analysis.agreement import agreement_by_slice, raters
from comparator.analysis.benchmarks import benchmark_figures
from comparator.analysis.human_vote import fleiss, human_selector
from comparator.analysis.length_control import lc_by_slice, lc_win_rate
from comparator.analysis.reliability import reliability
from comparator.analysis.significance import mark
from comparator.analysis.stats import default_judges
from comparator.formats import Loaded
from comparator.schema.errors import InputError
from comparator.schema.jsonsafe import clean


def stats_dict(loaded: Loaded, by: list[str], tie_threshold: float, ci_method: str,
               judge: str | None, human_vote: str = "mean") -> dict[str, Any]:
    comp = loaded.comparison
    judges = frozenset(judge.split(",")) if judge else default_judges(comp)
    names = comp.judges()
    if judge and not any(j in names or j.split(":")[0] in names for j in judges):
        raise ValueError(f"--judge {judge!r}: the file's judges are {names}")
    human = human_selector(human_vote)  # the human verdict: mean or majority of annotators
    if judges == frozenset(["human"]) or (judges is None and names == ["human"]):
        judges = frozenset([human])
    head = summary(comp, tie_threshold, judges, ci_method)
    out: dict[str, Any] = {
        "model_a": comp.model_a, "model_b": comp.model_b, "format": loaded.format,
        **head, "tie_threshold": tie_threshold, "ci_method": ci_method,
        "judges": names, "score_judges": sorted(judges) if judges else names,
        "human_vote": human_vote,
    }
    out.update(lc_win_rate(comp, tie_threshold, judges))
    out["slices"] = []
    for field in by:
        try:
            rows = slice_table(comp, field, tie_threshold, judges, ci_method)
        except KeyError as e:
            raise InputError(loaded.path, e.args[0], field=field) from None
        lc = lc_by_slice(comp, field, tie_threshold, judges)
        out["slices"] += [{**r, **lc[r["value"]]} for r in rows]
    if len(by) > 1:  # Benjamini–Hochberg over all the slices shown
        mark(out["slices"])

    out.update(reliability(comp, tie_threshold, judges))
    out.update(benchmark_figures(comp, tie_threshold))
    if len(raters(comp)) > 1:
        out["annotators"] = fleiss(comp, "human", tie_threshold)
    others = [n for n in names if n != "human"]
    out["human_agreement"] = None
    if "human" in names and others:
        out["human_agreement"] = {n: {**agreement(comp, n, human, tie_threshold), "slices": [
            row for field in by for row in agreement_by_slice(comp, n, human, field,
                                                              tie_threshold)]}
            for n in others}
    return clean(out)
