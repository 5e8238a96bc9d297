"""Every judged file in ../shared/data loads, and its counts and win rates equal values
computed here, independently, from the raw file."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from conftest import (
    ALPACA_COT,
    ALPACA_WEIGHTED,
    LLMBAR,
    LLMBAR_GPT4,
    LLMC_TINY,
    MT_JUDGMENTS,
    MT_QUESTIONS,
    PANDALM,
    read_json,
    read_jsonl,
    winner,
)

from comparator.analysis import agreement, slice_table, summary
from comparator.formats import LoadOptions, load
from comparator.schema.records import example_score


def _rate(c: Counter) -> float:
    return (c["A"] + 0.5 * c["tie"]) / (c["A"] + c["B"] + c["tie"])


def _check(stats: dict, expected: Counter) -> None:
    assert (stats["a_wins"], stats["ties"], stats["b_wins"], stats["unscored"]) == (
        expected["A"], expected["tie"], expected["B"], expected["unscored"])
    assert stats["win_rate_a"] == pytest.approx(_rate(expected))


def test_mt_bench_pairwise_both_orders():
    rows = read_jsonl(MT_JUDGMENTS)
    value = {"model_1": 1.0, "model_2": -1.0, "tie": 0.0}
    expected, consistent, both = Counter(), 0, 0
    for r in rows:
        s = [value[w] for w in (r["g1_winner"], r["g2_winner"]) if w in value]
        expected[winner(sum(s) / len(s) if s else None)] += 1
        if r["g1_winner"] in value and r["g2_winner"] in value:
            both += 1
            consistent += r["g1_winner"] == r["g2_winner"]
    loaded = load(MT_JUDGMENTS, options=LoadOptions(questions=MT_QUESTIONS))
    comp = loaded.comparison
    assert loaded.format == "mt-bench"
    assert (comp.model_a, comp.model_b) == ("phi-3", "phi-3-dpo")
    assert len(comp.examples) == len(rows) == 75
    stats = summary(comp)
    _check(stats, expected)
    assert expected["unscored"] == 1  # the (error, error) row: unscored, not a tie
    assert stats["position_consistency"] == pytest.approx(consistent / both)
    assert stats["position_consistency_n"] == both
    # g2 is the swapped order; '[[A]]' there means model_2 and is kept as written
    first = comp.examples[0]
    assert [j["flipped"] for j in first["judgments"]] == [False, True]
    assert first["judgments"][1]["label"] == "[[A]]" and first["judgments"][1]["score"] == -1.0
    # categories joined from question.jsonl
    cats = {q["question_id"]: q["category"] for q in read_jsonl(MT_QUESTIONS)}
    want = Counter(cats[r["question_id"]] for r in rows)
    got = {s["value"]: s["n"] for s in slice_table(comp, "category")}
    assert got == dict(want)
    # the error row keeps its raw text
    err = [j for ex in comp.examples for j in ex["judgments"] if j.get("status") == "unscored"]
    assert len(err) == 3 and all(j["raw"] == "$ERROR$" for j in err)


def test_mt_bench_answers_and_references_recovered():
    comp = load(MT_JUDGMENTS).comparison
    answers = {m: {r["question_id"]: r["choices"][0]["turns"] for r in read_jsonl(
        MT_JUDGMENTS.parents[1] / "model_answer" / f"{m}.jsonl")} for m in ("phi-3", "phi-3-dpo")}
    for ex in comp.examples:
        qid = ex["metadata"]["question_id"]
        assert ex["response_a"] == answers["phi-3"][qid][0]
        assert ex["response_b"] == answers["phi-3-dpo"][qid][0]
    math_ex = [ex for ex in comp.examples if ex.get("category") == "math"]
    assert math_ex and all(ex.get("reference") for ex in math_ex)


@pytest.mark.parametrize("path", [ALPACA_COT, ALPACA_WEIGHTED])
def test_alpaca_eval(path):
    raw = read_json(path)
    expected = Counter()
    by_dataset: dict[str, Counter] = {}
    for r in raw:
        p = r["preference"]
        s = None if p is None or (isinstance(p, float) and math.isnan(p)) else 3 * (1.5 - p)
        expected[winner(s)] += 1
        by_dataset.setdefault(r["dataset"], Counter())[winner(s)] += 1
    comp = load(path).comparison
    assert comp.model_a == raw[0]["generator_1"] and comp.model_b == raw[0]["generator_2"]
    assert len(comp.examples) == 805
    _check(summary(comp), expected)
    slices = {s["value"]: s for s in slice_table(comp, "category")}
    assert set(slices) == set(by_dataset)
    for name, c in by_dataset.items():
        assert slices[name]["a_wins"] == c["A"] and slices[name]["b_wins"] == c["B"]
    # AlpacaEval's own win rate for output_2 is mean(preference - 1): check our scores carry it
    mean_pref = sum(r["preference"] for r in raw) / len(raw)
    mean_score = sum(example_score(ex) for ex in comp.examples) / len(raw)
    assert mean_score == pytest.approx(3 * (1.5 - mean_pref))


def test_alpaca_eval_rationales_kept():
    raw = read_json(ALPACA_COT)
    comp = load(ALPACA_COT).comparison
    with_expl = sum(1 for r in raw if isinstance(r["raw_completion"], dict)
                    and r["raw_completion"].get("concise_explanation"))
    got = sum(1 for ex in comp.examples for j in ex["judgments"] if j.get("rationale"))
    assert got == with_expl == 803
    ex = comp.examples[0]
    assert ex["prompt"] == raw[0]["instruction"] and ex["response_b"] == raw[0]["output_2"]


def test_llmbar_human_labels():
    raw = read_json(LLMBAR)
    comp = load(LLMBAR).comparison
    stats = summary(comp)
    assert stats["a_wins"] == sum(r["label"] == 1 for r in raw) == 101
    assert stats["b_wins"] == sum(r["label"] == 2 for r in raw) == 99
    assert stats["ties"] == 0 and comp.judges() == ["human"]


def test_llmbar_gpt4_both_orders_vs_human():
    raw = read_json(LLMBAR_GPT4)
    comp = load(LLMBAR_GPT4).comparison
    agree = agree_nt = n_nt = consistent = 0
    judge_counts = Counter()
    for r in raw:
        res = r["results"][0]
        w = [res["swap = False"]["winner"], res["swap = True"]["winner"]]
        s = sum(1.0 if x == "1" else -1.0 for x in w) / 2
        verdict = winner(s)
        human = "A" if r["label"] == 1 else "B"
        judge_counts[verdict] += 1
        agree += verdict == human
        if verdict != "tie":
            n_nt += 1
            agree_nt += verdict == human
        consistent += w[0] == w[1]
    stats = summary(comp)  # scored by the model judge, the humans being the reference
    assert (stats["a_wins"], stats["ties"], stats["b_wins"]) == (
        judge_counts["A"], judge_counts["tie"], judge_counts["B"])
    assert stats["position_consistency"] == pytest.approx(consistent / len(raw))
    a = agreement(comp, "llm-judge", "human")
    assert a["n"] == len(raw)
    assert a["agreement"] == pytest.approx(agree / len(raw))
    assert a["agreement_without_ties"] == pytest.approx(agree_nt / n_nt)
    assert sum(map(sum, a["confusion"]["matrix"])) == len(raw)


def test_pandalm_three_annotators():
    raw = read_json(PANDALM)
    value = {1: 1.0, 2: -1.0, 0: 0.0}
    expected = Counter(winner(sum(value[r[f"annotator{k}"]] for k in (1, 2, 3)) / 3) for r in raw)
    loaded = load(PANDALM)
    comp = loaded.comparison
    assert len(comp.examples) == 999
    _check(summary(comp), expected)
    # annotator 1 vs 2, computed independently
    lab = {1: "A", 2: "B", 0: "tie"}
    same = sum(lab[r["annotator1"]] == lab[r["annotator2"]] for r in raw)
    a = agreement(comp, "human:annotator1", "human:annotator2")
    assert a["agreement"] == pytest.approx(same / len(raw))
    # responses serialised as JSON true in the source are kept as text, with a warning
    assert comp.examples[157]["response_a"] == "True"
    assert any("record 158" in w for w in loaded.warnings)
    assert {s["value"] for s in slice_table(comp, "category")} == {r["motivation_app"] for r in raw}


def test_llm_comparator_example():
    raw = read_json(LLMC_TINY)
    comp = load(LLMC_TINY).comparison
    assert [m["name"] for m in raw["models"]] == [comp.model_a, comp.model_b]
    # example score: mean of individual ratings when present, else the file's score
    for ex, r in zip(comp.examples, raw["examples"], strict=True):
        ratings = [x["score"] for x in r["individual_rater_scores"]]
        want = sum(ratings) / len(ratings) if ratings else r["score"]
        assert example_score(ex) == pytest.approx(want)
        assert ex["tags"] == r["tags"]
    flips = [j.get("flipped") for j in comp.examples[0]["judgments"]]
    assert flips == [False, False, True, True]
    tags = {s["value"]: s["n"] for s in slice_table(comp, "tags")}
    assert tags == {"Technology": 2, "Travel": 1, "(none)": 2}


def test_agreement_per_slice_on_pandalm():
    from comparator.analysis.agreement import agreement_by_slice

    raw = read_json(PANDALM)
    lab = {1: "A", 2: "B", 0: "tie"}
    per: dict[str, list[bool]] = {}
    for r in raw:
        per.setdefault(r["motivation_app"], []).append(lab[r["annotator1"]] == lab[r["annotator3"]])
    rows = agreement_by_slice(load(PANDALM).comparison, "human:annotator1", "human:annotator3",
                              "category")
    assert {r["value"]: r["n"] for r in rows} == {k: len(v) for k, v in per.items()}
    for r in rows:
        assert r["agreement"] == pytest.approx(sum(per[r["value"]]) / len(per[r["value"]]))
