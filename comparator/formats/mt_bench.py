"""MT-Bench pairwise judgments (FastChat ``data/mt_bench/model_judgment/<judge>_pair.jsonl``).

One line per (question, turn, model pair) with two judgments: g1 shows model_1 as "Assistant A",
g2 is the swapped order. FastChat already maps both winners to ``model_1`` / ``model_2`` / ``tie``
(or ``error``), so model_1 -> +1, model_2 -> -1, tie -> 0 in model_1's orientation; ``error`` ->
unscored. Prompts and answers come from ``question.jsonl`` / ``model_answer/<model>.jsonl`` beside
the judgment folder when present (FastChat's layout), else from the judge prompt text itself.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import NotRequired

from pydantic import with_config

from comparator.formats.checks import OPEN, check_rows
from comparator.formats.common import LoadOptions, Source, between, dedupe_ids, finish
from comparator.formats.fastchat import (
    FastChatJudged,
    choose_pair,
    fastchat_root,
    judged_siblings,
    load_answers,
    load_questions,
)
from comparator.formats.registry import Format, Signature, register
from comparator.schema.errors import InputError
from comparator.schema.labels import last_verdict_token
from comparator.schema.records import Comparison


@with_config(OPEN)
class MTBenchPairRecord(FastChatJudged):
    model_1: str
    model_2: str
    g1_winner: str
    g2_winner: str
    g1_judgment: NotRequired[str | None]
    g2_judgment: NotRequired[str | None]
    g1_user_prompt: NotRequired[str | None]


_WINNER = {"model_1": 1.0, "model_2": -1.0, "tie": 0.0}


def parse_pair_prompt(text: str) -> dict | None:
    """Question, both answers and the reference out of a FastChat pairwise judge prompt."""
    if "<|The Start of Assistant A's Conversation with User|>" in text:
        out: dict = {}
        for side in ("A", "B"):
            conv = between(text, f"<|The Start of Assistant {side}'s Conversation with User|>",
                           f"<|The End of Assistant {side}'s Conversation with User|>")
            if conv is None:
                return None
            chunks = conv.split("\n\n### User:\n")[1:]
            turns = [c.split(f"\n\n### Assistant {side}:\n", 1) for c in chunks]
            if not turns or any(len(t) != 2 for t in turns):
                return None
            out["questions"] = [t[0] for t in turns]
            out[side] = [t[1].removesuffix("\n\n") for t in turns]
        ref = between(text, "<|The Start of Reference Answer|>", "<|The End of Reference Answer|>")
        if ref:
            out["reference"] = [c.split("\n\n### Reference answer:\n", 1)[-1].removesuffix("\n\n")
                                for c in ref.split("\n\n### User:\n")[1:]]
        return out
    q = between(text, "[User Question]\n", "\n\n[The Start of ")
    a, b = (between(text, f"[The Start of Assistant {s}'s Answer]\n",
                    f"\n[The End of Assistant {s}'s Answer]") for s in "AB")
    if q is None or a is None or b is None:
        return None
    ref = between(text, "[The Start of Reference Answer]\n", "\n[The End of Reference Answer]")
    return {"questions": [q], "A": [a], "B": [b], "reference": [ref] if ref is not None else None}


def _judgment(winner: str, text: str, flipped: bool, judge: list | str, sign: float) -> dict:
    judge_name, template = (judge[0], judge[1]) if isinstance(judge, list) else (judge, None)
    j = {"label": last_verdict_token(text) or winner, "flipped": flipped, "rationale": text,
         "judge": judge_name, "template_id": template}
    if winner in _WINNER:
        j["score"] = sign * _WINNER[winner]
    else:
        j["status"] = "unscored"
        j["raw"] = text
    return j


def read_mt_bench_pairs(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    path = src.path
    rows = src.jsonl
    warnings: list[str] = []
    for n, r in rows:
        for key in ("question_id", "model_1", "model_2", "g1_winner", "g2_winner"):
            if key not in r:
                raise InputError(path, "missing (is this a FastChat *_pair.jsonl file?)",
                                 line=n, field=key)
    check_rows(path, rows, MTBenchPairRecord, is_line=True)
    pair = choose_pair(path, Counter((r["model_1"], r["model_2"]) for _, r in rows), opts)
    root = fastchat_root(path)
    qpath = opts.questions or (root / "question.jsonl" if root else None)
    questions = load_questions(qpath, None if opts.questions else root) \
        if qpath and (qpath.exists() or qpath.is_symlink()) else {}
    if qpath and not opts.questions and questions:
        warnings.append(f"categories and prompts joined from {qpath}")
    answers = load_answers(root, {m for _, r in rows for m in (r["model_1"], r["model_2"])})
    groups: dict[tuple, dict] = {}
    lines: dict[tuple, int] = {}
    for n, r in rows:
        m1, m2, qid, turn = r["model_1"], r["model_2"], int(r["question_id"]), int(r.get("turn", 1))
        if pair and {m1, m2} != set(pair):
            continue
        reverse = pair is not None and m1 == pair[1]
        sign = -1.0 if reverse else 1.0
        a_model, b_model = (m2, m1) if reverse else (m1, m2)
        key = (qid, turn, a_model, b_model)
        ex = groups.get(key)
        if ex is None:
            lines[key] = n
            ex = groups[key] = _mt_example(path, n, r, reverse, qid, turn, questions, answers)
            if pair is None:
                ex["metadata"].update(model_1=m1, model_2=m2)
        judge = r.get("judge") or "unknown"
        ex["judgments"].append(_judgment(r["g1_winner"], r.get("g1_judgment", ""), reverse,
                                         judge, sign))
        ex["judgments"].append(_judgment(r["g2_winner"], r.get("g2_judgment", ""), not reverse,
                                         judge, sign))
    if not groups:
        raise InputError(path, "no judgments to load")
    examples = list(groups.values())
    many_turns = len({k[1] for k in groups}) > 1 or any(k[1] > 1 for k in groups)
    ids = [f"{k[0]}" + (f"-t{k[1]}" if many_turns else "") + ("" if pair else f"-{k[2]}-vs-{k[3]}")
           for k in groups]
    for ex, i in zip(examples, dedupe_ids(ids)):
        ex["id"] = i
    if pair:
        model_a, model_b = pair
    else:
        model_a, model_b = "model_1", "model_2"
        warnings.append(f"{len({frozenset(k[2:]) for k in groups})} model pairs in one file: "
                        "loaded as model_1 vs model_2 (slice by metadata model_1/model_2, or "
                        "choose one pair with --pair A,B)")
    comp = finish(path, examples, model_a=model_a, model_b=model_b, source_format="mt-bench",
                  where=[lines[k] for k in groups])
    return comp, warnings


def _mt_example(path: Path, n: int, r: dict, reverse: bool, qid: int, turn: int,
                questions: dict, answers: dict) -> dict:
    parsed = parse_pair_prompt(r.get("g1_user_prompt") or "") or {}
    q = questions.get(qid)
    m1, m2 = r["model_1"], r["model_2"]
    resp = {}
    for side, model in (("A", m1), ("B", m2)):
        turns = answers.get(model, {}).get(qid)
        resp[side] = turns[:turn] if turns else parsed.get(side)
    user_turns = (q["turns"][:turn] if q else None) or parsed.get("questions")
    if not user_turns or resp["A"] is None or resp["B"] is None:
        raise InputError(path, "cannot recover the question and answers: give --questions and "
                         "keep model_answer/ beside model_judgment/", line=n,
                         field="g1_user_prompt")
    if reverse:
        resp["A"], resp["B"] = resp["B"], resp["A"]
    ex: dict = {"judgments": [], "metadata": {"question_id": qid, "turn": turn}}
    if turn == 1 and len(user_turns) == 1:
        ex["prompt"] = user_turns[0]
        ex["response_a"], ex["response_b"] = resp["A"][0], resp["B"][0]
    else:
        ex["messages"] = [{"role": "user", "content": t} for t in user_turns]
        ex["response_a"], ex["response_b"] = list(resp["A"]), list(resp["B"])
    ref = (q or {}).get("reference") or parsed.get("reference")
    if ref:
        ex["reference"] = ref[0] if "prompt" in ex else list(ref[:turn])
    if q and q.get("category"):
        ex["category"] = q["category"]
    return ex


register(Format(
    "mt-bench", "FastChat MT-Bench pairwise judgments (*_pair.jsonl)", read_mt_bench_pairs,
    aliases=("fastchat", "mt_bench"), order=10,
    misfit=Signature(("g1_winner", "g2_winner", "model_1", "model_2")),
    siblings=lambda path: judged_siblings(fastchat_root(path))))
