"""A block parsed by Arrow's reader, put in the store's layout and checked: the columns the
scan took out of Arrow's way put back (free-form JSON texts, decoded strings, lists of turns),
then the rules of the pydantic schema that the reader's types do not already enforce, on
whole columns (``comparator.store.native`` reads the blocks)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from comparator.schema.labels import SCORE_MAX, SCORE_MIN
from comparator.store import schema
from comparator.store.blockscan import TURN_KEYS, Block, Cuts, NotPlain
from comparator.store.blockwalk import JUDGMENT_TEXTS

JUDGMENT_READ = pa.struct([*schema.JUDGMENT, ("extra", schema.S)])  # extra: blanked text


def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).chunk(0) if table.column(name).num_chunks else \
        pa.array([], table.schema.field(name).type)


def _texts(n: int, cuts: Cuts) -> pa.Array:
    """A ``large_string`` column of n rows: the cut-out texts at their rows (increasing),
    else null."""
    rows = cuts.at
    if len(rows) and (rows[0] < 0 or rows[-1] >= n or (rows[1:] <= rows[:-1]).any()):
        raise NotPlain  # two values for one row (a repeated key), or one outside the rows
    if len(rows) == n:  # every row has one (rows 0 .. n-1): the cut's offsets as they are
        offsets = cuts.offsets.astype(np.int64, copy=False)
        return pa.LargeStringArray.from_buffers(n, pa.py_buffer(
            offsets - offsets[0] if offsets[0] else offsets), pa.py_buffer(cuts.data))
    lengths = np.zeros(n, np.int64)
    lengths[rows] = np.diff(cuts.offsets)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    valid = np.zeros(n, bool)
    valid[rows] = True
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(cuts.data),
        pa.py_buffer(np.packbits(valid, bitorder="little")), n - len(rows))


def _judgment_extra(js: pa.ListArray, blk: Block) -> pa.Array:
    """The ``judgment_extra`` column: per example, each judgment's extra as JSON text (null
    for an example none of whose judgments has one)."""
    index = blk.judgment_extra.at
    n = len(js)
    total = len(js.values)
    if total != blk.judgments:
        raise NotPlain  # a judgment that is not an object: the line reader names it
    if not len(index):
        return pa.nulls(n, pa.list_(schema.S))
    values = _texts(total, blk.judgment_extra)
    offsets = js.offsets
    owner = np.searchsorted(offsets.to_numpy()[1:], index, "right")
    has = np.zeros(n, bool)
    has[owner] = True
    return pa.ListArray.from_arrays(offsets, values, mask=pa.array(~has))


def _decoded(parsed: pa.Array | None, cuts: Cuts, n: int) -> pa.Array:
    """A text column from the strings the scan decoded; Arrow's parse of the same column
    (its strings blanked) must hold a value exactly where the scan found one (else a key the
    scan did not see, e.g. written with escapes, would be lost: the line reader reads it)."""
    col = _texts(n, cuts)
    if parsed is None:
        if len(cuts.at):
            raise NotPlain
        return col
    if parsed.null_count != col.null_count or not np.array_equal(
            np.asarray(pc.is_valid(parsed)), np.asarray(pc.is_valid(col))):
        raise NotPlain
    return col


def _item_texts(col: pa.ListArray, blk: Block, names: tuple[str, ...], count: int,
                item: pa.StructType) -> pa.ListArray | None:
    """A list of objects (the judgments, the messages) of type ``item`` with the texts the
    scan decoded (a judgment's rationale and raw reply, a message's content) in place of the
    blanks Arrow read, and nulls for the fields Arrow was not asked for (no object of the
    block has them); ``count``: the objects the scan found in the list. None: a field of
    another type, or one that ``item`` lacks."""
    values = col.values
    if len(values) != count:
        raise NotPlain  # an item that is not an object: the line reader names it
    read = values.type
    if any(item.get_field_index(f.name) < 0 or item.field(f.name).type != f.type
           for f in read):
        return None
    children = [values.field(f.name) if read.get_field_index(f.name) >= 0 else
                pa.nulls(len(values), f.type) for f in item]
    for name in names:
        k = item.get_field_index(name)
        children[k] = _decoded(children[k] if read.get_field_index(name) >= 0 else None,
                               blk.texts[name], len(values))
    values = pa.StructArray.from_arrays(children, fields=list(item), mask=pc.is_null(values))
    return pa.ListArray.from_arrays(col.offsets, values, mask=pc.is_null(col))


def _turns(col: pa.ListArray | None, cuts: Cuts, n: int) -> pa.ListArray:
    """A column of lists of turns with the strings the scan decoded in place of the blanks
    Arrow read (every turn is a string the scan decoded, or the block is not plain)."""
    if col is None:
        if len(cuts.at):
            raise NotPlain
        return pa.nulls(n, pa.list_(schema.S))
    values = _decoded(col.values, cuts, len(col.values))
    return pa.ListArray.from_arrays(col.offsets, values, mask=pc.is_null(col))


def conform(table: pa.Table, blk: Block, target: pa.Schema) -> pa.RecordBatch | None:
    """The parsed block in the store's layout; None when a column has another type."""
    n = table.num_rows
    have = set(table.schema.names)
    arrays = []
    for field in target:
        name, type_ = field.name, field.type
        src = name if name in have else None
        if name == "judgments" and src:
            col = _column(table, name)
            if not pa.types.is_list(col.type) or not pa.types.is_struct(col.type.value_type):
                return None
            col = _item_texts(col, blk, JUDGMENT_TEXTS, blk.judgments, JUDGMENT_READ)
            if col is None:
                return None
            col = col.cast(type_)
        elif name == "judgments" and blk.judgments:
            raise NotPlain  # judgments the scan found and Arrow did not
        elif name == "messages" and (src or blk.messages):
            if not src:
                raise NotPlain  # messages the scan found and Arrow did not
            col = _item_texts(_column(table, name), blk, ("content",), blk.messages,
                              schema.MESSAGE)
        elif name == "judgment_extra":
            js = _column(table, "judgments") if "judgments" in have else \
                pa.nulls(n, pa.list_(JUDGMENT_READ))
            col = _judgment_extra(js, blk)
        elif name.endswith("_turns"):
            alias = TURN_KEYS[name.removesuffix("_turns")]
            col = _turns(_column(table, alias) if alias in have else None, blk.texts[alias], n)
        elif name in schema.FREE and name in blk.free:
            col = _texts(n, blk.free[name])
        elif name in blk.texts:
            col = _decoded(_column(table, name) if src else None, blk.texts[name], n)
        elif src:
            col = _column(table, name)
        else:
            col = pa.nulls(n, type_)
        if col.type != type_:
            return None
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def _flat(col: pa.Array, field: str) -> pa.Array:
    return pc.struct_field(col.flatten(), field)


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask).as_py()) if len(mask) else False


