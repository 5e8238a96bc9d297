"""LLM Comparator's JSON (PAIR-code/llm-comparator): import and export.

``{"metadata": {"source_path", "custom_fields_schema": [{name, type}]}, "models": [{name}, {name}],
"examples": [{input_text, tags, output_text_a, output_text_b, score, individual_rater_scores:
[{score, rating_label, is_flipped, rationale, custom_fields}], rationale_list, custom_fields}],
"rationale_clusters": [...]}``. Scores use the same +1.5 ... -1.5 A-oriented scale as ours.

Importing keeps every field (custom fields of all types, rationale lists and clusters, unknown
keys, which keys were present) so that exporting a loaded file gives back an equal document.
Exporting any other comparison builds the custom field schema from its metadata.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, NotRequired

import orjson
from pydantic import Field, with_config
from typing_extensions import TypedDict

from comparator.formats.checks import OPEN, check_rows
from comparator.formats.common import LoadOptions, Source, dedupe_ids, finish, text_id
from comparator.formats.detect import one_document
from comparator.formats.registry import Export, Format, register
from comparator.schema.atomic import write_bytes
from comparator.schema.errors import InputError, excerpt
from comparator.schema.records import (
    Comparison,
    Example,
    Score,
    example_score,
    prompt_text,
    response_text,
)

NS = "llm_comparator"
FIELD_TYPES = (
    "number", "string", "category", "text", "url", "image_path", "image_byte",
    "per_model_boolean", "per_model_number", "per_model_category", "per_model_text",
    "per_rating_string", "per_rating_per_model_category", "base",
)
EXAMPLE_KEYS = {"input_text", "tags", "output_text_a", "output_text_b", "score",  # read; the
                "individual_rater_scores", "custom_fields"}  # other keys are kept in extra
RATING_KEYS = {"score": "score", "rating_label": "label", "is_flipped": "flipped",  # -> judgment
               "rationale": "rationale"}

Chunks = list[dict[str, Any]]  # multimodal text: [{"type": "text", "data": ...}]


@with_config(OPEN)
class _ModelName(TypedDict):
    name: NotRequired[str]


@with_config(OPEN)
class LLMComparatorDoc(TypedDict):
    models: NotRequired[Annotated[list[_ModelName], Field(min_length=2, max_length=2)] | None]
    examples: list[dict[str, Any]]


@with_config(OPEN)
class _Rating(TypedDict):
    score: NotRequired[Score | None]
    rating_label: NotRequired[str | None]
    is_flipped: NotRequired[bool | None]
    rationale: NotRequired[str | None]


@with_config(OPEN)
class LLMComparatorExample(TypedDict):
    input_text: str | Chunks
    output_text_a: str | Chunks
    output_text_b: str | Chunks
    tags: NotRequired[list[str | int | float] | None]
    score: NotRequired[Score | None]
    individual_rater_scores: NotRequired[list[_Rating] | None]
    custom_fields: NotRequired[dict[str, Any] | None]


def _text(value: Any) -> str:
    """A plain string, or the text chunks of a multimodal sequence joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(c.get("data", "") for c in value
                         if isinstance(c, dict) and c.get("type", "text") == "text")
    return "" if value is None else str(value)


def _rating(path: Path, r: dict, n: int, k: int) -> dict:
    if not isinstance(r, dict):
        raise InputError(path, "must be an object", record=n, field=f"individual_rater_scores[{k}]")
    j: dict = {}
    score = r.get("score")
    if score is None:
        j["status"] = "unscored"
    elif isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise InputError(path, f"must be a number, got {excerpt(score)}", record=n,
                         field=f"individual_rater_scores[{k}].score")
    else:
        j["score"] = float(score)
    for src, dst in RATING_KEYS.items():
        if src != "score" and r.get(src) is not None:
            j[dst] = r[src]
    j["extra"] = {NS: {"keys": list(r), **{x: v for x, v in r.items() if x not in RATING_KEYS}}}
    return j


