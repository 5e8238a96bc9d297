"""The C heap of a process that reads large files: one arena, its freed pages handed back.

A streamed read allocates and frees a few hundred megabytes of blocks (the scan's buffers,
each block's columns) in the thread that scans, the one that writes and the main one. glibc
keeps what is freed for later use, and gives each new thread an arena of its own. After
reading a million LLM Comparator examples the process held about 80 MB more than before the
read, for its whole life, under the statistics that follow an open: half in the main arena,
which ``malloc_trim`` hands back (``cache._read_once`` calls it after every streamed read),
half in the reading threads' arenas, which it did not. The command line therefore starts with
``share_one_arena`` (``M_ARENA_MAX`` = 1, set before any thread exists; the threads'
allocations are large blocks, and the open's time did not move). Elsewhere (macOS, musl)
neither call exists and nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache
from typing import Any

M_ARENA_MAX = -8  # mallopt's parameter (malloc.h)


@cache
def _glibc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


def share_one_arena() -> None:
    """Threads allocate from the main arena (glibc; only threads that have not allocated yet,
    so call it before starting any); else nothing."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, 1)


def give_back_freed() -> None:
    """Return the free pages of the C heap's arenas to the system (glibc); else nothing."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
