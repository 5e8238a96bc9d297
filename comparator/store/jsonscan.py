"""The items of one top-level array of a huge JSON object, read a block at a time.

``ArrayScan(path, "examples", texts)`` hands over the elements of the object's ``"examples"``
array a part at a time without parsing the document. Compiled passes (numba; JSON state
machines: strings and their escapes, the nesting depth) find the array (``_find``) and go
through its elements (``_elements``): only white space and one comma may lie between two; the
string values of an element's keys named in ``texts`` (most of a file's bytes) are decoded into
a buffer per key, as the native reader decodes its texts, and left as ``""`` in the copy of the
element kept for the JSON parser. So a 4 GB LLM Comparator file is read with one block in
memory at a time, and the parser reads a tenth of it. Anything malformed raises ValueError; the
caller then reads the file with the plain parser, which names the problem (as it does where
numba cannot compile the passes).
"""

from __future__ import annotations

import hashlib
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from comparator.schema.files import open_binary
from comparator.store import blockscan
from comparator.store import blockwalk as bw

BLOCK = 1 << 23
ROOM = 1 << 16  # elements a part holds at most
# what the passes return: all the bytes passed (or up to an element that goes on past them) /
# ROOM elements / an array opened at depth 2 (``_find``) or the array closed (``_elements``) /
# malformed
DONE, FULL, AT, BAD = 0, 1, 2, 3
def _string_end(buf, words, i):  # pragma: no cover - compiled
    """The index of the quote that closes the string opened at ``i``, or -1 (not in buf).
    A word with no quote, backslash or control character is passed at once (the native
    reader's test, ``blockwalk._special``)."""
    n, whole, j = len(buf), len(words) * 8, i + 1
    while j < n:
        if j & 7 == 0 and j < whole and bw._special(words[j >> 3]) == 0:
            j += 8
            continue
        c = buf[j]
        if c == 34:
            return j
        j += 2 if c == 92 else 1
    return -1


def _find(buf, words, i, st):  # pragma: no cover - compiled (nogil)
    """Follow the nesting (``st``: depth, in a string, after a backslash) from ``i`` to the
    next array that opens at depth 2 (AT, its bracket's index), or the end (DONE); BAD where
    a bracket closes more than opened."""
    depth, in_str, esc = st[0], st[1], st[2]
    n, whole, res = len(buf), len(words) * 8, DONE
    while i < n:
        if in_str and not esc and i & 7 == 0 and i < whole and bw._special(words[i >> 3]) == 0:
            i += 8
            continue
        c = buf[i]
        if in_str:
            if esc:
                esc = 0
            elif c == 92:
                esc = 1
            elif c == 34:
                in_str = 0
        elif c == 34:
            in_str = 1
        elif c == 123 or c == 91:
            depth += 1
            if depth == 2 and c == 91:
                res = AT
                break
        elif c == 125 or c == 93:
            depth -= 1
            if depth < 0:
                res = BAD
                break
        i += 1
    st[0], st[1], st[2] = depth, in_str, esc
    return res, i


def _elements(buf, words, i, gap, names, lens, out, tb, tpos, ends, found
              ):  # pragma: no cover - compiled (nogil)
    """From ``i`` inside the array (``gap``: 0 an element or the end may come, 1 a comma or
    the end, 2 an element), each whole element copied to ``out`` (after "[" and a comma
    between two) with the string values of its keys ``names`` decoded into their row of
    ``tb`` (``tpos``: where each row is filled to) and written ``""``; per element, where
    each row of ``tb`` ends (``ends``) and which names it had (``found``, bits).
    Returns (what happened, the index it stopped at, elements, gap, end in out). An element
    not whole in ``buf`` is left for the next block: DONE at its start."""
    n, k, o = len(buf), 0, 1
    out[0] = 91
    while i < n:
        c = buf[i]
        if c == 123 or c == 91:
            if gap == 1 or k == len(found):  # no comma before it / the part is full
                return (BAD if gap == 1 else FULL), i, k, gap, o
            j, o2, bits = _element(buf, words, i, names, lens, out, o + (k > 0), tb, tpos)
            if j == -2:
                return BAD, i, k, gap, o
            if j == -1:
                return DONE, i, k, gap, o
            if k > 0:
                out[o] = 44
            o = o2
            for s in range(len(lens)):
                ends[s, k] = tpos[s]
            found[k] = bits
            k += 1
            gap = 1
            i = j + 1
            continue
        if c == 93 or c == 125:
            return (BAD if gap == 2 else AT), i, k, gap, o  # (a comma before the end)
        if c == 44:
            if gap != 1:
                return BAD, i, k, gap, o
            gap = 2
        elif c != 32 and c != 10 and c != 13 and c != 9:  # a string, number or word
            return BAD, i, k, gap, o
        i += 1
    return DONE, i, k, gap, o


