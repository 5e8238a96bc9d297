"""The structure of a block of native JSON lines, found without parsing them, so that Arrow's
JSON reader can take every file ``convert`` writes.

Arrow's reader types each column across the file, and our layout has values it cannot type:
free-form objects (a judgment's ``extra``, an example's ``extra`` and, when Arrow cannot type
it exactly, its ``metadata``) and texts that are a string on one line and a list of turns on
another. One vectorised pass per block finds the quotes that open and close strings, the
brackets outside them with their nesting depth, each bracket's partner, the lines' objects,
and the keys of the depths that matter. Then, in a copy of the block for Arrow:

- each free-form object is cut out as its JSON text (validated by one orjson parse of all of
  them) and blanked to ``""`` padded with spaces, so Arrow reads a string it is told to ignore;
- a text key whose value is a list of turns is renamed, byte for byte the same length
  (``"response_a"`` -> ``"turns_of_a"``), so the strings and the lists are two columns.

Whatever this pass cannot place (brackets that do not balance, a free-form value that is not
an object, an escaped key, a line with two objects) raises ``NotPlain``: the block is then read
line by line with pydantic (``comparator.store.native_lines``), which names the line and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import orjson

from comparator.store.jsonscan import structure

MAX_DEPTH = 64  # deeper nesting is left to the line reader (Arrow's parser recurses)
TURN_KEYS = {"response_a": "turns_of_a", "response_b": "turns_of_b",
             "reference": "turns_ref"}  # each alias has its key's length
_WS = np.zeros(256, bool)
_WS[[9, 10, 13, 32]] = True
_NAMES = ("judgments", "metadata", "extra", *TURN_KEYS)


class NotPlain(Exception):
    """Something this pass does not place: the block goes to the line reader."""


@dataclass
class Block:
    """A block of lines ready for Arrow: ``data`` (free-form objects blanked, turn keys
    renamed), the number of objects, and the JSON texts cut out: per free-form key the rows
    and texts, and the judgments' ``extra`` as (index among the block's judgments, text)."""

    data: bytes
    rows: int
    line_of_row: np.ndarray  # each object's line, counted from the block's first line
    free: dict[str, tuple[np.ndarray, list[bytes]]] = field(default_factory=dict)
    judgment_extra: tuple[np.ndarray, list[bytes]] = (np.zeros(0, np.int64), [])
    turns: set[str] = field(default_factory=set)  # the text keys with lists of turns


def _after_ws(arr: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The first position at or after each of ``pos`` that is not JSON whitespace."""
    pos = pos.copy()
    for _ in range(16):
        inside = pos < len(arr)
        ws = np.zeros(len(pos), bool)
        ws[inside] = _WS[arr[pos[inside]]]
        if not ws.any():
            return pos
        pos[ws] += 1
    raise NotPlain  # unusual spacing: the line reader


def _partners(marks: np.ndarray, chars: np.ndarray, opens: np.ndarray, level: np.ndarray
              ) -> np.ndarray:
    """For each bracket, the position just after its partner's (brackets of one depth
    alternate open, close, so sorting by depth then position pairs them)."""
    depth = np.where(opens, level, level + 1)
    order = np.lexsort((marks, depth))
    a, b = order[0::2], order[1::2]
    if len(a) != len(b) or not (opens[a].all() and not opens[b].any()) or \
            not np.array_equal(chars[a].astype(np.int16) + 2, chars[b]):  # {} [] differ by 2
        raise NotPlain
    end = np.empty(len(marks), np.int64)
    end[a], end[b] = marks[b] + 1, marks[a] + 1
    return end


