"""The CLI contract: `stats --json` fields, `convert`, and bad input as one line with exit 2."""

from __future__ import annotations

import json

import pytest
from conftest import (
    ALL_JUDGED,
    LLMBAR_GPT4,
    LLMC_TINY,
    MT_JUDGMENTS,
    MT_QUESTIONS,
    read_json,
    read_jsonl,
    run_cli,
)

KEYS = {"model_a", "model_b", "n", "a_wins", "b_wins", "ties", "unscored", "win_rate_a",
        "win_rate_a_ci95", "mean_score", "position_consistency", "slices"}


@pytest.mark.parametrize("path", ALL_JUDGED, ids=lambda p: p.name)
def test_stats_json_contract(path):
    r = run_cli("stats", path, "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert KEYS <= set(s)
    assert s["a_wins"] + s["b_wins"] + s["ties"] + s["unscored"] == s["n"]
    lo, hi = s["win_rate_a_ci95"]
    assert 0 <= lo <= s["win_rate_a"] <= hi <= 1
    assert s["slices"] == []


def test_stats_by_category_with_questions():
    r = run_cli("stats", MT_JUDGMENTS, "--questions", MT_QUESTIONS, "--by", "category", "--json")
    s = json.loads(r.stdout)
    assert {x["value"] for x in s["slices"]} == {q["category"] for q in read_jsonl(MT_QUESTIONS)}
    assert sum(x["n"] for x in s["slices"]) == s["n"]
    assert 0 < s["position_consistency"] < 1
    for x in s["slices"]:
        assert {"a_wins", "b_wins", "ties", "unscored", "win_rate_a", "win_rate_a_ci95"} <= set(x)


def test_stats_human_agreement_and_text_output():
    s = json.loads(run_cli("stats", LLMBAR_GPT4, "--json").stdout)
    assert s["human_agreement"]["llm-judge"]["n"] == 200
    assert s["score_judges"] == ["llm-judge"]
    text = run_cli("stats", LLMBAR_GPT4).stdout
    assert "win rate of A" in text and "vs human" in text
    human = json.loads(run_cli("stats", LLMBAR_GPT4, "--judge", "human", "--json").stdout)
    assert human["ties"] == 0 and human["a_wins"] == 101


def test_convert_round_trip_via_cli(tmp_path):
    assert run_cli("convert", LLMC_TINY, "-o", tmp_path / "a.jsonl").returncode == 0
    assert run_cli("convert", tmp_path / "a.jsonl", "-o", tmp_path / "b.json").returncode == 0
    assert read_json(tmp_path / "b.json") == read_json(LLMC_TINY)
    r = run_cli("convert", MT_JUDGMENTS, "-o", tmp_path / "x.out", "--to", "csv")
    assert r.returncode == 0 and (tmp_path / "x.out").read_text().startswith("id,")


def _one_line_error(r, *needles):
    assert r.returncode == 2, (r.stdout, r.stderr)
    err = [x for x in r.stderr.strip().splitlines() if not x.startswith("note: ")]
    assert len(err) == 1 and "Traceback" not in r.stderr, r.stderr
    for n in needles:
        assert n in err[0], err[0]


def test_bad_inputs_name_file_line_and_field(tmp_path):
    bad_score = tmp_path / "bad.jsonl"
    bad_score.write_text(
        '{"kind": "comparator.comparison", "schema_version": 2, "model_a": "x", "model_b": "y"}\n'
        '{"id": "1", "prompt": "p", "response_a": "a", "response_b": "b"}\n'
        '{"id": "2", "prompt": "p", "response_a": "a", "response_b": "b",'
        ' "judgments": [{"score": 3}]}\n')
    _one_line_error(run_cli("stats", bad_score), "bad.jsonl:3", "judgments[0].score")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(bad_score.read_text().replace('"prompt": "p", "response_a": "a", "response_b"'
                                                    ': "b"}', '"prompt": "p",', 1))
    _one_line_error(run_cli("stats", broken), "broken.jsonl:2", "not valid JSON")
    csv_bad = tmp_path / "t.csv"
    csv_bad.write_text("prompt,response_a,response_b,score\nhi,a,b,0.5\nyo,a,b,7\n")
    _one_line_error(run_cli("stats", csv_bad), "t.csv:3", "'score'")
    alpaca = tmp_path / "ann.json"
    alpaca.write_text(json.dumps([{"instruction": "i", "output_1": "a", "output_2": "b",
                                   "generator_1": "g1", "generator_2": "g2", "preference": 5}]))
    _one_line_error(run_cli("stats", alpaca), "ann.json: record 1", "'preference'")
    mt = tmp_path / "model_judgment.jsonl"
    rows = read_jsonl(MT_JUDGMENTS)[:3]
    del rows[2]["g2_winner"]
    mt.write_text("\n".join(json.dumps(r) for r in rows))
    _one_line_error(run_cli("stats", mt, "--format", "mt-bench"), ":3", "'g2_winner'")
    _one_line_error(run_cli("stats", tmp_path / "missing.json"), "missing.json", "no such file")
    _one_line_error(run_cli("stats", MT_JUDGMENTS, "--by", "nosuchfield"), MT_JUDGMENTS.name,
                    "'nosuchfield'", "question_id")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _one_line_error(run_cli("stats", empty), "empty.csv", "empty")
    nomap = tmp_path / "cols.csv"
    nomap.write_text("q,x,y\nhi,a,b\n")
    _one_line_error(run_cli("stats", nomap), "cols.csv:1", "--map")
    ok = run_cli("stats", nomap, "--map", "prompt=q,response_a=x,response_b=y", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["unscored"] == 1


def test_newer_schema_is_refused(tmp_path):
    f = tmp_path / "future.jsonl"
    f.write_text('{"kind": "comparator.comparison", "schema_version": 99, "model_a": "x", '
                 '"model_b": "y"}\n')
    _one_line_error(run_cli("stats", f), "future.jsonl:1", "schema_version", "upgrade")
