"""Our native JSONL straight into Arrow: one read of the file, a block of whole lines at a time.

Each block goes through ``comparator.store.blockscan`` (free-form objects cut out as JSON text,
texts decoded, lists of turns given their own column) and then Arrow's JSON reader with an
explicit schema, and is checked with vectorised rules equal to the pydantic schema
(``comparator.store.conform``: types by the reader's schema, then ranges, allowed values,
required fields; unique ids at the end of the file, ``comparator.store.ids``, as the importer
checks them). So every file ``convert`` writes takes this path whole. A block it cannot prove
valid is read line by line with pydantic (``comparator.store.native_lines``): that names the
line and field of its first problem, or, when the block was valid after all, gives its rows
and the next block is Arrow's again.

The bytes read are hashed as they are read (the SHA-256 that keys the store's cache), so the
table is exactly the bytes hashed. ``metadata`` is typed when the first block's is (Arrow
infers it exactly), else JSON text; a later block it does not fit starts the file again with
JSON text (the one case that reads the file twice). An explicit ``null`` in an optional field
reads as the field left out. An older schema version or a sidecar header returns None (the
whole-file reader).
"""

from __future__ import annotations

import gc
import hashlib
import queue
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.json as pj
from pydantic import ValidationError

from comparator.formats.native import is_header
from comparator.schema.errors import InputError
from comparator.schema.files import open_binary
from comparator.schema.records import SCHEMA_VERSION, Comparison
from comparator.store import blockwalk as bw
from comparator.store import schema
from comparator.store.blockscan import TURN_KEYS, Block, NotPlain, Scratch, scan
from comparator.store.conform import JUDGMENT_READ, conform, valid
from comparator.store.ids import Ids
from comparator.store.native_lines import read_lines
from comparator.store.writer import BatchWriter

BLOCK = 1 << 24
PARALLEL = 2  # blocks scanned and parsed at once
_READ = [(n, pa.list_(JUDGMENT_READ) if n == "judgments" else t) for n, t in schema.FIXED
         if not n.endswith("_turns") and n != "judgment_extra"]
_READ += [(alias, pa.list_(schema.S)) for alias in TURN_KEYS.values()] + [("extra", schema.S)]
ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, NotPlain)


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
    with open_binary(path) as f:  # a regular file allowed by the read rules, never blocking
        first = f.readline(1 << 20)
        try:
            head = orjson.loads(first)
        except orjson.JSONDecodeError:
            return None
        version = head.get("schema_version", SCHEMA_VERSION) if is_header(head) else None
        if type(version) is not int or version != SCHEMA_VERSION:  # 3.0, true: the importer's
            return None
        try:
            comp = Comparison(examples=[], **{k: v for k, v in head.items()
                                              if k not in ("kind", "examples")})
        except (ValidationError, TypeError):
            return None
        with no_gc():
            try:
                reading = _Pass(path, out, first, typed_metadata=True).run(f)
            except _Restart:
                f.seek(len(first))
                reading = _Pass(path, out, first, typed_metadata=False).run(f)
                reading.passes = 2
    return schema.header(comp), reading


