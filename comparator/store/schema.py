"""The columnar layout of a comparison: one Arrow row per example, judgments and reasons nested.

Texts are ``large_string`` (a million long responses pass 2 GiB). A multi-turn response keeps
its turns in ``response_a_turns`` and ``response_a`` is then null: the text is stored once, and
``Store.texts`` joins the turns (``response_text``) for search and metrics, as it joins a
multi-turn prompt's user turns from ``messages``. ``metadata`` and ``extra`` are free-form: a
struct when Arrow can type them across the file, else JSON text (either reads back as the same
dict, less keys whose value was null). The same table is our Parquet export and the on-disk
cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any, TypeVar

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from comparator.schema.records import TURN_SEP, Example

T = TypeVar("T")
STORE_VERSION = 3  # 2: the response lengths (CHARS); 3: a multi-turn response's text not
# stored joined beside its turns (Arrow's reader had joined the blanks it parsed instead)
S = pa.large_string()
JUDGMENT = pa.struct([
    ("score", pa.float64()), ("label", pa.string()), ("flipped", pa.bool_()),
    ("rationale", S), ("judge", pa.string()), ("rater", pa.string()),
    ("template_id", pa.string()), ("status", pa.string()), ("raw", S),
])  # a judgment's free-form ``extra`` is JSON text in the ``judgment_extra`` column
REASON = pa.struct([
    ("text", S), ("favours", pa.string()), ("judgment", pa.int32()), ("cluster", pa.int32()),
    ("x", pa.float64()), ("y", pa.float64()), ("similarities", pa.list_(pa.float64())),
])
MESSAGE = pa.struct([("role", pa.string()), ("content", S)])
FIXED = [
    ("id", pa.string()), ("prompt", S), ("messages", pa.list_(MESSAGE)),
    ("response_a", S), ("response_b", S),
    ("response_a_turns", pa.list_(S)), ("response_b_turns", pa.list_(S)),
    ("reference", S), ("reference_turns", pa.list_(S)),
    ("category", pa.string()), ("tags", pa.list_(pa.string())), ("reported_score", pa.float64()),
    ("judgments", pa.list_(JUDGMENT)), ("judgment_extra", pa.list_(S)),
    ("reasons", pa.list_(REASON)),
]
FREE = ("metadata", "extra")  # struct or JSON text
TEXTS = ("response_a", "response_b", "reference")
# each response's length in characters, counted once as the table is built (``with_chars``):
# the statistics' length control reads these, not the texts (most of a table's pages)
CHARS = [("response_a_chars", pa.int64()), ("response_b_chars", pa.int64())]
EMPTY = pa.schema([*FIXED, *((k, S) for k in FREE), *CHARS])  # a comparison without examples
TYPES = dict(FIXED)
HEAD_KEYS = ("schema_version", "model_a", "model_b", "source_format", "metadata")


def with_chars(data: Any) -> Any:
    """A table or batch of the layout with ``CHARS`` appended: the characters (code points)
    of ``response_a`` and ``response_b`` (of a multi-turn one's turns joined by ``TURN_SEP``),
    0 for none. Every table the store writes or builds passes here last (``table``,
    ``comparator.store.writer``)."""
    for name, type_ in CHARS:
        text = name.removesuffix("_chars")
        pair = data.select([text, text + "_turns"])  # as batches: their chunks line up
        count = np.concatenate([np.zeros(0, np.int64), *(
            _chars(b.column(0), b.column(1))
            for b in (pair.to_batches() if isinstance(pair, pa.Table) else [pair]))])
        data = data.append_column(pa.field(name, type_), pa.array(count, type_))
    return data


def without_chars(table: pa.Table) -> pa.Table:
    """``table`` without ``CHARS`` (a Parquet file's: written by the store or by anyone)."""
    return table.drop_columns([n for n, _ in CHARS if n in table.column_names])


def _chars(texts: pa.Array, turns: pa.ListArray) -> np.ndarray:
    """Each row's characters: its text's, else its turns' and the separators between them."""
    out = pc.fill_null(pc.utf8_length(texts), 0).to_numpy().astype(np.int64)
    if turns.null_count == len(turns):
        return out
    lengths = pc.fill_null(pc.utf8_length(pc.list_flatten(turns)), 0).to_numpy()
    parent = pc.list_parent_indices(turns).to_numpy()
    joined = np.bincount(parent, weights=lengths, minlength=len(turns)).astype(np.int64)
    n = pc.fill_null(pc.list_value_length(turns), 0).to_numpy()
    joined += len(TURN_SEP) * np.maximum(n - 1, 0)
    return np.where(pc.is_null(texts).to_numpy(zero_copy_only=False), joined, out)


def header(comp: Any) -> dict[str, Any]:
    """The comparison-level fields kept beside the table (cache header, Parquet metadata)."""
    return {k: getattr(comp, k) for k in HEAD_KEYS}


def text_array(values: list[str | None], errors: str = "strict") -> pa.Array:
    """Strings (or None) as a ``large_string`` array from one joined UTF-8 buffer: 5x faster
    than ``pa.array`` on 100k long texts. Strings from JSON hold no lone surrogates; with
    ``errors="strict"`` one that does is built by ``pa.array`` (which refuses it), with
    ``"replace"`` it becomes "?"."""
    nulls = values.count(None)
    try:
        if nulls:
            enc = [b"" if v is None else v.encode("utf-8", errors) for v in values]
        else:
            enc = list(map(str.encode, values, repeat("utf-8"), repeat(errors)))
    except UnicodeEncodeError:
        return pa.array(values, S)
    offsets = np.zeros(len(enc) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, enc), np.int64, len(enc)), out=offsets[1:])
    bitmap = None
    if nulls:
        valid = np.fromiter((v is not None for v in values), bool, len(values))
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.LargeStringArray.from_buffers(len(enc), pa.py_buffer(offsets),
                                            pa.py_buffer(b"".join(enc)), bitmap, nulls)