def _element(buf, words, i, names, lens, out, o, tb, tpos):  # pragma: no cover - compiled
    """The element whose bracket is at ``i`` (see ``_elements``): (the index of its closing
    bracket, -1 when it goes on past ``buf``, -2 when malformed; the end in ``out``; the names
    found). ``tpos`` moves on only for a whole element."""
    n, depth, keynext, slot, bits = len(buf), 0, 0, -1, 0
    filled = tpos.copy()
    while i < n:
        c = buf[i]
        if c == 34:
            if depth == 1 and slot >= 0 and not keynext:  # a text: decoded
                if bits & (1 << slot):
                    return -2, o, bits  # the key twice (a parser keeps the last)
                q, to = bw._decode(buf, words, i, n, tb[slot], filled[slot])
                if q < 0:
                    return (-1 if _string_end(buf, words, i) < 0 else -2), o, bits
                filled[slot] = to
                bits |= 1 << slot
                out[o] = 34
                out[o + 1] = 34
                o += 2
                slot = -1
                i = q + 1
                continue
            j = _string_end(buf, words, i)
            if j < 0:
                return -1, o, bits
            if depth == 1 and keynext:
                slot = -1
                for s in range(len(lens)):
                    if lens[s] == j - i - 1:
                        same = True
                        for m in range(lens[s]):
                            if buf[i + 1 + m] != names[s, m]:
                                same = False
                                break
                        if same:
                            slot = s
                keynext = 0
            out[o:o + j + 1 - i] = buf[i:j + 1]
            o += j + 1 - i
            i = j + 1
            continue
        out[o] = c
        o += 1
        if c == 123 or c == 91:
            depth += 1
            keynext = 1 if depth == 1 and c == 123 else 0
            slot = -1
        elif c == 125 or c == 93:
            depth -= 1
            if depth == 0:
                tpos[:] = filled
                return i, o, bits
        elif depth == 1 and c == 44:
            keynext, slot = 1, -1
        elif depth == 1 and c != 58 and c != 32 and c != 10 and c != 13 and c != 9:
            slot = -1  # a number or a word
        i += 1
    return -1, o, bits


@dataclass
class Part:
    """Elements of the array: ``skeleton`` the JSON text of their array with each decoded
    text written ``""``; ``texts`` those texts, a column per name; ``found`` which names each
    element had (bits, in the order of the names)."""

    skeleton: bytes
    texts: list[pa.Array]
    found: np.ndarray


