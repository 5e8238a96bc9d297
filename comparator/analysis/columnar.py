"""The one rule of an example's score and outcome, and the per-example arrays of the analysis,
vectorised on the comparison's columnar store (``comparator.store.table.store_for``).

- example score = mean of its ``ok`` judgment scores (of the selected judges); with no judgment
  at all and no judge selection, the score the source reported (``reported_score``); else
  unscored (NaN);
- outcome: A if score > t, B if score < -t, tie otherwise, unscored for NaN (``outcomes``).

The statistics, slices, the examples table, the side-by-side view, reports and exports all take
scores and winners from here (through ``stats.derive``); ``analysis.sql`` (DuckDB) is checked
against it by tests/test_sql.py.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from comparator.analysis.patterns import Deadline, compile_pattern, matches
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.store.table import Store

OUTCOMES = ("A", "tie", "B", "unscored")  # codes 0..3


def outcomes(score: np.ndarray, tie_threshold: float = DEFAULT_TIE_THRESHOLD) -> np.ndarray:
    """Outcome codes 0 = A, 1 = tie, 2 = B, 3 = unscored (NaN)."""
    code = np.full(score.shape, 1, dtype=np.int8)
    code[score > tie_threshold] = 0
    code[score < -tie_threshold] = 2
    code[np.isnan(score)] = 3
    return code


def selected(st: Store, judges: frozenset[str] | None) -> np.ndarray:
    """Which judgments a judge selection keeps (``name`` or ``name:rater``)."""
    j = st.judgments()
    if judges is None:
        return np.ones(len(j["score"]), bool)
    wanted = pa.array(sorted(judges))
    keep = pc.is_in(j["judge"], wanted).to_numpy(zero_copy_only=False)
    pairs = [w for w in judges if ":" in w]
    if not pairs:  # no name:rater asked for (the common case: joining every pair costs most)
        return keep
    pair = pc.binary_join_element_wise(j["judge"], j["rater"], ":")
    return keep | pc.fill_null(pc.is_in(pair, pa.array(sorted(pairs))), False).to_numpy(
        zero_copy_only=False)


def derive_arrays(st: Store, judges: frozenset[str] | None) -> tuple[np.ndarray, ...]:
    """score, score_unflipped, score_flipped, n_ok, n_unscored (see stats.Derived)."""
    j = st.judgments()
    n = st.n
    sel = selected(st, judges)
    ok = sel & j["ok"]
    par, score = j["parent"], j["score"]
    n_ok = np.bincount(_kept(par, ok), minlength=n).astype(np.int32)
    n_bad = np.bincount(par[sel & ~j["ok"]], minlength=n).astype(np.int32)

    def mean(keep: np.ndarray) -> np.ndarray:
        p = _kept(par, keep)
        tot = np.bincount(p, weights=_kept(score, keep), minlength=n).astype(float, copy=False)
        cnt = np.bincount(p, minlength=n)
        del p
        np.divide(tot, cnt, out=tot, where=cnt > 0)
        tot[cnt == 0] = np.nan
        return tot

    out = mean(ok)
    if judges is None and not (has := st.has_judgments()).all():
        rep = np.asarray(st.column("reported_score").to_numpy(), float)
        use = ~has & ~np.isnan(rep)
        out[use] = rep[use]
    return (out, mean(ok & (j["flipped"] == 0)), mean(ok & (j["flipped"] == 1)), n_ok, n_bad)


def _kept(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``values[keep]``; ``values`` itself, not a copy, when every one is kept (the common
    case: a million judgments)."""
    return values if keep.all() else values[keep]


def _pairs(n: int, parent: np.ndarray, values: list[Any]) -> tuple[np.ndarray, ...]:
    """(index, code, names) for multi-valued fields: each example once per distinct value in
    first-seen order, ``(none)`` for an example without values (as stats._values on a list)."""
    codes: dict[str, int] = {}
    code = np.fromiter((codes.setdefault(str(v), len(codes)) for v in values), np.int64,
                       len(values))
    seen: set[tuple[int, int]] = set()
    keep = np.ones(len(code), bool)
    for k, key in enumerate(zip(parent.tolist(), code.tolist())):
        if key in seen:
            keep[k] = False
        seen.add(key)
    parent, code = parent[keep], code[keep]
    has = np.zeros(n, bool)
    has[parent] = True
    empty = np.flatnonzero(~has)
    if len(empty):
        none = codes.setdefault("(none)", len(codes))
        parent = np.concatenate([parent, empty])
        code = np.concatenate([code, np.full(len(empty), none)])
        order = np.argsort(parent, kind="stable")
        parent, code = parent[order], code[order]
    return parent.astype(np.int64), code, list(codes)


def _single(values: pa.ChunkedArray) -> tuple[np.ndarray, ...]:
    """(index, code, names) for a one-value string field ("(none)" for null or empty)."""
    filled = pc.if_else(pc.fill_null(pc.equal(values, ""), True), "(none)", values)
    names = pc.unique(filled)
    code = pc.index_in(filled, value_set=names).to_numpy(zero_copy_only=False)
    return np.arange(len(code), dtype=np.int64), code.astype(np.int64), [
        str(x) for x in names.to_pylist()]


def metadata_values(st: Store, name: str) -> list[Any] | None:
    """The metadata value ``name`` of every example (None when absent); None when no example
    has the key."""
    col = st.column("metadata")
    if pa.types.is_struct(col.type):
        if col.type.get_field_index(name) < 0:
            return None
        return pc.struct_field(col, name).to_pylist()
    if st.metadata_keys is not None and name not in st.metadata_keys:
        return None  # (known without reading the column)
    index, rows = _json_distinct(st)
    vals = np.empty(len(rows) + 1, object)  # the last: an example without metadata
    vals[:-1] = [None if m is None else m.get(name) for m in rows]
    if not any(v is not None for v in vals):
        return None
    return vals[index].tolist()


