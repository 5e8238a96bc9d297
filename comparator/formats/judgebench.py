"""JudgeBench outputs (``outputs/dataset=judgebench,response_model=M,judge_name=N,judge_model=J
.jsonl``): one line per pair, ``pair_id, original_id, source, question, response_model,
response_A, response_B, label, judge_name, judgments``.

``label`` is the gold verdict (``A>B`` / ``B>A``: which response is correct); it is stored as a
judgment of the reference judge ``gold``, never as the judge's verdict. ``judgments`` are the
judge's games: the first in the file's order, the second (when the run used both orders) with
the responses swapped, so its ``decision`` is turned back (``flipped``). Decisions ``A>B`` -> +1,
``B>A`` -> -1, ``A=B`` -> 0; ``null`` or anything else is unscored with its text kept.
``source`` is the category; ``metadata.source_group`` is JudgeBench's reporting group
(mmlu-pro, livebench-reasoning, livebench-math, livecodebench), matched by prefix as its
``run_judge.py`` does.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from comparator.formats.common import LoadOptions, Source, dedupe_ids, finish, need
from comparator.formats.games import game_judgment, require_keys
from comparator.formats.registry import Format, Signature, register
from comparator.schema.errors import InputError
from comparator.schema.records import Comparison

DECISIONS = {"A>B": 1.0, "B>A": -1.0, "A=B": 0.0}
GROUPS = ("mmlu-pro", "livebench-reasoning", "livebench-math", "livecodebench")
REFERENCE_JUDGE = "gold"
_JUDGE_MODEL = re.compile(r"judge_model=([^,]+?)(?:\.jsonl)?$")


def source_group(source: str) -> str:
    return next((g for g in GROUPS if source.startswith(g)), source)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def read_judgebench(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    path = src.path
    warnings: list[str] = []
    found = _JUDGE_MODEL.search(path.name)
    examples, where = [], []
    rows = src.jsonl
    require_keys(path, rows, ("pair_id", "response_A", "response_B", "label", "judgments"),
                 "a JudgeBench output file")
    for n, r in rows:
        games = r["judgments"]
        if not isinstance(games, list) or not 1 <= len(games) <= 2:
            raise InputError(path, "must be a list of one or two games", line=n,
                             field="judgments")
        template = str(r.get("judge_name")) if r.get("judge_name") else None
        judge = found.group(1) if found else (template or "judge")
        label = r["label"]
        gold: dict = {"judge": REFERENCE_JUDGE, "label": _text(label)}
        if isinstance(label, str) and label in DECISIONS:
            gold["score"] = DECISIONS[label]
        else:
            gold.update(status="unscored", raw=_text(label))
        source = str(r.get("source") or "")
        ex: dict = {
            "id": str(r["pair_id"]),
            "prompt": need(path, r, "question", line=n),
            "response_a": need(path, r, "response_A", line=n),
            "response_b": need(path, r, "response_B", line=n),
            "judgments": [gold] + [
                game_judgment(g, "decision", DECISIONS, _text, k == 1, judge=judge,
                              template_id=template) for k, g in enumerate(games)],
            "metadata": {"source_group": source_group(source)},
        }
        if source:
            ex["category"] = source
        for k in ("original_id", "response_model"):
            if r.get(k) is not None:
                ex["metadata"][k] = r[k]
        examples.append(ex)
        where.append(n)
    if not examples:
        raise InputError(path, "no pairs")
    for ex, i in zip(examples, dedupe_ids([e["id"] for e in examples])):
        ex["id"] = i
    models = {e["metadata"].get("response_model") for e in examples}
    meta = {"reference_judge": REFERENCE_JUDGE, "judgebench": {"groups": list(GROUPS)}}
    if len(models) == 1 and None not in models:
        meta["response_model"] = models.pop()
    comp = finish(path, examples, model_a=opts.model_a or "response_A",
                  model_b=opts.model_b or "response_B", source_format="judgebench",
                  metadata=meta, where=where)
    return comp, warnings


register(Format(
    "judgebench", "JudgeBench outputs (outputs/dataset=judgebench,...jsonl)", read_judgebench,
    order=30, misfit=Signature(("pair_id", "response_A", "response_B", "label", "judgments"))))
