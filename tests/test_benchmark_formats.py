"""Arena-Hard-Auto, MT-Bench single grades and JudgeBench files open as their authors write
them, and each benchmark's headline figure equals the benchmark's own script, re-implemented
here independently (pandas / scikit-learn, after the repositories' code)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SHARED, read_jsonl, run_cli

from comparator.formats import LoadOptions, load
from comparator.schema.errors import InputError

AH = ROOT / "tests" / "data" / "arena_hard"
JUDGED = "data/arena-hard-v0.1/model_judgment/gpt-4-1106-preview/gpt-4-0613.jsonl"
AH_V01 = AH / "v0.1-question_id" / JUDGED
AH_V20 = AH / "v2.0-uid" / JUDGED
AH_GAMES = AH / "gpt-4-0613.v2.0-games.jsonl"
SINGLE = sorted((SHARED / "mt_bench_single").glob("*.jsonl"))
JUDGEBENCH = SHARED / "judgebench" / "sample_20_pairs.o1-mini_on_gpt-4o.jsonl"

# ---- Arena-Hard-Auto: its show_result.py, independently ------------------------------------

WEIGHT = 3
LABEL_TO_SCORE = {"A>B": [1], "A>>B": [1] * WEIGHT, "A=B": [0.5], "A<<B": [0] * WEIGHT,
                  "A<B": [0], "B>A": [0], "B>>A": [0] * WEIGHT, "B=A": [0.5],
                  "B<<A": [1] * WEIGHT, "B<A": [1]}


def v20_battles(path: Path) -> pd.Series:
    """load_judgments of arena-hard-auto@HEAD show_result.py: records with a null game dropped."""
    data = pd.read_json(path, lines=True)
    null = data.games.map(lambda x: x[0] is None or x[1] is None or x[0]["score"] is None
                          or x[1]["score"] is None)
    data = data[~null].reset_index(drop=True)
    scores = data.games.map(lambda x: LABEL_TO_SCORE[x[1]["score"]]
                            + [1 - s for s in LABEL_TO_SCORE[x[0]["score"]]])
    return scores.explode().astype(float)


def v01_win_rate(path: Path, baseline: str = "gpt-4-0314") -> float:
    """arena-hard-auto@0489bf3 show_result.py: get_battles_from_row (a null game has weight 0),
    compute_mle_elo (Bradley-Terry by logistic regression), get_win_rate_column."""
    from sklearn.linear_model import LogisticRegression

    rows = []
    for r in read_jsonl(path):
        for k, game in enumerate(r["games"]):
            s = game["score"] if game else None
            weight = 3 if s in ("A>>B", "B>>A") else 1
            if s in ("A=B",):
                w = "tie"
            elif s in ("A>B", "A>>B"):
                w = "model_a" if k == 0 else "model_b"
            elif s in ("B>A", "B>>A"):
                w = "model_b" if k == 0 else "model_a"
            else:
                continue
            rows += [{"model_a": baseline, "model_b": r["model"], "winner": w}] * weight
    df = pd.DataFrame(rows)
    models = pd.Series(np.arange(2), index=[baseline, rows[0]["model_b"]])
    df = pd.concat([df, df], ignore_index=True)
    n = len(df)
    x = np.zeros([n, 2])
    x[np.arange(n), models[df["model_a"]]] = math.log(10)
    x[np.arange(n), models[df["model_b"]]] = -math.log(10)
    y = np.zeros(n)
    y[df["winner"] == "model_a"] = 1.0
    tie = (df["winner"] == "tie").to_numpy().copy()
    tie[len(tie) // 2:] = False
    y[tie] = 1.0
    # C=inf is the penalty=None of the script (deprecated spelling in scikit-learn >= 1.8)
    lr = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-8).fit(x, y)
    elo = 400 * lr.coef_[0] + 1000
    elo += 1000 - elo[models[baseline]]
    model_elo = elo[models[rows[0]["model_b"]]]
    return 100 / (1 + 10 ** ((1000 - model_elo) / 400))  # predict_win_rate vs the baseline


def _stats(path: Path, *extra: str) -> dict:
    res = run_cli("stats", path, "--json", *extra)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("path", [AH_V01, AH_V20, AH_GAMES], ids=["v0.1", "v2.0", "v2.0-games"])
def test_arena_hard_opens_in_every_layout(path):
    loaded = load(path)
    assert loaded.format == "arena-hard"
    comp = loaded.comparison
    assert (comp.model_a, comp.model_b) == ("gpt-4-0613", "gpt-4-0314")
    raw = read_jsonl(path)
    assert [e["id"] for e in comp.examples] == [r.get("uid", r.get("question_id")) for r in raw]
    for ex, r in zip(comp.examples, raw):
        g1, g2 = ex["judgments"]
        assert g1["flipped"] is True and g2["flipped"] is False
        assert g1["label"] == r["games"][0]["score"] and g2["label"] == r["games"][1]["score"]
        # game 1 shows the baseline as "A": its verdict is turned to the model's side
        five = {"A>>B": 1.5, "A>B": 0.5, "A=B": 0.0, "B>A": -0.5, "B>>A": -1.5}
        assert g1["score"] == -five[r["games"][0]["score"]]
        assert g2["score"] == five[r["games"][1]["score"]]
        # prompt and the two answers: the judge prompt of game 2 shows the model as A
        prompt = r["games"][1].get("user_prompt") or r["games"][1]["prompt"][1]["content"]
        assert f"<|User Prompt|>\n{ex['prompt']}\n\n" in prompt
        assert f"Assistant A's Answer|>\n{ex['response_a']}\n<|The End" in prompt
        assert f"Assistant B's Answer|>\n{ex['response_b']}\n<|The End" in prompt
        text = r["games"][0]["judgment"]
        assert g1["rationale"] == (text["answer"] if isinstance(text, dict) else text)


def test_arena_hard_score_equals_its_result_scripts():
    s01 = _stats(AH_V01)["arena_hard_score"]
    assert s01["layout"] == "v0.1" and s01["ci_level"] == 95.0
    assert s01["score"] == pytest.approx(v01_win_rate(AH_V01), abs=1e-4)
    for path in (AH_V20, AH_GAMES):
        s = _stats(path)["arena_hard_score"]
        battles = v20_battles(path)
        assert s["layout"] == "v2.0" and s["ci_level"] == 90.0
        assert s["battles"] == len(battles)
        assert s["score"] == pytest.approx(100 * battles.mean())
        assert s["ci"][0] <= s["score"] <= s["ci"][1]


def _edited_copy(tmp_path: Path, src: Path, copies: int) -> Path:
    """An EDITED copy of the real records (ids suffixed, verdicts cycled through every label and
    some games nulled) to exercise strong verdicts, unscored games and the bootstrap at size."""
    labels = ["A>>B", "A>B", "A=B", "B>A", "B>>A", None, "B>A", "A>B"]
    out = []
    for k in range(copies):
        for r in read_jsonl(src):
            r = json.loads(json.dumps(r))
            key = "uid" if "uid" in r else "question_id"
            r[key] = f"{r[key]}-{k}"
            r["games"][0]["score"] = labels[k % len(labels)]
            r["games"][1]["score"] = labels[(3 * k + 1) % len(labels)]
            out.append(json.dumps(r))
    path = tmp_path / src.name
    path.write_text("\n".join(out) + "\n")
    return path


def test_arena_hard_edited_copy_strong_verdicts_nulls_and_interval(tmp_path):
    path = _edited_copy(tmp_path, AH_GAMES, 40)
    s = _stats(path)["arena_hard_score"]
    battles = v20_battles(path)
    assert s["score"] == pytest.approx(100 * battles.mean())
    # independent percentile bootstrap over battles (their 5/95 quantiles), many rounds
    rng = np.random.default_rng(1)
    vals = battles.to_numpy()
    means = vals[rng.integers(0, len(vals), (4000, len(vals)))].mean(axis=1)
    lo, hi = np.percentile(100 * means, [5, 95])
    assert s["ci"] == pytest.approx([lo, hi], abs=1.0)
    # unscored games are kept with their text; v0.1 drops only the null game
    comp = load(path).comparison
    unscored = [j for e in comp.examples for j in e["judgments"] if j.get("status") == "unscored"]
    assert unscored and all(j["raw"] for j in unscored)
    (tmp_path / "v01").mkdir()
    old = _edited_copy(tmp_path / "v01", AH_V01, 40)
    assert _stats(old)["arena_hard_score"]["score"] == pytest.approx(v01_win_rate(old), abs=1e-3)


def test_arena_hard_without_question_files_reads_the_judge_prompt(tmp_path):
    alone = tmp_path / "gpt-4-0613.jsonl"
    shutil.copy(AH_V01, alone)
    beside = load(AH_V01).comparison
    comp = load(alone).comparison
    assert [(e["prompt"], e["response_a"], e["response_b"]) for e in comp.examples] == [
        (e["prompt"], e["response_a"], e["response_b"]) for e in beside.examples]


# ---- MT-Bench single grades: FastChat's show_result.py --mode single -------------------------

def _both(tmp_path: Path) -> Path:
    both = tmp_path / "gpt-4_single.jsonl"
    both.write_bytes(b"".join(p.read_bytes() for p in SINGLE))
    return both


def test_single_scores_equal_fastchat_table(tmp_path):
    both = _both(tmp_path)
    s = _stats(both)
    df = pd.read_json(both, lines=True)[["model", "score", "turn"]]
    df = df[df["score"] != -1]
    assert set(s["single_scores"]) == set(df.model)
    for model, row in s["single_scores"].items():
        d = df[df.model == model]
        assert row["n"] == len(d)
        assert row["mean"] == pytest.approx(d.score.mean(), abs=1e-12)
        for t in (1, 2):
            assert row["by_turn"][str(t)] == pytest.approx(d[d.turn == t].score.mean(), abs=1e-12)


def test_single_grades_make_a_pair(tmp_path):
    both = _both(tmp_path)
    rows = read_jsonl(both)
    first = rows[0]["model"]
    other = next(r["model"] for r in rows if r["model"] != first)
    comp = load(both).comparison
    assert (comp.model_a, comp.model_b) == (first, other)  # the first model named is A
    grade = {(r["model"], r["question_id"], r["turn"]): r for r in rows}
    assert len(comp.examples) == len({(q, t) for _, q, t in grade})
    for ex in comp.examples:
        q, t = ex["metadata"]["question_id"], ex["metadata"]["turn"]
        ra, rb = grade[(first, q, t)], grade[(other, q, t)]
        (j,) = ex["judgments"]
        assert j["score"] == pytest.approx(1.5 * (ra["score"] - rb["score"]) / 9)
        assert ra["judgment"] in j["rationale"] and rb["judgment"] in j["rationale"]
        if t == 2:
            assert len(ex["messages"]) == 2 and len(ex["response_a"]) == 2
    # --pair reverses the orientation: every score negated
    rev = load(both, options=LoadOptions(pair=(other, first))).comparison
    assert [e["judgments"][0]["score"] for e in rev.examples] == pytest.approx(
        [-e["judgments"][0]["score"] for e in comp.examples])
    with pytest.raises(InputError, match="one model only"):
        load(SINGLE[0])


def test_single_in_fastchat_layout_joins_questions_and_answers(tmp_path):
    root = tmp_path / "mt_bench"
    (root / "model_judgment").mkdir(parents=True)
    shutil.copy(SHARED / "mt_bench/question.jsonl", root / "question.jsonl")
    (root / "model_answer").mkdir()
    shutil.copy(SHARED / "mt_bench/model_answer/phi-3-dpo.jsonl", root / "model_answer")
    both = _both(tmp_path)
    shutil.copy(both, root / "model_judgment" / both.name)
    comp = load(root / "model_judgment" / both.name).comparison
    questions = {q["question_id"]: q for q in read_jsonl(root / "question.jsonl")}
    answers = {a["question_id"]: a["choices"][0]["turns"]
               for a in read_jsonl(root / "model_answer/phi-3-dpo.jsonl")}
    side = "response_a" if comp.model_a == "phi-3-dpo" else "response_b"
    for ex in comp.examples:
        q, t = ex["metadata"]["question_id"], ex["metadata"]["turn"]
        assert ex["category"] == questions[q]["category"]
        assert ex[side] == (answers[q][0] if t == 1 else answers[q][:2])


# ---- JudgeBench: its utils/metrics.py compute_final_metrics, reverse_order=True --------------

def _flip(d):
    return {"A>B": "B>A", "B>A": "A>B"}.get(d, d)


def judgebench_accuracy(pairs: list[dict], prefix: str = "") -> float:
    pairs = [p for p in pairs if p["source"].startswith(prefix)]
    correct = 0
    for p in pairs:
        j1, j2 = p["judgments"]
        d1 = j1["decision"] if j1 is not None else None
        d2 = _flip(j2["decision"] if j2 is not None else None)
        counter = sum(1 if d == p["label"] else -1 if d == _flip(p["label"]) else 0
                      for d in (d1, d2))
        correct += counter > 0
    return 100 * correct / len(pairs)


GROUPS = ("mmlu-pro", "livebench-reasoning", "livebench-math", "livecodebench")


def _check_judgebench(path: Path) -> None:
    pairs = read_jsonl(path)
    s = _stats(path)
    assert s["format"] == "judgebench" and s["score_judges"] == ["arena_hard"]
    (acc,) = s["reference_accuracy"].values()
    assert 100 * acc["accuracy"] == pytest.approx(judgebench_accuracy(pairs))
    for g in GROUPS:
        if any(p["source"].startswith(g) for p in pairs):
            assert 100 * acc["groups"][g]["accuracy"] == pytest.approx(
                judgebench_accuracy(pairs, g))
        else:
            assert acc["groups"][g]["n"] == 0


def test_judgebench_accuracy_equals_its_metrics():
    _check_judgebench(JUDGEBENCH)
    comp = load(JUDGEBENCH).comparison
    for ex, p in zip(comp.examples, read_jsonl(JUDGEBENCH)):
        gold = [j for j in ex["judgments"] if j["judge"] == "gold"]
        assert [j["label"] for j in gold] == [p["label"]]  # the answer key is not the judge
        assert ex["category"] == p["source"]
        g1, g2 = (j for j in ex["judgments"] if j["judge"] != "gold")
        assert (g1["flipped"], g2["flipped"]) == (False, True)


def test_judgebench_edited_copy_groups_ties_and_nulls(tmp_path):
    """An EDITED copy: sources spread over the four groups, some games tied or null."""
    rows = read_jsonl(JUDGEBENCH)
    for k, r in enumerate(rows):
        r["source"] = f"{GROUPS[k % 4]}-x" if GROUPS[k % 4] == "mmlu-pro" else GROUPS[k % 4]
        if k % 5 == 1:
            r["judgments"][1] = None
        if k % 7 == 2:
            r["judgments"][0]["decision"] = "A=B"
    path = tmp_path / "judgebench_edited.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    _check_judgebench(path)


# ---- never silently wrong ------------------------------------------------------------------

def test_judgebench_was_read_as_a_table_before_and_is_not_now():
    assert load(JUDGEBENCH).format == "judgebench"
    with pytest.raises(InputError, match="column 'judgments'|holds a JSON"):
        load(JUDGEBENCH, "table", LoadOptions(mapping={"rationale": "judgments"}))


def test_table_reader_says_which_column_became_which_field(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"question": "q", "output_a": "x", "output_b": "y",
                                "winner": "A"}) + "\n")
    res = run_cli("stats", path)
    assert res.returncode == 0, res.stderr
    assert "prompt <- 'question'" in res.stderr and "label <- 'winner'" in res.stderr


def test_unknown_file_names_every_format_tried(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"foo": 1, "bar": [1]}) + "\n")
    res = run_cli("stats", path)
    assert res.returncode == 2
    for name in ("arena-hard", "judgebench", "mt-bench-single", "mt-bench", "table"):
        assert f"{name} (" in res.stderr


def test_llm_comparator_without_examples_says_so(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"metadata": {}, "models": [{"name": "a"}, {"name": "b"}]}))
    res = run_cli("stats", path)
    assert res.returncode == 2 and "no examples" in res.stderr


def test_judgebench_named_as_its_repository_names_outputs(tmp_path):
    """The judge is the file name's judge_model; a single-game run (``--single_game``) is
    scored by JudgeBench's other branch: the first decision equals the label."""
    name = ("dataset=judgebench,response_model=gpt-4o-2024-05-13,judge_name=arena_hard,"
            "judge_model=o1-mini-2024-09-12.jsonl")
    rows = read_jsonl(JUDGEBENCH)
    for r in rows:
        r["judgments"] = r["judgments"][:1]  # EDITED copy: the run with one game per pair
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    acc = _stats(path)["reference_accuracy"]
    assert list(acc) == ["o1-mini-2024-09-12"]
    expected = 100 * sum(r["judgments"][0]["decision"] == r["label"] for r in rows) / len(rows)
    assert 100 * acc["o1-mini-2024-09-12"]["accuracy"] == pytest.approx(expected)


def test_arena_hard_v20_scores_each_category_against_its_baseline(tmp_path):
    """An EDITED copy in the v2.0 shape with two categories, each with the baseline Arena-Hard's
    JUDGE_SETTINGS names for it: one score per category, as show_result.py --category does."""
    rows = read_jsonl(_edited_copy(tmp_path, AH_GAMES, 10))
    for k, r in enumerate(rows):
        r["category"], r["baseline"] = (("creative_writing", "gemini-2.0-flash-001") if k % 2
                                        else ("hard_prompt", "o3-mini-2025-01-31"))
    path = tmp_path / "two_categories.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    loaded = load(path)
    assert any("baselines differ" in w for w in loaded.warnings)
    s = _stats(path)["arena_hard_score"]
    assert s["score"] is None  # no single score across two baselines
    for cat in ("creative_writing", "hard_prompt"):
        part = tmp_path / f"{cat}.jsonl"
        part.write_text("\n".join(json.dumps(r) for r in rows if r["category"] == cat) + "\n")
        assert s["by_category"][cat]["score"] == pytest.approx(100 * v20_battles(part).mean())
