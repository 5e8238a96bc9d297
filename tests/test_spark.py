"""``stats --engine spark``: the SQL of comparator/analysis/sql.py run by a real local Spark
(``local[2]``, one session for the module; Spark Connect in a subprocess) over Parquet files
gives the ``stats --json`` of the in-process path: every key it fills equal (counts exactly,
rates, means, intervals and p-values within 1e-9), the others listed in ``not_computed``.

On the real files of ../shared/data written as Parquet (``convert --to parquet``'s writer), on
1,000,000 synthesised examples (bench/bench_spark.py's writer, every rule of the SQL used) and
on the same million as a folder of 8 shards; DuckDB (``--engine duckdb``) is checked beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ALL_JUDGED, LLMBAR_GPT4, MT_JUDGMENTS, MT_QUESTIONS, ROOT, run_cli

from bench.bench_spark import synthesise_parquet
from comparator.analysis.result import stats_result
from comparator.analysis.sql import HEADLINE_SQL, JUDGES_SQL, SLICE_SQL, spark_dialect
from comparator.analysis.sql_stats import NOT_COMPUTED, sql_json, sql_stats
from comparator.formats import LoadOptions
from comparator.reports.build import ViewSpec, build
from comparator.reports.export import write_report
from comparator.reports.sql_report import build_sql
from comparator.store.cache import open_store, write_parquet

pytest.importorskip("pyspark", reason="pip install -r requirements-scale.txt")
BY = ["category", "tags", "judge"]


def close(x, y) -> bool:
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return len(x) == len(y) and all(close(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, float) or isinstance(y, float):
        return x is not None and y is not None and abs(x - y) <= 1e-9
    return x == y  # counts, flags, names: exactly


def assert_same(ours: dict, want: dict) -> None:
    """``ours`` (an SQL engine's stats --json) == ``want`` (in-process) on every key it has;
    the keys it lacks are the ones it says it did not compute."""
    skipped = set(ours["not_computed"])
    assert set(want) - set(ours) <= skipped, set(want) - set(ours) - skipped
    for k, v in ours.items():
        if k in ("engine", "not_computed", "slices"):
            continue
        assert close(v, want[k]), (k, v, want[k])
    got = [(r["field"], r["value"]) for r in ours["slices"]]
    assert got == [(r["field"], r["value"]) for r in want["slices"]]
    for a, b in zip(ours["slices"], want["slices"], strict=True):
        assert set(b) - set(a) <= skipped
        for k, v in a.items():
            assert close(v, b[k]), (a["field"], a["value"], k, v, b[k])


def in_process(parquet: Path, by=BY, **kw) -> dict:
    """What ``stats PARQUET --json`` prints (comparator.cli.stats, in this process)."""
    args = {"tie_threshold": 0.25, "ci_method": "wilson-ties", "judge": None, **kw}
    return stats_result(open_store(parquet), list(by), args["tie_threshold"], args["ci_method"],
                        args["judge"]).to_json()


def check(spark, parquet, want=None, by=BY, engines=("spark", "duckdb"), **kw) -> dict:
    """Spark (and DuckDB) == in-process on ``parquet`` (a file, or a folder of shards with
    ``want`` from the whole file)."""
    want = want or in_process(parquet, by, **kw)
    for engine in engines:
        ours = sql_json(sql_stats(parquet, engine, by, spark=spark, **kw), engine)
        assert_same(ours, want)
    return ours


@pytest.fixture(scope="module")
def spark():
    from comparator.analysis.spark import session

    s = session("local[2]")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def million(tmp_path_factory):
    """1,000,000 synthesised examples: one Parquet file, the same in 8 shards, and the
    in-process stats --json of the file (--by category --by tags --by judge)."""
    tmp = tmp_path_factory.mktemp("spark")
    whole = tmp / "million.parquet"
    synthesise_parquet(1_000_000, whole, seed=7)
    synthesise_parquet(1_000_000, tmp / "shards", seed=7, shards=8)
    return whole, tmp / "shards", in_process(whole)


def test_real_files_written_as_parquet(spark, tmp_path):
    """Every real file (AlpacaEval, MT-Bench, LLMBar with human and model judges, PandaLM's
    human labels, LLM Comparator) through the writer of convert --to parquet."""
    for i, path in enumerate(ALL_JUDGED):
        parquet = tmp_path / f"real-{i}.parquet"
        write_parquet(open_store(path), parquet)
        ours = check(spark, parquet)
        assert ours["n"] > 0 and ours["slices"]


def test_mt_bench_categories_and_judge_selection(spark, tmp_path):
    mt = tmp_path / "mt.parquet"
    write_parquet(open_store(MT_JUDGMENTS, options=LoadOptions(questions=MT_QUESTIONS)), mt)
    assert len(check(spark, mt, by=["category"])["slices"]) == 8  # MT-Bench's 8 categories
    llmbar = tmp_path / "llmbar.parquet"
    write_parquet(open_store(LLMBAR_GPT4), llmbar)
    models = check(spark, llmbar, by=["judge"])  # the file's default: its model judges
    humans = check(spark, llmbar, by=["category"], judge="human", tie_threshold=0.5)
    assert models["score_judges"] != humans["score_judges"] == ["human"]
    check(spark, llmbar, by=[], ci_method="bootstrap")


def test_million_examples(spark, million):
    whole, _, want = million
    ours = check(spark, whole, want)
    assert ours["n"] == 1_000_000 and ours["engine"] == "duckdb"
    # every rule shows: unscored, ties, both winners, '(none)' slices, the judge 'unknown'
    assert min(ours["unscored"], ours["ties"], ours["a_wins"], ours["b_wins"]) > 10_000
    values = {(s["field"], s["value"]) for s in ours["slices"]}
    assert {("category", "(none)"), ("tags", "(none)"), ("tags", "long"), ("judge", "(none)"),
            ("judge", "unknown"), ("judge", "claude-judge")} <= values
    assert ours["scores_continuous"] and any(s["significant"] for s in ours["slices"])


def test_million_in_eight_shards_through_the_cli(million):
    """The folder of 8 shards gives the whole file's stats, by the real command."""
    _, shards, want = million
    assert len(list(shards.glob("*.parquet"))) == 8
    check(None, shards, want, engines=("duckdb",))
    r = subprocess.run([sys.executable, "-m", "comparator", "stats", str(shards), "--engine",
                        "spark", "--json", "--by", "category", "--by", "tags", "--by", "judge"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # quiet: no JVM banner or log lines, no progress bar
    assert_same(json.loads(r.stdout), want)


def test_report_on_spark_holds_the_stats_of_the_local_report(spark, million, tmp_path):
    """``report --engine spark``: the report of the 8 shards holds what ``stats --engine spark``
    computes (== in process); on a real file, the same figures as the local report's; HTML,
    Markdown and JSON say what they leave out; a CSV (the examples) or a filter is refused."""
    _, shards, want = million
    made = build_sql(shards, "spark", ViewSpec(by=BY), spark=spark)
    assert_same(made.data["stats"], want)
    assert made.data["n_total"] == 1_000_000 and made.data["provenance"]["engine"] == "spark"
    assert {"examples", "findings", "score_histogram", "position_consistency"} <= set(
        made.data["not_computed"])
    for fmt in ("html", "md", "json"):
        assert write_report(made, tmp_path / f"r.{fmt}") == fmt
    html, md = (tmp_path / "r.html").read_text(), (tmp_path / "r.md").read_text()
    for text in (html, md):
        assert "Slices by judge" in text and "Engine spark: examples and the CSV" in text
        assert "claude-judge" in text and "Judge reliability" not in text
    assert json.loads((tmp_path / "r.json").read_text()) == made.data

    demo = tmp_path / "demo.parquet"
    write_parquet(open_store(ALL_JUDGED[1]), demo)
    local = build(open_store(demo), ViewSpec(by=["category", "judge"], findings=False))
    sql = build_sql(demo, "spark", ViewSpec(by=["category", "judge"]), spark=spark)
    assert_same(sql.data["stats"], local.data["stats"])
    r = run_cli("report", demo, "--engine", "duckdb", "--by", "category", "-o",
                tmp_path / "d.json")
    assert r.returncode == 0, r.stderr
    assert_same(json.loads((tmp_path / "d.json").read_text())["stats"],
                in_process(demo, ["category"]))
    for bad in (["-o", tmp_path / "d.csv"], ["--filter", "winner=A", "-o", tmp_path / "f.md"]):
        r = run_cli("report", demo, "--engine", "duckdb", *bad)
        assert r.returncode == 2 and "read in process only; use --engine local" in r.stderr
    assert not (tmp_path / "d.csv").exists() and not (tmp_path / "f.md").exists()


def test_spark_connect_started_offline(tmp_path):
    """``--spark-remote local[2]``: pyspark starts a Spark Connect server in the process and
    the command runs as its client (gRPC on 127.0.0.1), nothing from the network."""
    parquet = tmp_path / "alpaca.parquet"
    write_parquet(open_store(ALL_JUDGED[1]), parquet)
    r = run_cli("stats", parquet, "--engine", "spark", "--spark-remote", "local[2]", "--json",
                "--by", "judge")
    assert r.returncode == 0, r.stderr
    assert_same(json.loads(r.stdout), in_process(parquet, ["judge"]))


def test_missing_java_or_pyspark_is_one_line_saying_what_to_install(tmp_path):
    parquet = tmp_path / "x.parquet"
    write_parquet(open_store(ALL_JUDGED[-1]), parquet)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = os.path.dirname(sys.executable)  # python, but no java
    r = subprocess.run([sys.executable, "-m", "comparator", "stats", str(parquet), "--engine",
                        "spark"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "needs Java 17" in r.stderr and "openjdk-17-jre-headless" in r.stderr
    code = ("import sys; sys.modules['pyspark'] = None; from comparator.cli.main import main; "
            f"sys.exit(main(['stats', {str(parquet)!r}, '--engine', 'spark']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "pip install -r requirements-scale.txt" in r.stderr
    r = run_cli("stats", ALL_JUDGED[-1], "--engine", "duckdb")  # JSON, not Parquet
    assert r.returncode == 2 and "not a Parquet file" in r.stderr, r.stderr
    r = run_cli("stats", tmp_path, "--engine", "spark", "--ratings", parquet)
    assert r.returncode == 2 and "--ratings: read in process only" in r.stderr, r.stderr


def test_one_sql_text_two_dialects():
    """Spark's queries are made from DuckDB's text: no DuckDB-only word is left."""
    for q in (HEADLINE_SQL, JUDGES_SQL, *SLICE_SQL.values()):
        s = spark_dialect(q)
        for word in ("unnest(", "len(", "list_contains(", "generate_subscripts(", "$t", "$ref",
                     "['"):
            assert word not in s, (word, s)
    assert "posexplode(judgments) AS (pos, j)" in spark_dialect(JUDGES_SQL)
    assert set(NOT_COMPUTED) >= {"position_consistency", "win_rate_a_lc", "human_agreement"}
