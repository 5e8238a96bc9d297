"""FastChat formats: MT-Bench pairwise judgments and Arena-style battle records.

MT-Bench (``data/mt_bench/model_judgment/<judge>_pair.jsonl``): one line per (question, turn,
model pair) with two judgments: g1 shows model_1 as "Assistant A", g2 is the swapped order.
FastChat already maps both winners to ``model_1`` / ``model_2`` / ``tie`` (or ``error``), so
model_1 -> +1, model_2 -> -1, tie -> 0 in model_1's orientation; ``error`` -> unscored.
Prompts and answers come from ``question.jsonl`` / ``model_answer/<model>.jsonl`` beside the
judgment folder when present (FastChat's layout), else from the judge prompt text itself.

Arena battles (``lmsys/mt_bench_human_judgments``, ``chatbot_arena_conversations``): one line
per vote with ``model_a``, ``model_b``, ``winner`` (model_a / model_b / tie / tie (bothbad)),
``judge`` and the two conversations; votes on the same (question, turn, pair) become one
example with several judgments.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from comparator.formats.checks import (
    ArenaRecord,
    MTBenchAnswer,
    MTBenchPairRecord,
    MTBenchQuestion,
    check_rows,
)
from comparator.formats.common import (
    LoadOptions,
    Source,
    dedupe_ids,
    finish,
    read_file,
    read_jsonl,
    records,
    text_id,
)
from comparator.schema.errors import InputError
from comparator.schema.labels import last_verdict_token
from comparator.schema.records import Comparison

_WINNER = {"model_1": 1.0, "model_2": -1.0, "tie": 0.0}


def _between(text: str, start: str, end: str) -> str | None:
    i = text.find(start)
    if i < 0:
        return None
    i += len(start)
    j = text.find(end, i)
    return text[i:j] if j >= 0 else None


def parse_pair_prompt(text: str) -> dict | None:
    """Question, both answers and the reference out of a FastChat pairwise judge prompt."""
    if "<|The Start of Assistant A's Conversation with User|>" in text:
        out: dict = {}
        for side in ("A", "B"):
            conv = _between(text, f"<|The Start of Assistant {side}'s Conversation with User|>",
                            f"<|The End of Assistant {side}'s Conversation with User|>")
            if conv is None:
                return None
            chunks = conv.split("\n\n### User:\n")[1:]
            turns = [c.split(f"\n\n### Assistant {side}:\n", 1) for c in chunks]
            if not turns or any(len(t) != 2 for t in turns):
                return None
            out["questions"] = [t[0] for t in turns]
            out[side] = [t[1].removesuffix("\n\n") for t in turns]
        ref = _between(text, "<|The Start of Reference Answer|>", "<|The End of Reference Answer|>")
        if ref:
            out["reference"] = [c.split("\n\n### Reference answer:\n", 1)[-1].removesuffix("\n\n")
                                for c in ref.split("\n\n### User:\n")[1:]]
        return out
    q = _between(text, "[User Question]\n", "\n\n[The Start of ")
    a, b = (_between(text, f"[The Start of Assistant {s}'s Answer]\n",
                     f"\n[The End of Assistant {s}'s Answer]") for s in "AB")
    if q is None or a is None or b is None:
        return None
    ref = _between(text, "[The Start of Reference Answer]\n", "\n[The End of Reference Answer]")
    return {"questions": [q], "A": [a], "B": [b], "reference": [ref] if ref is not None else None}


def _fastchat_root(path: Path) -> Path | None:
    """``data/mt_bench`` when ``path`` sits in its ``model_judgment`` folder."""
    return path.parent.parent if path.parent.name == "model_judgment" else None


def load_questions(path: Path) -> dict[int, dict]:
    rows = read_jsonl(path, read_file(path))
    check_rows(path, rows, MTBenchQuestion, is_line=True)
    return {int(q["question_id"]): q for _, q in rows}


def _load_answers(root: Path | None, models: set[str]) -> dict[str, dict[int, list[str]]]:
    out: dict[str, dict[int, list[str]]] = {}
    if root is None:
        return out
    for m in models:
        f = root / "model_answer" / f"{m}.jsonl"
        if f.exists():
            rows = read_jsonl(f, read_file(f))
            check_rows(f, rows, MTBenchAnswer, is_line=True)
            out[m] = {int(r["question_id"]): r["choices"][0]["turns"] for _, r in rows}
    return out


def _choose_pair(path: Path, pairs: Counter, opts: LoadOptions) -> tuple[str, str] | None:
    """The (A, B) to orient on, or None for a file of several pairs kept as model_1/model_2."""
    unordered = {frozenset(p) for p in pairs}
    if opts.pair:
        if frozenset(opts.pair) not in unordered:
            have = ", ".join(sorted(f"{a},{b}" for a, b in pairs))
            raise InputError(path, f"no rows compare {opts.pair[0]} with {opts.pair[1]}; "
                             f"pairs in the file: {have}", field="model_1/model_2")
        return opts.pair
    if len(unordered) == 1:
        return pairs.most_common(1)[0][0]
    return None


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
    pair = _choose_pair(path, Counter((r["model_1"], r["model_2"]) for _, r in rows), opts)
    root = _fastchat_root(path)
    qpath = opts.questions or (root / "question.jsonl" if root else None)
    questions = load_questions(qpath) if qpath and qpath.exists() else {}
    if qpath and not opts.questions and questions:
        warnings.append(f"categories and prompts joined from {qpath}")
    answers = _load_answers(root, {m for _, r in rows for m in (r["model_1"], r["model_2"])})
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


# ---- Arena-style battles -------------------------------------------------------------------

_ARENA_WINNER = {"model_a": 1.0, "model_b": -1.0, "tie": 0.0, "tie (bothbad)": 0.0}


def _split_conversation(conv: list[dict], turn: int | None) -> tuple[list[dict], list[str]]:
    users = [{"role": "user", "content": m["content"]} for m in conv if m.get("role") == "user"]
    bot = [m["content"] for m in conv if m.get("role") == "assistant"]
    if turn:
        users, bot = users[:turn], bot[:turn]
    return users, bot


def read_arena(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    path = src.path
    if src.first_char == b"[":
        rows = list(enumerate(records(path, src.json, "an Arena battle list"), start=1))
        where_is_line = False
    else:
        rows = src.jsonl
        where_is_line = True
    for n, r in rows:
        for key in ("model_a", "model_b", "winner", "conversation_a", "conversation_b"):
            if key not in r:
                kw = {"line": n} if where_is_line else {"record": n}
                raise InputError(path, "missing", field=key, **kw)
    check_rows(path, rows, ArenaRecord, is_line=where_is_line)
    pairs = Counter((r["model_a"], r["model_b"]) for _, r in rows)
    pair = _choose_pair(path, pairs, opts)
    groups: dict[tuple, dict] = {}
    where: dict[tuple, int] = {}
    for n, r in rows:
        ma, mb = r["model_a"], r["model_b"]
        if pair and {ma, mb} != set(pair):
            continue
        reverse = pair is not None and ma == pair[1]
        turn = r.get("turn")
        conv_a, conv_b = r["conversation_a"], r["conversation_b"]
        if reverse:
            conv_a, conv_b = conv_b, conv_a
        users, resp_a = _split_conversation(conv_a, turn)
        _, resp_b = _split_conversation(conv_b, turn)
        if not users or not resp_a or not resp_b:
            raise InputError(path, "needs a user message and a reply in both conversations",
                             field="conversation_a/conversation_b",
                             **({"line": n} if where_is_line else {"record": n}))
        qid = r.get("question_id") or text_id(users)
        key = (str(qid), turn, (mb, ma) if reverse else (ma, mb))
        ex = groups.get(key)
        if ex is None:
            where[key] = n
            ex = groups[key] = {"judgments": [], "metadata": {}}
            if len(users) == 1:
                ex.update(prompt=users[0]["content"], response_a=resp_a[0], response_b=resp_b[0])
            else:
                ex.update(messages=users, response_a=resp_a, response_b=resp_b)
            meta = {k: r[k] for k in ("question_id", "turn", "language") if r.get(k) is not None}
            if pair is None:
                meta.update(model_1=ma, model_2=mb)
            ex["metadata"] = meta
            if r.get("category"):
                ex["category"] = r["category"]
        ex["judgments"].append(_arena_judgment(r, -1.0 if reverse else 1.0))
    examples = list(groups.values())
    ids = [k[0] + (f"-t{k[1]}" if k[1] else "") + ("" if pair else f"-{k[2][0]}-vs-{k[2][1]}")
           for k in groups]
    for ex, i in zip(examples, dedupe_ids(ids)):
        ex["id"] = i
    warnings = [] if pair else ["several model pairs in one file: loaded as model_1 vs model_2 "
                                "(choose one pair with --pair A,B)"]
    model_a, model_b = pair or ("model_1", "model_2")
    comp = finish(path, examples, model_a=model_a, model_b=model_b, source_format="arena",
                  where=[where[k] for k in groups], where_is_line=where_is_line)
    return comp, warnings


def _arena_judgment(r: dict, sign: float) -> dict:
    who = str(r.get("judge") or "human")
    is_model = who.startswith(("gpt", "claude", "llm"))
    j: dict = {"label": r["winner"], "judge": who if is_model else "human",
               "rater": None if is_model else who}
    if r["winner"] in _ARENA_WINNER:
        j["score"] = sign * _ARENA_WINNER[r["winner"]]
    else:
        j["status"] = "unscored"
        j["raw"] = str(r["winner"])
    return j
