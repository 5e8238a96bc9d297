"""``report --engine duckdb|spark``: the report of Parquet files (one file, a folder of shards,
a glob) whose figures the SQL engines compute (``analysis/sql_stats.py``): the headline with
its intervals and the slices by category, tags and judge, in HTML, Markdown or JSON.

``data["stats"]`` is exactly what ``stats --engine ENGINE --json`` prints for the same input
and options. What needs every example in memory (examples, score distribution, findings,
rationale clusters, position consistency, length control, reliability, agreement with people)
is not in it; the report lists those under ``not_computed`` and says so in words. The renderers
are those of every report (``html.render_html``, ``export.render_markdown``)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import numpy as np

from comparator import __version__
from comparator.analysis.sql_stats import parquet_files, sql_json, sql_stats
from comparator.reports.build import Report, ViewSpec, report_time
from comparator.schema.digest import file_sha256
from comparator.schema.jsonsafe import clean

# what a report of the SQL engines leaves out, besides the stats keys of sql_stats.NOT_COMPUTED
SECTIONS = ("examples", "score_histogram", "findings", "clusters")
NOT_IN_REPORT = ("examples and the CSV of examples, the score distribution, findings, rationale "
                 "clusters, position consistency, length control, judge reliability and "
                 "agreement with people are computed with --engine local")


def build_sql(path: str | Path, engine: str, spec: ViewSpec, master: str | None = None,
              remote: str | None = None, made_by: str | None = None, spark: Any = None
              ) -> Report:
    """The report of the Parquet ``path`` by ``engine`` for ``spec``'s ``by``, ``judge``,
    ``tie_threshold``, ``ci_method`` and ``human_vote`` (the other settings need the examples
    in memory: the CLI refuses them). ``spark``: a session to use (``sql_stats``)."""
    files = parquet_files(path)
    s = sql_stats(path, engine, spec.by, spec.tie_threshold, spec.ci_method, spec.judge,
                  spec.human_vote, master, remote, spark)
    stats = sql_json(s, engine)
    one = len(files) == 1 and Path(path).is_file()
    data: dict[str, Any] = {
        "kind": "comparator.report", "schema_version": 1, "engine": engine,
        "provenance": {
            "input": Path(path).name if one else f"{path} ({len(files)} Parquet files)",
            "sha256": file_sha256(files[0]) if one else None, "format": "parquet",
            "filters": [], "filter_description": "all examples", "by": list(spec.by),
            "tie_threshold": spec.tie_threshold, "judges": s.score_judges,
            "ci_method": spec.ci_method, "human_vote": spec.human_vote, "ratings": [],
            "engine": engine, "tool": "comparator", "version": __version__,
            "created": report_time().isoformat(timespec="seconds"),
            "command": command(str(path), engine, spec, master, remote),
            **({"made_by": made_by} if made_by else {}),
        },
        "n_total": s.n, "n_filtered": s.n, "stats": stats,
        "score_histogram": None, "clusters": [], "people": None, "findings": None,
        "examples": [], "not_computed": [*SECTIONS, *stats["not_computed"]],
        "not_computed_note": NOT_IN_REPORT,
    }
    return Report(clean(data), np.ones(s.n, dtype=bool), None, spec, s)


def command(path: str, engine: str, spec: ViewSpec, master: str | None,
            remote: str | None) -> str:
    """The command line that makes this report again."""
    args = ["python", "-m", "comparator", "report", path, "--engine", engine]
    args += ["--spark-master", master] if master else []
    args += ["--spark-remote", remote] if remote else []
    for f in spec.by:
        args += ["--by", f]
    if spec.judge:
        args += ["--judge", spec.judge]
    args += ["--tie-threshold", repr(spec.tie_threshold), "--ci", spec.ci_method,
             "--human-vote", spec.human_vote]
    return shlex.join([*args, "-o", "report.html"])