def exact(t: pa.DataType) -> bool:
    """Whether values of an inferred type read back exactly: no floats (Arrow would make an
    integer 1 beside a 1.5 into 1.0) and no nulls-only fields."""
    if pa.types.is_struct(t):  # (Parquet cannot hold a struct without fields)
        return t.num_fields > 0 and all(exact(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return exact(t.value_type)
    return not (pa.types.is_floating(t) or pa.types.is_null(t))


def _free(values: list[Any]) -> pa.Array:
    """A free-form dict column: a struct when Arrow types it exactly, else JSON text."""
    try:
        arr = pa.array(values)
        if pa.types.is_struct(arr.type) and exact(arr.type):
            return arr
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    return _json_column(values)


def _json_column(values: list[Any]) -> pa.Array:
    return pa.array([None if v is None else to_json(v) for v in values], S)


def to_json(value: Any) -> str:
    """JSON text of any value read from JSON (orjson writes at most 254 levels; deeper
    values, which the readers accept, go through the standard library)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


class FreeMismatch(Exception):
    """A later batch's free-form values do not fit the type of the first batch's."""


def typed_else_json(run: Callable[[bool], T]) -> T:
    """``run(json_free=False)``; when a later batch's free-form values do not fit the first
    batch's type, ``run(json_free=True)`` (JSON text fits any value)."""
    try:
        return run(False)
    except FreeMismatch:
        return run(True)


class Batcher:
    """Validated example dicts -> record batches of the store's layout, one batch at a time,
    all of one schema: the free-form columns take the type of the first batch (JSON text with
    ``json_free``); a later batch that does not fit raises FreeMismatch (start again with
    ``json_free``)."""

    def __init__(self, json_free: bool = False) -> None:
        self.free: dict[str, pa.DataType] = dict.fromkeys(FREE, S) if json_free else {}

    def free_column(self, k: str, values: list[Any]) -> pa.Array:
        if k not in self.free:
            arr = _free(values)
            self.free[k] = arr.type
            return arr
        if self.free[k] == S:
            return _json_column(values)
        type_ = self.free[k]
        if not all(_fits(v, type_) for v in values):
            raise FreeMismatch  # (pa.array would drop the keys the type lacks)
        try:
            return pa.array(values, type_)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            raise FreeMismatch from None

    def batch(self, examples: list[Example]) -> pa.RecordBatch:
        cols: dict[str, list] = {name: [] for name, _ in FIXED}
        for ex in examples:
            for name, _ in FIXED:
                if name.endswith("_turns") or name == "judgment_extra":
                    continue
                v = ex.get(name)
                if name in TEXTS:
                    turns = v if isinstance(v, list) else None
                    cols[name + "_turns"].append(turns)
                    v = None if turns is not None else v
                elif name == "judgments":
                    cols["judgment_extra"].append(_extras(v))
                cols[name].append(v)
        return self.assemble(cols, {k: [ex.get(k) for ex in examples] for k in FREE})

    def assemble(self, cols: dict[str, list], free: dict[str, list]) -> pa.RecordBatch:
        """Column lists (texts as str or None) -> a record batch; absent columns are null."""
        n = len(next(iter(free.values())))
        arrays = []
        for name, type_ in FIXED:
            values = cols.get(name)
            arrays.append(pa.nulls(n, type_) if values is None else text_array(values)
                          if type_ == S else pa.array(values, type_))
        arrays += [self.free_column(k, free[k]) for k in FREE]
        return pa.RecordBatch.from_arrays(arrays, names=[*(n for n, _ in FIXED), *FREE])


def _fits(value: Any, type_: pa.DataType) -> bool:
    """Whether every key of ``value`` (nested too) is a field of the struct type."""
    if isinstance(value, dict):
        if not pa.types.is_struct(type_):
            return False
        names = {type_.field(i).name: type_.field(i).type for i in range(type_.num_fields)}
        return all(k in names and _fits(v, names[k]) for k, v in value.items())
    if isinstance(value, list) and (pa.types.is_list(type_) or pa.types.is_large_list(type_)):
        return all(_fits(v, type_.value_type) for v in value)
    return True


def _extras(judgments: list[dict] | None) -> list[str | None] | None:
    """The ``judgment_extra`` cell of an example: each judgment's ``extra`` as JSON text."""
    if not judgments or not any("extra" in j for j in judgments):
        return None
    return [None if "extra" not in j else to_json(j["extra"]) for j in judgments]


def column(examples: Sequence[Example], name: str) -> pa.Array:
    """One column of the layout built from example dicts, as ``table`` builds it (a store over
    example dicts builds only the columns it is asked for: ``comparator.store.table``)."""
    if name in FREE:
        return _free([ex.get(name) for ex in examples])
    if name == "judgment_extra":
        values = [_extras(ex.get("judgments")) for ex in examples]
    elif name.endswith("_turns"):
        src = name.removesuffix("_turns")
        values = [v if isinstance(v := ex.get(src), list) else None for ex in examples]
    elif name in TEXTS:
        values = [None if isinstance(v := ex.get(name), list) else v for ex in examples]
    else:
        values = [ex.get(name) for ex in examples]
    type_ = TYPES[name]
    return text_array(values, "replace") if type_ == S else pa.array(values, type_)


def table(examples: list[Example], chunk: int = 32_768) -> pa.Table:
    """Examples (validated dicts) -> the store's table (built ``chunk`` rows at a time)."""
    if not examples:
        return EMPTY.empty_table()

    def run(json_free: bool) -> pa.Table:
        batcher = Batcher(json_free)
        return pa.Table.from_batches([batcher.batch(examples[i:i + chunk])
                                      for i in range(0, len(examples), chunk)])

    return with_chars(typed_else_json(run))


def _clean(v: Any) -> Any:
    """A struct read back as a dict: keys that Arrow filled with null (absent in the row) go."""
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def _loads(v: Any) -> Any:
    return orjson.loads(v) if isinstance(v, str) else _clean(v)


def example(row: dict[str, Any]) -> Example:
    """One row (``Table.to_pylist``) back to the example dict it was built from."""
    ex: dict[str, Any] = {}
    for name, _ in FIXED:
        if name.endswith("_turns") or name == "judgment_extra":
            continue
        v = row.get(name)
        if name in TEXTS and row.get(name + "_turns") is not None:
            v = row[name + "_turns"]
        if v is None:
            continue
        if name == "judgments":
            v = [{k: x for k, x in j.items() if x is not None} for j in v]
            for j, extra in zip(v, row.get("judgment_extra") or ()):
                if extra is not None:
                    j["extra"] = orjson.loads(extra)
        elif name in ("reasons", "messages"):
            v = [{k: x for k, x in r.items() if x is not None} for r in v]
        ex[name] = v
    for k in FREE:
        v = row.get(k)
        if v is not None:
            ex[k] = _loads(v)
    return ex  # type: ignore[return-value]
