"""A cache body is checked before it is used, and rebuilt on any doubt.

The store's cache (``comparator.store.cache``) is an Arrow IPC file that is memory-mapped, not
parsed: a byte changed on disk (a bad sector, a tool, another user) would otherwise reach the
figures (an overwritten score) or crash the process (an offset past its buffer). So each entry's
header (``<entry>.json``) records a checksum of its body taken when it was written, and an open
maps the body and checks, in this order:

1. the checksum (xxHash3-128) over every byte of the file but the payload of its long texts:
   the IPC footer and batch headers, every offsets, validity and number buffer and the short
   strings (ids, categories, labels, judges), plus the first and last 4 KiB of each text
   payload. Hashing the whole payload too would touch every page of a GB file on each open
   (+15% on a cache hit, measured); a changed text byte cannot move a figure or an offset;
2. the schema: the store's fixed columns with their exact types, ``metadata`` and ``extra``
   each JSON text or a struct;
3. Arrow's full structural validation of the table with its texts viewed as bytes (offsets
   increasing and inside their buffers, child lengths: what makes reading it memory-safe even
   when the header was rewritten to match; the UTF-8 check of every text is what it skips);
4. ranges: scores finite and within [-1.5, 1.5], ids present, response lengths present and
   not negative.

``Doubt`` says which failed; the caller builds the entry again from the source file.
``sweep`` removes the temporary files of builds that were killed half-way.
"""

from __future__ import annotations

import logging
import mmap
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import xxhash

from comparator.formats.common import read_file
from comparator.schema.errors import InputError
from comparator.schema.files import open_regular
from comparator.schema.labels import SCORE_MAX, SCORE_MIN
from comparator.store import schema

log = logging.getLogger("comparator.store")
KIND = "xxh3_128-v1"  # what ``checksum`` computes; a header with another is rebuilt
_EDGE = 4096  # bytes hashed at each end of a text payload


class Doubt(Exception):
    """The cache body is not provably what was written: build it again."""


def map_file(path: Path) -> pa.Buffer:
    """The file's bytes, memory-mapped read-only (opened as every read is: a regular file, the
    read rules checked; a named pipe never blocks)."""
    with _mapped(path) as (buf, _):
        return buf


@contextmanager
def _mapped(path: Path) -> Iterator[tuple[pa.Buffer, int]]:
    """``map_file``'s mapping and the descriptor it was mapped from (open until the end)."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        yield (pa.py_buffer(mmap.mmap(fd, size, access=mmap.ACCESS_READ)) if size
               else pa.py_buffer(b"")), fd
    finally:
        os.close(fd)


def _open(buf: pa.Buffer) -> pa.Table:
    try:
        return ipc.open_file(pa.BufferReader(buf)).read_all()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OSError) as e:
        raise Doubt(f"not an Arrow IPC file ({e})") from None


def _texts(t: pa.DataType, bufs: list, i: int, out: list[pa.Buffer]) -> int:
    """Walk ``bufs`` (an array's buffers, depth first) by its type from index ``i``; the
    payloads of long texts go to ``out``; the index after this type's buffers."""
    if pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        if bufs[i + 2] is not None:
            out.append(bufs[i + 2])
        return i + 3
    if pa.types.is_string(t) or pa.types.is_binary(t):
        return i + 3
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _texts(t.value_type, bufs, i + 2, out)
    if pa.types.is_struct(t):
        i += 1
        for k in range(t.num_fields):
            i = _texts(t.field(k).type, bufs, i, out)
        return i
    if pa.types.is_null(t):
        return i + 1
    return i + 2  # a fixed-width value: validity, values


def checksum(buf: pa.Buffer, table: pa.Table, fd: int) -> str:
    """The checksum described above, of the IPC file ``buf`` read as ``table`` (zero-copy: its
    buffers lie inside ``buf``), mapped from ``fd``. The bytes are read through ``fd``, not
    the mapping: pages touched in a mapping count as the process's memory until it is
    closed (on a first open, the hash of the entry just written had cost up to its size)."""
    payloads: list[pa.Buffer] = []
    for col in table.columns:
        for chunk in col.chunks:
            bufs = chunk.buffers()
            if _texts(chunk.type, bufs, 0, payloads) != len(bufs):
                raise Doubt(f"unexpected buffers in a {chunk.type} column")
    base, end = buf.address, buf.address + buf.size
    spans = sorted((b.address - base, b.size) for b in payloads if b.size > 2 * _EDGE
                   and base <= b.address and b.address + b.size <= end)
    h = xxhash.xxh3_128()
    chunk = memoryview(bytearray(1 << 22))

    def update(pos: int, stop: int) -> None:  # the file's bytes pos..stop
        while pos < stop:
            got = os.preadv(fd, [chunk[:min(len(chunk), stop - pos)]], pos)
            if got <= 0:
                raise Doubt("the file is shorter than its mapping")
            h.update(chunk[:got])
            pos += got

    pos = 0
    for start, size in spans:  # hash what lies between payloads, and each payload's ends
        if start < pos:
            continue
        update(pos, start + _EDGE)
        pos = start + size - _EDGE
    update(pos, buf.size)
    h.update(b"%d" % buf.size)
    return f"{KIND}:{h.hexdigest()}"


def file_checksum(path: Path) -> str:
    """``checksum`` of an IPC file on disk (the cache writes it in the entry's header)."""
    with _mapped(path) as (buf, fd):
        return checksum(buf, _open(buf), fd)


def _free_ok(t: pa.DataType) -> bool:
    return t == schema.S or pa.types.is_struct(t)


def _bytes_view(t: pa.DataType) -> pa.DataType:
    """``t`` with every text type as bytes of the same layout (validated without UTF-8)."""
    if pa.types.is_large_string(t):
        return pa.large_binary()
    if pa.types.is_string(t):
        return pa.binary()
    if pa.types.is_list(t):
        f = t.value_field
        return pa.list_(pa.field(f.name, _bytes_view(f.type), f.nullable))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _bytes_view(f.type), f.nullable) for f in t])
    return t


