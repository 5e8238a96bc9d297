"""MT-Bench single-answer grading (FastChat ``model_judgment/<judge>_single.jsonl``).

One line per (question, turn, model): ``question_id, model, judge, user_prompt, judgment, score``
(1-10; -1 = the judge's reply had no rating), ``turn``. FastChat writes ONE file for all the
models it graded; two files of one model each are combined by concatenating them
(``cat a.jsonl b.jsonl > gpt-4_single.jsonl``), which is that same layout.

Grades of two models on the same question and turn become one example: A and B are ``--pair
A,B``, else, with exactly two models in the file, the first model named in the file is A.
The score is the grade difference on the canonical scale, 1.5 * (grade A - grade B) / 9
(grades span 1..10, so a 9-point gap is +-1.5; a 2-point gap is 0.33, beyond the default tie
threshold), clipped to +-1.5. A -1 grade makes the example's judgment unscored (the raw texts
kept). Both judge explanations are the rationale. Every model's grades stay in
``metadata.single_grades`` for FastChat's single-mode table (``comparator.analysis.benchmarks``).
"""

from __future__ import annotations

from pathlib import Path
from typing import NotRequired

from pydantic import with_config

from comparator.formats.checks import OPEN, check_rows
from comparator.formats.common import LoadOptions, Source, between, finish
from comparator.formats.fastchat import (
    FastChatJudged,
    fastchat_root,
    judged_siblings,
    load_answers,
    load_questions,
)
from comparator.formats.games import require_keys
from comparator.formats.registry import Format, Signature, register
from comparator.schema.errors import InputError
from comparator.schema.records import Comparison


@with_config(OPEN)
class MTBenchSingleRecord(FastChatJudged):
    model: str
    judgment: NotRequired[str | None]
    user_prompt: NotRequired[str | None]


GRADE_SPAN = 9.0  # 10 - 1


def _conversation(text: str, start: str, end: str, speaker: str) -> list[tuple[str, str]]:
    conv = between(text, start, end)
    if conv is None:
        return []
    chunks = conv.split("\n\n### User:\n")[1:]
    turns = [c.split(f"\n\n### {speaker}:\n", 1) for c in chunks]
    return [(t[0], t[1].removesuffix("\n\n")) for t in turns if len(t) == 2]


def parse_single_prompt(text: str) -> dict | None:
    """Questions, the graded answer(s) and the reference out of a FastChat single-grade prompt."""
    if "<|The Start of Assistant A's Conversation with User|>" in text:
        conv = _conversation(text, "<|The Start of Assistant A's Conversation with User|>",
                             "<|The End of Assistant A's Conversation with User|>", "Assistant A")
        if not conv:
            return None
        ref = _conversation(text, "<|The Start of Reference Answer|>",
                            "<|The End of Reference Answer|>", "Reference answer")
        return {"questions": [q for q, _ in conv], "answers": [a for _, a in conv],
                "reference": [a for _, a in ref] or None}
    q = between(text, "[Question]\n", "\n\n[The Start of ")
    a = between(text, "[The Start of Assistant's Answer]\n", "\n[The End of Assistant's Answer]")
    if q is None or a is None:
        return None
    ref = between(text, "[The Start of Reference Answer]\n", "\n[The End of Reference Answer]")
    return {"questions": [q], "answers": [a], "reference": [ref] if ref is not None else None}


