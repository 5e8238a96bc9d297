"""Our native JSONL straight into Arrow: pyarrow's JSON reader, a block at a time.

Every block is checked with vectorised rules equal to the pydantic schema (types by the
reader's explicit schema, then ranges, allowed values, required fields, unique ids). What this
path cannot prove valid (multi-turn texts, judgments with ``extra``, metadata Arrow would not
type exactly, lines nested deeper than MAX_DEPTH, any rule broken) is read line by line with
pydantic (``comparator.store.native_lines``), which names the line and field of a problem;
an older schema version or a sidecar header returns None (the whole-file reader). An
explicit ``null`` in an optional field reads as the field left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
from pydantic import ValidationError

from comparator.formats.native import is_header
from comparator.schema.labels import SCORE_MAX, SCORE_MIN
from comparator.schema.records import SCHEMA_VERSION, Comparison
from comparator.store import schema
from comparator.store.jsonscan import brackets
from comparator.store.native_lines import stream_lines
from comparator.store.writer import BatchWriter

_READ = [(n, t) for n, t in schema.FIXED if not n.endswith("_turns") and n != "judgment_extra"]
EXPLICIT = pa.schema(_READ)
BLOCK = 1 << 24


def read_native_arrow(path: Path, out: Path) -> dict[str, Any] | None:
    """Write ``path``'s examples to the IPC file ``out``: with Arrow's JSON reader, else line
    by line with pydantic (InputError naming the line and field, as ``read_native``); the
    header. None: a file for the whole-file reader (older schema, sidecar header)."""
    with open(path, "rb") as f:
        first = f.readline(1 << 20)
    try:
        head = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    if not is_header(head) or head.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        return None
    try:
        comp = Comparison(examples=[], **{k: v for k, v in head.items()
                                          if k not in ("kind", "examples")})
    except (ValidationError, TypeError):
        return None
    try:
        ok = _fast(path, len(first), out)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        ok = False
    if not ok:
        stream_lines(path, len(first), out)  # raises InputError at the first problem
    return schema.header(comp)


MAX_DEPTH = 64  # deeper nesting is left to the line reader (Arrow's parser recurses)


def _blocks(path: Path, offset: int):
    """The file after the header in blocks of whole lines."""
    with open(path, "rb") as f:
        f.seek(offset)
        carry = b""
        while True:
            block = f.read(BLOCK)
            data = carry + block
            if not block:
                if data.strip():
                    yield data
                return
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut and data[:cut].strip():
                yield data[:cut]


def _shallow(data: bytes) -> bool:
    """No line nests deeper than MAX_DEPTH. A line's depth is at most its count of opening
    brackets, so only lines with many are measured (brackets outside strings)."""
    arr = np.frombuffer(data, np.uint8)
    opens = np.flatnonzero((arr == 123) | (arr == 91))
    if len(opens) < MAX_DEPTH:
        return True
    ends = np.flatnonzero(arr == 10)
    per_line = np.bincount(np.searchsorted(ends, opens), minlength=len(ends) + 1)
    starts = np.concatenate([[0], ends + 1])
    for k in np.flatnonzero(per_line >= MAX_DEPTH).tolist():
        stop = int(ends[k]) if k < len(ends) else len(data)
        if _depth(data[int(starts[k]):stop]) > MAX_DEPTH:
            return False
    return True


def _depth(line: bytes) -> int:
    _, _, opens, _ = brackets(line)
    return int(np.cumsum(np.where(opens, 1, -1)).max()) if len(opens) else 0


def _fast(path: Path, offset: int, out: Path) -> bool:
    """Arrow's JSON reader on each block (the schema of the first block for the rest); False
    when anything is not provably valid."""
    pool = pa.system_memory_pool()  # hands each freed block back at once (mimalloc kept them)
    writer = BatchWriter(out)
    ids: list[np.ndarray] = []
    schema_, target = EXPLICIT, None
    try:
        for data in _blocks(path, offset):
            if not _shallow(data):
                return False
            table = pj.read_json(pa.BufferReader(data), memory_pool=pool,
                                 read_options=pj.ReadOptions(block_size=1 << 22),
                                 parse_options=pj.ParseOptions(
                                     explicit_schema=schema_,
                                     unexpected_field_behavior="infer" if target is None
                                     else "error"))
            for rb in table.to_batches():
                if target is None:
                    target = _target(rb)
                    if target is None:
                        return False
                    schema_ = pa.schema([*EXPLICIT, *((k, rb.schema.field(k).type)
                                                      for k in schema.FREE
                                                      if k in rb.schema.names)])
                conformed = _conform(rb, target)
                if conformed is None or not _valid(conformed):
                    return False
                ids.append(np.asarray(conformed.column("id").to_numpy(zero_copy_only=False)))
                writer.put(conformed)
    finally:
        written = writer.close()
    if not written:
        return False  # no examples: the line reader says so
    all_ids = np.concatenate(ids)
    return len(np.unique(all_ids)) == len(all_ids)


def _empty_struct(t: pa.DataType) -> bool:
    return pa.types.is_struct(t) and t.num_fields == 0


def _target(rb: pa.RecordBatch) -> pa.Schema | None:
    extra = [n for n in rb.schema.names if n not in EXPLICIT.names and n not in schema.FREE]
    if extra:
        return None  # unknown field (or a typo): pydantic names it
    fields = list(schema.FIXED)
    for k in schema.FREE:
        t = rb.schema.field(k).type if k in rb.schema.names else schema.S
        if _empty_struct(t):
            t = schema.S  # only {} so far: kept as JSON text
        if not (t == schema.S or (pa.types.is_struct(t) and schema.exact(t))):
            return None
        fields.append((k, t))
    return pa.schema(fields)


def _conform(rb: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch | None:
    names = rb.schema.names
    arrays = []
    for field in target:
        if field.name in names:
            col = rb.column(field.name)
            if field.type == schema.S and _empty_struct(col.type):
                col = pa.array([None if v is None else "{}" for v in col.to_pylist()],
                               schema.S)
            if col.type != field.type:
                return None
        else:
            col = pa.nulls(rb.num_rows, field.type)
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def _flat(col: pa.Array, field: str) -> pa.Array:
    return pc.struct_field(col.flatten(), field)


def _all(mask: pa.Array) -> bool:
    return bool(pc.all(pc.fill_null(mask, False)).as_py()) if len(mask) else True


def _in_range(scores: pa.Array) -> bool:
    s = pc.drop_null(scores)
    if not len(s):
        return True
    lo, hi = pc.min_max(s).values()
    return bool(pc.all(pc.is_finite(s)).as_py()) and SCORE_MIN <= lo.as_py() <= hi.as_py() \
        <= SCORE_MAX


def _valid(rb: pa.RecordBatch) -> bool:
    """The pydantic rules the reader's types do not already enforce."""
    col = rb.column
    if any(col(n).null_count for n in ("id", "response_a", "response_b")):
        return False
    if not _in_range(col("reported_score")):
        return False
    js = col("judgments")
    score, status = _flat(js, "score"), _flat(js, "status")
    if not _in_range(score):
        return False
    if len(status):
        known = pc.is_in(pc.fill_null(status, "ok"), pa.array(["ok", "unscored", "error"]))
        is_ok = pc.equal(pc.fill_null(status, "ok"), "ok")
        if not (_all(known) and _all(pc.equal(is_ok, pc.is_valid(score)))):
            return False
    msgs = col("messages")
    if len(msgs.flatten()):
        roles = _flat(msgs, "role")
        if not _all(pc.is_in(roles, pa.array(["system", "user", "assistant"]))) or \
                _flat(msgs, "content").null_count:
            return False
    rs = col("reasons")
    if len(rs.flatten()):
        fav = pc.drop_null(_flat(rs, "favours"))
        if _flat(rs, "text").null_count or not _all(pc.is_in(fav, pa.array(["A", "B"]))):
            return False
        if pc.list_flatten(_flat(rs, "similarities")).null_count:
            return False
    return not col("tags").flatten().null_count
