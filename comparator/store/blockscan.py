"""The structure of a block of native JSON lines, found without parsing them, so that Arrow's
JSON reader can take every file ``convert`` writes.

Arrow's reader types each column across the file, and our layout has values it cannot type:
free-form objects (a judgment's ``extra``, an example's ``extra`` and, when Arrow cannot type
it exactly, its ``metadata``) and texts that are a string on one line and a list of turns on
another. One compiled pass over the block's bytes (numba; a JSON state machine: strings,
escapes, brackets and their depth, the lines' objects, the keys that matter) prepares a copy
of the block for Arrow:

- each free-form object is cut out as its JSON text (all of them validated by one parse
  of Arrow's) and blanked to ``""`` padded with spaces, so Arrow reads a string it is told to
  ignore and every other byte keeps its place;
- a text key whose value is a list of turns is renamed, byte for byte the same length
  (``"response_a"`` -> ``"turns_of_a"``), so the strings and the lists are two columns.

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
import pyarrow.json as pj

log = logging.getLogger("comparator.store")
MAX_DEPTH = 64  # deeper nesting is left to the line reader (Arrow's parser recurses)
TURN_KEYS = {"response_a": "turns_of_a", "response_b": "turns_of_b",
             "reference": "turns_ref"}  # each alias has its key's length
# the keys the pass looks for, by number: 0 judgments, 1 metadata, 2 extra, 3-5 the texts
NAMES = ("judgments", "metadata", "extra", *TURN_KEYS)
_KEYS = np.zeros((len(NAMES), 16), np.uint8)
_LENS = np.array([len(n) for n in NAMES], np.int64)
_ALIASES = np.zeros((len(NAMES), 16), np.uint8)
for _i, _n in enumerate(NAMES):
    _KEYS[_i, :len(_n)] = np.frombuffer(_n.encode(), np.uint8)
    if _n in TURN_KEYS:
        _ALIASES[_i, :len(_n)] = np.frombuffer(TURN_KEYS[_n].encode(), np.uint8)


class NotPlain(Exception):
    """Something this pass does not place: the block goes to the line reader."""


@dataclass
class Block:
    """A block of lines ready for Arrow: ``data`` (free-form objects blanked, turn keys
    renamed), its objects' lines (from the block's first), the JSON texts cut out (per free
    key: rows and texts; the judgments' ``extra``: index among the block's judgments and
    texts), and the number of judgment objects."""

    data: np.ndarray  # the bytes for Arrow
    line_of_row: np.ndarray
    free: dict[str, tuple[np.ndarray, list[bytes]]] = field(default_factory=dict)
    judgment_extra: tuple[np.ndarray, list[bytes]] = (np.zeros(0, np.int64), [])
    judgments: int = 0

    @property
    def rows(self) -> int:
        return len(self.line_of_row)


def _kernel():
    """The compiled pass (numba is imported, and the pass compiled or loaded from its cache,
    on the first block a process scans, or by ``warm``). Where numba cannot run, every block
    is NotPlain: the line reader reads the file, slower but the same."""
    global _WALK
    with _LOCK:
        if _WALK is None:
            try:
                import numba

                _WALK = numba.njit(cache=True, nogil=True)(_walk)
                _WALK(*_TINY)  # compiled (about 4 s, once) or loaded from numba's cache now
            except Exception as e:  # noqa: BLE001 - any failure to compile: the slow path
                log.warning("the native reader's compiled scan is unavailable (%s): files "
                            "are read line by line", e)
                _WALK = False
    if _WALK is False:
        raise NotPlain
    return _WALK


def warm() -> None:
    """Compile or load the pass in a background thread (the dashboard calls it at start, so
    that the first Open does not wait for it)."""
    threading.Thread(target=lambda: _quiet(_kernel), name="blockscan-warm", daemon=True).start()


def _quiet(fn) -> None:
    try:
        fn()
    except NotPlain:
        pass


_WALK: Any = None
_LOCK = threading.Lock()
_TINY_LINE = np.frombuffer(b'{"id":"x"}\n', np.uint8)
_TINY_OUT = _TINY_LINE.copy()
_TINY = (_TINY_OUT, _TINY_OUT, _KEYS, _LENS, _ALIASES, np.zeros(len(NAMES), np.uint8),
         np.empty(2, np.int64), np.empty((8, 7), np.int64), MAX_DEPTH)
# the 8-bytes-at-a-time test for a quote or a backslash in a word ("has a zero byte" of v ^ c)
_LO, _HI = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)
_QUOTES, _SLASHES = np.uint64(0x2222222222222222), np.uint64(0x5C5C5C5C5C5C5C5C)


def _walk(buf, out, keys, lens, aliases, free, row_line, ev, max_depth):  # pragma: no cover
    """One pass over ``buf`` (whole lines), writing the blanked, renamed copy into ``out``.
    ``free[k]``: key k is cut out (1) or not (0). Fills ``row_line`` (each object's line) and
    ``ev`` (one row per key found: key, depth, key position, value start, value end, row,
    judgment index). Returns (code, rows, events, judgments): code 0 ok, 1 not plain,
    2 out of room."""
    n = len(buf)
    words = buf[:n - n % 8].view(np.uint64)
    stack = np.zeros(max_depth + 2, np.uint8)
    track = np.full(max_depth + 2, -1, np.int64)  # event whose value opened at this depth
    depth = 0
    line = 0
    rows = 0
    nev = 0
    judgments = 0
    in_judgments = 0  # depth of the judgments array being read, or 0
    cur_judgment = -1
    last_row_line = -1
    pending = -1  # key just read (a string equal to a name), waiting for its colon
    pending_pos = 0
    await_value = -1  # event waiting for its value's first byte
    i = 0
    while i < n:
        c = buf[i]
        if c == 34:  # a string: find its end, escapes skipped, 8 bytes a step
            start = i
            i += 1
            while i < n:
                if (i & 7) == 0 and i + 8 <= n:
                    v = words[i >> 3]
                    x = v ^ _QUOTES
                    y = v ^ _SLASHES
                    if (((x - _LO) & ~x) | ((y - _LO) & ~y)) & _HI == 0:
                        i += 8  # no quote and no backslash in these 8 bytes
                        continue
                c = buf[i]
                if c == 34:
                    break
                i += 2 if c == 92 else 1
            if i >= n:
                return 1, rows, nev, judgments
            if await_value >= 0:
                if free[ev[await_value, 0]] == 1:
                    return 1, rows, nev, judgments  # a free-form value that is a string
                ev[await_value, 3] = start
                await_value = -1
            pending = -1
            ln = i - start - 1
            if depth == 1 or (depth == 3 and in_judgments > 0):
                for k in range(len(lens)):
                    if lens[k] == ln and (depth == 1 or k == 2):
                        same = True
                        for j in range(ln):
                            if buf[start + 1 + j] != keys[k, j]:
                                same = False
                                break
                        if same:
                            pending = k
                            pending_pos = start
                            break
            i += 1
            continue
        if c == 32 or c == 9 or c == 13:
            i += 1
            continue
        if c == 10:
            if depth:
                return 1, rows, nev, judgments  # an object spread over lines: not JSON lines
            line += 1
            i += 1
            continue
        if c == 58:  # a colon: the pending key's value comes next
            if pending >= 0:
                if nev >= len(ev):
                    return 2, rows, nev, judgments
                ev[nev, 0] = pending
                ev[nev, 1] = depth
                ev[nev, 2] = pending_pos
                ev[nev, 3] = -1
                ev[nev, 4] = -1
                ev[nev, 5] = rows - 1
                ev[nev, 6] = cur_judgment if depth == 3 else -1
                await_value = nev
                nev += 1
                pending = -1
            i += 1
            continue
        pending = -1
        value_event = await_value
        if await_value >= 0:
            ev[await_value, 3] = i
            await_value = -1
            k = ev[value_event, 0]
            if free[k] == 1 and c != 123 and c != 110:
                return 1, rows, nev, judgments  # a free-form value that is not an object
            if c == 91 and aliases[k, 0] != 0:  # a list of turns: rename the key
                p = ev[value_event, 2]
                for j in range(lens[k]):
                    out[p + 1 + j] = aliases[k, j]
        if c == 123 or c == 91:
            if depth == 0:
                if c != 123 or line == last_row_line:
                    return 1, rows, nev, judgments  # not an object, or two on a line
                if rows >= len(row_line):
                    return 2, rows, nev, judgments
                row_line[rows] = line
                last_row_line = line
                rows += 1
            depth += 1
            if depth > max_depth:
                return 1, rows, nev, judgments
            stack[depth] = c
            track[depth] = value_event
            if value_event >= 0 and ev[value_event, 0] == 0 and depth == 2 and c == 91:
                in_judgments = 2
            if in_judgments > 0 and depth == 3 and c == 123:
                cur_judgment = judgments
                judgments += 1
        elif c == 125 or c == 93:
            if depth == 0 or stack[depth] + 2 != c:
                return 1, rows, nev, judgments
            e = track[depth]
            if e >= 0:
                ev[e, 4] = i + 1
                track[depth] = -1
                k = ev[e, 0]
                if free[k] == 1 and c == 125 and (ev[e, 1] == 1 or k == 2):
                    a = ev[e, 3]
                    out[a] = 34
                    out[a + 1] = 34
                    for j in range(a + 2, i + 1):
                        out[j] = 32
            if depth == in_judgments:
                in_judgments = 0
            depth -= 1
        i += 1
    if depth != 0:
        return 1, rows, nev, judgments
    return 0, rows, nev, judgments


def scan(data: bytes, free_keys: tuple[str, ...], lines: int,
         scratch: np.ndarray | None = None) -> Block:
    """See the module docstring; ``free_keys``: the example keys cut out as JSON text (a
    judgment's ``extra`` always is); ``lines``: how many lines ``data`` has (at most);
    ``scratch``: a buffer to write Arrow's copy into (one per reader, reused block after
    block: no fresh pages to fault in), else a new one."""
    _utf8(data)
    buf = np.frombuffer(data, np.uint8)
    if scratch is not None and len(scratch) >= len(buf):
        out = scratch[:len(buf)]
        out[:] = buf
    else:
        out = buf.copy()
    free = np.array([1 if n in free_keys or n == "extra" else 0 for n in NAMES], np.uint8)
    lines += 1
    row_line = np.empty(lines, np.int64)
    room = lines * 8 + 64
    walk = _kernel()
    while True:
        ev = np.empty((room, 7), np.int64)
        # Arrow's copy is read and written in the one pass (a byte is only written once the
        # pass is past it), so the pass always sees a writable array: one compiled version
        code, rows, nev, judgments = walk(out, out, _KEYS, _LENS, _ALIASES, free, row_line,
                                          ev, MAX_DEPTH)
        if code != 2:
            break
        room *= 4  # out of room for the keys found: start again with more (and clean bytes)
        row_line = np.empty(len(row_line) * 2, np.int64)
        out[:] = buf
    if code:
        raise NotPlain
    ev = ev[:nev]
    block = Block(out, row_line[:rows].copy(), judgments=judgments)
    key, depth, start, end = ev[:, 0], ev[:, 1], ev[:, 3], ev[:, 4]
    objects = end > 0
    texts: list[bytes] = []
    for name in free_keys:
        k = NAMES.index(name)
        sel = (key == k) & (depth == 1) & objects
        block.free[name] = (ev[sel, 5], [data[a:b] for a, b in zip(start[sel].tolist(),
                                                                  end[sel].tolist())])
        texts += block.free[name][1]
    sel = (key == 2) & (depth == 3) & objects
    block.judgment_extra = (ev[sel, 6], [data[a:b] for a, b in zip(start[sel].tolist(),
                                                                 end[sel].tolist())])
    _validate(texts + block.judgment_extra[1])
    return block


_ANY = pa.schema([("v", pa.null())])


def _utf8(data) -> None:
    """The block is UTF-8 (Arrow's JSON reader does not check it; its SIMD validator does)."""
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, pa.py_buffer(
            np.array([0, len(data)], np.int64)), pa.py_buffer(data)]).cast(pa.large_string())
    except pa.ArrowInvalid:
        raise NotPlain from None


def _validate(texts: list[bytes]) -> None:
    """The cut-out texts are valid JSON (each already starts and ends as an object): Arrow's
    parser reads them all as an ignored field of one line each."""
    if not texts:
        return
    lines = b'{"x":' + b'}\n{"x":'.join(texts) + b"}\n"
    try:
        table = pj.read_json(pa.BufferReader(lines), read_options=pj.ReadOptions(
            block_size=len(lines) + 1, use_threads=False), parse_options=pj.ParseOptions(
            explicit_schema=_ANY, unexpected_field_behavior="ignore"))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise NotPlain from None
    if table.num_rows != len(texts):
        raise NotPlain
