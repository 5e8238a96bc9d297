"""The headline and slice statistics of ``stats --json`` as SQL over our Parquet files.

The SQL reads the store's layout (``comparator/store/schema.py``) unchanged, so a file larger
than memory, or a directory of them, is summarised by DuckDB on one machine or by Spark on many.
It reproduces the rules of ``comparator/analysis/stats.py`` exactly:

- example score = mean of its judgments with status null or ``'ok'`` and a score (of the
  selected judges); an example with no judgments at all scores its ``reported_score``, but only
  when no judge selection applies; unscored when none of these;
- the judge selection (``default_judges``): named judges (``judges=``; a name or ``name:rater``)
  or, when none are named, all judges, except that a file with both ``human`` (or its
  ``reference_judge``) and model judges is scored by its model judges, and a file whose only
  judge is ``human`` is scored by ``human`` (so ``reported_score`` is not used there either);
- winner A if score > t, B if score < -t, tie otherwise (``$t``, default 0.25); unscored
  examples are counted but left out of the win rate (A + ties / 2) / (A + ties + B);
- slices: ``category`` ('(none)' for null or empty), ``tags`` (an example once per distinct
  tag, '(none)' when none) and ``judge`` (an example once per judge that judged it, scored
  by that judge's own ok judgments; '(none)' when none judged it, scored as above).

The SQL gives counts, win rates and mean scores (with the sums the intervals need); the 95%
intervals are computed from those by the formulas of ``stats.py`` (``run_duckdb`` does it).

Dialect: DuckDB. Spark's differs only in the few words marked ``-- Spark:`` below, and
``spark_dialect`` makes Spark's text from this one (``comparator/analysis/spark.py`` runs it):
``unnest(list)`` is ``explode(array)`` (with ``generate_subscripts``: ``posexplode``),
``len(list)`` is ``size(array)``, ``[...]`` is ``array(...)``, ``list_contains`` is
``array_contains``, and the parameters ``$t``, ``$ref``, ``$judges`` are ``:t``, ``:ref``,
``:judges`` in ``spark.sql(query, args={...})``. ``{source}`` is a table expression:
``read_parquet('dir/*.parquet')`` in DuckDB, a temporary view name in Spark.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from comparator.analysis.intervals import mean_ci, wilson_ties
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD

# Which judgments count (a boolean over the unnested judgment's ``judge`` and ``rater``).
# Auto (default_judges): every judge, or only the non-reference ones when the file mixes both.
AUTO_SELECTED = "(NOT s.models_only OR j.judge NOT IN ('human', $ref))"
NAMED_SELECTED = ("(list_contains($judges, j.judge)"  # Spark: array_contains(:judges, ...)
                  " OR list_contains($judges, j.judge || ':' || coalesce(j.rater, 'None')))")
# reported_score is used only when no selection applies (stats.derive: judges is None)
AUTO_REPORTED = "NOT (s.models_only OR s.humans_only)"
NAMED_REPORTED = "FALSE"

# A score's outcome under the tie threshold $t (stats.outcomes).
WINNER = ("CASE WHEN {score} IS NULL THEN 'unscored' WHEN {score} > $t THEN 'A'"
          " WHEN {score} < -$t THEN 'B' ELSE 'tie' END")

COLUMNS = ("id", "category", "tags", "reported_score", "judgments")  # all the SQL reads

# Per-example score and outcome, shared by the headline and every slice. ``id`` is the
# example key (unique in a comparison). Spark: ``unnest(judgments) AS j`` is
# ``explode(judgments) AS j``; ``len`` is ``size``.
SCORED_SQL = """
WITH examples AS (
  SELECT id, category, tags, reported_score, judgments FROM {source}
),
judgments AS (  -- one row per judgment; examples without judgments have none
  SELECT id, coalesce(j.judge, 'unknown') AS judge, j.rater AS rater, j.score AS score,
         j.status AS status
  FROM (SELECT id, unnest(judgments) AS j FROM examples)  -- Spark: explode(judgments)
),
selection AS (  -- stats.default_judges, from the judges the file names
  SELECT coalesce(bool_or(judge IN ('human', $ref)) AND bool_or(judge NOT IN ('human', $ref)),
                  FALSE) AS models_only,
         coalesce(bool_and(judge = 'human'), FALSE) AS humans_only
  FROM (SELECT DISTINCT judge FROM judgments)
),
ok AS (  -- mean of the selected ok judgment scores per example
  SELECT j.id, avg(j.score) AS score
  FROM judgments j CROSS JOIN selection s
  WHERE (j.status IS NULL OR j.status = 'ok') AND j.score IS NOT NULL AND {selected}
  GROUP BY j.id
),
scored AS (
  SELECT e.id, e.category, e.tags,
         CASE WHEN ok.id IS NOT NULL THEN ok.score
              WHEN coalesce(len(e.judgments), 0) <= 0 AND {reported}  -- Spark: size(), -1 on null
                THEN e.reported_score
         END AS score
  FROM examples e CROSS JOIN selection s LEFT JOIN ok ON ok.id = e.id
),
outcomes AS (
  SELECT *, {winner} AS winner
  FROM scored
)""".replace("{winner}", WINNER.format(score="score"))

# The figures of one group of examples (the whole file or one slice value).
FIGURES = """
  count(*) AS n,
  sum(CASE WHEN winner = 'A' THEN 1 ELSE 0 END) AS a_wins,
  sum(CASE WHEN winner = 'B' THEN 1 ELSE 0 END) AS b_wins,
  sum(CASE WHEN winner = 'tie' THEN 1 ELSE 0 END) AS ties,
  sum(CASE WHEN winner = 'unscored' THEN 1 ELSE 0 END) AS unscored,
  CAST(sum(CASE WHEN winner = 'A' THEN 1.0 WHEN winner = 'tie' THEN 0.5 ELSE 0.0 END)
       AS DOUBLE) / nullif(sum(CASE WHEN winner = 'unscored' THEN 0 ELSE 1 END), 0)
    AS win_rate_a,
  avg(score) AS mean_score,
  count(score) AS score_n,
  sum(score) AS score_sum,
  sum(score * score) AS score_sq,
  max(abs(score * 2 - round(score * 2))) AS off_grid"""  # > 1e-9: scores_continuous

_HEADLINE = SCORED_SQL + "\nSELECT" + FIGURES + "\nFROM outcomes"

# One row per example and slice value (an example appears once per distinct value).
SLICE_VALUES = {
    "category": "SELECT id, winner, score, coalesce(nullif(category, ''), '(none)') AS value"
                " FROM outcomes",
    # Spark: explode(CASE WHEN size(tags) > 0 THEN tags ELSE array('(none)') END)
    "tags": "SELECT DISTINCT id, winner, score, value FROM (SELECT id, winner, score,"
            " unnest(CASE WHEN coalesce(len(tags), 0) > 0 THEN tags ELSE ['(none)'] END)"
            " AS value FROM outcomes)",
    # each judge's row scores its examples by that judge's own ok judgments (stats.slice_scores)
    "judge": "SELECT id, " + WINNER.format(score="score") + " AS winner, score, value FROM ("
             "SELECT o.id, coalesce(j.judge, '(none)') AS value, CASE WHEN j.judge IS NULL"
             " THEN max(o.score) ELSE avg(CASE WHEN j.status IS NULL OR j.status = 'ok'"
             " THEN j.score END) END AS score"
             " FROM outcomes o LEFT JOIN judgments j ON j.id = o.id GROUP BY o.id, j.judge)",
}


def _fill(template: str, source: str, judges: bool) -> str:
    return template.replace("{source}", source).replace(
        "{selected}", NAMED_SELECTED if judges else AUTO_SELECTED).replace(
        "{reported}", NAMED_REPORTED if judges else AUTO_REPORTED)


def headline_sql(source: str, judges: bool = False) -> str:
    """The headline query over ``source`` (parameters ``$t``, ``$ref`` and, with
    ``judges=True``, ``$judges``: a list of judge names or ``name:rater``)."""
    return _fill(_HEADLINE, source, judges)


def slice_sql(field: str, source: str = "{source}", judges: bool = False) -> str:
    """The per-value figures of ``field`` (category, tags or judge), largest slices first."""
    if field not in SLICE_VALUES:
        raise ValueError(f"SQL slices are by {', '.join(SLICE_VALUES)}, got {field!r}")
    q = (SCORED_SQL + f",\nslice_rows AS ({SLICE_VALUES[field]})\nSELECT '{field}' AS field,"
         " value," + FIGURES + "\nFROM slice_rows GROUP BY value ORDER BY n DESC, value")
    return _fill(q, source, judges)


# The default queries (judges chosen as stats.default_judges does), {source} left to fill in.
HEADLINE_SQL = headline_sql("{source}")
SLICE_SQL = {field: slice_sql(field) for field in SLICE_VALUES}

# The file's judges in first-seen order (Comparison.judges: by file name, row, then position
# in the row's judgments): each judge's first (row, position) in each file. ``filename`` and
# ``file_row_number`` are DuckDB's read_parquet columns (Spark: _metadata.file_path/row_index).
JUDGES_SQL = """
SELECT judge, filename AS file, min(file_row_number * 1048576 + pos) AS first
FROM (SELECT filename, file_row_number, coalesce(j.judge, 'unknown') AS judge, pos
      FROM (SELECT filename, file_row_number, unnest(judgments) AS j,
                   generate_subscripts(judgments, 1) AS pos  -- Spark: posexplode
            FROM {source}))
