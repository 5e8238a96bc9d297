"""Our native JSONL straight into Arrow: pyarrow's JSON reader, a block at a time.

Every block is checked with vectorised rules equal to the pydantic schema (types by the
reader's explicit schema, then ranges, allowed values, required fields, unique ids). Anything
this path cannot prove valid (an older schema version, a sidecar header, multi-turn texts,
judgments with ``extra``, untyped metadata, any rule broken) returns None and the caller reads
the file with ``comparator.io.native``, which names the line and field of the problem. An
explicit ``null`` in an optional field reads as the field left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.json as pj
from pydantic import ValidationError

from comparator.io.labels import SCORE_MAX, SCORE_MIN
from comparator.io.native import is_header
from comparator.io.schema import SCHEMA_VERSION, Comparison
from comparator.store import schema

_READ = [(n, t) for n, t in schema.FIXED if not n.endswith("_turns") and n != "judgment_extra"]
EXPLICIT = pa.schema(_READ)
BLOCK = 1 << 24


def read_native_arrow(path: Path, out: Path) -> dict[str, Any] | None:
    """Write ``path``'s examples to the IPC file ``out``; the header, or None (not proven
    valid here: read it the slow way)."""
    with open(path, "rb") as f:
        first = f.readline(1 << 20)
    try:
        head = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    if not is_header(head) or head.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        return None
    head = {k: v for k, v in head.items() if k not in ("kind", "examples")}
    try:
        Comparison(examples=[], **head)
    except (ValidationError, TypeError):
        return None
    try:
        ok = _stream(path, len(first), out)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError):
        return None
    if not ok:
        return None
    return {"schema_version": SCHEMA_VERSION, "model_a": head["model_a"],
            "model_b": head["model_b"], "source_format": head.get("source_format"),
            "metadata": head.get("metadata") or {}}


def _stream(path: Path, offset: int, out: Path) -> bool:
    src = pa.OSFile(str(path))
    src.seek(offset)
    # the system allocator hands each freed block back at once (mimalloc kept them: 2.2x the
    # file at 1M examples)
    reader = pj.open_json(src, read_options=pj.ReadOptions(block_size=BLOCK),
                          parse_options=pj.ParseOptions(explicit_schema=EXPLICIT,
                                                        unexpected_field_behavior="infer"),
                          memory_pool=pa.system_memory_pool())
    writer = None
    ids: list[np.ndarray] = []
    try:
        for rb in reader:
            if writer is None:
                target = _target(rb)
                if target is None:
                    return False
                writer = ipc.new_file(str(out), target)
            conformed = _conform(rb, target)
            if conformed is None or not _valid(conformed):
                return False
            ids.append(np.asarray(conformed.column("id").to_numpy(zero_copy_only=False)))
            writer.write_batch(conformed)
        if writer is None:
            return False  # no examples: the slow path says so
    finally:
        if writer is not None:
            writer.close()
        src.close()
    all_ids = np.concatenate(ids)
    return len(np.unique(all_ids)) == len(all_ids)


def _target(rb: pa.RecordBatch) -> pa.Schema | None:
    extra = [n for n in rb.schema.names if n not in EXPLICIT.names and n not in schema.FREE]
    if extra:
        return None  # unknown field (or a typo): pydantic names it
    fields = list(schema.FIXED)
    for k in schema.FREE:
        t = rb.schema.field(k).type if k in rb.schema.names else schema.S
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
