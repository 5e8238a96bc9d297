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
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from comparator.formats.common import text_id
from comparator.formats.llm_comparator import EXAMPLE_KEYS, NS, RATING_KEYS
from comparator.schema.files import open_binary
from comparator.schema.labels import SCORE_MAX, SCORE_MIN
from comparator.schema.records import SCHEMA_VERSION
from comparator.store import schema
from comparator.store.jsonscan import ArrayScan, arrays
from comparator.store.native import no_gc
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


class _Cols:
    """One batch's columns as flat lists (a judgment's fields each in a list of their own,
    ``j_end`` where each example's judgments end), built without a dict per example."""

    def __init__(self) -> None:
        self.prompt: list[str] = []
        self.a: list[str] = []
        self.b: list[str] = []
        self.tags: list[str] = []
        self.tags_end: list[int] = [0]
        self.score: list[float | None] = []
        self.j_score: list[float | None] = []
        self.j_label: list[str | None] = []
        self.j_flipped: list[bool | None] = []
        self.j_rationale: list[str | None] = []
        self.j_status: list[str | None] = []
        self.j_extra: list[str] = []
        self.j_end: list[int] = [0]
        self.metadata: list[str] = []
        self.extra: list[str] = []


class Batches:
    """LLM Comparator examples (their raw JSON) -> record batches of the store's layout; ids
    unique over the whole file. The free-form columns are JSON text, as the native reader
    writes them (``metadata`` from ``custom_fields``, ``extra`` with the key order)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def batch(self, array: bytes) -> pa.RecordBatch:
        """The batch of the examples in ``array`` (a JSON array's text)."""
        c = _Cols()
        for e in orjson.loads(array):
            _example(e, c)
        ids = []
        for i in map(text_id, c.prompt):
            k = self.seen.get(i, 0) + 1
            self.seen[i] = k
            ids.append(i if k == 1 else f"{i}~{k}")  # as comparator.formats.common.dedupe_ids
        j_end = pa.array(c.j_end, pa.int32())
        has = np.diff(np.asarray(c.j_end)) > 0  # judgment_extra: null without ratings
        judgment = pa.StructArray.from_arrays(_filled(_JUDGMENT, len(c.j_score), {
            "score": pa.array(c.j_score, pa.float64()), "label": pa.array(c.j_label, pa.string()),
            "flipped": pa.array(c.j_flipped, pa.bool_()),
            "rationale": schema.text_array(c.j_rationale),
            "status": pa.array(c.j_status, pa.string())}), fields=list(schema.JUDGMENT))
        built = {
            "id": pa.array(ids, pa.string()), "prompt": schema.text_array(c.prompt),
            "response_a": schema.text_array(c.a), "response_b": schema.text_array(c.b),
            "tags": pa.ListArray.from_arrays(pa.array(c.tags_end, pa.int32()),
                                             pa.array(c.tags, pa.string()),
                                             type=schema.TYPES["tags"]),
            "reported_score": pa.array(c.score, pa.float64()),
            "judgments": pa.ListArray.from_arrays(j_end, judgment, type=schema.TYPES[
                "judgments"]),
            "judgment_extra": pa.ListArray.from_arrays(
                j_end, schema.text_array(c.j_extra), type=pa.list_(schema.S),
                mask=pa.array(~has)),
            "metadata": schema.text_array(c.metadata), "extra": schema.text_array(c.extra)}
        return pa.RecordBatch.from_arrays(_filled(_LAYOUT, len(ids), built),
                                          names=[k for k, _ in _LAYOUT])


def _filled(fields: list[tuple[str, pa.DataType]], n: int, built: dict[str, pa.Array]
            ) -> list[pa.Array]:
    """The arrays of ``fields`` in order: those built, else ``n`` nulls of the field's type."""
    return [built[k] if k in built else pa.nulls(n, t) for k, t in fields]


def _example(e: Any, c: _Cols) -> None:
    if type(e) is not dict:
        raise _NotPlain
    texts = e["input_text"], e["output_text_a"], e["output_text_b"]
    if type(texts[0]) is not str or type(texts[1]) is not str or type(texts[2]) is not str:
        raise _NotPlain
    tags = e.get("tags")
    if tags is not None:
        if type(tags) is not list or any(type(t) is not str for t in tags):
            raise _NotPlain
        c.tags += tags
    custom = e.get("custom_fields")
    if custom is not None and type(custom) is not dict:
        raise _NotPlain
    ratings = e.get("individual_rater_scores")
    if ratings is not None:
        if type(ratings) is not list:
            raise _NotPlain
        for r in ratings:
            _rating(r, c)
    c.prompt.append(texts[0])
    c.a.append(texts[1])
    c.b.append(texts[2])
    c.tags_end.append(len(c.tags))
    c.score.append(_score(e.get("score")))
    c.j_end.append(len(c.j_score))
    c.metadata.append(_EMPTY if not custom else schema.to_json(custom))
    keys = tuple(e)
    extra = _EXTRA.get(keys)  # the usual example: only its key order
    if extra is None:
        rest = {k: v for k, v in e.items() if k not in EXAMPLE_KEYS}
        extra = schema.to_json({NS: {"keys": list(keys), **rest}})
        if not rest and len(_EXTRA) < 64:
            _EXTRA[keys] = extra
    c.extra.append(extra)


def _rating(r: Any, c: _Cols) -> None:
    if type(r) is not dict:
        raise _NotPlain
    score = _score(r.get("score"))
    c.j_score.append(score)
    c.j_status.append("unscored" if score is None else None)
    c.j_label.append(_opt(r.get("rating_label"), str))
    c.j_flipped.append(_opt(r.get("is_flipped"), bool))
    c.j_rationale.append(_opt(r.get("rationale"), str))
    keys = tuple(r)
    plain = _PLAIN.get(keys)  # the usual rating: only its key order and empty objects
    if plain is not None and all(r[x] == {} for x in plain[1]):
        c.j_extra.append(plain[0])
        return
    rest = {x: v for x, v in r.items() if x not in RATING_KEYS}
    c.j_extra.append(schema.to_json({NS: {"keys": list(r), **rest}}))
    if len(_PLAIN) < 64 and all(v == {} for v in rest.values()):
        _PLAIN[keys] = (c.j_extra[-1], tuple(rest))


_LAYOUT = [*schema.FIXED, *((k, schema.S) for k in schema.FREE)]
_JUDGMENT = [(f.name, f.type) for f in schema.JUDGMENT]
_EMPTY = "{}"
# example extras seen before: key order -> JSON text
_EXTRA: dict[tuple[str, ...], str] = {}
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
    """``_stream`` with Python's cycle collector paused (a batch is a million fresh objects,
    no cycles: see ``native.no_gc``)."""
    with no_gc():
        return _stream(path, out)


def _stream(path: Path, out: Path) -> dict[str, Any] | None:
    """Write the examples of a (possibly huge) LLM Comparator file to the IPC file ``out``,
    a batch at a time (a couple of batches in memory: a thread reads and scans the next one,
    a thread writes the last one, while one is parsed); the header, or None (not provably
    plain, or not this format)."""
    scan = ArrayScan(path, "examples")
    conv = Batches()
    writer = BatchWriter(out)
    try:
        with closing(arrays(scan, BATCH)) as parts:  # an early stop stops its thread
            for array in parts:
                writer.put(conv.batch(array))
        if not writer.close():
            return None
        return {**_head(orjson.loads(scan.rest)), "sha256": scan.sha256}  # of the bytes read
    except (*ERRORS, orjson.JSONDecodeError):
        return None
    finally:
        writer.close()
