"""LLM Comparator JSON straight into the store's columns, without example dicts or pydantic.

The same conversion as ``comparator.formats.llm_comparator`` (ids from the prompt text, ratings as
judgments, every other key kept in ``extra`` for a lossless export), for files whose every
value has the plain type the format documents: texts are strings, scores finite numbers within
±1.5 (or null), labels and rationales strings, ``is_flipped`` booleans, tags strings, custom
fields an object. Anything else returns None and the file is read by the importer, which names
the record and field of the problem. The three texts of each example are decoded by the scan
(``comparator.store.jsonscan``) straight into Arrow buffers; orjson parses the rest.
"""

from __future__ import annotations

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
from comparator.store.ids import Renumber
from comparator.store.jsonscan import ArrayScan, Part, parts
from comparator.store.native import no_gc
from comparator.store.writer import BatchWriter


class _NotPlain(Exception):
    """A value this path does not take: read the file the slow way."""


def _only(values: list[Any], *kinds: type) -> None:
    """Every value is of one of ``kinds`` (exactly: a bool is not an int here)."""
    if not set(map(type, values)) <= set(kinds):
        raise _NotPlain


def _scores(values: list[Any]) -> pa.Array:
    """Scores as float64 (null for None): finite numbers within the scale, else _NotPlain."""
    _only(values, int, float, type(None))
    arr = pa.array(values, pa.float64())
    v = arr.to_numpy(zero_copy_only=False)  # null -> NaN, which JSON cannot write
    if not (np.isnan(v) | ((v >= SCORE_MIN) & (v <= SCORE_MAX))).all():
        raise _NotPlain
    return arr


def _ends(lists: list[list[Any] | None]) -> np.ndarray:
    """Where each list's items end in their concatenation (None: no items), from 0."""
    ends = np.zeros(len(lists) + 1, np.int32)
    np.cumsum(np.fromiter((len(x) if x else 0 for x in lists), np.int32, len(lists)),
              out=ends[1:])
    return ends


def _head(doc: Any) -> dict[str, Any]:
    models = doc.get("models") or [{"name": "A"}, {"name": "B"}]
    if type(models) is not list or len(models) != 2 or not all(
            type(m) is dict and type(m.get("name", "")) is str for m in models):
        raise _NotPlain
    return {"schema_version": SCHEMA_VERSION, "model_a": models[0].get("name", "A"),
            "model_b": models[1].get("name", "B"), "source_format": "llm-comparator",
            "metadata": {NS: {"keys": list(doc), **{k: v for k, v in doc.items()
                                                     if k != "examples"}}}}


class Batches:
    """LLM Comparator examples (the scan's parts) -> record batches of the store's layout; ids
    unique over the whole file. The free-form columns are JSON text, as the native reader
    writes them (``metadata`` from ``custom_fields``, ``extra`` with the key order)."""

    def __init__(self) -> None:
        self.renumber = Renumber()
        self.metadata_keys: dict[str, None] = {}  # of every custom_fields, first seen first

    def batch(self, part: Part) -> pa.RecordBatch:
        """The batch of the examples in ``part`` (their texts decoded apart by the scan, the
        rest parsed here), a column at a time."""
        docs = orjson.loads(part.skeleton)
        _only(docs, dict)
        if len(docs) != len(part.found) or (part.found != _ALL_TEXTS).any():
            raise _NotPlain  # a text missing, not a string, or its key written with escapes
        if any([e[k] for e in docs].count("") != len(docs) for k in TEXTS):
            raise _NotPlain  # the key again, written with escapes: the parser keeps that one
        prompts = part.texts[0].to_pylist()
        tags, customs, rated = ([e.get(k) for e in docs] for k in (
            "tags", "custom_fields", "individual_rater_scores"))
        _only(tags, list, type(None))
        _only(customs, dict, type(None))
        keys = self.metadata_keys
        for c in customs:
            if c and not c.keys() <= keys.keys():
                keys.update(dict.fromkeys(c))
        _only(rated, list, type(None))
        flat_tags = [t for x in tags if x for t in x]
        _only(flat_tags, str)
        ratings = [r for x in rated if x for r in x]
        _only(ratings, dict)
        ids = self.renumber(list(map(text_id, prompts)))
        j_end = _ends(rated)
        kept = [_kept(r, RATING_KEYS, _RATING_HEADS) for r in ratings]
        built = {
            "id": pa.array(ids, pa.string()), "prompt": part.texts[0],
            "response_a": part.texts[1], "response_b": part.texts[2],
            "tags": pa.ListArray.from_arrays(pa.array(_ends(tags)),
                                             pa.array(flat_tags, pa.string()),
                                             type=schema.TYPES["tags"]),
            "reported_score": _scores([e.get("score") for e in docs]),
            "judgments": pa.ListArray.from_arrays(pa.array(j_end), _judgments(ratings),
                                                  type=schema.TYPES["judgments"]),
            "judgment_extra": pa.ListArray.from_arrays(
                pa.array(j_end), schema.text_array(kept),
                type=pa.list_(schema.S), mask=pa.array(np.diff(j_end) == 0)),  # null: none
            "metadata": schema.text_array([schema.to_json(c) if c else _EMPTY for c in customs]),
            "extra": schema.text_array([_kept(e, EXAMPLE_KEYS, _EXAMPLE_HEADS) for e in docs])}
        return pa.RecordBatch.from_arrays(_filled(_LAYOUT, len(ids), built),
                                          names=[k for k, _ in _LAYOUT])


