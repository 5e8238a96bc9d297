"""LLM Comparator JSON straight into the store's columns, without example dicts or pydantic.

The same conversion as ``comparator.formats.llm_comparator`` (ids from the prompt text, ratings as
judgments, every other key kept in ``extra`` for a lossless export), for files whose every
value has the plain type the format documents: texts are strings, scores finite numbers within
±1.5 (or null), labels and rationales strings, ``is_flipped`` booleans, tags strings, custom
fields an object. Anything else returns None and the file is read by the importer, which names
the record and field of the problem.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from comparator.formats.common import text_id
from comparator.formats.llm_comparator import EXAMPLE_KEYS, NS, RATING_KEYS
from comparator.schema.files import open_binary
from comparator.schema.labels import SCORE_MAX, SCORE_MIN
from comparator.schema.records import SCHEMA_VERSION
from comparator.store import schema
from comparator.store.jsonscan import ArrayScan
from comparator.store.writer import BatchWriter


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


def _head(doc: Any) -> dict[str, Any]:
    models = doc.get("models") or [{"name": "A"}, {"name": "B"}]
    if type(models) is not list or len(models) != 2 or not all(
            type(m) is dict and type(m.get("name", "")) is str for m in models):
        raise _NotPlain
    return {"schema_version": SCHEMA_VERSION, "model_a": models[0].get("name", "A"),
            "model_b": models[1].get("name", "B"), "source_format": "llm-comparator",
            "metadata": {NS: {"keys": list(doc), **{k: v for k, v in doc.items()
                                                     if k != "examples"}}}}


class Batches(schema.Batcher):
    """LLM Comparator example dicts -> record batches; ids unique over the whole file."""

    def __init__(self, json_free: bool = False) -> None:
        super().__init__(json_free)
        self.seen: dict[str, int] = {}

    def batch(self, examples: list[Any]) -> pa.RecordBatch:
        cols: dict[str, list] = {k: [] for k in (
            "id", "prompt", "response_a", "response_b", "tags", "reported_score", "judgments",
            "judgment_extra", "metadata", "extra")}
        for e in examples:
            _example(e, cols)
        ids = []
        for i in cols.pop("id"):
            k = self.seen.get(i, 0) + 1
            self.seen[i] = k
            ids.append(i if k == 1 else f"{i}~{k}")  # as comparator.formats.common.dedupe_ids
        cols["id"] = ids
        return self.assemble(cols, {k: cols.pop(k) for k in schema.FREE})


def _example(e: Any, cols: dict[str, list]) -> None:
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
        judgments.append({"score": score, "label": _opt(r.get("rating_label"), str),
                          "flipped": _opt(r.get("is_flipped"), bool),
                          "rationale": _opt(r.get("rationale"), str),
                          "status": "unscored" if score is None else None})
        keys = tuple(r)
        plain = _PLAIN.get(keys)  # the usual rating: only its key order and empty objects
        if plain is not None and all(r[x] == {} for x in plain[1]):
            extras.append(plain[0])
        else:
            rest = {x: v for x, v in r.items() if x not in RATING_KEYS}
            extras.append(schema.to_json({NS: {"keys": list(r), **rest}}))
            if len(_PLAIN) < 64 and all(v == {} for v in rest.values()):
                _PLAIN[keys] = (extras[-1], tuple(rest))
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
                                                    if k not in EXAMPLE_KEYS}}})


BATCH = 20_000
# rating extras seen before: key order -> (JSON text, the keys whose value was {})
_PLAIN: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}
ERRORS = (_NotPlain, KeyError, TypeError, AttributeError, ValueError, pa.ArrowInvalid,
          pa.ArrowTypeError)


def looks_like_document(path: Path) -> bool:
    """A JSON object spread over the file (not JSON lines): what LLM Comparator writes."""
    with open_binary(path) as f:
        head = f.read(1 << 20)
    if not head.lstrip()[:1] == b"{":
        return False
    first, nl, _ = head.lstrip().partition(b"\n")
    if not nl:
        return True  # one long line
    try:
        return not isinstance(orjson.loads(first), dict)  # a whole object first: JSON lines
    except orjson.JSONDecodeError:
        return True


def stream_llmc(path: Path, out: Path) -> dict[str, Any] | None:
    """See ``_stream``; metadata that the first batch cannot type makes it start again with
    the free-form columns as JSON text."""
    return schema.typed_else_json(lambda json_free: _stream(path, out, json_free))


def _stream(path: Path, out: Path, json_free: bool) -> dict[str, Any] | None:
    """Write the examples of a (possibly huge) LLM Comparator file to the IPC file ``out``,
    a batch at a time (one block of the file and a couple of batches in memory; a thread
    writes while the next batch is parsed); the header, or None (not provably plain, or not
    this format)."""
    scan = ArrayScan(path, "examples")
    conv = Batches(json_free)
    writer = BatchWriter(out)
    try:
        raw: list[bytes] = []
        for item in scan:
            raw.append(item)
            if len(raw) == BATCH:
                writer.put(conv.batch([orjson.loads(x) for x in raw]))
                raw = []
        if raw:
            writer.put(conv.batch([orjson.loads(x) for x in raw]))
        if not writer.close():
            return None
        return {**_head(orjson.loads(scan.rest)), "sha256": scan.sha256}  # of the bytes read
    except schema.FreeMismatch:
        raise
    except (*ERRORS, orjson.JSONDecodeError):
        return None
    finally:
        writer.close()