def read_llm_comparator(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    path = src.path
    doc = src.json
    if not isinstance(doc, dict) or not isinstance(doc.get("examples"), list):
        raise InputError(path, "no examples: an LLM Comparator file is an object with an "
                         "'examples' list",
                         field="examples")
    check_rows(path, [(None, doc)], LLMComparatorDoc)
    check_rows(path, enumerate(doc["examples"], start=1), LLMComparatorExample)
    models = doc.get("models") or [{"name": "A"}, {"name": "B"}]
    if not isinstance(models, list) or len(models) != 2:
        raise InputError(path, "must list exactly two models", field="models")
    warnings: list[str] = []
    examples = []
    for n, e in enumerate(doc["examples"], start=1):
        if not isinstance(e, dict):
            raise InputError(path, "each example must be an object", record=n)
        for key in ("input_text", "output_text_a", "output_text_b"):
            if key not in e:
                raise InputError(path, "missing", record=n, field=key)
        ratings = e.get("individual_rater_scores") or []
        score = e.get("score")
        if score is not None and not isinstance(score, (int, float)):
            raise InputError(path, f"must be a number, got {excerpt(score)}", record=n,
                             field="score")
        ex: dict = {
            "id": text_id(_text(e["input_text"])),
            "prompt": _text(e["input_text"]),
            "response_a": _text(e["output_text_a"]),
            "response_b": _text(e["output_text_b"]),
            "tags": [str(t) for t in e.get("tags") or []],
            "metadata": dict(e.get("custom_fields") or {}),
            "judgments": [_rating(path, r, n, k) for k, r in enumerate(ratings)],
            "extra": {NS: {"keys": list(e), **{k: v for k, v in e.items() if k not in EXAMPLE_KEYS},
                           **{k: e[k] for k in ("input_text", "output_text_a", "output_text_b")
                              if not isinstance(e[k], str)}}},
        }
        if score is not None:
            ex["reported_score"] = float(score)
        examples.append(ex)
    for ex, i in zip(examples, dedupe_ids([e["id"] for e in examples])):
        ex["id"] = i
    top = {k: v for k, v in doc.items() if k != "examples"}
    comp = finish(path, examples, model_a=str(models[0].get("name", "A")),
                  model_b=str(models[1].get("name", "B")), source_format="llm-comparator",
                  metadata={NS: {"keys": list(doc), **top}}, where_is_line=False)
    return comp, warnings


# ---- export ------------------------------------------------------------------------------

def _field_type(values: list[Any]) -> str | None:
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    if all(isinstance(v, list) and len(v) == 2 for v in vals):
        inner = [x for v in vals for x in v if x is not None]
        if all(isinstance(x, bool) for x in inner):
            return "per_model_boolean"
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in inner):
            return "per_model_number"
        return "per_model_category"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return "number"
    if all(isinstance(v, (str, bool)) for v in vals):
        return "category"
    return "string"


def _schema(comp: Comparison) -> list[dict]:
    cols: dict[str, list[Any]] = {}
    for ex in comp.examples:
        for k, v in (ex.get("metadata") or {}).items():
            cols.setdefault(k, []).append(v)
    fields = [{"name": "category", "type": "category"}] if any(
        ex.get("category") for ex in comp.examples) else []
    for name, values in cols.items():
        t = _field_type(values)
        if t:
            fields.append({"name": name, "type": t})
    return fields


