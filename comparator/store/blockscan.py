"""The structure of a block of native JSON lines, found without parsing them, so that Arrow's
JSON reader can take every file ``convert`` writes.

Arrow's reader types each column across the file, and our layout has values it cannot type:
free-form objects (a judgment's ``extra``, an example's ``extra`` and, when Arrow cannot type
it exactly, its ``metadata``) and texts that are a string on one line and a list of turns on
another. One compiled pass over the block's bytes (numba; a JSON state machine: strings,
escapes, brackets and their depth, the lines' objects, the keys that matter) prepares a copy
of the block for Arrow:

- each free-form object is cut out as its JSON text (all of them validated by one parse
  of Arrow's) and written as ``""``, a string Arrow is told to ignore;
- a text key whose value is a list of turns is renamed, byte for byte the same length
  (``"response_a"`` -> ``"turns_of_a"``), so the strings and the lists are two columns;
- the texts (prompt, responses, reference, a judgment's rationale and raw reply, each
  string of a list of turns, a message's content: most of a file's bytes) are decoded from
  JSON into buffers of their own, which become the columns (or their lists' values), and
  written as ``""`` like the free-form objects;
- the keys that the lines have are noted (``Block.keys``), so that Arrow is asked only for
  the fields a block has (it fills an absent field with nulls row by row), and a free-form
  object is stepped over to its end rather than copied;
- whitespace between tokens is left out: Arrow's parser reads only the skeleton of each line
  (measured: an eighth to a quarter of the time it takes on the whole block; with the texts
  blanked to spaces in place, twice that on files of many judgments). The decoder refuses
  what JSON refuses (control characters, unknown escapes, lone surrogates).

Arrow's JSON reader does not check UTF-8: the block is checked first by Arrow's validator.
Keys are recognised as written by JSON writers (no escapes in the key); a key written with
escapes reaches Arrow unchanged, which then refuses the block. Whatever this pass cannot place
(brackets that do not balance, nesting deeper than MAX_DEPTH, a free-form value that is not an
object, two objects on a line) raises ``NotPlain``: the block is then read line by line with
pydantic (``comparator.store.native_lines``), which names the line and field.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from comparator.store import blockwalk as bw
from comparator.store.blockwalk import TURN_KEYS  # noqa: F401 - the reader's names for them

log = logging.getLogger("comparator.store")


class NotPlain(Exception):
    """Something this pass does not place: the block goes to the line reader."""


@dataclass
class Cuts:
    """JSON texts cut out of a block, in order: where each belongs (a row, or a judgment's
    index among the block's judgments), and the texts one after another (``offsets``)."""

    at: np.ndarray
    offsets: np.ndarray
    data: np.ndarray

    @staticmethod
    def empty() -> Cuts:
        return Cuts(np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.uint8))


@dataclass
class Block:
    """A block of lines ready for Arrow: ``data`` (free-form objects blanked, turn keys
    renamed), its objects' lines (from the block's first), its count of lines, the JSON texts
    cut out (per free key; the judgments' ``extra``), the decoded strings (per slot of
    ``blockwalk.SLOTS``), the number of judgment and of message objects, and the keys of
    ``blockwalk.NAMES`` seen."""

    data: np.ndarray  # the bytes for Arrow
    line_of_row: np.ndarray
    lines: int = 0
    free: dict[str, Cuts] = field(default_factory=dict)
    judgment_extra: Cuts = field(default_factory=Cuts.empty)
    texts: dict[str, Cuts] = field(default_factory=dict)  # decoded strings, by text key
    judgments: int = 0
    messages: int = 0
    keys: frozenset[str] = frozenset()  # the NAMES seen (an example's key or a judgment's)
    judgment_keys: frozenset[str] = frozenset()  # those of them seen as a judgment's key

    @property
    def rows(self) -> int:
        return len(self.line_of_row)


def _kernel():
    """The compiled pass (numba is imported, and the pass compiled or loaded from its cache,
    on the first block a process scans, or by ``jsonscan.warm``). Where numba cannot run,
    every block is NotPlain: the line reader reads the file, slower but the same."""
    global _WALK, _GATHER, _WRAP
    with _LOCK:
        if _WALK is None:
            try:
                _WALK, _GATHER, _WRAP = _compile()
            except Exception as e:  # noqa: BLE001 - any failure to compile: the slow path
                log.warning("the native reader's compiled scan is unavailable (%s): files "
                            "are read line by line", e)
                _WALK = False
    if _WALK is False:
        raise NotPlain
    return _WALK


