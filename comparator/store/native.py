"""Our native JSONL straight into Arrow: one read of the file, a block of whole lines at a time.

Each block goes through ``comparator.store.blockscan`` (free-form objects cut out as JSON text,
lists of turns given their own column) and then Arrow's JSON reader with an explicit schema,
and is checked with vectorised rules equal to the pydantic schema (types by the reader's schema,
then ranges, allowed values, required fields, unique ids). So every file ``convert`` writes
takes this path whole. A block it cannot prove valid is read line by line with pydantic
(``comparator.store.native_lines``): that names the line and field of its first problem, or,
when the block was valid after all, gives its rows and the next block is Arrow's again.

The bytes read are hashed as they are read (the SHA-256 that keys the store's cache), so the
table is exactly the bytes hashed. ``metadata`` is typed when the first block's is (Arrow
infers it exactly), else JSON text; a later block it does not fit starts the file again with
JSON text (the one case that reads the file twice). An explicit ``null`` in an optional field
reads as the field left out. An older schema version or a sidecar header returns None (the
whole-file reader).
"""

from __future__ import annotations

import hashlib
import logging
import queue
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.json as pj
from pydantic import ValidationError

from comparator.formats.native import is_header
from comparator.schema.labels import SCORE_MAX, SCORE_MIN
from comparator.schema.records import SCHEMA_VERSION, Comparison
from comparator.store import schema
from comparator.store.blockscan import TURN_KEYS, Block, NotPlain, scan
from comparator.store.native_lines import read_lines
from comparator.store.writer import BatchWriter

log = logging.getLogger("comparator.store")
BLOCK = 1 << 24
PARALLEL = 2  # blocks scanned and parsed at once
JUDGMENT_READ = pa.struct([*schema.JUDGMENT, ("extra", schema.S)])  # extra: blanked text
_READ = [(n, pa.list_(JUDGMENT_READ) if n == "judgments" else t) for n, t in schema.FIXED
         if not n.endswith("_turns") and n != "judgment_extra"]
_READ += [(alias, pa.list_(schema.S)) for alias in TURN_KEYS.values()] + [("extra", schema.S)]
ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, NotPlain)
TURN_SEP = pa.scalar("\n\n---\n\n", schema.S)  # as records.response_text


@dataclass
class Reading:
    """How a file was read: its SHA-256, and the blocks that Arrow and the line reader took."""

    sha256: str
    blocks: int = 0
    lines_blocks: int = 0
    passes: int = 1

    @property
    def reader(self) -> str:
        if not self.lines_blocks:
            return "arrow"
        if self.lines_blocks == self.blocks:
            return "lines"
        return f"arrow, {self.lines_blocks} of {self.blocks} blocks by lines"


class _Restart(Exception):
    """A later block's metadata does not fit the type of the first's: read again as text."""


def read_native_arrow(path: Path, out: Path) -> tuple[dict[str, Any], Reading] | None:
    """Write ``path``'s examples to the IPC file ``out``; the header and how it was read.
    Raises InputError (file, line, field) at the first problem; None: a file for the
    whole-file reader (older schema, sidecar header)."""
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
            reading = _Pass(path, out, first, typed_metadata=True).run(f)
        except _Restart:
            f.seek(len(first))
            reading = _Pass(path, out, first, typed_metadata=False).run(f)
            reading.passes = 2
    log.info("read %s: %s", path, reading.reader)
    return schema.header(comp), reading


def _blocks(f: BinaryIO, hash_block, buffers: int):
    """The rest of the file in blocks of whole lines, each with the number of its first line
    (the header is line 1) and its count of lines: views of ``buffers`` buffers read into in
    turn (no copy of a block, no fresh pages for each; the caller is done with a block before
    its buffer comes round again); every byte read goes to ``hash_block``, which returns a
    future that is waited for before its buffer is read into again."""
    bufs = [bytearray(BLOCK + (1 << 16)) for _ in range(buffers)]
    hashed: list[Any] = [None] * buffers
    carry, line, k = b"", 2, 0
    while True:
        if hashed[k] is not None:
            hashed[k].result()
        need = len(carry) + BLOCK
        if len(bufs[k]) < need:  # a line longer than a block
            bufs[k] = bytearray(need)
        buf = bufs[k]
        view = memoryview(buf)
        buf[:len(carry)] = carry
        end = len(carry)
        while end < need and (got := f.readinto(view[end:need])):
            end += got
        if end > len(carry):
            hashed[k] = hash_block(view[len(carry):end])
        else:  # the end of the file
            if carry.strip():
                yield line, carry.count(b"\n"), carry
            return
        cut = buf.rfind(b"\n", 0, end) + 1
        if cut:
            count = buf.count(b"\n", 0, cut)
            yield line, count, view[:cut]
            line += count
        carry = bytes(buf[cut:end])
        k = (k + 1) % buffers