GROUP BY judge, filename"""

# DuckDB's words -> Spark's, applied in this order (the only differences of the two dialects
# in the queries above; tests/test_spark.py runs the result).
_SPARK_WORDS = [
    (r"unnest\((\w+)\) AS (\w+),\s*generate_subscripts\(\1, 1\) AS (\w+)",
     r"posexplode(\1) AS (\3, \2)"),
    (r"\bunnest\(", "explode("), (r"\blen\(", "size("),
    (r"\blist_contains\(", "array_contains("),
    (r"\[('(?:[^']|'')*')\]", r"array(\1)"),
    (r"\$(t|ref|judges)\b", r":\1"),
]


def spark_dialect(query: str) -> str:
    """A query of this module in Spark SQL's dialect (parameters ``:t``, ``:ref``,
    ``:judges`` for ``spark.sql(query, args=...)``)."""
    for pattern, repl in _SPARK_WORDS:
        query = re.sub(pattern, repl, query)
    return query


Execute = Callable[[str, dict[str, Any]], list[dict[str, Any]]]  # (query, params) -> rows


def judge_names(execute: Execute, source: str) -> list[str]:
    """The judges of the examples in ``source``, in first-seen order (``Comparison.judges``)."""
    rows = sorted(execute(JUDGES_SQL.replace("{source}", source), {}),
                  key=lambda r: (str(r["file"]), int(r["first"])))
    return list(dict.fromkeys(str(r["judge"]) for r in rows))


def figures(execute: Execute, source: str, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
            by: str | list[str] | None = None, judges: list[str] | None = None,
            reference_judge: str = "human") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The headline row and the slice rows (counts and sums, no intervals yet) of the examples
    in ``source``, each query run by ``execute``; ``judges``: the named judges (``--judge``),
    else the file's default selection."""
    t = float(tie_threshold)  # a number only: it is a bound parameter, never formatted in
    params: dict[str, Any] = {"t": t, "ref": str(reference_judge)}
    if judges:
        params["judges"] = [str(j) for j in judges]
    fields = [by] if isinstance(by, str) else list(by or [])
    queries = [slice_sql(f, source, bool(judges)) for f in fields]  # bad field: before any run
    head = execute(headline_sql(source, bool(judges)), params)[0]
    return head, [row for q in queries for row in execute(q, params)]