def _all(mask: pa.Array) -> bool:
    return bool(pc.all(pc.fill_null(mask, False)).as_py()) if len(mask) else True


def _in_range(scores: pa.Array) -> bool:
    s = pc.drop_null(scores)
    if not len(s):
        return True
    lo, hi = pc.min_max(s).values()
    return bool(pc.all(pc.is_finite(s)).as_py()) and SCORE_MIN <= lo.as_py() <= hi.as_py() \
        <= SCORE_MAX


def valid(rb: pa.RecordBatch) -> bool:
    """The pydantic rules the reader's types do not already enforce."""
    col = rb.column
    if col("id").null_count or any(_any(pc.and_(pc.is_null(col(n)),
                                                pc.is_null(col(n + "_turns"))))
                                   for n in ("response_a", "response_b")):
        return False  # an example without an id or a response (a text or its turns)
    for name in ("judgments", "messages", "reasons", "response_a_turns", "response_b_turns",
                 "reference_turns", "tags"):
        if col(name).flatten().null_count:
            return False  # a null element of a list
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
        if not all(_finite(a) for a in (_flat(rs, "x"), _flat(rs, "y"),
                                         pc.list_flatten(_flat(rs, "similarities")))):
            return False  # inf (a 400-digit integer, 1e999): the line reader names it
    return True


def _finite(values: pa.Array) -> bool:
    s = pc.drop_null(values)
    return not len(s) or bool(pc.all(pc.is_finite(s)).as_py())
