"""AlpacaEval annotations (``results/<model>/<annotator>/annotations.json``).

output_1 = A (``generator_1``, the reference model), output_2 = B (``generator_2``).
``preference`` p in [1, 2] (1 = output_1 wins, 2 = output_2 wins, fractional for the
log-probability-weighted annotators) maps to score 3 * (1.5 - p); p = 0 is AlpacaEval's draw;
a missing / NaN preference is an annotator failure -> unscored. ``dataset`` -> category.
The rationale is ``raw_completion.concise_explanation`` when the annotator wrote one.
"""

from __future__ import annotations

import math
from typing import Any, NotRequired

import orjson
from pydantic import with_config
from typing_extensions import TypedDict

from comparator.formats.checks import OPEN, Name, Number, check_rows
from comparator.formats.common import (
    LoadOptions,
    Source,
    dedupe_ids,
    finish,
    need,
    only_value,
    records,
    text_id,
)
from comparator.formats.registry import Format, Signature, register
from comparator.schema.errors import InputError
from comparator.schema.records import Comparison


@with_config(OPEN)
class _Ranked(TypedDict):
    model: Any
    rank: NotRequired[Number]


@with_config(OPEN)
class _RawCompletion(TypedDict):
    ordered_models: NotRequired[list[_Ranked] | None]
    concise_explanation: NotRequired[str | None]


@with_config(OPEN)
class AlpacaEvalRecord(TypedDict):
    instruction: str
    output_1: str
    output_2: str
    generator_1: NotRequired[Name]
    generator_2: NotRequired[Name]
    annotator: NotRequired[Name]
    preference: NotRequired[Number | str | None]
    raw_completion: NotRequired[_RawCompletion | str | None]
    referenced_models: NotRequired[dict[str, Any] | None]

_KNOWN = {"instruction", "output_1", "output_2", "generator_1", "generator_2", "dataset",
          "preference", "raw_completion", "annotator", "referenced_models"}


def preference_to_score(p: object) -> float | None:
    if p is None or isinstance(p, bool):
        return None
    p = float(p)
    if math.isnan(p):
        return None
    if p == 0:
        return 0.0
    if not 1.0 <= p <= 2.0:
        raise ValueError(f"preference must be in [1, 2] (or 0 for a draw), got {p}")
    return 3.0 * (1.5 - p)


def _label(ann: dict, pref: object) -> str:
    raw = ann.get("raw_completion")
    if isinstance(raw, dict) and raw.get("ordered_models"):
        best = min(raw["ordered_models"], key=lambda m: m.get("rank", 99))
        return str(best.get("model"))
    return str(pref)


def read_alpaca_eval(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    path = src.path
    rows = records(path, src.json, "AlpacaEval annotations")
    check_rows(path, enumerate(rows, start=1), AlpacaEvalRecord)
    gen1 = only_value([r.get("generator_1") for r in rows]) or opts.model_a or "output_1"
    gen2 = only_value([r.get("generator_2") for r in rows]) or opts.model_b or "output_2"
    examples = []
    for n, r in enumerate(rows, start=1):
        instruction = need(path, r, "instruction", record=n)
        pref = r.get("preference")
        try:
            score = preference_to_score(pref)
        except (TypeError, ValueError) as e:
            raise InputError(path, str(e), record=n, field="preference") from None
        raw = r.get("raw_completion")
        j: dict = {"judge": r.get("annotator") or "alpaca_eval", "template_id": r.get("annotator"),
                   "label": _label(r, pref)}
        if isinstance(raw, dict) and raw.get("concise_explanation"):
            j["rationale"] = raw["concise_explanation"]
        refs = r.get("referenced_models")
        if isinstance(refs, dict) and refs.get("m"):
            j["flipped"] = refs["m"] == "output_2"  # the judge saw output_2 as the first, "m"
        if score is None:
            j["status"] = "unscored"
            j["raw"] = raw if isinstance(raw, str) else orjson.dumps(raw).decode()
        else:
            j["score"] = score
        keep = {k: v for k, v in r.items() if k not in _KNOWN}
        if refs is not None:
            keep["referenced_models"] = refs
        if raw is not None:
            keep["raw_completion"] = raw
        j["extra"] = keep
        ex: dict = {
            "id": text_id(instruction),
            "prompt": instruction,
            "response_a": need(path, r, "output_1", record=n),
            "response_b": need(path, r, "output_2", record=n),
            "judgments": [j],
            "metadata": {},
        }
        if r.get("dataset") is not None:
            ex["category"] = str(r["dataset"])
        if r.get("generator_1") != gen1 or r.get("generator_2") != gen2:
            ex["metadata"].update(generator_1=r.get("generator_1"),
                                  generator_2=r.get("generator_2"))
        examples.append(ex)
    for ex, i in zip(examples, dedupe_ids([e["id"] for e in examples])):
        ex["id"] = i
    comp = finish(path, examples, model_a=gen1, model_b=gen2, source_format="alpaca-eval",
                  where_is_line=False)
    return comp, []


register(Format(
    "alpaca-eval", "AlpacaEval annotations (annotations.json)", read_alpaca_eval,
    aliases=("alpacaeval", "alpaca_eval"), order=60,
    misfit=Signature(("output_1", "output_2"), ("preference", "annotator", "generator_1"))))