_WALK: Any = None
_GATHER: Any = None
_WRAP: Any = None
_LOCK = threading.Lock()


def _compile():
    """numba's versions of blockwalk's functions, the helpers first (``walk`` calls them)."""
    import numba

    jit = numba.njit(cache=True, nogil=True)
    bw._store8 = _store8()
    bw._hex4 = jit(bw._hex4)
    bw._special = jit(bw._special)
    bw._decode = jit(bw._decode)
    bw._free_end = jit(bw._free_end)
    walk, gather, wrap = jit(bw.walk), jit(bw.gather), jit(bw.wrap)
    line = np.frombuffer(b'{"id":"x","prompt":"p\\u00e9"}\n', np.uint8).copy()
    walk(line, line.copy(), np.zeros(len(bw.NAMES), np.uint8), np.empty(2, np.int64),
         np.empty((bw.EVENT, 8), np.int64), np.empty((len(bw.SLOTS), len(line) + 8), np.uint8),
         np.zeros(len(bw.SLOTS), np.int64), np.zeros(4, np.int64),
         np.zeros(len(bw.NAMES), np.uint8))  # compiled or loaded now
    gather(line, np.zeros(1, np.int64), np.ones(1, np.int64))
    wrap(line, np.array([0, 1], np.int64), line.copy(), 0)
    return walk, gather, wrap


def _store8():
    """``blockwalk._store8`` as one unaligned 8-byte store (numba writes 8 byte stores: the
    decoder's plain words went 1.2 -> 1.9 GB/s)."""
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def store8(typingctx, arr, idx, val):
        def codegen(context, builder, signature, args):
            ary = context.make_array(signature.args[0])(context, builder, args[0])
            ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), ir.IntType(64).as_pointer())
            builder.store(args[2], ptr).align = 1
            return context.get_dummy_value()
        return types.void(arr, types.int64, types.uint64), codegen
    return store8


@dataclass
class Scratch:
    """Buffers a reader reuses block after block (no fresh pages to fault in; nothing the
    scan returns points into them): Arrow's copy of a block, the events, the rows' lines."""

    out: np.ndarray
    ev: np.ndarray
    rows: np.ndarray

    @staticmethod
    def sized(block: int) -> Scratch:
        rows = _rows_room(block)
        return Scratch(np.empty(block, np.uint8), np.empty((bw.EVENT, _events_room(rows)),
                                                           np.int64), np.empty(rows, np.int64))


def _rows_room(size: int) -> int:
    return size // 256 + 64  # lines are longer than that as a rule; else again, with more


def _events_room(rows: int) -> int:
    return rows * 16 + 64