class _Pass:
    """One read of the file into the IPC file: Arrow per block, the line reader where it must."""

    def __init__(self, path: Path, out: Path, first: bytes, typed_metadata: bool) -> None:
        self.path, self.out, self.first = path, out, first
        self.typed = typed_metadata  # until the first block says otherwise
        self.target: pa.Schema | None = None  # the store's schema, fixed by the first block
        self.seen: dict[str, int] = {}
        self.pool = pa.system_memory_pool()  # hands each freed block back at once
        self.scratch: queue.Queue = queue.Queue()  # Arrow's copy of a block, one per thread
        for _ in range(PARALLEL + 1):
            self.scratch.put(np.empty(BLOCK + (1 << 16), np.uint8))

    def run(self, f: BinaryIO) -> Reading:
        """Blocks scanned and parsed two at a time (numba's pass and Arrow's parser release
        the GIL), checked and written in order; the first alone (it fixes the schema)."""
        hasher = hashlib.sha256(self.first)
        reading = Reading("")
        writer = BatchWriter(self.out)
        pending: deque = deque()
        with ThreadPoolExecutor(1, thread_name_prefix="store-hash") as hashing, \
                ThreadPoolExecutor(PARALLEL, thread_name_prefix="store-parse") as parsing:
            try:
                for line, count, data in _blocks(f, lambda b: hashing.submit(hasher.update, b),
                                                 PARALLEL + 2):
                    reading.blocks += 1
                    if self.target is None:
                        self._finish(line, data, self._prepare(data, count), reading, writer)
                        continue
                    pending.append((line, data, parsing.submit(self._prepare, data, count)))
                    if len(pending) >= PARALLEL:
                        line, data, job = pending.popleft()
                        self._finish(line, data, job.result(), reading, writer)
                while pending:
                    line, data, job = pending.popleft()
                    self._finish(line, data, job.result(), reading, writer)
            finally:
                for *_, job in pending:
                    job.cancel()
                written = writer.close()
        reading.sha256 = hasher.hexdigest()
        if not written:  # a header and no examples: an empty store (load() warns the same)
            with ipc.new_file(str(self.out), schema.EMPTY) as w:
                w.write_table(schema.EMPTY.empty_table())
        return reading

    def _finish(self, line: int, data: Any, prepared: tuple[Block, pa.Table] | None,
                reading: Reading, writer: BatchWriter) -> None:
        """Check a parsed block and write it; the line reader where it is not provably valid."""
        batches = None if prepared is None else self._checked(line, *prepared)
        if batches is None:
            reading.lines_blocks += 1
            batches = self._lines(data, line)
        for rb in batches:
            writer.put(rb)

    def _lines(self, data: bytes, line: int) -> list[pa.RecordBatch]:
        """The block by the line reader, in the file's schema (text metadata when it is the
        first block)."""
        if self.target is None:
            self.typed = False
            self.target = _target(schema.S)
        batcher = schema.Batcher()
        batcher.free = {k: self.target.field(k).type for k in schema.FREE}
        try:
            return read_lines(self.path, bytes(data), line, self.seen, batcher)
        except schema.FreeMismatch:
            raise _Restart from None

    def _prepare(self, data: Any, count: int) -> tuple[Block, pa.Table] | None:
        """The block scanned and parsed by Arrow (on the first block, metadata's form is
        decided); None when Arrow's reader refuses it."""
        scratch = self.scratch.get()
        try:
            blk = scan(data, ("extra",) if self.typed else ("extra", "metadata"), count,
                       scratch)
            table = self._parse(blk)
            if self.target is None:
                meta = table.schema.field("metadata").type \
                    if "metadata" in table.schema.names else None
                if meta is None or not pa.types.is_struct(meta) or not schema.exact(meta):
                    self.typed = False  # metadata as JSON text, decided on the first block
                    blk = scan(data, ("extra", "metadata"), count, scratch)
                    table = self._parse(blk)
            return blk, table
        except ARROW_ERRORS:
            return None
        finally:
            self.scratch.put(scratch)

    def _checked(self, line: int, blk: Block, table: pa.Table) -> list[pa.RecordBatch] | None:
        """The block in the store's layout when it is provably valid, else None."""
        if self.target is None:
            meta = table.schema.field("metadata").type if self.typed else schema.S
            target = _target(meta)
        else:
            target = self.target
        try:
            rb = _conform(table, blk, target)
        except ARROW_ERRORS:
            return None
        if rb is None or not _valid(rb):
            return None
        ids = rb.column("id").to_pylist()
        if any(i in self.seen for i in ids) or len(set(ids)) != len(ids):
            return None  # a duplicate: the line reader names it
        self.seen.update(zip(ids, (line + blk.line_of_row).tolist()))
        self.target = target
        return [rb]

    def _parse(self, blk: Block) -> pa.Table:
        read = list(_READ)
        if not self.typed:
            read.append(("metadata", schema.S))
        elif self.target is not None:
            read.append(("metadata", self.target.field("metadata").type))
        table = pj.read_json(pa.BufferReader(pa.py_buffer(blk.data)), memory_pool=self.pool,
                             # the block whole, on this thread: blocks are parsed two at a
                             # time, and Arrow's own chunks and threads cost twice the CPU
                             read_options=pj.ReadOptions(block_size=len(blk.data) + 1,
                                                         use_threads=False),
                             parse_options=pj.ParseOptions(
                                 explicit_schema=pa.schema(read),
                                 unexpected_field_behavior="infer" if self.target is None
                                 else "error"))
        if table.num_rows != blk.rows:
            raise NotPlain
        unknown = set(table.schema.names) - {n for n, _ in read} - {"metadata"}
        if unknown:
            raise NotPlain  # a field the schema lacks (or a typo): pydantic names it
        return table.combine_chunks(memory_pool=self.pool)


