"""comparator/analysis/sql.py: DuckDB over our Parquet files gives the figures of `stats --json`.

The Parquet files are written here with ``schema.table`` + ``pq.write_table`` from the same
examples as a native JSONL file; the real CLI (``python -m comparator stats FILE --json``, in a
subprocess) reads the JSONL. Counts must be equal, rates, means and intervals within 1e-9.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ALL_JUDGED, LLMBAR_GPT4, MT_JUDGMENTS, MT_QUESTIONS, run_cli

from bench.bench_io import synthesise
from comparator.analysis.sql import HEADLINE_SQL, SLICE_SQL, headline_sql, run_duckdb, slice_sql
from comparator.formats import LoadOptions, load
from comparator.formats.native import write_native
from comparator.schema.records import Comparison
from comparator.store import schema

COUNTS = ("n", "a_wins", "b_wins", "ties", "unscored")
FIGURES = ("win_rate_a", "mean_score")
INTERVALS = ("win_rate_a_ci95", "mean_score_ci95")


def close(x, y) -> bool:
    if x is None or y is None:
        return x is None and y is None
    if isinstance(x, list):
        return len(x) == len(y) and all(close(a, b) for a, b in zip(x, y, strict=True))
    return abs(x - y) <= 1e-9


def assert_same(ours: dict, cli: dict, where: str) -> None:
    for k in COUNTS:
        assert ours[k] == cli[k], (where, k, ours[k], cli[k])
    for k in FIGURES + INTERVALS:
        assert close(ours[k], cli.get(k)), (where, k, ours[k], cli.get(k))


def check(parquet, jsonl, *cli_args: str, by=(), tie_threshold=0.25, judges=None) -> dict:
    """run_duckdb on the Parquet file == stats --json on the JSONL file, headline and slices."""
    args = [a for f in by for a in ("--by", f)]
    if tie_threshold != 0.25:
        args += ["--tie-threshold", str(tie_threshold)]
    if judges:
        args += ["--judge", ",".join(judges)]
    r = run_cli("stats", jsonl, "--json", *args, *cli_args)
    assert r.returncode == 0, r.stderr
    cli = json.loads(r.stdout)
    ours = run_duckdb(parquet, tie_threshold, list(by), judges)
    assert_same(ours, cli, "headline")
    got = [(s["field"], s["value"]) for s in ours["slices"]]
    want = [(s["field"], s["value"]) for s in cli["slices"]]
    assert sorted(got) == sorted(want)  # the same slices (order: n desc, then value)
    assert got == want or len(by) > 1  # several --by fields: the CLI keeps each field's order
    want_rows = {(s["field"], s["value"]): s for s in cli["slices"]}
    for row in ours["slices"]:
        assert_same(row, want_rows[(row["field"], row["value"])], (row["field"], row["value"]))
    return ours


def mixed(n: int, humans: bool = False) -> Comparison:
    """``synthesise(n)`` (real AlpacaEval texts, two gpt-4-turbo judgments each) with every rule
    exercised: 20 categories plus null and empty ones; tags (repeated, or none); unscored and
    error judgments; examples without judgments, with or without a reported score; a second
    model judge with raters and some judgments without a judge name; ``humans``: human
    judgments on every third example (so the model judges score the file)."""
    comp = synthesise(n)
    for i, ex in enumerate(comp.examples):
        ex["category"] = f"topic-{i % 20:02d}"
        if i % 97 == 0:
            ex["category"] = "" if i % 2 else None
        if i % 3 == 0:
            ex["tags"] = ["short"]
        elif i % 5 == 0:
            ex["tags"] = ["long", "math", "long"]  # a tag counts once per example
        js = ex["judgments"]
        if i % 7 == 0:
            js[0].update(status="unscored", score=None)
        if i % 77 == 0:
            js[1].update(status="error", score=None)  # and 0 too when i % 7 == 0: unscored
        if i % 4 == 1:
            js.append({"score": (i % 13 - 6) * 0.25, "judge": "claude-judge",
                       "rater": f"r{i % 2}", "status": "ok"})
        if i % 50 == 2:
            js.append({"score": 0.75, "judge": None})  # judge "unknown"
        if humans and i % 3 == 1:
            js.append({"score": -1.5 if i % 2 else 1.0, "judge": "human", "rater": "h1"})
        if i % 13 == 0:  # no judgments: the reported score (if any) unless judges are chosen
            ex["judgments"] = []
            if i % 26 == 0:
                ex["reported_score"] = (i % 7 - 3) * 0.25  # -0.75 .. 0.75, ±0.25 the edges
            if i % 39 == 0:
                del ex["judgments"]
    return Comparison.model_validate(comp.model_dump())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The 100k-example file (and a 20k one with human judgments) as JSONL and Parquet."""
    out = {}
    tmp = tmp_path_factory.mktemp("sql")
    for name, comp in (("mixed", mixed(100_000)), ("humans", mixed(20_000, humans=True))):
        write_native(comp, tmp / f"{name}.jsonl")
        pq.write_table(schema.table(comp.examples), tmp / f"{name}.parquet")
        out[name] = (tmp / f"{name}.parquet", tmp / f"{name}.jsonl")
    return out


