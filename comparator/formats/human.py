"""Human-labelled pairs: LLMBar and PandaLM.

LLMBar (``Dataset/<set>/dataset.json``): ``input``, ``output_1``, ``output_2``, ``label`` 1/2 —
the human (expert majority) preference, kept as a judgment with ``judge = "human"``.
Its evaluator results (``evaluators/<LLM>/<method>/result.json``) add ``results``: per run,
``"swap = False"`` / ``"swap = True"`` with the judge's ``completion`` and ``winner`` ("1"/"2",
already mapped back to output_1/output_2). ``results`` is a sequence of rounds, not repeats:
Vanilla/CoT/... have one (after auxiliary ``[text, finish_reason]`` entries for Metrics/Reference);
Swap/Swap_CoT have a first round and, only when its two orders disagreed, a synthesis round.
LLMBar's statistics score the LAST round (``evaluate.py``: ``results[-1]``), and so do we.
PandaLM (``data/testset-v1.json``): ``instruction``, ``input``, ``response1``, ``response2``,
``annotator1..3`` (0 tie, 1, 2), ``motivation_app``, ``cmp_key`` ("<model1>_<model2>").
"""

from __future__ import annotations

from pathlib import Path

from comparator.formats.checks import LLMBarRecord, PandaLMRecord, check_rows
from comparator.formats.common import (
    LoadOptions,
    Source,
    dedupe_ids,
    finish,
    need,
    records,
    text_field,
    text_id,
)
from comparator.schema.errors import InputError, excerpt
from comparator.schema.records import Comparison

_LABEL = {1: 1.0, 2: -1.0, 0: 0.0}


def _label_score(path: Path, value: object, n: int, field: str) -> float:
    try:
        return _LABEL[int(value)]
    except (KeyError, TypeError, ValueError):
        raise InputError(path, f"must be 1, 2 (or 0 for a tie), got {excerpt(value)}", record=n,
                         field=field) from None


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
        judgments = [{"score": _label_score(path, label, n, "label"), "label": str(label),
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
            judgments.append({"score": _label_score(path, r[k], n, k), "label": str(r[k]),
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
