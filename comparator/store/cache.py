"""Open a judged file as a columnar store: validated once per file content, then memory-mapped.

The first open of a file reads it (the same file:line:field errors as ``comparator.formats.load``)
and writes an Arrow IPC file to ``<data dir>/store/``, named by the SHA-256 of the bytes and
the loader options; later opens map that file (no parse, no copy). A changed file has another
hash, so it is read again; the very file hashed before, unchanged since (its inode and change
time say so, ``comparator.store.seen``), is not hashed again. Native JSONL
(``comparator.store.native``) and LLM Comparator JSON (``comparator.store.llmc``) are streamed
into it a block at a time; other formats go through their importer, then ``schema.table``.
Parquet files we wrote open directly.

The key is the hash of the bytes that were parsed (the native and LLM Comparator readers hash
while they read; the importer gets the very bytes that were hashed), and of every other input
that shapes the table (options, sibling files). An entry is checked before it is used
(``comparator.store.verify``: a checksum taken at write time, schema, structure, ranges) and
built again on any doubt. Temporary files of builds whose process is gone are removed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from comparator.formats import Loaded, LoadOptions, load
from comparator.formats.common import check_file, read_file
from comparator.formats.registry import sibling_files
from comparator.schema.digest import file_sha256
from comparator.schema.errors import InputError
from comparator.schema.files import open_regular, recording
from comparator.schema.settings import data_dir, settings
from comparator.store import schema
from comparator.store.llmc import looks_like_document, stream_llmc
from comparator.store.memory import give_back_freed
from comparator.store.native import read_native_arrow
from comparator.store.seen import Seen, look, remember
from comparator.store.table import Store, comparison, store_for
from comparator.store.verify import Doubt, entry, file_checksum, map_file, sweep, temp_name

log = logging.getLogger("comparator.store")
PARQUET_META = b"comparator"  # Parquet key-value metadata: the comparison's header (JSON)


def _options_key(fmt: str | None, options: LoadOptions | None, path: Path | None,
                 inputs: dict[str, str] | None = None) -> str:
    """Everything but the file's own bytes that shapes its table: the options, and the files a
    reader may read beside it (MT-Bench's question.jsonl and model_answer/, by name and the
    SHA-256 of their bytes), so a copy without them, or with other ones, is another entry.
    ``inputs`` gets each such file's real path -> SHA-256 (what a build must then read)."""
    opts = options or LoadOptions()
    inputs = {} if inputs is None else inputs
    parts = [str(schema.STORE_VERSION), fmt or "", repr(sorted(opts.mapping.items())),
             repr(opts.pair)]
    if opts.questions:
        parts.append(file_sha256(Path(opts.questions)))
        inputs[str(Path(opts.questions).resolve())] = parts[-1]
    siblings = sibling_files(path) if path is not None else []
    root = Path(os.path.commonpath([path.parent, *siblings])) if siblings else None
    for s in siblings:
        try:  # within their common folder: one linked elsewhere is refused by the reader
            digest = file_sha256(s, within=root)
        except (OSError, InputError):  # gone since it was listed, or refused: never read
            continue
        parts.append(f"{os.path.relpath(s, path.parent)}:{digest}")
        inputs[str(s.resolve())] = digest
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def cache_path(sha: str, fmt: str | None, options: LoadOptions | None,
               path: Path | None = None, inputs: dict[str, str] | None = None) -> Path:
    key = _options_key(fmt, options, path, inputs)
    return data_dir() / "store" / f"{sha[:32]}-{key}.arrow"


def _map(path: Path) -> pa.Table:
    return ipc.open_file(pa.BufferReader(map_file(path))).read_all()


def _meta_path(arrow: Path) -> Path:
    return arrow.with_suffix(".json")


