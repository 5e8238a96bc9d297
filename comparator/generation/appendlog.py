"""Output files that grow as work finishes and resume after a crash: a header line, then one
JSON line per finished item, appended and flushed at once. Shared by generation and judging."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from comparator.io.errors import InputError
from comparator.io.native import is_header


def resume(out: Path, header: dict, check: Callable[[dict], None],
           keep: Callable[[dict], bool]) -> set[str]:
    """Start ``out`` with ``header``, or keep the finished lines of an earlier run: ``check``
    raises InputError when the old header belongs to another run; lines that ``keep`` rejects
    (failed items) and a half-written last line are dropped. Returns the kept ids."""
    if not out.exists() or out.stat().st_size == 0:
        out.write_bytes(orjson.dumps(header) + b"\n")
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
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(b"\n".join(kept) + b"\n")
    tmp.replace(out)
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
    with open(out, "ab") as f:

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
            for obj in close:
                if hasattr(obj, "aclose"):
                    await obj.aclose()
                else:
                    obj.close()
