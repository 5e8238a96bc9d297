"""Unique example ids, checked on columns: the native reader keeps each block's ids (an Arrow
array) and their lines, and checks them all at once at the end of the file (Arrow's hash
table), where the importer checks them too (``comparator.formats.native``: once every line is
a valid example), naming the first duplicate in file order as it does. ``Renumber``: the LLM
Comparator stream's ids (from the prompt) made unique as its importer makes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from comparator.schema.errors import InputError, excerpt


class Ids:
    """The ids and lines of the blocks read so far."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ids: list[pa.Array] = []
        self.lines: list[np.ndarray] = []

    def add(self, ids: pa.Array, lines: np.ndarray) -> None:
        self.ids.append(ids)
        self.lines.append(lines)

    def check(self) -> None:
        """Raise the importer's InputError for the first duplicate id."""
        if not self.ids:
            return
        ids = pa.chunked_array(self.ids, self.ids[0].type)
        if len(pc.unique(ids)) == len(ids):  # (twice as fast as count_distinct)
            return
        codes = np.asarray(ids.combine_chunks().dictionary_encode().indices)
        _, first = np.unique(codes, return_index=True)
        again = np.flatnonzero(first[codes] != np.arange(len(codes)))[0]
        lines = np.concatenate(self.lines)
        raise InputError(self.path, f"duplicate id {excerpt(ids[int(again)].as_py())} (first on "
                         f"line {int(lines[first[codes[again]]])})",
                         line=int(lines[again]), field="id")


class Renumber:
    """``comparator.formats.common.dedupe_ids`` over a stream of batches of text ids (12 hex
    digits, ``text_id``): a repeat is suffixed ``~2``, ``~3``… in file order. The ids seen are
    kept as 48-bit integers in sorted runs (8 bytes an id; a dict of the strings took ~110),
    and only a repeat goes through Python."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []  # sorted, sizes decreasing (merged like a counter)
        self.times: dict[int, int] = {}  # the ids seen more than once: how many times

    def __call__(self, ids: list[str]) -> list[str]:
        joined = "".join(ids)
        if len(joined) != 12 * len(ids):
            raise ValueError("not 12-digit text ids")
        wide = np.zeros((len(ids), 8), np.uint8)
        wide[:, 2:] = np.frombuffer(bytes.fromhex(joined), np.uint8).reshape(-1, 6)
        keys = wide.view(">u8")[:, 0].astype(np.int64)
        new, inverse, count = np.unique(keys, return_inverse=True, return_counts=True)
        known = np.zeros(len(new), bool)
        for run in self.runs:  # (sorted needles: each search starts where the last ended)
            known |= run[np.minimum(np.searchsorted(run, new), len(run) - 1)] == new
        before = known[inverse]
        again = np.flatnonzero(before | (count[inverse] > 1))
        if len(again):
            ids = list(ids)
            for j in again.tolist():
                key = int(keys[j])
                k = self.times[key] = self.times.get(key, int(before[j])) + 1
                if k > 1:
                    ids[j] = f"{ids[j]}~{k}"
        if not known.all():
            self.runs.append(new[~known])
        while len(self.runs) > 1 and len(self.runs[-2]) <= len(self.runs[-1]):
            last = self.runs.pop()
            self.runs[-1] = np.sort(np.concatenate([self.runs[-1], last]), kind="stable")
        return ids
