"""A report's figures: one view of a comparison (filters, slice fields, judges, tie threshold,
CI method) -> every number in it, built with comparator.analysis' functions.

``report.data["stats"]`` is exactly what ``stats --json`` prints for the filtered examples (the
same ``StatsResult`` makes both; ``report.stats`` is the typed result), so the headline and
slices have the same field names; ``data["findings"]`` is what ``findings --json`` prints for
the view (comparator.reports.findings). Everything in ``data`` but ``provenance.created`` is a
function of the file's bytes and the spec.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from comparator import __version__
from comparator.analysis import expr
from comparator.analysis.clusters import reason_clusters
from comparator.analysis.filters import apply
from comparator.analysis.human_vote import human_selector
from comparator.analysis.people import people_report
from comparator.analysis.result import StatsResult, judge_selection, stats_result
from comparator.analysis.stats import DEFAULT_CI, OUTCOMES, default_judges, derive, outcomes
from comparator.clustering.rationale import oriented_rationale
from comparator.formats import Loaded
from comparator.reports.findings import DEFAULT_DEPTH, report_findings
from comparator.schema.digest import file_sha256
from comparator.schema.jsonsafe import clean
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD, SCORE_MAX, SCORE_MIN
from comparator.schema.records import prompt_text, response_text

EXAMPLE_CHOICES = ("largest", "random", "selected")
HIST_BINS = 24


@dataclass
class ViewSpec:
    """What a report shows. ``filters`` are expressions (comparator.analysis.expr)."""

    filters: list[str] = field(default_factory=list)
    by: list[str] = field(default_factory=list)
    judge: str | None = None  # comma-separated judge names, as ``stats --judge``
    tie_threshold: float = DEFAULT_TIE_THRESHOLD
    ci_method: str = DEFAULT_CI
    human_vote: str = "mean"  # several annotators' verdict: mean or majority (stats --human-vote)
    examples: int = 10
    choice: str = "largest"  # largest |score| first, a seeded random sample, or the picked ids
    seed: int = 0
    picked: list[str] = field(default_factory=list)  # example ids, for choice="selected"
    ratings: list[str] = field(default_factory=list)  # Rate-page ratings files (People vs judge)
    swap: bool = False  # A and B swapped (comparator.schema.swap): the loaded file is swapped
    findings: bool = True  # the Findings section (comparator.findings on the view)
    findings_depth: int = DEFAULT_DEPTH  # conditions per finding at most

    def command(self, input_name: str, fmt: str | None = None, output: str = "report.html"
                ) -> str:
        """The ``python -m comparator report`` command line that reproduces this view."""
        args = ["python", "-m", "comparator", "report", input_name]
        if fmt:
            args += ["--format", fmt]
        if self.swap:
            args += ["--swap"]
        for f in self.by:
            args += ["--by", f]
        for e in self.filters:
            args += ["--filter", e]
        if self.judge:
            args += ["--judge", self.judge]
        if self.tie_threshold != DEFAULT_TIE_THRESHOLD:
            args += ["--tie-threshold", repr(self.tie_threshold)]
        if self.ci_method != DEFAULT_CI:
            args += ["--ci", self.ci_method]
        if self.human_vote != "mean":
            args += ["--human-vote", self.human_vote]
        if self.ratings:
            args += ["--ratings", *self.ratings]
        if not self.findings:
            args += ["--no-findings"]
        elif self.findings_depth != DEFAULT_DEPTH:
            args += ["--findings-depth", str(self.findings_depth)]
        args += ["--examples", str(self.examples)]
        if self.choice == "random":
            args += ["--sample", str(self.seed)]
        elif self.choice == "selected":
            args += ["--pick", ",".join(self.picked)]
        return shlex.join([*args, "-o", output])


@dataclass
class Report:
    data: dict[str, Any]  # JSON-safe: every figure of the report
    mask: np.ndarray  # the filtered examples
    loaded: Loaded | None  # None: the figures of a SQL engine (reports/sql_report.py)
    spec: ViewSpec
    stats: StatsResult  # data["stats"], typed


def build(loaded: Loaded, spec: ViewSpec, *, sha256: str | None = None,
          created: datetime | None = None, made_by: str | None = None) -> Report:
    """Every figure of the view; raises ValueError / KeyError / InputError on a bad spec.
    ``made_by``: the signed-in identity that made it (a team server's dashboard)."""
    if spec.choice not in EXAMPLE_CHOICES:
        raise ValueError(f"example choice must be one of {EXAMPLE_CHOICES}, got {spec.choice!r}")
    if spec.ratings:  # as stats --ratings: the ratings are the human verdicts
        from comparator.ratings.merge import merge_ratings

        loaded = merge_ratings(loaded, [Path(p) for p in spec.ratings])
    comp = loaded.comparison
    filters = expr.parse(spec.filters)
    judges = frozenset(spec.judge.split(",")) if spec.judge else default_judges(comp)
    mask = apply(comp, filters, spec.tie_threshold, judges)
    view = loaded if mask.all() else replace(
        loaded, comparison=comp.subset([comp.examples[i] for i in np.flatnonzero(mask)]))
    stats = stats_result(view, spec.by, spec.tie_threshold, spec.ci_method, spec.judge,
                         spec.human_vote, rated=bool(spec.ratings))
    people = None
    if spec.ratings:
        people = people_report(view.comparison, spec.tie_threshold, tuple(spec.by),
                               human_selector(spec.human_vote))
        if not people["n_rated"]:  # only skipped or filtered-out ratings: nothing to compare
            people = None
    score = derive(comp, judges).score
    counts, edges = np.histogram(score[mask & ~np.isnan(score)], bins=np.linspace(
        SCORE_MIN, SCORE_MAX, HIST_BINS + 1))
    if sha256 is None and loaded.path is not None and Path(loaded.path).is_file():
        sha256 = file_sha256(Path(loaded.path))
    name = Path(loaded.path).name if loaded.path is not None else "(upload)"
    data = {
        "kind": "comparator.report", "schema_version": 1,
        "provenance": {
            "input": name, "sha256": sha256, "format": loaded.format,
            "filters": list(spec.filters), "filter_description": filters.describe(),
            "by": list(spec.by), "tie_threshold": spec.tie_threshold,
            "judges": stats.score_judges, "ci_method": spec.ci_method,
            "human_vote": spec.human_vote, "ratings": [Path(r).name for r in spec.ratings],
            **({"swapped": True} if spec.swap else {}),  # A and B (comparator.schema.swap)
            "examples": {"n": spec.examples, "choice": spec.choice, "seed": spec.seed,
                         "picked": list(spec.picked)},
            "tool": "comparator", "version": __version__,
            "created": (created or report_time()).isoformat(timespec="seconds"),
            "command": spec.command(name, loaded.format, "report.html"),
            **({"made_by": made_by} if made_by else {}),
        },
        "n_total": len(comp.examples), "n_filtered": int(mask.sum()),
        "stats": stats.to_json(),
        "score_histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        "clusters": reason_clusters(comp, mask),
        "people": people,
        "findings": report_findings(comp, mask, judge_selection(comp, spec.judge,
                                                                spec.human_vote),
                                    spec.tie_threshold, spec.findings_depth)
        if spec.findings else None,
        "examples": [_example(loaded, i, score, spec.tie_threshold)
                     for i in choose_examples(loaded, mask, score, spec)],
    }
    return Report(clean(data), mask, loaded, spec, stats)


def report_time() -> datetime:
    """When a report is made: now, or ``SOURCE_DATE_EPOCH`` (seconds since 1970, the
    reproducible-builds convention) when it is set, so that the dashboard and the CLI write the
    same bytes for the same view."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return datetime.now(UTC)
    try:
        return datetime.fromtimestamp(int(epoch), UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"SOURCE_DATE_EPOCH={epoch!r}: the report's time must be whole "
                         "seconds since 1970-01-01 UTC (e.g. 1767225600), or unset it") from None


def choose_examples(loaded: Loaded, mask: np.ndarray, score: np.ndarray, spec: ViewSpec
                    ) -> list[int]:
    """Indices of the examples the report shows."""
    rows = np.flatnonzero(mask)
    n = max(0, spec.examples)
    if spec.choice == "selected":
        want = set(spec.picked)
        return [i for i, ex in enumerate(loaded.comparison.examples) if ex["id"] in want][:n]
    if spec.choice == "random":
        rng = np.random.default_rng(spec.seed)
        return sorted(rng.choice(rows, min(n, len(rows)), replace=False).tolist())
    key = np.nan_to_num(np.abs(score[rows]), nan=-1.0)  # unscored last
    return rows[np.argsort(-key, kind="stable")][:n].tolist()


def _example(loaded: Loaded, i: int, score: np.ndarray, t: float) -> dict[str, Any]:
    ex = loaded.comparison.examples[i]
    s = score[i]
    turns = [m["content"] for m in ex.get("messages") or () if m["role"] == "user"]
    return {
        "index": int(i), "id": ex["id"], "category": ex.get("category"),
        "tags": list(ex.get("tags") or []),
        "prompt": prompt_text(ex), "user_turns": turns,
        "response_a": response_text(ex["response_a"]),
        "response_b": response_text(ex["response_b"]),
        "score": None if np.isnan(s) else float(s),
        "winner": OUTCOMES[int(outcomes(np.array([s]), t)[0])],
        "judgments": [{"judge": j.get("judge"), "rater": j.get("rater"),
                       "status": j.get("status", "ok"), "score": j.get("score"),
                       "flipped": j.get("flipped"),
                       "rationale": oriented_rationale(j) or j.get("raw") or ""}
                      for j in ex.get("judgments") or ()],
    }

