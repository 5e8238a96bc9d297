"""``stats --engine duckdb|spark``: the ``stats --json`` object of Parquet files (one file, a
folder of shards, or a glob) from the SQL of ``sql.py``, run by DuckDB on this machine or by
Spark (``spark.py``).

The SQL gives counts and score sums; the headline, the slices by ``category``, ``tags`` and
``judge``, the judge selection, the intervals (every ``--ci`` method), the slices' p-values and
Benjamini–Hochberg marks are computed from them by the functions the in-process path uses
(``stats.summarize``, ``stats.slice_row``, ``result.select_judges``), so the keys they fill
hold the same values. What needs every example in memory is not computed: those keys
(``NOT_COMPUTED``) are absent from the JSON, which says so in ``not_computed``.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from comparator.analysis.human_vote import MAJORITY
from comparator.analysis.intervals import DEFAULT_CI, mean_ci, soft_win_rate
from comparator.analysis.result import SliceRow, StatsResult, select_judges
from comparator.analysis.significance import mark, versus_rest
from comparator.analysis.sql import COLUMNS, Execute, duckdb_execute, figures, judge_names
from comparator.analysis.sql import source_of as duckdb_source
from comparator.analysis.stats import slice_row, summarize
from comparator.schema.errors import InputError
from comparator.schema.jsonsafe import clean
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.store.cache import PARQUET_META

ENGINES = ("duckdb", "spark")
LC = ("win_rate_a_lc", "win_rate_a_lc_ci95", "lc_length_coef")  # length control (per example)
# stats --json keys the SQL engines leave out: position consistency, length control,
# reliability, benchmark figures, annotators' and people's agreement
NOT_COMPUTED = ("position_consistency", "position_consistency_n", *LC,
                "first_position_preference", "length_preference", "self_agreement", "tie_rate",
                "arena_hard_score", "single_scores", "reference_accuracy", "annotators",
                "human_agreement")


def parquet_files(path: str | Path) -> list[Path]:
    """The Parquet files of ``path``: the file itself, a folder's ``*.parquet`` files, or a
    glob's matches, in name order (hidden and ``_`` files left out, as Spark does)."""
    p = Path(path)
    if p.is_file():
        return [p]
    if p.is_dir():
        found = list(p.glob("*.parquet"))
    elif glob.has_magic(str(p)):
        found = [Path(x) for x in glob.glob(str(p))]
    else:
        raise InputError(p, "no such file or folder")
    files = sorted(f for f in found if f.is_file() and not f.name.startswith((".", "_")))
    if not files:
        raise InputError(p, "no .parquet files here: give a Parquet file (convert --to "
                            "parquet writes one), a folder of Parquet shards or a glob")
    return files


def header(files: list[Path]) -> dict[str, Any]:
    """The comparison's header (models, metadata) from the files' Parquet metadata; files
    without one (written by other tools) name the models A and B. Every file must have the
    columns the SQL reads, and shards must be of one comparison (the same models)."""
    first: dict[str, Any] | None = None
    for f in files:
        try:
            sch = pq.read_schema(f)
            info = orjson.loads((sch.metadata or {}).get(PARQUET_META, b"{}"))
        except (pa.ArrowInvalid, OSError, orjson.JSONDecodeError) as e:
            raise InputError(f, f"not a Parquet file: {e}") from None
        missing = [c for c in COLUMNS if c not in sch.names]
        if missing:
            raise InputError(f, f"Parquet file lacks columns {', '.join(missing)} (the layout "
                                "of convert --to parquet)")
        info = {"model_a": info.get("model_a") or "A", "model_b": info.get("model_b") or "B",
                "metadata": info.get("metadata") or {}}
        if first is None:
            first = info
        elif (info["model_a"], info["model_b"]) != (first["model_a"], first["model_b"]):
            raise InputError(f, f"a shard of another comparison: {info['model_a']} vs "
                                f"{info['model_b']}, but {files[0].name} is {first['model_a']} "
                                f"vs {first['model_b']}")
    assert first is not None
    return first