def source_of(path: str | Path | list[str | Path]) -> str:
    """``read_parquet(...)`` of a path (globs allowed) or a list of paths, quoted for SQL, with
    the columns ``filename`` and ``file_row_number`` (for ``JUDGES_SQL``)."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    quoted = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return f"read_parquet([{quoted}], filename=true, file_row_number=true)"


@contextmanager
def duckdb_execute() -> Iterator[Execute]:
    """An ``Execute`` on a new in-memory DuckDB connection (closed on exit)."""
    import duckdb  # heavy optional dependency: only this helper needs it

    con = duckdb.connect()

    def execute(query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        cur = con.execute(query, params) if params else con.execute(query)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    try:
        yield execute
    finally:
        con.close()


def run_duckdb(parquet_path: str | Path, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
               by: str | list[str] | None = None, judges: list[str] | None = None,
               reference_judge: str = "human") -> dict[str, Any]:
    """The ``stats --json`` figures of a Parquet file (or glob) computed by DuckDB: ``n``,
    ``a_wins``, ``b_wins``, ``ties``, ``unscored``, ``win_rate_a``, ``mean_score`` and their
    intervals ``win_rate_a_ci95`` (tie-aware Wilson) and ``mean_score_ci95`` (Student t), and
    ``slices``: one row per value of each ``by`` field with ``field`` and ``value``."""
    with duckdb_execute() as execute:
        head, slices = figures(execute, source_of(parquet_path), tie_threshold, by, judges,
                               reference_judge)
    out = _intervals(head)
    out["slices"] = [_intervals(row) for row in slices]
    return out


def _intervals(row: dict[str, Any]) -> dict[str, Any]:
    """Counts and sums -> the 95% intervals of stats.py; the helper sums are dropped."""
    for k in ("n", "a_wins", "b_wins", "ties", "unscored"):
        row[k] = int(row[k] or 0)
    a, t, b = row["a_wins"], row["ties"], row["b_wins"]
    row["win_rate_a_ci95"] = [float(x) for x in wilson_ties(a, t, b)] if a + t + b else None
    n, s, sq = int(row.pop("score_n")), row.pop("score_sum"), row.pop("score_sq")
    row["mean_score_ci95"] = mean_ci(n, s or 0.0, sq or 0.0)[1]
    row.pop("off_grid", None)
    return row