def scan(data: bytes, free_keys: tuple[str, ...], scratch: Scratch | None = None) -> Block:
    """See the module docstring; ``free_keys``: the example keys cut out as JSON text (a
    judgment's ``extra`` always is); ``scratch``: the reader's buffers (else new ones)."""
    _utf8(data)
    buf = np.frombuffer(data, np.uint8)
    if not buf.flags.writeable:  # bytes: one compiled version, for writable arrays
        buf = buf.copy()
    if scratch is None or len(scratch.out) < len(buf):
        scratch = Scratch.sized(len(buf))
    out = scratch.out[:len(buf)]
    free = np.array([1 if n in free_keys or n == "extra" else 0 for n in bw.NAMES], np.uint8)
    walk = _kernel()
    # the texts' bytes, decoded: a buffer per slot (pages are touched only as written; 8
    # bytes beyond: the decoder stores whole words)
    tb = np.empty((len(bw.SLOTS), len(buf) + 8), np.uint8)
    row_line, ev = scratch.rows, scratch.ev
    while True:
        tpos = np.zeros(len(bw.SLOTS), np.int64)
        count = np.zeros(4, np.int64)  # judgment and message objects, by their list's key
        seen = np.zeros(len(bw.NAMES), np.uint8)
        code, rows, nev, lines, length = walk(buf, out, free, row_line, ev, tb, tpos, count,
                                              seen)
        if code != 2:
            break
        rows_room = 4 * len(row_line)  # out of room: start again with more
        row_line = np.empty(rows_room, np.int64)
        ev = np.empty((bw.EVENT, _events_room(rows_room)), np.int64)
    if code:
        raise NotPlain
    ev = ev[:, :nev]
    block = Block(out[:length], row_line[:rows].copy(), lines=lines,
                  judgments=int(count[bw.JUDGMENTS]), messages=int(count[bw.MESSAGES]))
    key = ev[0]
    present = np.bincount(key, minlength=len(bw.NAMES))
    in_judgment = np.bincount(key[ev[1] == 3], minlength=len(bw.NAMES))
    block.keys = frozenset(n for k, n in enumerate(bw.NAMES) if present[k] or seen[k])
    block.judgment_keys = frozenset(n for k, n in enumerate(bw.NAMES) if bw.IN_JUDGMENT[k] and (
        in_judgment[k] or seen[k]))

    def events(name: str, depth: int | None = None, kind: int = 0) -> np.ndarray:
        """The events of key ``name`` (at ``depth``) of this kind (0: a value left in place,
        a free object if it ends in a bracket; 1: a text decoded; 2: a turn decoded), as
        ``ev``'s columns."""
        k = bw.NAMES.index(name)
        if not present[k]:
            return np.empty((bw.EVENT, 0), np.int64)
        at = np.flatnonzero(key == k)
        keep = ev[7, at] == kind
        if depth is not None:
            keep &= ev[1, at] == depth
        if kind == 0:
            keep &= ev[4, at] > 0
        return ev[:, at[keep]]

    cuts = []
    for name in free_keys:
        sub = events(name, 1)
        block.free[name] = Cuts(sub[5], *_gather(buf, sub))
        cuts.append(block.free[name])
    sub = events("extra", 3)
    block.judgment_extra = Cuts(sub[6], *_gather(buf, sub))
    _validate([*cuts, block.judgment_extra])
    for slot, name in enumerate(bw.SLOTS):
        turns = name not in bw.TEXT_KEYS
        of = next(k for k, v in TURN_KEYS.items() if v == name) if turns else name
        sub = events(of, kind=2 if turns else 1)
        offsets = np.zeros(sub.shape[1] + 1, np.int64)
        offsets[1:] = sub[4]
        # where each belongs: a row; a judgment's or a message's index; a turn's, in order
        at = np.arange(sub.shape[1]) if turns else sub[5 if bw.TOP[bw.NAMES.index(of)] else 6]
        block.texts[name] = Cuts(at, offsets, tb[slot, :tpos[slot]])
    return block


_ANY = pa.schema([("v", pa.null())])


def _utf8(data) -> None:
    """The block is UTF-8 (Arrow's JSON reader does not check it; its SIMD validator does)."""
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, pa.py_buffer(
            np.array([0, len(data)], np.int64)), pa.py_buffer(data)]).cast(pa.large_string())
    except pa.ArrowInvalid:
        raise NotPlain from None


def _gather(buf: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values of ``events`` (their bytes in ``buf``) one after another."""
    return _GATHER(buf, events[3], events[4])


def _validate(cuts: list[Cuts]) -> None:
    """The cut-out texts are valid JSON (each already starts and ends as an object): Arrow's
    parser reads each distinct text (an extra is often the same text on every line) as an
    ignored field of one line."""
    distinct = [pc.unique(pa.Array.from_buffers(pa.large_binary(), len(c.at), [
        None, pa.py_buffer(c.offsets), pa.py_buffer(c.data)])) for c in cuts if len(c.at)]
    if not distinct:
        return
    texts = [Cuts(np.zeros(0, np.int64), np.frombuffer(d.buffers()[1], np.int64, len(d) + 1,
                                                       8 * d.offset),
                  np.frombuffer(d.buffers()[2], np.uint8)) for d in distinct]
    count = sum(len(d) for d in distinct)
    lines = np.empty(sum(int(c.offsets[-1] - c.offsets[0]) for c in texts) + 7 * count,
                     np.uint8)
    pos = 0
    for c in texts:
        pos = _WRAP(c.data, c.offsets, lines, pos)
    try:
        table = pj.read_json(pa.BufferReader(pa.py_buffer(lines[:pos])),
                             read_options=pj.ReadOptions(block_size=pos + 1, use_threads=False),
                             parse_options=pj.ParseOptions(explicit_schema=_ANY,
                                                           unexpected_field_behavior="ignore"))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise NotPlain from None
    if table.num_rows != count:
        raise NotPlain
