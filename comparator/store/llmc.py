"""LLM Comparator JSON straight into the store's columns, without example dicts or pydantic.

The same conversion as ``comparator.io.llm_comparator`` (ids from the prompt text, ratings as
judgments, every other key kept in ``extra`` for a lossless export), for files whose every
value has the plain type the format documents: texts are strings, scores finite numbers within
±1.5 (or null), labels and rationales strings, ``is_flipped`` booleans, tags strings, custom
fields an object. Anything else returns None and the file is read by the importer, which names
the record and field of the problem.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import pyarrow as pa

from comparator.io.common import dedupe_ids, text_id
from comparator.io.labels import SCORE_MAX, SCORE_MIN
from comparator.io.llm_comparator import _EX_KNOWN, _RATING, NS
from comparator.store import schema


class _NotPlain(Exception):
    """A value this path does not take: read the file the slow way."""


def _score(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or \
            not SCORE_MIN <= v <= SCORE_MAX:
        raise _NotPlain
    return float(v)


def _opt(v: Any, kind: type) -> Any:
    if v is not None and type(v) is not kind:
        raise _NotPlain
    return v


def read_llmc_table(doc: Any) -> tuple[pa.Table, dict[str, Any]] | None:
    """The store's table and header of a parsed LLM Comparator file; None: not provably
    plain."""
    try:
        return _read(doc)
    except (_NotPlain, KeyError, TypeError, AttributeError, pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _read(doc: Any) -> tuple[pa.Table, dict[str, Any]]:
    examples = doc["examples"]
    models = doc.get("models") or [{"name": "A"}, {"name": "B"}]
    if not isinstance(examples, list) or not examples or len(models) != 2 or not all(
            isinstance(m, dict) and isinstance(m.get("name", ""), str) for m in models):
        raise _NotPlain
    cols: dict[str, list] = {k: [] for k in ("id", "prompt", "response_a", "response_b", "tags",
                                             "reported_score", "judgments", "judgment_extra",
                                             "metadata", "extra")}
    for e in examples:
        texts = [e["input_text"], e["output_text_a"], e["output_text_b"]]
        if any(type(t) is not str for t in texts):
            raise _NotPlain
        tags = e.get("tags")
        if tags is not None and (type(tags) is not list or any(type(t) is not str for t in tags)):
            raise _NotPlain
        custom = e.get("custom_fields")
        if custom is not None and type(custom) is not dict:
            raise _NotPlain
        judgments, extras = [], []
        for r in e.get("individual_rater_scores") or ():
            if type(r) is not dict:
                raise _NotPlain
            score = _score(r.get("score"))
            j = {"score": score, "label": _opt(r.get("rating_label"), str),
                 "flipped": _opt(r.get("is_flipped"), bool),
                 "rationale": _opt(r.get("rationale"), str),
                 "status": "unscored" if score is None else None}
            judgments.append(j)
            extras.append(orjson.dumps({NS: {"keys": list(r), **{
                x: v for x, v in r.items() if x not in _RATING}}}).decode())
        cols["prompt"].append(texts[0])
        cols["response_a"].append(texts[1])
        cols["response_b"].append(texts[2])
        cols["id"].append(text_id(texts[0]))
        cols["tags"].append(tags or [])
        cols["reported_score"].append(_score(e.get("score")))
        cols["judgments"].append(judgments)
        cols["judgment_extra"].append(extras or None)
        cols["metadata"].append(dict(custom or {}))
        cols["extra"].append({NS: {"keys": list(e), **{k: v for k, v in e.items()
                                                        if k not in _EX_KNOWN}}})
    cols["id"] = dedupe_ids(cols["id"])
    n = len(examples)
    arrays = []
    for name, type_ in schema.FIXED:
        if name in cols:
            values = cols.pop(name)
            arrays.append(schema.text_array(values) if type_ == schema.S else
                          pa.array(values, type_))
        else:
            arrays.append(pa.nulls(n, type_))
    table = pa.Table.from_arrays(arrays, names=[n for n, _ in schema.FIXED])
    for k in schema.FREE:
        table = table.append_column(k, schema._free(cols.pop(k)))
    top = {k: v for k, v in doc.items() if k != "examples"}
    head = {"schema_version": 3, "model_a": str(models[0].get("name", "A")),
            "model_b": str(models[1].get("name", "B")), "source_format": "llm-comparator",
            "metadata": {NS: {"keys": list(doc), **top}}}
    return table, head