def _in_range(values: pa.Array) -> bool:
    v = pc.drop_null(values)
    if not len(v):
        return True
    if not pc.all(pc.is_finite(v)).as_py():
        return False
    lo, hi = pc.min_max(v).values()
    return SCORE_MIN <= lo.as_py() and hi.as_py() <= SCORE_MAX


def check(table: pa.Table) -> None:
    """Schema, structure and ranges (2-4 above); Doubt names the first problem."""
    names = table.schema.names
    fixed = [n for n, _ in schema.FIXED]
    if names != [*fixed, *schema.FREE, *(n for n, _ in schema.CHARS)]:
        raise Doubt(f"columns {names} are not the store's")
    for name, type_ in [*schema.FIXED, *schema.CHARS]:
        if table.schema.field(name).type != type_:
            raise Doubt(f"column {name} is {table.schema.field(name).type}, not {type_}")
    for name in schema.FREE:
        if not _free_ok(table.schema.field(name).type):
            raise Doubt(f"column {name} is {table.schema.field(name).type}")
    for name, col in zip(names, table.columns):
        view = _bytes_view(col.type)
        for chunk in col.chunks:
            try:
                chunk.view(view).validate(full=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                raise Doubt(f"column {name}: {e}") from None
    if table.column("id").null_count:
        raise Doubt("an example without an id")
    if not _in_range(table.column("reported_score").combine_chunks()):
        raise Doubt("a reported score outside [-1.5, 1.5]")
    for chunk in table.column("judgments").chunks:
        if not _in_range(pc.struct_field(chunk.flatten(), "score")):
            raise Doubt("a judgment's score outside [-1.5, 1.5]")
    for name, _ in schema.CHARS:
        col = table.column(name)
        if col.null_count or (len(col) and pc.min(col).as_py() < 0):
            raise Doubt(f"a response length in {name} that is missing or negative")


def entry(arrow: Path, meta: Path) -> tuple[pa.Table, dict[str, Any]] | None:
    """A cache entry's verified table and header; None when there is none or it is in doubt
    (the caller builds it again, replacing it)."""
    if not (arrow.exists() and meta.exists()):
        return None
    try:
        info = orjson.loads(read_file(meta))
        return verified(arrow, info.get("checksum")), info
    except Doubt as e:
        log.warning("cache entry %s rebuilt: %s", arrow.name, e)
    except (OSError, InputError, orjson.JSONDecodeError, AttributeError):
        pass  # unreadable: build it again
    return None


def verified(path: Path, expected: str | None) -> pa.Table:
    """The cache body at ``path`` as a table, if its checksum is ``expected`` and it passes
    ``check``; else Doubt."""
    if not expected or not expected.startswith(KIND + ":"):
        raise Doubt("no checksum of the kind this version writes")
    with _mapped(path) as (buf, fd):
        table = _open(buf)
        if checksum(buf, table, fd) != expected:
            raise Doubt("the checksum differs: the file changed since it was written")
    check(table)
    return table


_TMP = re.compile(r"\.(\d+)-\d+\.tmp$")  # <name>.<pid>-<thread>.tmp, reading.<pid>-<thread>.tmp


def temp_name(path: Path) -> Path:
    """Where this thread writes ``path`` before renaming it over (``sweep`` removes it if the
    process dies first)."""
    return path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


def sweep(store: Path) -> int:
    """Remove the temporary files of builds whose process is gone (killed half-way); the
    number removed. A file of a live process, or not named as ours, is left alone."""
    removed = 0
    for folder in (store, store / "seen"):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            m = _TMP.search(name)
            if m and _gone(int(m[1])):
                try:
                    (folder / name).unlink()
                    removed += 1
                except OSError:
                    pass
    if removed:
        log.info("removed %d temporary files of killed builds from %s", removed, store)
    return removed