def open_store(path: str | Path, fmt: str | None = None, options: LoadOptions | None = None
               ) -> Loaded:
    """``path`` as a store-backed comparison (raises InputError like ``load``)."""
    path = Path(path)
    if _is_parquet(path):
        return _open_parquet(path)
    check_file(path)  # refuses folders, pipes, missing and binary files as load() does
    sweep(data_dir() / "store")
    since = time.time_ns()  # before the file is looked at: see comparator.store.seen
    seen = look(path)
    tried: list[str] = []  # the streamed readers that declined the file
    if seen.sha256 is None and _plain(options):
        loaded = _read_once(path, fmt, options, seen, since, tried)
        if loaded is not None:
            return loaded
    # the very file hashed before, unchanged since: its hash is known (else read it whole)
    sha = seen.sha256 if seen.trusted else file_sha256(path)
    inputs: dict[str, str] = {}
    arrow = cache_path(sha, fmt, options, path, inputs)
    meta = _meta_path(arrow)
    with _LOCK:
        pending = _PENDING.get(arrow)
    if pending is not None:  # built a moment ago, its cache file still being written
        return _loaded(pending[0], pending[1], path, sha)
    hit = entry(arrow, meta)
    if hit is not None:
        try:
            loaded = _loaded(hit[0], hit[1], path, sha, cached=True)
            os.utime(meta)  # last use, for eviction
            if not seen.trusted:
                remember(seen, sha, path, since)
            return loaded
        except (OSError, KeyError):
            pass  # a damaged cache entry: build it again
    info, table = _build(path, fmt, options, arrow, sha, inputs, tried)
    keyed = info.pop("keyed", True)
    info["sha256"] = sha
    log.info("read %s: %s", path, info["reader"])
    if table is None:  # streamed into the cache file
        try:
            _write_meta(meta, info)
            remember(seen, sha, path, since)
        except OSError:
            pass  # opened now all the same; read again next time
        return _loaded(_map(arrow), info, path, sha)
    # built in memory: this open uses it now; the cache file is written beside it (a thread
    # that the process waits for at exit), for the next open
    if not keyed:  # it read a file its key does not cover: never cached
        return _loaded(table, info, path, sha)
    with _LOCK:
        _PENDING[arrow] = (table, info)
    thread = threading.Thread(target=_save, args=(table, arrow, meta, info), name="store-cache")
    _THREADS.append(thread)
    thread.start()
    return _loaded(table, info, path, sha)


def _plain(options: LoadOptions | None) -> bool:
    return options is None or options == LoadOptions()


def _read_once(path: Path, fmt: str | None, options: LoadOptions | None, seen: Seen,
               since: int, tried: list[str]) -> Loaded | None:
    """A file not opened before, of a format a streamed reader takes (``_streams``): parsed
    and hashed in one read, its cache entry named by the hash at the end (an entry already
    there for the same bytes, from a copy, is kept). None: no streamed reader took it (their
    names added to ``tried``), or no cache can be written (read it as usual)."""
    store = data_dir() / "store"
    tmp = temp_name(store / "reading")
    try:
        store.mkdir(parents=True, exist_ok=True)
        for name, read in _streams(path, fmt, tried):
            got = read(path, tmp)
            if got is None:
                tried.append(name)
                continue
            head, sha, reader = got
            log.info("read %s: %s", path, reader)
            arrow = cache_path(sha, fmt, options, path)
            meta = _meta_path(arrow)
            info = {**head, "format": name, "warnings": [], "sha256": sha, "reader": reader}
            hit = entry(arrow, meta)  # an entry already there for the same bytes (a copy)
            if hit is None:
                tmp.replace(arrow)
                _write_meta(meta, info)
                hit = _map(arrow), info
            remember(seen, sha, path, since)
            return _loaded(hit[0], hit[1], path, sha)
        return None
    except (OSError, orjson.JSONDecodeError, pa.ArrowInvalid, Doubt):
        return None
    finally:
        tmp.unlink(missing_ok=True)
        give_back_freed()


Streamed = tuple[dict[str, Any], str, str]  # header, SHA-256 of the bytes parsed, reader


