"""PandaLM's test set (``data/testset-v1.json``): ``instruction``, ``input``, ``response1``,
``response2``, ``annotator1..3`` (0 tie, 1, 2), ``motivation_app``, ``cmp_key``
("<model1>_<model2>"); each annotator's label is a human judgment.
"""

from __future__ import annotations

from typing import NotRequired

from pydantic import with_config
from typing_extensions import TypedDict

from comparator.formats.checks import OPEN, check_rows
from comparator.formats.common import (
    LoadOptions,
    Source,
    dedupe_ids,
    finish,
    label_score,
    need,
    records,
    text_field,
    text_id,
)
from comparator.formats.registry import Format, Signature, register
from comparator.schema.records import Comparison


@with_config(OPEN)
class PandaLMRecord(TypedDict):
    instruction: str
    input: NotRequired[str | None]
    cmp_key: NotRequired[str | None]
    idx: NotRequired[int | str | None]


def read_pandalm(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    path = src.path
    rows = records(path, src.json, "a PandaLM test set")
    check_rows(path, enumerate(rows, start=1), PandaLMRecord)
    warnings: list[str] = []
    examples = []
    for n, r in enumerate(rows, start=1):
        instruction = need(path, r, "instruction", record=n)
        extra_input = r.get("input") or ""
        prompt = instruction + (f"\n\n{extra_input}" if extra_input else "")
        judgments = []
        for k in sorted(k for k in r if k.startswith("annotator")):
            judgments.append({"score": label_score(path, r[k], n, k), "label": str(r[k]),
                              "judge": "human", "rater": k})
        meta = {}
        if r.get("cmp_key"):
            meta["cmp_key"] = r["cmp_key"]
            parts = str(r["cmp_key"]).split("_")
            if len(parts) == 2:
                meta["model_1"], meta["model_2"] = parts
        ex = {
            "id": str(r["idx"]) if r.get("idx") is not None else text_id(prompt),
            "prompt": prompt,
            "response_a": text_field(path, r, "response1", warnings, record=n),
            "response_b": text_field(path, r, "response2", warnings, record=n),
            "judgments": judgments,
            "metadata": meta,
            "extra": {"instruction": instruction, "input": extra_input},
        }
        if r.get("motivation_app"):
            ex["category"] = str(r["motivation_app"])
        examples.append(ex)
    for ex, i in zip(examples, dedupe_ids([e["id"] for e in examples])):
        ex["id"] = i
    comp = finish(path, examples, model_a=opts.model_a or "response1",
                  model_b=opts.model_b or "response2", source_format="pandalm",
                  where_is_line=False)
    return comp, warnings


register(Format(
    "pandalm", "PandaLM's human-annotated test set (JSON list)", read_pandalm, order=80,
    misfit=Signature(("response1", "response2"), ("annotator*",))))
