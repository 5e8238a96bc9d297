"""The items of one top-level array of a huge JSON object, read a block at a time.

``ArrayScan(path, "examples")`` yields the raw bytes of each element of the object's
``"examples"`` array without parsing the document: a vectorised pass per block finds the
quotes that open or close strings (a quote after an odd run of backslashes is inside one), and
outside strings the brackets that change the nesting depth. An element of the array is what
lies between a ``{``/``[`` opening at depth 2 and the bracket that brings the depth back. So a
4 GB LLM Comparator file is read with one block and one element in memory at a time. Anything
malformed raises ValueError; the caller then reads the file with the plain parser, which
names the problem. ``brackets`` is that pass alone (also the native reader's nesting guard).
"""

from __future__ import annotations

import hashlib
import queue
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from comparator.schema.files import open_binary

BLOCK = 1 << 23


def _escaped(arr: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """Which quotes are escaped (they end an odd run of backslashes), vectorised over the
    runs of backslashes (a text of code can hold millions of escaped quotes)."""
    out = np.zeros(len(quotes), bool)
    cand = np.flatnonzero((quotes > 0) & (arr[np.maximum(quotes - 1, 0)] == 92))
    if not len(cand):
        return out
    bs = np.flatnonzero(arr == 92)
    run_start = np.ones(len(bs), bool)
    run_start[1:] = bs[1:] != bs[:-1] + 1
    first = np.maximum.accumulate(np.where(run_start, np.arange(len(bs)), 0))
    k = np.searchsorted(bs, quotes[cand] - 1)  # the backslash just before the quote
    out[cand] = (k - first[k] + 1) % 2 == 1
    return out


def brackets(data: bytes, start: int = 0, in_str: bool = False
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """The brackets outside strings in ``data[start:]`` (``in_str``: a string is open at
    ``start``; earlier bytes only serve to see escapes): their positions, characters, which
    open, and whether a string is open at the end."""
    arr = np.frombuffer(data, np.uint8)
    new = arr[start:]
    quotes = np.flatnonzero(new == 34) + start
    real = quotes[~_escaped(arr, quotes)]
    marks = np.flatnonzero((new == 123) | (new == 125) | (new == 91) | (new == 93)) + start
    marks = marks[(np.searchsorted(real, marks) + in_str) % 2 == 0]
    chars = arr[marks]
    return marks, chars, (chars == 123) | (chars == 91), in_str != bool(len(real) % 2)


class ArrayScan:
    """Iterate to get the raw elements of the top-level object's ``key`` array; afterwards
    ``rest`` is the document without them (the array left empty), to parse as usual, and
    ``sha256`` the hash of the bytes scanned. The file is opened once (``rest`` comes from the
    same open file), so a file replaced meanwhile cannot mix into what was hashed."""

    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = path, key
        self.rest: bytes | None = None
        self.sha256: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        want = re.compile(rb'"' + re.escape(self.key.encode()) + rb'"\s*:\s*$')
        depth, in_str, state = 0, False, "before"  # before -> inside -> after the array
        carry = b""  # unhanded bytes of earlier blocks (an element's start, the key's context)
        base = 0  # file offset of data[0]
        open_at = close_at = -1
        gap = _Gap()
        hasher = hashlib.sha256()
        with open_binary(self.path) as f:
            while block := f.read(BLOCK):
                hasher.update(block)
                data = carry + block
                marks, chars, opens, in_str = brackets(data, len(carry), in_str)
                level = depth + np.cumsum(np.where(opens, 1, -1))
                if len(level) and level.min() < 0:
                    raise ValueError("unbalanced brackets")
                first, gap_from = 0, 0 if state == "inside" and depth < 3 else -1
                if state == "before":
                    for k in np.flatnonzero(opens & (level == 2) & (chars == 91)).tolist():
                        pos = int(marks[k])
                        if want.search(data[max(0, pos - 256):pos]):
                            state, open_at, first, gap_from = "inside", base + pos, k + 1, pos + 1
                            break
                cut = 0
                if state == "inside":
                    ends = np.flatnonzero(~opens[first:] & (level[first:] == 1))
                    last = first + int(ends[0]) if len(ends) else len(marks)
                    sub = slice(first, last)
                    starts = marks[sub][opens[sub] & (level[sub] == 3)]
                    stops = marks[sub][~opens[sub] & (level[sub] == 2)]
                    if depth >= 3 and first == 0:  # an element carried from the last block
                        starts = np.concatenate([[0], starts])
                    for a, b in zip(starts.tolist(), stops.tolist()):
                        if gap_from >= 0:  # (a carried element's gap was seen before)
                            gap.element(data[gap_from:a])
                        gap_from = b + 1
                        yield data[a:b + 1]
                    if len(starts) > len(stops):
                        cut = int(starts[len(stops)])
                        if gap_from >= 0:
                            gap.element(data[gap_from:cut])
                    elif last < len(marks):
                        gap.close(data[gap_from:int(marks[last])])
                    else:
                        gap.add(data[gap_from:])
                    if last < len(marks):
                        state, close_at = "after", base + int(marks[last])
                depth = int(level[-1]) if len(level) else depth
                if state == "inside":
                    carry = data[cut:] if depth >= 3 else b""
                else:
                    carry = data[-256:] if state == "before" else b""
                base += len(data) - len(carry)
            if state != "after" or depth != 0 or in_str:
                raise ValueError(f"no complete {self.key!r} array")
            self.sha256 = hasher.hexdigest()
            f.seek(0)
            head = f.read(open_at + 1)
            f.seek(close_at)
            self.rest = head + f.read()


def arrays(scan: ArrayScan, n: int) -> Iterator[bytes]:
    """The scan's elements as JSON arrays of ``n`` (the last one shorter), read, hashed,
    scanned and joined by a thread of its own while the caller parses the one before: the read,
    the hash, the scan's vectorised passes and the join release the GIL. The scan's error is
    raised here; a caller that stops early stops the thread."""
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

    def join(raw: list[bytes]) -> bytes:
        raw[0] = b"[" + raw[0]
        raw[-1] += b"]"  # (the same element when there is one)
        return b",".join(raw)

    def produce() -> None:
        try:
            raw: list[bytes] = []
            for item in scan:
                if stop.is_set():
                    return
                raw.append(item)
                if len(raw) == n:
                    if not put(join(raw)):
                        return
                    raw = []
            if raw:
                put(join(raw))
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


class _Gap:
    """What lies between the array's elements (which may span blocks): white space and one
    comma between two elements, nothing else. A scalar element (a number, a string, null:
    no bracket marks it) or a stray comma raises ValueError, so that no element is skipped."""

    def __init__(self) -> None:
        self.seen, self.elements = b"", 0

    def add(self, part: bytes) -> None:
        self.seen += part.translate(None, b" \t\r\n")
        if len(self.seen) > 1:
            raise ValueError("an element of the array is not an object or an array")

    def element(self, part: bytes) -> None:
        self.add(part)
        if self.seen != (b"," if self.elements else b""):
            raise ValueError("an element of the array is not an object or an array")
        self.seen, self.elements = b"", self.elements + 1

    def close(self, part: bytes) -> None:
        self.add(part)
        if self.seen:
            raise ValueError("an element of the array is not an object or an array")
