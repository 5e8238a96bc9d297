"""The one open every file the product reads goes through (the judged file, the files beside it
that its content names, ``--questions``, ``--rubric``, ratings, prompt sets, cache files).

``open_regular(path, within=...)`` resolves ``path`` (symbolic links followed), checks the real
path, opens it without following a link swapped in since and without waiting (a named pipe
never blocks), and keeps it only if it is a regular file that is still where it was checked.
Two rules are checked at the time of every read, never once per session:

- a *policy* of allowed folders, when one is in force (the dashboard sets one for each run of
  its script, ``confine``; the CLI reads what its user names, and sets none);
- ``within``: a file named by another file's content (MT-Bench's ``model_answer/<model_1>``,
  Arena-Hard's baseline) must lie inside that file's folder tree, so a name like
  ``../../../elsewhere/x`` or a linked sibling pointing outside is refused.

A refusal names the file and never quotes its content (it was not read).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from comparator.schema.errors import InputError
from comparator.schema.settings import APP_DATA, allowed_dirs, data_dir, may

# per thread, not a ContextVar: Streamlit runs a page's code in another context than the
# script that set it, on the same thread
_POLICY = threading.local()
_KINDS = {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device",
          stat.S_IFBLK: "a device"}
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | \
    getattr(os, "O_CLOEXEC", 0)


def _resolved(dirs: Iterable[str | Path]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(Path(d).expanduser().resolve() for d in dirs))


SHARED = ("store", "ratings")  # what every user's pages read in the data dir (the columnar
# cache, keyed by content; the ratings of a comparison, one file per rater)


def server_dirs() -> list[Path]:
    """The folders the dashboard reads from: those a link may open (``allowed_dirs``) and its
    own (the user data dir: uploads, runs, caches; the app's ``data/``: demos). On a team
    server, someone without the ``paths`` grant reads their own folders (``allowed_dirs``) and
    the shared caches, never another person's folder."""
    if not may("paths"):
        return [*allowed_dirs(), *(data_dir() / d for d in SHARED)]
    return [*allowed_dirs(), data_dir(), APP_DATA]


def confine(dirs: Iterable[str | Path]) -> None:
    """From now on, on this thread (a Streamlit script run's), read only files inside ``dirs``
    (resolved)."""
    _POLICY.dirs = _resolved(dirs)


@contextmanager
def confined(dirs: Iterable[str | Path] | None) -> Iterator[None]:
    """Reads on this thread inside the block are confined to ``dirs`` (None: no policy)."""
    before = policy()
    _POLICY.dirs = None if dirs is None else _resolved(dirs)
    try:
        yield
    finally:
        _POLICY.dirs = before


def policy() -> tuple[Path, ...] | None:
    """The folders reads on this thread are confined to, or None."""
    return getattr(_POLICY, "dirs", None)


@contextmanager
def recording() -> Iterator[dict[str, str]]:
    """The files read whole (``note_read``) on this thread inside the block: real path ->
    SHA-256 of the bytes read (the store compares them with those its cache key was made of)."""
    before = getattr(_POLICY, "reads", None)
    _POLICY.reads = reads = {}
    try:
        yield reads
    finally:
        _POLICY.reads = before


def note_read(path: str | Path, data: bytes) -> None:
    """Record a whole file's bytes when ``recording``."""
    reads = getattr(_POLICY, "reads", None)
    if reads is not None:
        reads[str(Path(path).resolve())] = hashlib.sha256(data).hexdigest()


def os_error(path: str | Path, e: OSError) -> InputError:
    """An OSError as a one-line InputError naming ``path``."""
    if e.errno == errno.ENOENT:
        return InputError(path, "no such file")
    if e.errno == errno.ELOOP:
        return InputError(path, "a symbolic link loop, or a link put in place while it was "
                          "opened: point the link at a file")
    if e.errno in (errno.EACCES, errno.EPERM):
        return InputError(path, "permission denied: check the file's permissions")
    if e.errno == errno.EISDIR:
        return InputError(path, "is a folder; give a file")
    if e.errno == errno.ENAMETOOLONG:
        return InputError(path, "the name is longer than this system allows (255 bytes a "
                          "name, 4096 a path): rename the file or move it to a shorter path")
    return InputError(path, f"cannot read it ({e.strerror or e})")


def _check(path: str | Path, real: Path, within: Path | None) -> None:
    if within is not None:
        root = Path(within).resolve()
        if not real.is_relative_to(root):
            raise InputError(path, f"lies outside {root}, the folder of the file that names it "
                             "(a '..' in a name, or a link pointing elsewhere): a file named "
                             "by another file's content must be inside that file's folder; "
                             "copy it there")
    dirs = policy()
    if dirs is not None and not any(real.is_relative_to(d) for d in dirs):
        raise InputError(path, "not in a folder this server may open files from ("
                         + ", ".join(map(str, dirs)) + "); set COMPARATOR_DATA_DIRS")


def named_file(root: str | Path, name: str | Path) -> Path | None:
    """``root/name`` when it exists, None when it does not; InputError when it would lie outside
    ``root`` (a ``..`` in ``name``, a link pointing elsewhere), whether or not it exists: a name
    read from a file's content never tells what lies outside its folder."""
    path = Path(root) / name
    try:
        _check(path, path.resolve(), Path(root))
        return path if path.exists() else None
    except (OSError, ValueError) as e:  # a name too long, a NUL byte in it
        if isinstance(e, InputError):
            raise
        raise (os_error(path, e) if isinstance(e, OSError) else
               InputError(path, f"not a file name ({e})")) from None


def _opened_path(fd: int) -> Path | None:
    """Where the open file really is (Linux), whatever was swapped on the way."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None


def open_regular(path: str | Path, *, within: str | Path | None = None) -> int:
    """A read-only descriptor of ``path`` if it is a regular file that the rules above allow;
    else InputError naming it. A folder, named pipe, socket or device is refused without
    blocking or reading."""
    try:
        real = Path(path).expanduser().resolve(strict=True)
    except (OSError, RuntimeError) as e:
        raise (os_error(path, e) if isinstance(e, OSError) else
               InputError(path, "a symbolic link loop: point the link at a file")) from None
    _check(path, real, within)
    try:  # the real path, no link followed: a link put there since is refused (ELOOP)
        fd = os.open(real, _FLAGS)
    except OSError as e:
        raise os_error(path, e) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            if stat.S_ISDIR(mode):
                raise InputError(path, "is a folder; give a file")
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise InputError(path, f"is {kind}, not a file: save the data to a file first")
        opened = _opened_path(fd)
        if opened is not None and opened != real:  # a folder on the way swapped meanwhile
            _check(path, opened, within)
        return fd
    except BaseException:
        os.close(fd)
        raise


def open_binary(path: str | Path, *, within: str | Path | None = None):
    """``open_regular`` as a buffered binary file object (close it, or use ``with``)."""
    return os.fdopen(open_regular(path, within=within), "rb")
