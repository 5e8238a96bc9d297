"""Output files that grow as work finishes and resume after a crash: a header line, then one
JSON line per finished item, appended and flushed at once. Shared by generation and judging.

One writer at a time: ``resume`` (while it compacts the file) and ``drain`` (while it appends)
hold an exclusive ``flock`` on ``OUT.lock``; a second process (or a second run in the app) on
the same output is refused with a message instead of interleaving lines. The lock file stays
(removing it would race); the kernel drops the lock when its holder exits, even by kill -9."""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from comparator.formats.native import is_header
from comparator.schema.atomic import write_bytes
from comparator.schema.errors import InputError


@contextmanager
def exclusive(out: Path) -> Iterator[None]:
    """Hold the write lock of ``out`` (``OUT.lock``) or raise InputError at once."""
    lock = out.with_name(out.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(out, f"another run is writing this file right now ({lock.name} is "
                                  "locked); wait for it to finish or choose another output"
                             ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def resume(out: Path, header: dict, check: Callable[[dict], None],
           keep: Callable[[dict], bool]) -> set[str]:
    """Start ``out`` with ``header``, or keep the finished lines of an earlier run: ``check``
    raises InputError when the old header belongs to another run; lines that ``keep`` rejects
    (failed items) and a half-written last line are dropped. Returns the kept ids."""
    with exclusive(out):
        return _resume(out, header, check, keep)


def _resume(out: Path, header: dict, check: Callable[[dict], None],
            keep: Callable[[dict], bool]) -> set[str]:
    if not out.exists() or out.stat().st_size == 0:
        write_bytes(out, orjson.dumps(header) + b"\n")
        return set()
    lines = out.read_bytes().split(b"\n")
    try:
        old = orjson.loads(lines[0])
    except orjson.JSONDecodeError:
        old = None
    if not is_header(old):
        raise InputError(out, "exists and is not a comparator file; choose another -o", line=1)
    check(old)
    kept, done = [orjson.dumps(header)], set()
    for raw in lines[1:]:
        try:
            item = orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError:
            item = None  # the half-written last line of a killed run
        if item and item.get("id") not in done and keep(item):
            done.add(item["id"])
            kept.append(raw)
    write_bytes(out, b"\n".join(kept) + b"\n")  # all or nothing: a crash keeps the old file
    return done


async def drain(items: Iterable[Any], handle: Callable[[Any], Awaitable[dict]], out: Path,
                workers: int, cancel: threading.Event | None = None,
                after: Callable[[dict], None] | None = None,
                close: Iterable[Any] = ()) -> None:
    """``handle`` every item with ``workers`` concurrent workers, appending each returned line
    to ``out`` as soon as it is ready (flushed: a killed process loses no finished line).
    Then ``close()`` / ``await aclose()`` every object of ``close`` (caches, backends)."""
    queue: asyncio.Queue = asyncio.Queue()
    for it in items:
        queue.put_nowait(it)
    try:
        with exclusive(out), open(out, "ab") as f:

            async def worker() -> None:
                while not queue.empty():
                    if cancel is not None and cancel.is_set():
                        return
                    line = await handle(queue.get_nowait())
                    f.write(orjson.dumps(line) + b"\n")
                    f.flush()
                    if after:
                        after(line)

            try:
                await asyncio.gather(*(worker() for _ in range(max(1, workers))))
            finally:
                f.flush()
                os.fsync(f.fileno())
    finally:
        for obj in close:
            if hasattr(obj, "aclose"):
                await obj.aclose()
            else:
                obj.close()