def test_100k_headline_and_slices_equal_stats_json(files):
    ours = check(*files["mixed"], by=("category", "tags", "judge"))
    assert ours["n"] == 100_000
    # every rule shows: unscored examples, ties at the edges, '(none)' slices, both judges
    assert ours["unscored"] > 1000 and ours["ties"] > 1000 and ours["a_wins"] > 1000
    values = {(s["field"], s["value"]) for s in ours["slices"]}
    assert {("category", "(none)"), ("tags", "(none)"), ("tags", "long"), ("judge", "(none)"),
            ("judge", "unknown"), ("judge", "claude-judge")} <= values
    assert len([v for f, v in values if f == "category"]) == 21


def test_100k_tie_threshold_and_judge_selection(files):
    check(*files["mixed"], by=("category",), tie_threshold=0.5)
    check(*files["mixed"], by=("tags",), judges=["claude-judge"])  # no reported scores then
    check(*files["mixed"], judges=["claude-judge:r1", "gpt-4-turbo"])  # name:rater too


def test_human_and_model_judges_are_scored_by_the_models(files):
    """stats.default_judges in SQL: with human judgments present, the model judges score the
    examples and reported scores are not used."""
    ours = check(*files["humans"], by=("category", "judge"))
    assert ours["n"] == 20_000
    check(*files["humans"], judges=["human"])


@pytest.mark.parametrize("path", ALL_JUDGED, ids=lambda p: p.name)
def test_real_files(path, tmp_path):
    """The real public files (AlpacaEval, MT-Bench, LLMBar, PandaLM, LLM Comparator), loaded
    with comparator.formats.load and written as Parquet; LLMBar's GPT-4 file has human and model
    judges, LLMBar and PandaLM human labels only."""
    comp = load(path).comparison
    pq.write_table(schema.table(comp.examples), tmp_path / "real.parquet")
    check(tmp_path / "real.parquet", path, by=("category", "tags", "judge"))


def test_mt_bench_categories_from_questions(tmp_path):
    comp = load(MT_JUDGMENTS, options=LoadOptions(questions=MT_QUESTIONS)).comparison
    pq.write_table(schema.table(comp.examples), tmp_path / "mt.parquet")
    ours = check(tmp_path / "mt.parquet", MT_JUDGMENTS, "--questions", str(MT_QUESTIONS),
                 by=("category",))
    assert len(ours["slices"]) == 8  # MT-Bench's eight categories


def test_model_judges_of_llmbar(tmp_path):
    comp = load(LLMBAR_GPT4).comparison
    pq.write_table(schema.table(comp.examples), tmp_path / "llmbar.parquet")
    ours = check(tmp_path / "llmbar.parquet", LLMBAR_GPT4)
    with_humans = run_duckdb(tmp_path / "llmbar.parquet", judges=["human", "llm-judge"])
    assert (ours["a_wins"], ours["ties"]) != (with_humans["a_wins"], with_humans["ties"])


def test_sql_text_runs_as_written(files):
    """The constants run unchanged once {source} is filled in (what the README shows)."""
    parquet = str(files["mixed"][0])
    src = f"read_parquet('{parquet}')"
    con = duckdb.connect()
    params = {"t": 0.25, "ref": "human"}
    row = con.execute(HEADLINE_SQL.replace("{source}", src), params).fetchone()
    assert row[:5] == tuple(run_duckdb(parquet)[k] for k in COUNTS) and row[0] == 100_000
    assert con.execute(headline_sql(src), params).fetchone()[:6] == row[:6]
    cats = con.execute(SLICE_SQL["category"].replace("{source}", src), params).fetchall()
    assert len(cats) == 21 and sum(r[2] for r in cats) == 100_000
    with pytest.raises(ValueError, match="category, tags, judge"):
        slice_sql("metadata.x")


def test_tie_threshold_is_a_number_parameter(tmp_path):
    comp = load(ALL_JUDGED[0]).comparison
    pq.write_table(schema.table(comp.examples), tmp_path / "x.parquet")
    with pytest.raises((TypeError, ValueError)):
        run_duckdb(tmp_path / "x.parquet", tie_threshold="0.25 OR 1=1")


def test_shards_read_as_one_file(files, tmp_path):
    """A comparison split into several Parquet files (ids unique across them) reads through a
    glob as the single file does; the JSON-text metadata of one shard beside struct metadata
    of another does not matter (the SQL reads id, category, tags, reported_score, judgments)."""
    parquet = files["mixed"][0]
    whole = pq.read_table(parquet)
    assert pa.types.is_struct(whole.schema.field("metadata").type)
    for k, start in enumerate(range(0, whole.num_rows, 30_000)):
        part = whole.slice(start, 30_000)
        if k == 0:  # metadata as JSON text here (schema._free), a struct in the others
            i = part.schema.get_field_index("metadata")
            text = pa.array([json.dumps(m) for m in part["metadata"].to_pylist()], pa.string())
            part = part.set_column(i, "metadata", text)
        pq.write_table(part, tmp_path / f"part-{k}.parquet")
    ours = run_duckdb(tmp_path / "part-*.parquet", by="category")
    one = run_duckdb(parquet, by="category")
    for a, b in zip([ours, *ours["slices"]], [one, *one["slices"]], strict=True):
        assert {k: a[k] for k in COUNTS} == {k: b[k] for k in COUNTS}
        assert all(close(a[k], b[k]) for k in FIGURES + INTERVALS)
