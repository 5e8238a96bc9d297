"""LLMBar (``Dataset/<set>/dataset.json``): ``input``, ``output_1``, ``output_2``, ``label`` 1/2 —
the human (expert majority) preference, kept as a judgment with ``judge = "human"``.

Its evaluator results (``evaluators/<LLM>/<method>/result.json``) add ``results``: per run,
``"swap = False"`` / ``"swap = True"`` with the judge's ``completion`` and ``winner`` ("1"/"2",
already mapped back to output_1/output_2). ``results`` is a sequence of rounds, not repeats:
Vanilla/CoT/... have one (after auxiliary ``[text, finish_reason]`` entries for Metrics/Reference);
Swap/Swap_CoT have a first round and, only when its two orders disagreed, a synthesis round.
LLMBar's statistics score the LAST round (``evaluate.py``: ``results[-1]``), and so do we.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NotRequired

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
    text_id,
)
from comparator.formats.registry import Format, Signature, register
from comparator.schema.records import Comparison


@with_config(OPEN)
class LLMBarRecord(TypedDict):
    input: str
    output_1: str
    output_2: str
    label: int | str
    results: NotRequired[list[dict[str, dict[str, Any]]] | None]  # per run: swap -> outcome


def _llmbar_judge(path: Path) -> tuple[str, str | None]:
    """(judge, method) from LLMBar's layout ``evaluators/<LLM>/<method>/result.json``."""
    if path.parent.parent.parent.name == "evaluators":
        return path.parent.parent.name, path.parent.name
    return "llm-judge", None


def _llmbar_round(rounds: list[dict], judge: str, method: str | None) -> list[dict]:
    """The judgments of the last round, in both orders; earlier rounds' winners kept in
    ``extra`` (Swap: the first round's, when a synthesis round followed)."""
    out = []
    for key, flipped in (("swap = False", False), ("swap = True", True)):
        if key not in rounds[-1]:
            continue
        res = rounds[-1][key]
        completion = res.get("completion")
        text = completion[0] if isinstance(completion, list) and completion else completion
        j = {"label": None if text is None else str(text), "flipped": flipped,
             "judge": judge, "template_id": method}
        winner = str(res.get("winner"))
        if winner in ("1", "2"):
            j["score"] = 1.0 if winner == "1" else -1.0
        else:
            j["status"] = "unscored"
            j["raw"] = str(text)
        if len(rounds) > 1:
            j["extra"] = {"llmbar_round": len(rounds), "earlier_winners": [
                str((r.get(key) or {}).get("winner")) for r in rounds[:-1]]}
        out.append(j)
    return out


def read_llmbar(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    path = src.path
    rows = records(path, src.json, "an LLMBar file")
    check_rows(path, enumerate(rows, start=1), LLMBarRecord)
    judge, method = _llmbar_judge(path)
    examples = []
    for n, r in enumerate(rows, start=1):
        prompt = need(path, r, "input", record=n)
        label = need(path, r, "label", record=n, types=(int, str))
        judgments = [{"score": label_score(path, label, n, "label"), "label": str(label),
                      "judge": "human"}]
        rounds = [res for res in r.get("results") or []
                  if isinstance(res, dict) and ("swap = False" in res or "swap = True" in res)]
        if rounds:  # LLMBar scores the last round only (see the module docstring)
            judgments += _llmbar_round(rounds, judge, method)
        examples.append({
            "id": text_id(prompt, r.get("output_1"), r.get("output_2")),
            "prompt": prompt,
            "response_a": need(path, r, "output_1", record=n),
            "response_b": need(path, r, "output_2", record=n),
            "judgments": judgments,
        })
    for ex, i in zip(examples, dedupe_ids([e["id"] for e in examples])):
        ex["id"] = i
    comp = finish(path, examples, model_a=opts.model_a or "output_1",
                  model_b=opts.model_b or "output_2", source_format="llmbar", where_is_line=False)
    return comp, []


register(Format(
    "llmbar", "LLMBar datasets and evaluator results (JSON list)", read_llmbar, order=70,
    misfit=Signature(("input", "output_1", "output_2", "label"))))