class ArrayScan:
    """Iterate to get the ``Part`` s of the top-level object's ``key`` array, the string values
    of ``texts`` (keys of its elements) decoded apart; afterwards ``rest`` is the document
    without them (the array left empty), to parse as usual, and ``sha256`` the hash of the
    bytes scanned. The file is opened once (``rest`` comes from the same open file), so a file
    replaced meanwhile cannot mix into what was hashed."""

    def __init__(self, path: Path, key: str, texts: tuple[str, ...] = ()) -> None:
        self.path, self.key = path, key
        self.names = np.zeros((max(len(texts), 1), 64), np.uint8)
        self.lens = np.array([len(t.encode()) for t in texts], np.int64)
        if (self.lens > 64).any():
            raise ValueError("a text's key is longer than 64 bytes")
        for s, t in enumerate(texts):
            self.names[s, :self.lens[s]] = np.frombuffer(t.encode(), np.uint8)
        self.rest: bytes | None = None
        self.sha256: str | None = None
        self._out: np.ndarray | None = None  # the passes' output, copied out after each
        self._tb: np.ndarray | None = None

    def __iter__(self) -> Iterator[Part]:
        find, elements = _kernels()
        want = re.compile(rb'[{,]\s*"' + re.escape(self.key.encode()) + rb'"\s*:\s*$')
        st = np.zeros(3, np.int64)  # depth, in a string, after a backslash (outside the array)
        inside, gap, base, open_at, close_at = False, 0, 0, -1, -1  # base: offset of data[0]
        carry = b""  # an element's start, or the bytes before an array (its key)
        hasher = hashlib.sha256()
        with open_binary(self.path) as f:
            while block := f.read(BLOCK):
                hasher.update(block)
                data = carry + block
                buf = np.frombuffer(data, np.uint8)
                words = np.frombuffer(data, np.uint64, len(data) // 8)
                i = len(carry) if not inside else 0
                while i < len(data):
                    if inside:
                        res, i, gap, part = self._elements(elements, buf, words, i, gap)
                        if part is not None:
                            yield part
                        if res == AT:  # the array's end
                            inside, close_at, st[0] = False, base + i, 1
                            i += 1
                        elif res == DONE:
                            break
                        continue
                    res, i = find(buf, words, i, st)
                    if res == BAD:
                        raise ValueError(f"malformed JSON near byte {base + i}")
                    if res == DONE:
                        break
                    i += 1
                    if want.search(data[max(0, i - 257):i - 1]):
                        if close_at >= 0:
                            raise ValueError(f"two {self.key!r} arrays")
                        inside, open_at, gap = True, base + i - 1, 0
                carry = data[i:] if inside else data[-256:]
                base += len(data) - len(carry)
            if inside or close_at < 0 or st[0] != 0 or st[1]:
                raise ValueError(f"no complete {self.key!r} array")
            self.sha256 = hasher.hexdigest()
            f.seek(0)
            head = f.read(open_at + 1)
            f.seek(close_at)
            self.rest = head + f.read()

    def _elements(self, run: Any, buf: np.ndarray, words: np.ndarray, i: int, gap: int
                  ) -> tuple[int, int, int, Part | None]:
        """One pass of ``_elements`` from ``i``: (what happened, where it stopped, the gap
        state, the part of the elements it went through, if any)."""
        room = len(buf) - i + 8
        if self._out is None or len(self._out) < room:  # reused: glibc kept the pages of
            self._out = np.empty(room, np.uint8)  # fresh blocks of varied sizes (+0.2x RSS)
            self._tb = np.empty((len(self.lens), room), np.uint8)
        out, tb = self._out, self._tb
        tpos = np.zeros(len(self.lens), np.int64)
        ends = np.empty((len(self.lens), min(ROOM, room)), np.int64)
        found = np.empty(min(ROOM, room), np.int64)
        res, i, k, gap, o = run(buf, words, i, gap, self.names, self.lens, out, tb, tpos, ends,
                                found)
        if res == BAD:
            raise ValueError("malformed JSON in the array")
        if not k:
            return res, i, gap, None
        out[o] = 93
        texts = []
        for s in range(len(self.lens)):
            offsets = np.zeros(k + 1, np.int64)
            offsets[1:] = ends[s, :k]
            col = pa.LargeStringArray.from_buffers(k, pa.py_buffer(offsets),
                                                   pa.py_buffer(tb[s, :offsets[-1]].tobytes()))
            col.validate(full=True)  # UTF-8 (raises ArrowInvalid, a ValueError)
            texts.append(col)
        return res, i, gap, Part(out[:o + 1].tobytes(), texts, found[:k].copy())


def parts(scan: ArrayScan) -> Iterator[Part]:
    """The scan's parts, read, hashed, scanned and decoded by a thread of its own while the
    caller parses the one before (the read, the hash and the compiled passes release the
    GIL). The scan's error is raised here; a caller that stops early stops the thread."""
    out: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def produce() -> None:
        try:
            for part in scan:
                if stop.is_set() or not put(part):
                    return
            put(None)
        except BaseException as e:  # noqa: BLE001 - raised in the caller's thread
            put(e)

    thread = threading.Thread(target=produce, name="array-scan", daemon=True)
    thread.start()
    try:
        while (item := out.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _kernels() -> Any:
    """``_find`` and ``_elements`` compiled (or loaded from numba's cache) on first use, after
    the native reader's pass (whose word test and string decoder they call); where numba
    cannot compile them, ValueError: the file is then read by the plain parser."""
    global _RUN
    with _LOCK:
        if _RUN is None:
            try:
                blockscan._kernel()  # blockwalk's helpers compiled (bw._decode)
                import numba

                jit = numba.njit(cache=True, nogil=True)
                global _string_end, _element
                _string_end = jit(_string_end)
                _element = jit(_element)
                _RUN = jit(_find), jit(_elements)
                doc = b'{"a": [{"t": "x\\u00e9", "u": [1]}, [2]]}   '
                scan = ArrayScan(Path(), "a", ("t",))
                buf, words = np.frombuffer(doc, np.uint8), np.frombuffer(doc, np.uint64, 5)
                _RUN[0](buf, words, 0, np.zeros(3, np.int64))
                scan._elements(_RUN[1], buf, words, 6, 0)  # compiled or loaded now
            except Exception as e:  # noqa: BLE001 - any failure to compile: the plain parser
                _RUN = False
                _FAILED.append(repr(e))
    if _RUN is False:
        raise ValueError(f"the compiled scan is unavailable ({_FAILED[0]})")
    return _RUN


def warm() -> None:
    """Compile or load the passes (and the native reader's) in a background thread: the
    dashboard calls it at start, so that the first Open does not wait for them."""
    threading.Thread(target=_quiet, name="jsonscan-warm", daemon=True).start()


def _quiet() -> None:
    try:
        _kernels()
    except ValueError:
        pass


_RUN: Any = None
_FAILED: list[str] = []
_LOCK = threading.Lock()