@contextmanager
def no_gc():
    """Python's cycle collector paused while a file is read: the read makes no cycles, and
    the collections that its allocations set off (on every thread, each over all of the
    process's objects) took an eighth of its time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _blocks(f: BinaryIO, hash_block, buffers: int):
    """The rest of the file in blocks of whole lines: views of ``buffers`` buffers read into
    in turn (no copy of a block, no fresh pages for each; the caller is done with a block
    before its buffer comes round again); every byte read goes to ``hash_block``, which
    returns a future that is waited for before its buffer is read into again. (Lines are
    counted by the scan, on the parsing threads.)"""
    bufs = [bytearray(BLOCK + (1 << 16)) for _ in range(buffers)]
    hashed: list[Any] = [None] * buffers
    carry, k = b"", 0
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
                yield carry
            return
        cut = buf.rfind(b"\n", 0, end) + 1
        if cut:
            yield view[:cut]
        carry = bytes(buf[cut:end])
        k = (k + 1) % buffers


class _Pass:
    """One read of the file into the IPC file: Arrow per block, the line reader where it must."""

    def __init__(self, path: Path, out: Path, first: bytes, typed_metadata: bool) -> None:
        self.path, self.out, self.first = path, out, first
        self.typed = typed_metadata  # until the first block says otherwise
        self.target: pa.Schema | None = None  # the store's schema, fixed by the first block
        self.ids = Ids(path)
        self.deferred: list[InputError] = []  # a status error, raised once all lines are read
        self.line = 2  # the first line of the next block to finish (the header is line 1)
        self.pool = pa.system_memory_pool()  # hands each freed block back at once
        self.scratch: queue.Queue = queue.Queue()  # the scan's buffers, one set per thread
        for _ in range(PARALLEL + 1):
            self.scratch.put(Scratch.sized(BLOCK + (1 << 16)))

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
                for data in _blocks(f, lambda b: hashing.submit(hasher.update, b),
                                    PARALLEL + 2):
                    reading.blocks += 1
                    if self.target is None:
                        self._finish(data, self._prepare(data), reading, writer)
                        continue
                    pending.append((data, parsing.submit(self._prepare, data)))
                    if len(pending) >= PARALLEL:
                        data, job = pending.popleft()
                        self._finish(data, job.result(), reading, writer)
                while pending:
                    data, job = pending.popleft()
                    self._finish(data, job.result(), reading, writer)
                if self.deferred:  # as the importer: once every line is valid
                    raise self.deferred[0]
                self.ids.check()
            finally:
                for _, job in pending:
                    job.cancel()
                written = writer.close()
        reading.sha256 = hasher.hexdigest()
        if not written:  # a header and no examples: an empty store (load() warns the same)
            with ipc.new_file(str(self.out), schema.EMPTY) as w:
                w.write_table(schema.EMPTY.empty_table())
        return reading

    def _finish(self, data: Any, prepared: tuple[Block, pa.Table] | None, reading: Reading,
                writer: BatchWriter) -> None:
        """Check a parsed block and write it; the line reader where it is not provably valid."""
        line = self.line
        batches = None if prepared is None else self._checked(line, *prepared)
        if batches is None:
            reading.lines_blocks += 1
            batches = self._lines(data, line)
            self.line += np.count_nonzero(np.frombuffer(data, np.uint8) == 10)
        else:
            self.line += prepared[0].lines
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
            return read_lines(self.path, bytes(data), line, batcher, self.ids, self.deferred)
        except schema.FreeMismatch:
            raise _Restart from None

    def _prepare(self, data: Any) -> tuple[Block, pa.Table] | None:
        """The block scanned and parsed by Arrow (on the first block, metadata's form is
        decided); None when Arrow's reader refuses it."""
        scratch = self.scratch.get()
        try:
            blk = scan(data, ("extra",) if self.typed else ("extra", "metadata"), scratch)
            table = self._parse(blk)
            if self.target is None:
                meta = table.schema.field("metadata").type \
                    if "metadata" in table.schema.names else None
                if meta is None or not pa.types.is_struct(meta) or not schema.exact(meta):
                    self.typed = False  # metadata as JSON text, decided on the first block
                    blk = scan(data, ("extra", "metadata"), scratch)
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
            rb = conform(table, blk, target)
        except ARROW_ERRORS:
            return None
        if rb is None or not valid(rb):
            return None
        self.ids.add(rb.column("id"), line + blk.line_of_row)
        self.target = target
        return [rb]

    def _parse(self, blk: Block) -> pa.Table:
        read = _read(blk)
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


# the fields read only when the block has their key (Arrow fills an absent field with nulls
# row by row: a third of its time on PandaLM's lines); conform() fills them in at once
_OPTIONAL = {"prompt": "prompt", "messages": "messages", "reference": "reference",
             TURN_KEYS["reference"]: "reference", "judgments": "judgments",
             **{k: k for k in bw.NOTED_TOP}}


def _read(blk: Block) -> list[tuple[str, pa.DataType]]:
    """Arrow's schema for the block: the fields of ``_READ`` its lines may hold (a key the
    scan did not see, e.g. one written with escapes, is then an unexpected field: Arrow
    refuses the block, which goes to the line reader)."""
    read = []
    for name, type_ in _READ:
        if name in _OPTIONAL and _OPTIONAL[name] not in blk.keys:
            continue
        if name == "judgments" and blk.judgment_keys:
            type_ = pa.list_(pa.struct([f for f in JUDGMENT_READ
                                        if f.name in blk.judgment_keys]))
        read.append((name, type_))
    return read


def _target(metadata: pa.DataType) -> pa.Schema:
    return pa.schema([*schema.FIXED, ("metadata", metadata), ("extra", schema.S)])