class _Layout:
    """The block's structure: strings, brackets and their depth, objects (rows)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.arr = data, np.frombuffer(data, np.uint8)
        marks, chars, opens, open_at_end, real = structure(data)
        if open_at_end or len(real) % 2:
            raise NotPlain
        level = np.cumsum(np.where(opens, 1, -1))
        if len(level) and (level.min() < 0 or level[-1] != 0 or level.max() > MAX_DEPTH):
            raise NotPlain
        self.marks, self.chars, self.opens, self.level = marks, chars, opens, level
        self.end = _partners(marks, chars, opens, level)
        self.s_open, self.s_close = real[0::2], real[1::2]
        rows = opens & (level == 1)
        if (chars[rows] != 123).any():
            raise NotPlain  # a line that is an array: the line reader names it
        self.starts = marks[rows]

    def depth_at(self, pos: np.ndarray) -> np.ndarray:
        before = np.searchsorted(self.marks, pos)
        return np.where(before > 0, self.level[np.maximum(before - 1, 0)], 0)

    def value_end(self, vpos: np.ndarray) -> np.ndarray:
        """Just past the object or array that starts at each of ``vpos``."""
        return self.end[np.searchsorted(self.marks, vpos)]

    def keys(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The keys ``name`` (written without escapes): their opening quote, their value's
        first byte, and their depth."""
        arr, raw = self.arr, name.encode()
        cand = np.flatnonzero(self.s_close - self.s_open - 1 == len(raw))
        o, c = self.s_open[cand], self.s_close[cand]
        same = np.ones(len(o), bool)
        for j, ch in enumerate(raw):
            same &= arr[o + 1 + j] == ch
        o, c = o[same], c[same]
        colon = _after_ws(arr, c + 1)
        key = colon < len(arr)
        key[key] = arr[colon[key]] == 58
        o, colon = o[key], colon[key]
        vpos = _after_ws(arr, colon + 1)
        if (vpos >= len(arr)).any():
            raise NotPlain
        return o, vpos, self.depth_at(o)

    def objects(self, vpos: np.ndarray) -> np.ndarray:
        """Which values are objects; any that is neither an object nor null: NotPlain."""
        first = self.arr[vpos]
        obj = first == 123
        if not (obj | (first == ord("n"))).all():
            raise NotPlain  # a free-form value that is not an object
        return obj


def _within(pos: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Which positions lie inside one of the sorted, disjoint spans (start, end)."""
    if not len(spans) or not len(pos):
        return np.zeros(len(pos), bool)
    k = np.searchsorted(spans[:, 0], pos, "right") - 1
    return (k >= 0) & (pos < spans[np.maximum(k, 0), 1])


def scan(data: bytes, free_keys: tuple[str, ...]) -> Block:
    """See the module docstring; ``free_keys``: the example keys cut out as JSON text."""
    lay = _Layout(data)
    newlines = np.flatnonzero(lay.arr == 10)
    line_of_row = np.searchsorted(newlines, lay.starts)
    if len(line_of_row) > 1 and (np.diff(line_of_row) == 0).any():
        raise NotPlain  # two objects on one line
    block = Block(data, len(lay.starts), line_of_row)
    out = bytearray(data)
    blank: list[tuple[int, int]] = []
    for name in free_keys:
        kpos, vpos, depth = lay.keys(name)
        top = depth == 1
        kpos, vpos = kpos[top], vpos[top]
        obj = lay.objects(vpos)
        spans = list(zip(vpos[obj].tolist(), lay.value_end(vpos[obj]).tolist()))
        rows = np.searchsorted(lay.starts, kpos[obj], "right") - 1
        block.free[name] = (rows, [data[a:b] for a, b in spans])
        blank += spans
    for name, alias in TURN_KEYS.items():
        kpos, vpos, depth = lay.keys(name)
        turns = (depth == 1) & (lay.arr[vpos] == 91)
        for p in kpos[turns].tolist():
            out[p + 1:p + 1 + len(alias)] = alias.encode()
        if turns.any():
            block.turns.add(name)
    blank += _judgment_extras(lay, block)
    _validate(block)
    for a, b in blank:
        out[a:b] = b'""' + b" " * (b - a - 2)
    block.data = bytes(out)
    return block


def _judgment_extras(lay: _Layout, block: Block) -> list[tuple[int, int]]:
    """Cut out each judgment's ``extra``: (index among the block's judgments, JSON text) in
    ``block.judgment_extra``; their spans."""
    kpos, vpos, depth = lay.keys("judgments")
    arrays = (depth == 1) & (lay.arr[vpos] == 91)
    jspans = np.stack([vpos[arrays], lay.value_end(vpos[arrays])], axis=1)
    if not len(jspans):
        return []
    kpos, vpos, depth = lay.keys("extra")
    mine = (depth == 3) & _within(kpos, jspans)
    kpos, vpos = kpos[mine], vpos[mine]
    if not len(kpos):
        return []
    obj = lay.objects(vpos)
    j_open = lay.marks[lay.opens & (lay.level == 3) & (lay.chars == 123)]
    j_open = j_open[_within(j_open, jspans)]  # the judgments' objects, in Arrow's order
    index = np.searchsorted(j_open, kpos[obj], "right") - 1
    spans = list(zip(vpos[obj].tolist(), lay.value_end(vpos[obj]).tolist()))
    block.judgment_extra = (index, [lay.data[a:b] for a, b in spans])
    return spans


def _validate(block: Block) -> None:
    """Every cut-out text is one JSON object: one orjson parse of them all."""
    texts = [t for _, ts in block.free.values() for t in ts] + block.judgment_extra[1]
    if not texts:
        return
    try:
        values = orjson.loads(b"[" + b",".join(texts) + b"]")
    except orjson.JSONDecodeError:
        raise NotPlain from None
    if len(values) != len(texts) or any(type(v) is not dict for v in values):
        raise NotPlain
