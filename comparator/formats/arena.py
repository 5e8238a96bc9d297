"""Arena battles with their conversations (``lmsys/mt_bench_human_judgments``,
``chatbot_arena_conversations``): one line (or record) per vote with ``model_a``, ``model_b``,
``winner`` (model_a / model_b / tie / tie (bothbad)), ``judge`` and the two conversations; votes
on the same (question, turn, pair) become one example with several judgments.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, NotRequired

from pydantic import Field, with_config
from typing_extensions import TypedDict

from comparator.formats.checks import OPEN, Name, check_rows
from comparator.formats.common import LoadOptions, Source, dedupe_ids, finish, records, text_id
from comparator.formats.fastchat import choose_pair
from comparator.formats.registry import Format, Signature, register
from comparator.schema.errors import InputError
from comparator.schema.records import Comparison


@with_config(OPEN)
class _Turn(TypedDict):
    role: str
    content: str


@with_config(OPEN)
class ArenaRecord(TypedDict):
    model_a: str
    model_b: str
    winner: str
    conversation_a: Annotated[list[_Turn], Field(min_length=2)]
    conversation_b: Annotated[list[_Turn], Field(min_length=2)]
    turn: NotRequired[int | None]
    question_id: NotRequired[int | str | None]
    judge: NotRequired[Name]
    category: NotRequired[Name]


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
    pair = choose_pair(path, pairs, opts)
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


register(Format(
    "arena", "Arena battles with both conversations (JSONL or a JSON list)", read_arena,
    order=50, misfit=Signature(("model_a", "model_b", "winner"),
                               ("conversation_a", "conversation_b"))))