def _grade(path: Path, n: int, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(path, f"must be a number (1-10, -1 = no rating), got {value!r}",
                         line=n, field="score")
    return float(value)


def choose_models(path: Path, models: list[str], opts: LoadOptions) -> tuple[str, str]:
    if opts.pair:
        missing = [m for m in opts.pair if m not in models]
        if missing:
            raise InputError(path, f"--pair: no grades of {', '.join(missing)}; models in the "
                             f"file: {', '.join(models)}", field="model")
        return opts.pair
    if len(models) == 2:
        return models[0], models[1]
    if len(models) == 1:
        raise InputError(path, f"grades of one model only ({models[0]}): a comparison needs two. "
                         "Concatenate the single-grade files of two models (cat a.jsonl b.jsonl "
                         "> both.jsonl) and open that", field="model")
    raise InputError(path, f"grades of {len(models)} models ({', '.join(models)}): choose two "
                     "with --pair A,B", field="model")


def read_mt_bench_single(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    path = src.path
    rows = src.jsonl
    warnings: list[str] = []
    grades: dict[str, dict[str, list]] = {}
    cells: dict[tuple[str, int, int], tuple[int, dict]] = {}
    require_keys(path, rows, ("question_id", "model", "score"), "a FastChat *_single.jsonl file")
    check_rows(path, rows, MTBenchSingleRecord, is_line=True)
    for n, r in rows:
        model, turn, score = str(r["model"]), int(r.get("turn", 1)), _grade(path, n, r["score"])
        g = grades.setdefault(model, {"turn": [], "score": []})
        g["turn"].append(turn)
        g["score"].append(score)
        key = (model, int(r["question_id"]), turn)
        if key in cells:
            warnings.append(f"line {n}: {model} graded again on question {key[1]} turn {turn}; "
                            "the example uses the last grade")
        cells[key] = (n, r)
    model_a, model_b = choose_models(path, list(grades), opts)
    root = fastchat_root(path)
    qpath = opts.questions or (root / "question.jsonl" if root else None)
    questions = load_questions(qpath, None if opts.questions else root) \
        if qpath and (qpath.exists() or qpath.is_symlink()) else {}
    answers = load_answers(root, {model_a, model_b})
    examples, where = [], []
    keys = sorted({k[1:] for k in cells if k[0] in (model_a, model_b)})
    alone = 0
    for qid, turn in keys:
        ra, rb = cells.get((model_a, qid, turn)), cells.get((model_b, qid, turn))
        if ra is None or rb is None:
            alone += 1
            continue
        examples.append(_example(path, qid, turn, ra, rb, (model_a, model_b), questions, answers))
        where.append(min(ra[0], rb[0]))
    if alone:
        warnings.append(f"{alone} question-turns graded for only one of {model_a}, {model_b}: "
                        "left out")
    if not examples:
        raise InputError(path, f"{model_a} and {model_b} share no graded question and turn")
    if questions and not opts.questions:
        warnings.append(f"categories and prompts joined from {qpath}")
    comp = finish(path, examples, model_a=model_a, model_b=model_b,
                  source_format="mt-bench-single", metadata={"single_grades": grades},
                  where=where)
    return comp, warnings


def _example(path: Path, qid: int, turn: int, ra: tuple[int, dict], rb: tuple[int, dict],
             models: tuple[str, str], questions: dict, answers: dict) -> dict:
    q = questions.get(qid)
    sides = []
    for (n, r), model in zip((ra, rb), models):
        parsed = parse_single_prompt(r.get("user_prompt") or "") or {}
        turns = answers.get(model, {}).get(qid)
        resp = turns[:turn] if turns else parsed.get("answers")
        if not resp or len(resp) < turn:
            raise InputError(path, f"cannot recover {model}'s answer: keep model_answer/ beside "
                             "model_judgment/", line=n, field="user_prompt")
        sides.append((n, r, parsed, resp))
    user = (q["turns"][:turn] if q else None) or sides[0][2].get("questions")
    if not user or len(user) < turn:
        raise InputError(path, "cannot recover the question: give --questions", line=ra[0],
                         field="user_prompt")
    (_, r_a, _, resp_a), (_, r_b, _, resp_b) = sides
    ga, gb = float(r_a["score"]), float(r_b["score"])
    judge = r_a.get("judge")
    name, template = (judge[0], judge[1]) if isinstance(judge, list) else (judge, None)
    text_a, text_b = str(r_a.get("judgment") or ""), str(r_b.get("judgment") or "")
    j: dict = {"judge": str(name or "unknown"), "template_id": template,
               "label": f"{ga:g} vs {gb:g}",
               "rationale": f"[{models[0]}: {ga:g}/10]\n{text_a}\n\n[{models[1]}: {gb:g}/10]\n"
                            f"{text_b}",
               "extra": {"grade_a": ga, "grade_b": gb}}
    if ga == -1 or gb == -1:
        j.update(status="unscored", raw=f"{text_a}\n\n{text_b}")
    else:
        j["score"] = max(-1.5, min(1.5, 1.5 * (ga - gb) / GRADE_SPAN))
    ex: dict = {"id": f"{qid}-t{turn}", "judgments": [j],
                "metadata": {"question_id": qid, "turn": turn, "grade_a": ga, "grade_b": gb}}
    if turn == 1:
        ex.update(prompt=user[0], response_a=resp_a[0], response_b=resp_b[0])
    else:
        ex.update(messages=[{"role": "user", "content": t} for t in user[:turn]],
                  response_a=list(resp_a[:turn]), response_b=list(resp_b[:turn]))
    ref = (q or {}).get("reference") or sides[0][2].get("reference")
    if ref:
        ex["reference"] = ref[0] if turn == 1 else list(ref[:turn])
    if q and q.get("category"):
        ex["category"] = q["category"]
    return ex


register(Format(
    "mt-bench-single", "FastChat MT-Bench single-answer grades (*_single.jsonl)",
    read_mt_bench_single, aliases=("mt-bench-single-grade",), order=40,
    misfit=Signature(("question_id", "model", "score", "turn"), ("judgment", "user_prompt")),
    siblings=lambda path: judged_siblings(fastchat_root(path))))