def _json_distinct(st: Store) -> tuple[np.ndarray, list[dict | None]]:
    """Metadata kept as JSON text: each distinct text parsed once per store, in the order of
    its first example (so keys come out in the file's order), and each example's index into
    them (-1: none). A million examples share a handful of metadata as a rule."""
    def build() -> tuple[np.ndarray, list[dict | None]]:
        col = st.column("metadata")
        distinct = pc.unique(col).drop_null()
        index = pc.fill_null(pc.index_in(col, value_set=distinct), -1)
        return (np.asarray(index.to_numpy(zero_copy_only=False), np.int32),
                [orjson.loads(m) for m in distinct.to_pylist()])
    return st.memo("metadata_distinct", build)


def metadata_keys(st: Store, limit: int | None = None) -> list[str]:
    col = st.column("metadata")
    if pa.types.is_struct(col.type):
        return [col.type.field(i).name for i in range(col.type.num_fields)]
    if st.metadata_keys is not None:
        return list(st.metadata_keys)
    rows = (orjson.loads(m) if m else None for m in col.slice(0, limit).to_pylist()) if limit \
        else _json_distinct(st)[1]  # a head only (the sidebar's fields): not the whole file
    keys: dict[str, None] = {}
    for m in rows:
        keys.update(dict.fromkeys(m or ()))
    return list(keys)


def slice_arrays(st: Store, field: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """stats.slice_values of ``category``, ``tags`` or ``judge``, vectorised on the store."""
    if field == "category":
        return _single(st.column("category"))
    if field == "tags":
        parent, flat = st.flat("tags")
        return _pairs(st.n, parent, flat.to_pylist())
    j = st.judgments()
    return _pairs(st.n, j["parent"], j["judge"].to_pylist())


def search(st: Store, query: str, regex: bool) -> np.ndarray:
    """Examples whose prompt, response A or response B contains ``query`` (case-insensitive),
    or matches it as a regular expression (``comparator.analysis.patterns``: RE2, or a
    deadline for what RE2 cannot run), each text on its own. The chunks of the three columns
    are matched on all cores (Arrow's kernels release the GIL)."""
    cols = [st.texts(name) for name in ("prompt", "response_a", "response_b")]
    pat = compile_pattern(query, ignore_case=True) if regex else None
    if pat is not None and not pat.re2:  # one deadline for the three columns
        deadline = Deadline()
        hit = np.zeros(st.n, bool)
        for col in cols:
            hit |= matches(col.combine_chunks(), pat, deadline)
        return hit
    branches = _branches(query) if regex else [query]

    def match(chunk: pa.Array) -> np.ndarray:
        hit = np.zeros(len(chunk), bool)
        for q in branches:  # an alternation a|b as a, then b: each keeps RE2's literal scan
            if regex:
                m = pc.match_substring_regex(chunk, q, ignore_case=True)
            else:
                m = pc.match_substring(chunk, q, ignore_case=True)
            hit |= np.asarray(m.to_numpy(zero_copy_only=False), bool)
        return hit

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        parts = [list(pool.map(match, col.chunks)) for col in cols]
    hit = np.zeros(st.n, bool)
    for chunks in parts:
        if chunks:
            hit |= np.concatenate(chunks)
    return hit


def _branches(query: str, most: int = 3) -> list[str]:
    """The top-level alternatives of a regular expression (``a|b|c``), when there are at most
    ``most`` and no inline flags: searched one by one, each can use RE2's fast scan for its
    first characters, which an alternation of different first characters loses (4x slower
    measured). "Contains a or b" is "contains a" or "contains b", so the result is the same."""
    if query.startswith("(?") and not query.startswith(("(?:", "(?P")):
        return [query]
    parts, depth, start, i, in_class, start_class = [], 0, 0, 0, False, -2
    while i < len(query):
        c = query[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]" or i == start_class + 1
        elif c == "[":
            in_class, start_class = True, i
            if query[i + 1:i + 2] == "^":
                start_class += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(query[start:i])
            start = i + 1
        i += 1
    parts.append(query[start:])
    if len(parts) == 1 or len(parts) > most or not all(parts):
        return [query]
    return parts


def closeness(st: Store, cluster: int) -> np.ndarray:
    """filters.cluster_closeness on the store."""
    r = st.nested("reasons", ("cluster", "similarities"))
    out = np.full(st.n, -np.inf)
    cl = np.asarray(pc.fill_null(r["cluster"], -10**9).to_numpy(zero_copy_only=False))
    rows = np.flatnonzero(cl == cluster)
    if len(rows):
        sims = r["similarities"].take(pa.array(rows)).to_pylist()
        vals = np.array([s[cluster] if s and 0 <= cluster < len(s) else 0.0 for s in sims])
        np.maximum.at(out, r["parent"][rows], vals)
    return out


def judgment_counts(st: Store) -> dict[str, int]:
    """Judgments by status (ok, unscored, error)."""
    status = pc.fill_null(st.nested("judgments", ("status",))["status"], "ok")
    counts = {k: 0 for k in ("ok", "unscored", "error")}
    for row in pc.value_counts(status).to_pylist():
        counts[row["values"]] = counts.get(row["values"], 0) + row["counts"]
    return counts