def _native_stream(path: Path, tmp: Path) -> Streamed | None:
    got = read_native_arrow(path, tmp)
    return None if got is None else (got[0], got[1].sha256, got[1].reader)


def _llmc_stream(path: Path, tmp: Path) -> Streamed | None:
    head = stream_llmc(path, tmp)
    return None if head is None else (head, head.pop("sha256"), "llm-comparator stream")


def _streams(path: Path, fmt: str | None, declined: list[str]):
    """(format, reader) of each streamed reader that may take ``path`` (read as ``fmt``) and
    has not ``declined`` it: straight from the file's bytes into an IPC file, hashing what it
    parses."""
    if fmt in (None, "native") and "native" not in declined:
        yield "native", _native_stream
    if fmt in (None, "llm-comparator") and "llm-comparator" not in declined and \
            path.suffix.lower() != ".jsonl" and looks_like_document(path):
        yield "llm-comparator", _llmc_stream


_LOCK = threading.Lock()
_PENDING: dict[Path, tuple[pa.Table, dict[str, Any]]] = {}
_THREADS: list[threading.Thread] = []


def flush() -> None:
    """Wait until every cache file being written is written."""
    while _THREADS:
        _THREADS.pop().join()


def _write_meta(meta: Path, info: dict[str, Any]) -> None:
    """The entry's header, with the checksum of its body as written (checked at each open)."""
    info["checksum"] = file_checksum(meta.with_suffix(".arrow"))
    tmp = temp_name(meta)
    tmp.write_text(schema.to_json(info))
    tmp.replace(meta)
    _evict(meta.with_suffix(".arrow"))


def _evict(keep: Path) -> None:
    """Drop the least recently used cache entries beyond ``COMPARATOR_STORE_MAX_GB`` (default
    20; an entry in use stays readable: its file is mapped)."""
    limit = settings().store_max_gb * (1 << 30)
    entries = []
    for arrow in keep.parent.glob("*.arrow"):
        meta = _meta_path(arrow)
        try:
            entries.append((meta.stat().st_mtime if meta.exists() else 0.0,
                            arrow.stat().st_size, arrow))
        except OSError:
            continue
    total = sum(size for _, size, _ in entries)
    for _, size, arrow in sorted(entries):
        if total <= limit:
            break
        if arrow != keep:
            arrow.unlink(missing_ok=True)
            _meta_path(arrow).unlink(missing_ok=True)
            total -= size


def _save(table: pa.Table, arrow: Path, meta: Path, info: dict[str, Any]) -> None:
    """Write the cache entry (the table, then its header): a failure only costs the cache."""
    tmp = temp_name(arrow)
    try:
        arrow.parent.mkdir(parents=True, exist_ok=True)
        write_ipc(table, tmp)
        tmp.replace(arrow)
        _write_meta(meta, info)
    except (OSError, Doubt, InputError):
        pass
    finally:
        tmp.unlink(missing_ok=True)
        with _LOCK:
            _PENDING.pop(arrow, None)


def _loaded(table: pa.Table, info: dict[str, Any], path: Path, sha: str,
            cached: bool = False) -> Loaded:
    keys = info.get("metadata_keys")  # recorded by a reader that saw them (a list of names)
    if not (type(keys) is list and all(type(k) is str for k in keys)):
        keys = None
    comp = comparison(Store(table, metadata_keys=keys), {k: info[k] for k in schema.HEAD_KEYS})
    comp.metadata = dict(comp.metadata)
    warnings = list(info.get("warnings", []))
    if not table.num_rows and "no examples" not in warnings:
        warnings.append("no examples")
    out = Loaded(comp, info["format"], warnings, path)
    out.sha256 = sha  # type: ignore[attr-defined]
    out.reader = info.get("reader", "")  # type: ignore[attr-defined]  # how it was first read
    out.cached = cached  # type: ignore[attr-defined]
    return out