def _judgments(ratings: list[dict[str, Any]]) -> pa.StructArray:
    """The ratings as the store's judgment structs (an unscored one: status "unscored")."""
    labels, flipped, why = ([r.get(k) for r in ratings] for k in (
        "rating_label", "is_flipped", "rationale"))
    _only(labels, str, type(None))
    _only(flipped, bool, type(None))
    _only(why, str, type(None))
    score = _scores([r.get("score") for r in ratings])
    status = pa.array(np.where(score.is_null().to_numpy(zero_copy_only=False), "unscored",
                               None).tolist(), pa.string())
    return pa.StructArray.from_arrays(_filled(_JUDGMENT, len(ratings), {
        "score": score, "label": pa.array(labels, pa.string()),
        "flipped": pa.array(flipped, pa.bool_()), "rationale": schema.text_array(why),
        "status": status}), fields=list(schema.JUDGMENT))


def _filled(fields: list[tuple[str, pa.DataType]], n: int, built: dict[str, pa.Array]
            ) -> list[pa.Array]:
    """The arrays of ``fields`` in order: those built, else ``n`` nulls of the field's type."""
    return [built[k] if k in built else pa.nulls(n, t) for k, t in fields]


def _kept(d: dict[str, Any], known: Any, heads: dict[tuple[str, ...], Any]) -> str:
    """The ``extra`` of an example or a rating as the importer writes it (``{NS: {"keys":
    [its key order], **its keys not in known}}``), from a template per key order in
    ``heads``: the text up to its other keys, and each of those keys' text."""
    keys = tuple(d)
    head = heads.get(keys)
    if head is None:
        rest = [k for k in keys if k not in known]
        if "keys" in rest or len(heads) >= 64:  # (the importer's "keys" is then the value's)
            return schema.to_json({NS: {"keys": list(keys), **{k: d[k] for k in rest}}})
        text = schema.to_json({NS: {"keys": list(keys)}})
        head = heads[keys] = (text[:-2], text, tuple((k, f",{schema.to_json(k)}:") for k in rest))
    start, whole, rest = head
    if not rest:
        return whole
    return start + "".join([q + schema.to_json(d[k]) for k, q in rest]) + "}}"


_LAYOUT = [*schema.FIXED, *((k, schema.S) for k in schema.FREE)]
_JUDGMENT = [(f.name, f.type) for f in schema.JUDGMENT]
_EMPTY = "{}"
TEXTS = ("input_text", "output_text_a", "output_text_b")  # decoded by the scan
_ALL_TEXTS = (1 << len(TEXTS)) - 1
# the extras' templates (``_kept``) of the key orders seen before
_EXAMPLE_HEADS: dict[tuple[str, ...], Any] = {}
_RATING_HEADS: dict[tuple[str, ...], Any] = {}
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
    a part at a time (a block's examples; a couple in memory: a thread reads, scans and
    decodes the next one, a thread writes the last one, while one is parsed); the header, or
    None (not provably plain, or not this format)."""
    scan = ArrayScan(path, "examples", TEXTS)
    conv = Batches()
    writer = BatchWriter(out)
    try:
        with closing(parts(scan)) as scanned:  # an early stop stops its thread
            for part in scanned:
                writer.put(conv.batch(part))
        if not writer.close():
            return None
        doc = orjson.loads(scan.rest)
        if type(doc) is not dict or doc.get("examples") != []:  # a later "examples" key wins
            return None
        return {**_head(doc), "sha256": scan.sha256,  # of the bytes read
                "metadata_keys": list(conv.metadata_keys)}
    except (*ERRORS, orjson.JSONDecodeError):
        return None
    finally:
        writer.close()
