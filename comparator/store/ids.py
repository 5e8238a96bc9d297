"""Unique example ids, checked on columns: the native reader keeps each block's ids (an Arrow
array) and their lines, and checks them all at once at the end of the file (Arrow's hash
table), where the importer checks them too (``comparator.formats.native``: once every line is
a valid example), naming the first duplicate in file order as it does."""

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
        if pc.count_distinct(ids).as_py() == len(ids):
            return
        codes = np.asarray(ids.combine_chunks().dictionary_encode().indices)
        _, first = np.unique(codes, return_index=True)
        again = np.flatnonzero(first[codes] != np.arange(len(codes)))[0]
        lines = np.concatenate(self.lines)
        raise InputError(self.path, f"duplicate id {excerpt(ids[int(again)].as_py())} (first on "
                         f"line {int(lines[first[codes[again]]])})",
                         line=int(lines[again]), field="id")
