"""Arena-style battle records (lmsys ``mt_bench_human_judgments`` / Chatbot Arena layout).

No such file ships in ../shared/data, so the test assembles one from real parts: the LLMBar
MT-Bench pairs carry the human expert label, and their outputs are the official MT-Bench turn-1
answers verbatim, which names the two models and the question. Only the record layout is ours
(as the dataset card documents it: question_id, model_a, model_b, winner, judge,
conversation_a/b, turn)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import LLMBAR, MT_JUDGMENTS, MT_QUESTIONS, read_json, read_jsonl

from comparator.analysis import summary
from comparator.formats import InputError, LoadOptions, load


def _battles() -> list[dict]:
    answers: dict[str, list[tuple[str, int]]] = {}
    for f in sorted((MT_JUDGMENTS.parents[1] / "model_answer").glob("*.jsonl")):
        for r in read_jsonl(f):
            answers.setdefault(r["choices"][0]["turns"][0], []).append((f.stem, r["question_id"]))
    out = []
    for k, r in enumerate(read_json(LLMBAR)):
        a, b = answers.get(r["output_1"]), answers.get(r["output_2"])
        if not a or not b or len(a) > 1 or len(b) > 1:
            continue
        (ma, qid), (mb, _) = a[0], b[0]
        out.append({
            "question_id": qid, "model_a": ma, "model_b": mb,
            "winner": "model_a" if r["label"] == 1 else "model_b",
            "judge": f"expert_{k % 7}", "turn": 1,
            "conversation_a": [{"role": "user", "content": r["input"]},
                               {"role": "assistant", "content": r["output_1"]}],
            "conversation_b": [{"role": "user", "content": r["input"]},
                               {"role": "assistant", "content": r["output_2"]}],
        })
    return out


@pytest.fixture(scope="module")
def battles_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("arena") / "human_judgments.jsonl"
    battles = _battles()
    path.write_text("\n".join(json.dumps(b) for b in battles))
    return path, battles


def test_multi_pair_file_loads_as_positions(battles_file):
    path, battles = battles_file
    assert len(battles) > 100
    loaded = load(path)
    assert loaded.format == "arena"
    comp = loaded.comparison
    assert (comp.model_a, comp.model_b) == ("model_1", "model_2")
    assert any("--pair" in w for w in loaded.warnings)
    s = summary(comp)
    assert s["a_wins"] == sum(b["winner"] == "model_a" for b in battles)
    assert all(j["judge"] == "human" for ex in comp.examples for j in ex["judgments"])


def test_pair_selection_orients_both_directions(battles_file):
    path, battles = battles_file
    pairs = Counter(frozenset((b["model_a"], b["model_b"])) for b in battles)
    pair = tuple(sorted(pairs.most_common(1)[0][0]))
    comp = load(path, options=LoadOptions(pair=pair, questions=MT_QUESTIONS)).comparison
    wins = Counter()
    for b in battles:
        if {b["model_a"], b["model_b"]} == set(pair):
            won = b["model_a"] if b["winner"] == "model_a" else b["model_b"]
            wins[won] += 1
    s = summary(comp)
    assert (comp.model_a, comp.model_b) == pair
    assert (s["a_wins"], s["b_wins"]) == (wins[pair[0]], wins[pair[1]])
    with pytest.raises(InputError, match="no rows compare"):
        load(path, options=LoadOptions(pair=("gpt-4", "nobody")))
