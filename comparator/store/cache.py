"""Open a judged file as a columnar store: validated once per file content, then memory-mapped.

The first open of a file reads it with its importer (the same file:line:field errors as
``comparator.io.load``) and writes an Arrow IPC file to ``<data dir>/store/``, named by the
SHA-256 of the bytes and the loader options; later opens map that file (no parse, no copy).
A changed file has another hash, so it is read again. A native JSONL file is read straight
into Arrow (``comparator.store.native``), a chunk at a time; Parquet files we wrote open
directly.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.ipc as ipc

from comparator.io import Loaded, LoadOptions, load
from comparator.io.common import check_file
from comparator.io.errors import InputError
from comparator.paths import data_dir
from comparator.store import schema
from comparator.store.table import Store, comparison

PARQUET_META = b"comparator"  # Parquet key-value metadata: the comparison's header (JSON)
HEAD_KEYS = ("schema_version", "model_a", "model_b", "source_format", "metadata")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _options_key(fmt: str | None, options: LoadOptions | None) -> str:
    opts = options or LoadOptions()
    parts = [str(schema.STORE_VERSION), fmt or "", repr(sorted(opts.mapping.items())),
             repr(opts.pair)]
    if opts.questions:
        parts.append(file_sha256(Path(opts.questions)))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def cache_path(sha: str, fmt: str | None, options: LoadOptions | None) -> Path:
    return data_dir() / "store" / f"{sha[:32]}-{_options_key(fmt, options)}.arrow"


def _map(path: Path) -> pa.Table:
    return ipc.open_file(pa.memory_map(str(path))).read_all()


def _meta_path(arrow: Path) -> Path:
    return arrow.with_suffix(".json")


def open_store(path: str | Path, fmt: str | None = None, options: LoadOptions | None = None
               ) -> Loaded:
    """``path`` as a store-backed comparison (raises InputError like ``load``)."""
    path = Path(path)
    if _is_parquet(path):
        return _open_parquet(path)
    check_file(path)  # refuses folders, pipes, missing and binary files as load() does
    sha = file_sha256(path)
    arrow = cache_path(sha, fmt, options)
    meta = _meta_path(arrow)
    if arrow.exists() and meta.exists():
        try:
            info = orjson.loads(meta.read_bytes())
            return _loaded(_map(arrow), info, path, sha)
        except (OSError, orjson.JSONDecodeError, pa.ArrowInvalid, KeyError):
            pass  # a damaged cache entry: build it again
    info = _build(path, fmt, options, arrow)
    info["sha256"] = sha
    try:
        tmp = meta.with_name(meta.name + f".{os.getpid()}.tmp")
        tmp.write_bytes(orjson.dumps(info))
        tmp.replace(meta)
        table = _map(arrow)
    except OSError:
        table = info.pop("_table")
    return _loaded(table, info, path, sha)


def _loaded(table: pa.Table, info: dict[str, Any], path: Path, sha: str) -> Loaded:
    comp = comparison(Store(table), {k: info[k] for k in HEAD_KEYS})
    comp.metadata = dict(comp.metadata)
    out = Loaded(comp, info["format"], list(info.get("warnings", [])), path)
    out.sha256 = sha  # type: ignore[attr-defined]
    return out


def _build(path: Path, fmt: str | None, options: LoadOptions | None, arrow: Path
           ) -> dict[str, Any]:
    """Read ``path`` and write its table to ``arrow`` (atomically); the header info."""
    from comparator.store.native import read_native_arrow

    arrow.parent.mkdir(parents=True, exist_ok=True)
    tmp = arrow.with_name(arrow.name + f".{os.getpid()}.tmp")
    try:
        if fmt in (None, "native") and (options is None or options == LoadOptions()):
            head = read_native_arrow(path, tmp)
            if head is not None:
                tmp.replace(arrow)
                return {**head, "format": "native", "warnings": []}
        loaded = load(path, fmt, options)
        table = schema.table(loaded.comparison.examples)
        comp = loaded.comparison
        info = {"schema_version": comp.schema_version, "model_a": comp.model_a,
                "model_b": comp.model_b, "source_format": comp.source_format,
                "metadata": comp.metadata, "format": loaded.format,
                "warnings": loaded.warnings}
        del loaded, comp
        try:
            write_ipc(table, tmp)
            tmp.replace(arrow)
        except OSError:
            info["_table"] = table  # no writable cache: keep it in memory
        return info
    finally:
        tmp.unlink(missing_ok=True)


def write_ipc(table: pa.Table, path: Path) -> None:
    with ipc.new_file(str(path), table.schema) as w:
        w.write_table(table, max_chunksize=16384)


def _is_parquet(path: Path) -> bool:
    try:  # O_NONBLOCK: a named pipe must not block here (check_file refuses it)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        return stat.S_ISREG(os.fstat(fd).st_mode) and f.read(4) == b"PAR1"


def _open_parquet(path: Path) -> Loaded:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, memory_map=True)
        info = orjson.loads((table.schema.metadata or {})[PARQUET_META])
    except (pa.ArrowInvalid, OSError, KeyError, orjson.JSONDecodeError) as e:
        raise InputError(path, "not a Parquet file written by comparator (convert --to "
                         f"parquet writes one): {e}") from None
    missing = [n for n, _ in schema.FIXED if n not in table.column_names]
    if missing:
        raise InputError(path, f"Parquet file lacks columns {', '.join(missing)}")
    return _loaded(table.replace_schema_metadata(None), {**info, "format": "parquet"}, path,
                   file_sha256(path))


def write_parquet(loaded: Loaded, path: str | Path) -> None:
    """The comparison as one Parquet file (our store's layout; the header in its metadata)."""
    import pyarrow.parquet as pq

    from comparator.store.table import store_of

    comp = loaded.comparison
    st = store_of(comp)
    table = st.table if st is not None else schema.table(comp.examples)
    for k in schema.FREE:  # Parquet has no struct without fields: {} as JSON text then
        col = table.column(k)
        if pa.types.is_struct(col.type) and col.type.num_fields == 0:
            text = pa.array([None if v is None else "{}" for v in col.to_pylist()], schema.S)
            table = table.set_column(table.schema.get_field_index(k), k, text)
    head = {k: getattr(comp, k) for k in HEAD_KEYS}
    table = table.replace_schema_metadata({PARQUET_META: orjson.dumps(head)})
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, row_group_size=65536)
    tmp.replace(path)