def _build(path: Path, fmt: str | None, options: LoadOptions | None, arrow: Path, sha: str,
           inputs: dict[str, str], tried: list[str]) -> tuple[dict[str, Any], pa.Table | None]:
    """Read ``path``: its header info, and its table (None when a reader of ``_streams`` wrote
    it straight into the cache file ``arrow``). The bytes parsed are those hashed for the key:
    ``sha`` for the file, ``inputs`` for the files read beside it; ``keyed`` is False when the
    reader read a file the key does not cover (then the table is not cached)."""
    for name, read in _streams(path, fmt, tried) if _plain(options) else ():
        got = _streamed(arrow, partial(read, path))
        if got is not None:
            head, digest, reader = got
            if digest != sha:
                arrow.unlink(missing_ok=True)  # another file's table: never under this key
                raise InputError(path, "the file changed while it was being read: open it "
                                 "again once it is no longer being written")
            return {**head, "format": name, "warnings": [], "reader": reader}, None
    data = read_file(path)  # the bytes parsed are the bytes hashed (the cache's key)
    if hashlib.sha256(data).hexdigest() != sha:
        raise InputError(path, "the file changed while it was being read: open it again once "
                         "it is no longer being written")
    with recording() as reads:
        loaded = load(path, fmt, options, data=data)
    reads.pop(str(path.resolve()), None)
    for read, digest in reads.items():
        if read in inputs and inputs[read] != digest:
            raise InputError(read, "changed while it was being read: open the file again once "
                             "it is no longer being written")
    comp = loaded.comparison
    info = {**schema.header(comp), "format": loaded.format, "warnings": loaded.warnings,
            "reader": f"importer ({loaded.format})", "keyed": reads.keys() <= inputs.keys()}
    return info, schema.table(comp.examples)


def _streamed(arrow: Path, read) -> Any:
    """``read(tmp)`` streams a file into the IPC file ``tmp``: moved to ``arrow`` when it
    returns a header; None when it declines or the cache cannot be written (then the file is
    read into memory)."""
    tmp = temp_name(arrow)
    try:
        arrow.parent.mkdir(parents=True, exist_ok=True)
        head = read(tmp)
        if head is not None:
            tmp.replace(arrow)
        return head
    except OSError:
        return None
    finally:
        tmp.unlink(missing_ok=True)


def write_ipc(table: pa.Table, path: Path) -> None:
    with ipc.new_file(str(path), table.schema) as w:
        w.write_table(table, max_chunksize=16384)


def _is_parquet(path: Path) -> bool:
    try:  # a named pipe never blocks here (check_file refuses it with a message)
        fd = open_regular(path)
    except InputError:
        return False
    with os.fdopen(fd, "rb") as f:
        return f.read(4) == b"PAR1"


def _open_parquet(path: Path) -> Loaded:
    buf = map_file(path)  # the bytes read are the bytes hashed
    try:
        table = pq.read_table(pa.BufferReader(buf))
        info = orjson.loads((table.schema.metadata or {})[PARQUET_META])
    except (pa.ArrowInvalid, OSError, KeyError, orjson.JSONDecodeError) as e:
        raise InputError(path, "not a Parquet file written by comparator (convert --to "
                         f"parquet writes one): {e}") from None
    missing = [n for n, _ in schema.FIXED if n not in table.column_names]
    if missing:
        raise InputError(path, f"Parquet file lacks columns {', '.join(missing)}")
    table = schema.without_chars(table)  # not trusted: the store counts them when read
    return _loaded(table.replace_schema_metadata(None), {**info, "format": "parquet"}, path,
                   hashlib.sha256(memoryview(buf)).hexdigest())


def write_parquet(loaded: Loaded, path: str | Path) -> None:
    """The comparison as one Parquet file (our store's layout; the header in its metadata)."""
    comp = loaded.comparison
    table = store_for(comp).table
    table = schema.without_chars(table)
    table = table.replace_schema_metadata({PARQUET_META: orjson.dumps(schema.header(comp))})
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, row_group_size=65536)
    tmp.replace(path)
