"""A read-only comparison held as an Arrow table: the only form the analysis reads.

``store_for(comp)`` gives the ``Store`` of any comparison: the memory-mapped table of one opened
from the cache (``comp.examples`` is then a ``LazyExamples`` over it, turning rows into example
dicts only when asked), or, for a comparison of example dicts, a store over those dicts that
builds each column the first time it is read (``schema.column``), kept in ``comp._cache``.

Derived results live in one place, ``Store.memo(key, build)``, under these keys (a tuple whose
first element names the result, followed by every parameter it depends on):

- ``"judgments"``, ``"judges"``, ``"has_judgments"``, ``("flat", col)``, ``("nested", col,
  fields)``, ``("texts", col)``, ``("column", col)``: columns of the table (this module);
- ``("derived", judges)``: the per-example scores (``analysis.stats.derive``);
- ``("slice", field, spec)``, ``("search", query, regex)``, ``("closeness", cluster)``,
  ``("judgment_arrays", ...)``, ``("length_difference",)``, ``("difficulty",)``,
  ``("metrics", ...)``...:
  the analysis (the module that builds each documents its key); a user metric's key holds its
  pattern, so redefining one needs no clearing.

A store opened from the cache is shared by every session and never changes. A comparison of
dicts that is edited in place (clusters assigned, metrics stored) calls
``Comparison.invalidate()``, the one place that drops derived results: it empties
``comp._cache``, so the next ``store_for`` builds a fresh store from the edited dicts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from comparator.schema.records import TURN_SEP, Comparison, Example
from comparator.store import schema

STORE_KEY = "store"  # comp._cache[STORE_KEY] = (examples, Store) of a comparison of dicts


class Store:
    """The columns of a comparison: an Arrow ``table``, or example dicts (``examples``) whose
    columns are built on first read."""

    def __init__(self, table: pa.Table | None, examples: Sequence[Example] | None = None,
                 metadata_keys: Sequence[str] | None = None) -> None:
        self._table = table
        # every key of the examples' metadata, as the reader that wrote the table saw them
        # (the analysis then need not read a metadata column kept as JSON text to know them);
        # None: not known without reading it
        self.metadata_keys = list(metadata_keys) if metadata_keys is not None else None
        self._examples = examples
        self.n = table.num_rows if table is not None else len(examples or ())
        self._memo: dict[Any, Any] = {}
        self._lock = threading.RLock()

    @property
    def table(self) -> pa.Table:
        if self._table is not None:
            return self._table
        return self.memo("table", lambda: schema.table(list(self._examples or ())))

    def memo(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()`` once per key (shared by sessions: results are never changed)."""
        hit = self._memo.get(key)
        if hit is None:
            with self._lock:
                hit = self._memo.get(key)
                if hit is None:
                    hit = self._memo[key] = build()
        return hit

    def peek(self, key: Any) -> Any:
        """The memo of ``key`` if computed, else None (builds nothing)."""
        return self._memo.get(key)

    def column(self, name: str) -> pa.ChunkedArray:
        if self._table is not None:
            return self._table.column(name)
        return self.memo(("column", name), lambda: pa.chunked_array(
            [schema.column(self._examples or (), name)]))

    def rows(self, start: int, stop: int) -> list[Example]:
        if self._table is None:
            return list((self._examples or ())[start:stop])
        return [schema.example(r) for r in self._table.slice(start, stop - start).to_pylist()]

    def flat(self, column: str) -> tuple[np.ndarray, pa.ChunkedArray]:
        """A list column flattened: each item's example index, and the items, in file order."""
        def build() -> tuple[np.ndarray, pa.ChunkedArray]:
            parents, values = [], []
            base = 0
            for chunk in self.column(column).chunks:
                parents.append(pc.list_parent_indices(chunk).to_numpy() + base)
                values.append(chunk.flatten())
                base += len(chunk)
            return (np.concatenate(parents) if parents else np.zeros(0, np.int64),
                    pa.chunked_array(values, self.column(column).type.value_type))
        return self.memo(("flat", column), build)

    def nested(self, column: str, fields: tuple[str, ...]) -> dict[str, Any]:
        """A list-of-struct column flattened: ``parent`` (example index) and each field as an
        Arrow array, in file order."""
        def build() -> dict[str, Any]:
            parent, flat = self.flat(column)
            out = {"parent": parent}
            for f in fields:
                out[f] = pc.struct_field(flat, f)
            return out
        return self.memo(("nested", column, fields), build)

    def judgments(self) -> dict[str, Any]:
        """Every judgment: parent, score (NaN when none), ok, flipped (+1 True, 0 False,
        -1 none), judge key ("unknown" when unnamed), rater."""
        def build() -> dict[str, Any]:
            raw = self.nested("judgments", ("score", "status", "flipped", "judge", "rater"))
            # the file's own numbers where it has no nulls (a view of the mapped file)
            score = np.asarray(raw["score"].to_numpy(zero_copy_only=False), float)
            status = raw["status"]
            ok = (pc.fill_null(pc.equal(status, "ok"), True).to_numpy(zero_copy_only=False)
                  & ~np.isnan(score))
            flipped = np.asarray(pc.fill_null(pc.cast(raw["flipped"], pa.int8()), -1)
                                 .to_numpy(zero_copy_only=False))
            judge = raw["judge"]
            unnamed = pc.fill_null(pc.equal(judge, ""), True)
            if pc.any(unnamed).as_py():  # (else the column as it is, not a copy)
                judge = pc.if_else(unnamed, "unknown", judge)
            return {"parent": raw["parent"], "score": score, "ok": ok, "flipped": flipped,
                    "judge": judge, "rater": raw["rater"]}
        return self.memo("judgments", build)

    def judges(self) -> list[str]:
        return self.memo("judges", lambda: [str(x) for x in pc.unique(
            self.judgments()["judge"]).to_pylist()])

    def has_judgments(self) -> np.ndarray:
        """Per example: whether its judgments list is non-empty."""
        def build() -> np.ndarray:
            has = np.zeros(self.n, bool)
            has[self.flat("judgments")[0]] = True  # the example of each judgment
            return has
        return self.memo("has_judgments", build)

    def any_value(self, name: str) -> bool:
        """Whether any example has a non-empty ``category`` / ``tags`` / ``reference``."""
        col = self.column(name)
        if name == "reference" and self.column("reference_turns").null_count < self.n:
            return True
        if col.null_count == len(col):
            return False  # (the count is in the file's metadata: no buffer read)
        # a text's size in bytes: its offsets alone (its characters would read every byte)
        size = pc.list_value_length(col) if name == "tags" else pc.binary_length(col)
        return bool(pc.max(size).as_py() or 0)

    def chars(self, side: str) -> np.ndarray:
        """The characters of each example's response ``side`` ("a" or "b"): the column the
        table was built with (``schema.CHARS``), else counted in the texts."""
        name = f"response_{side}_chars"
        if self._table is not None and name in self._table.column_names:
            return self._table.column(name).to_numpy()
        return pc.utf8_length(self.texts(f"response_{side}")).to_numpy()

    def chars_difference(self) -> np.ndarray:
        """``chars("a") - chars("b")`` as floats, from the stored columns a record batch at a
        time (no whole copy of either)."""
        names = [f"response_{side}_chars" for side in "ab"]
        if self._table is None or not set(names) <= set(self._table.column_names):
            return np.subtract(self.chars("a"), self.chars("b"), dtype=float)
        out = np.empty(self.n)
        at = 0
        for batch in self._table.select(names).to_batches():
            a, b = (col.to_numpy() for col in batch.columns)
            np.subtract(a, b, out=out[at:at + len(a)], dtype=float)
            at += len(a)
        return out

    def texts(self, name: str) -> pa.ChunkedArray:
        """A text column with nulls as "" (``prompt`` is the prompt text, user turns joined,
        for multi-turn examples; a response or reference of several turns is its turns joined,
        as ``response_text`` joins them)."""
        def build() -> pa.ChunkedArray:
            col = self.column(name)
            if name in schema.TEXTS and col.null_count:
                turns = self.column(name + "_turns")
                if turns.null_count < len(turns):
                    col = pc.coalesce(col, pc.binary_join(turns, pa.scalar(TURN_SEP, schema.S)))
            if name == "prompt" and col.null_count:
                msgs = self.column("messages")
                joined = [None if m is None else "\n\n".join(
                    x["content"] for x in m if x["role"] == "user")
                    for m in msgs.to_pylist()] if msgs.null_count < len(msgs) else None
                if joined is not None:
                    col = pc.coalesce(col, pa.array(joined, schema.S))
            return pc.fill_null(col, "")
        return self.memo(("texts", name), build)