def _custom_value(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if isinstance(v, list) and all(x is None or isinstance(x, (str, int, float, bool)) for x in v):
        return v
    return orjson.dumps(v).decode()


def _export_rating(j: dict) -> dict:
    mine = (j.get("extra") or {}).get(NS)
    values = {"score": j.get("score"), "rating_label": j.get("label"),
              "is_flipped": j.get("flipped"), "rationale": j.get("rationale")}
    if mine:
        return {k: values[k] if k in values else mine.get(k) for k in mine["keys"]}
    out = {k: v for k, v in values.items() if v is not None or k == "score"}
    if out.get("rating_label") is None and j.get("status", "ok") != "ok":
        out["rating_label"] = j.get("status")
    if j.get("judge"):
        out["custom_fields"] = {"judge": j["judge"]}
    return out


def _export_example(ex: Example, native_meta: bool) -> dict:
    mine = (ex.get("extra") or {}).get(NS)
    score = ex.get("reported_score") if "reported_score" in ex else example_score(ex)
    values = {
        "input_text": prompt_text(ex),
        "tags": ex.get("tags") or ([ex["category"]] if ex.get("category") else []),
        "output_text_a": response_text(ex["response_a"]),
        "output_text_b": response_text(ex["response_b"]),
        "score": score,
        "individual_rater_scores": [_export_rating(j) for j in ex.get("judgments") or []],
    }
    if ex.get("reasons"):  # our rationale clusters, in their rationale_list form
        values["rationale_list"] = [{"rationale": r["text"],
                                     "similarities": r.get("similarities") or []}
                                    for r in ex["reasons"]]
    if mine:
        values["custom_fields"] = ex.get("metadata") or {}
        keys = list(mine["keys"]) + (["rationale_list"] if "rationale_list" in values
                                     and "rationale_list" not in mine["keys"] else [])
        fresh = {"rationale_list"} if ex.get("reasons") else set()
        return {k: mine[k] if k in mine and k != "keys" and k not in fresh else values.get(k)
                for k in keys}
    custom = {k: _custom_value(v) for k, v in (ex.get("metadata") or {}).items()}
    if ex.get("category") and not native_meta:
        custom["category"] = ex["category"]
    values["custom_fields"] = custom
    return values


def to_llm_comparator(comp: Comparison) -> dict:
    mine = comp.metadata.get(NS)
    examples = [_export_example(ex, bool(mine)) for ex in comp.examples]
    if mine:
        doc = {k: v for k, v in mine.items() if k != "keys"}
        models = [dict(m) for m in doc.get("models") or [{}, {}]]
        models[0]["name"], models[1]["name"] = comp.model_a, comp.model_b
        doc["models"] = models
        doc["examples"] = examples
        clusters = (comp.metadata.get("clusters") or {}).get("clusters")
        if clusters:
            doc["rationale_clusters"] = [{"id": c["id"], "title": c["title"]} for c in clusters]
        keys = list(mine["keys"]) + (["rationale_clusters"] if clusters and
                                     "rationale_clusters" not in mine["keys"] else [])
        return {k: doc[k] for k in keys if k in doc}
    doc = {
        "metadata": {"source_path": f"comparator export (from {comp.source_format or 'native'})",
                     "custom_fields_schema": _schema(comp)},
        "models": [{"name": comp.model_a}, {"name": comp.model_b}],
        "examples": examples,
    }
    clusters = (comp.metadata.get("clusters") or {}).get("clusters")
    if clusters:
        doc["rationale_clusters"] = [{"id": c["id"], "title": c["title"]} for c in clusters]
    return doc


def write_llm_comparator(comp: Comparison, path: str | Path) -> None:
    write_bytes(path, orjson.dumps(to_llm_comparator(comp), option=orjson.OPT_INDENT_2))


def _write(comp: Comparison, path: Path, tie_threshold: float) -> None:
    write_llm_comparator(comp, path)  # scores are kept as they are: no tie threshold


def _claims(src: Source, first: Any) -> bool:
    """One JSON document with ``examples`` or ``models`` (its reader says "no examples" when
    the list is missing)."""
    if not one_document(src, first):
        return False
    doc = src.json
    return isinstance(doc, dict) and ("examples" in doc or "models" in doc)


register(Format(
    "llm-comparator", "LLM Comparator JSON (PAIR-code/llm-comparator)", read_llm_comparator,
    aliases=("llmc",), claims=_claims, claim_order=20,
    export=Export("llm-comparator", ".json", _write, aliases=("llmc",), order=1)))