def _target(metadata: pa.DataType) -> pa.Schema:
    return pa.schema([*schema.FIXED, ("metadata", metadata), ("extra", schema.S)])


def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).chunk(0) if table.column(name).num_chunks else \
        pa.array([], table.schema.field(name).type)


def _texts(n: int, rows: np.ndarray, texts: list[bytes]) -> pa.Array:
    """A ``large_string`` column of n rows: ``texts`` at ``rows`` (increasing), else null."""
    if len(rows) and (rows[0] < 0 or rows[-1] >= n or (np.diff(rows) <= 0).any()):
        raise NotPlain  # two values for one row (a repeated key), or one outside the rows
    lengths = np.zeros(n, np.int64)
    lengths[rows] = np.fromiter(map(len, texts), np.int64, len(texts))
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    valid = np.zeros(n, bool)
    valid[rows] = True
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(b"".join(texts)),
        pa.py_buffer(np.packbits(valid, bitorder="little")), n - len(rows))


def _judgment_extra(js: pa.ListArray, blk: Block) -> pa.Array:
    """The ``judgment_extra`` column: per example, each judgment's extra as JSON text (null
    for an example none of whose judgments has one)."""
    index, texts = blk.judgment_extra
    n = len(js)
    total = len(js.values)
    if total != blk.judgments:
        raise NotPlain  # a judgment that is not an object: the line reader names it
    if not len(index):
        return pa.nulls(n, pa.list_(schema.S))
    values = _texts(total, index, texts)
    offsets = js.offsets
    owner = np.searchsorted(offsets.to_numpy()[1:], index, "right")
    has = np.zeros(n, bool)
    has[owner] = True
    return pa.ListArray.from_arrays(offsets, values, mask=pa.array(~has))


def _conform(table: pa.Table, blk: Block, target: pa.Schema) -> pa.RecordBatch | None:
    """The parsed block in the store's layout; None when a column has another type."""
    n = table.num_rows
    have = set(table.schema.names)
    arrays = []
    for field in target:
        name, type_ = field.name, field.type
        src = name if name in have else None
        if name == "judgments" and src:
            col = _column(table, name)
            if col.type != pa.list_(JUDGMENT_READ):
                return None
            col = col.cast(type_)
        elif name == "judgment_extra":
            js = _column(table, "judgments") if "judgments" in have else \
                pa.nulls(n, pa.list_(JUDGMENT_READ))
            col = _judgment_extra(js, blk)
        elif name.endswith("_turns"):
            alias = TURN_KEYS[name.removesuffix("_turns")]
            col = _column(table, alias) if alias in have else pa.nulls(n, type_)
        elif name in schema.FREE and name in blk.free:
            col = _texts(n, *blk.free[name])
        elif src:
            col = _column(table, name)
        else:
            col = pa.nulls(n, type_)
        if name in schema.TEXTS and TURN_KEYS[name] in have:
            turns = _column(table, TURN_KEYS[name])
            col = pc.if_else(pc.is_null(col), pc.binary_join(turns, TURN_SEP), col)
        if col.type != type_:
            return None
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
    return True