@contextmanager
def _executor(engine: str, files: list[Path], master: str | None, remote: str | None,
              spark: Any) -> Iterator[tuple[Execute, str]]:
    if engine == "duckdb":
        with duckdb_execute() as execute:
            yield execute, duckdb_source([str(f) for f in files])
    elif engine == "spark":
        from comparator.analysis.spark import spark_execute  # pyspark: only when asked

        with spark_execute(files, master, remote, spark) as pair:
            yield pair
    else:
        raise ValueError(f"the SQL engines are {', '.join(ENGINES)}, got {engine!r}")


def sql_stats(path: str | Path, engine: str = "duckdb", by: list[str] | tuple[str, ...] = (),
              tie_threshold: float = DEFAULT_TIE_THRESHOLD, ci_method: str = DEFAULT_CI,
              judge: str | None = None, human_vote: str = "mean", master: str | None = None,
              remote: str | None = None, spark: Any = None) -> StatsResult:
    """The ``StatsResult`` of the Parquet ``path`` by ``engine`` (``NOT_COMPUTED`` fields None
    or empty). ``master`` / ``remote``: where Spark runs (``spark.session``); ``spark``: a
    session to use rather than start one."""
    by = list(by)
    files = parquet_files(path)
    head = header(files)
    ref = head["metadata"].get("reference_judge") or "human"
    with _executor(engine, files, master, remote, spark) as (execute, source):
        names = judge_names(execute, source)
        judges = select_judges(names, judge, human_vote, ref)
        if judges and any(j.endswith(MAJORITY) for j in judges):
            raise ValueError("--human-vote majority is computed in process only: use "
                             "--engine local (or --human-vote mean)")
        row, rows = figures(execute, source, tie_threshold, by,
                            judge.split(",") if judge else None, ref)
    counts = _counts(row)
    out = summarize(*counts, None, ci_method)
    out["mean_score"], out["mean_score_ci95"] = mean_ci(*_sums(row))
    out.update(soft_win_rate(out["mean_score"], out["mean_score_ci95"]))
    out["scores_continuous"] = bool((row["off_grid"] or 0.0) > 1e-9)
    return StatsResult(**clean({
        "model_a": head["model_a"], "model_b": head["model_b"], "format": "parquet", **out,
        "position_consistency": None, "position_consistency_n": 0,
        "tie_threshold": tie_threshold, "ci_method": ci_method, "judges": names,
        "score_judges": sorted(judges) if judges else names, "human_vote": human_vote,
        **dict.fromkeys(LC)}),
        slices=[SliceRow(**clean({**r, **dict.fromkeys(LC)}))
                for r in _slices(rows, by, counts, ci_method)],
        first_position_preference=None, length_preference=None, self_agreement=None,
        tie_rate=None)


def _counts(row: dict[str, Any]) -> tuple[int, int, int, int]:
    return tuple(int(row[k] or 0) for k in ("a_wins", "ties", "b_wins", "unscored"))


def _sums(row: dict[str, Any]) -> tuple[int, float, float]:
    return int(row["score_n"] or 0), float(row["score_sum"] or 0.0), float(row["score_sq"] or 0.0)


def _slices(rows: list[dict[str, Any]], by: list[str], whole: tuple[int, ...],
            ci_method: str) -> list[dict[str, Any]]:
    """The slice rows of ``stats.slice_table`` from the SQL's rows: p-values against the rest
    of the data (for ``judge``: the other judges' rows), BH per field, then over all fields."""
    out: list[dict[str, Any]] = []
    for field in by:
        mine = [r for r in rows if r["field"] == field]
        counts = np.array([_counts(r)[:3] for r in mine], dtype=np.int64).reshape(-1, 3)
        rest = counts.sum(0) if field == "judge" else np.asarray(whole[:3])
        p = versus_rest(counts, rest) if len(mine) else []
        table = [slice_row(field, str(r["value"]), _counts(r), _sums(r), pv, ci_method)
                 for r, pv in zip(mine, p, strict=True)]
        table.sort(key=lambda r: (-r["n"], r["value"]))
        out += mark(table)
    if len(by) > 1:
        mark(out)
    return out


def sql_json(s: StatsResult, engine: str) -> dict[str, Any]:
    """``s.to_json()`` less the keys not computed, with ``engine`` and ``not_computed``."""
    out = {k: v for k, v in s.to_json().items() if k not in NOT_COMPUTED}
    out["slices"] = [{k: v for k, v in r.items() if k not in LC} for r in out["slices"]]
    return {**out, "engine": engine, "not_computed": list(NOT_COMPUTED)}