class LazyExamples(Sequence):
    """``comp.examples`` of a store-backed comparison: rows become dicts only when read.
    Each read gives fresh dicts: the shared store cannot be changed through them (a session
    that edits takes its own copy, ``comparator.ui.state.own_copy``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __len__(self) -> int:
        return self.store.n

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(self.store.n)
            if step == 1:
                return self.store.rows(start, max(start, stop))
            return [self[k] for k in range(start, stop, step)]
        i = int(i)
        if i < 0:
            i += self.store.n
        if not 0 <= i < self.store.n:
            raise IndexError(i)
        return self.store.rows(i, i + 1)[0]

    def __iter__(self) -> Iterator[Example]:
        step = 8192
        for start in range(0, self.store.n, step):
            yield from self.store.rows(start, min(self.store.n, start + step))


def store_for(comp: Comparison) -> Store:
    """The Store of any comparison: its own, or one over its example dicts, built once and
    cached in ``comp._cache`` (rebuilt after ``comp.invalidate()`` or a new examples list)."""
    ex = comp.examples
    if isinstance(ex, LazyExamples):
        return ex.store
    hit = comp._cache.get(STORE_KEY)
    if hit is None or hit[0] is not ex or hit[1].n != len(ex):
        hit = comp._cache[STORE_KEY] = (ex, Store(None, ex))
    return hit[1]


def is_shared(comp: Comparison) -> bool:
    """Whether ``comp`` reads a store opened from the cache (shared by sessions, read-only)."""
    return isinstance(comp.examples, LazyExamples)


def comparison(store: Store, head: dict[str, Any]) -> Comparison:
    return Comparison.model_construct(examples=LazyExamples(store), **head)
