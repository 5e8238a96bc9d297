"""The one writer of every file the product writes for the user (exports, reports, CSV,
downloads, uploads, run files): all or nothing, and never over something it must not replace.

``atomic_write(path)`` streams into a temporary file of its own in the target's folder
(``.NAME.<random>.<pid>.part``: unique, so two writers of one output never share it, and a file
of the user's called ``NAME.tmp`` is never touched), flushes and fsyncs it, renames it over the
target in one step (``os.replace``) and fsyncs the folder. On any error (a full disk, an
exception half-way) the temporary file is removed and the old target is left as it was. Before
anything is written the target is refused when it is one of the command's inputs
(``report IN -o IN``) or exists and is not a regular file (a device such as ``/dev/null``, a
FIFO, a folder). A symlinked target is followed: the file it points to is replaced. Temporary
files left by a killed writer (its process gone) are removed by the next write to that folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any

from comparator.schema.errors import InputError

PART = ".part"
_OURS = re.compile(r"^\..+\.[a-z0-9_]{8}\.(\d{1,10})\.part$")  # mkstemp's 8 random letters
_INPUTS: ContextVar[tuple[str, ...]] = ContextVar("comparator_inputs", default=())
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))
_FULL = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
         errno.EFBIG: "the file is larger than this system allows"}


class OutputError(InputError):
    """An output that cannot or may not be written: one line naming it and what to do."""


@contextlib.contextmanager
def protected(paths: Iterable[str | Path | None]) -> Iterator[None]:
    """While inside, no write may replace one of ``paths`` (the inputs of a command)."""
    token = _INPUTS.set(_INPUTS.get() + tuple(str(p) for p in paths if p))
    try:
        yield
    finally:
        _INPUTS.reset(token)


def check_target(path: str | Path, inputs: Iterable[str | Path | None] = ()) -> Path:
    """The file ``path`` names (a symlink followed), if it may be written: OutputError when it
    is one of ``inputs`` (or of the ``protected`` ones), exists and is not a regular file (or
    is read-only), or its folder does not exist."""
    path = Path(path)
    real = Path(os.path.realpath(path))
    for inp in (*(str(p) for p in inputs if p), *_INPUTS.get()):
        if real == Path(os.path.realpath(inp)) or _same_file(real, inp):
            raise OutputError(path, f"is an input of this command ({inp}); choose another "
                              "output file: the input is left unchanged")
    try:
        st = os.stat(real)
    except FileNotFoundError:
        if not real.parent.is_dir():
            raise OutputError(path, f"the folder {real.parent} does not exist; create it or "
                              "choose another output file") from None
        return real
    except OSError as e:
        raise OutputError(path, f"cannot be checked ({e.strerror}); choose another output "
                          "file") from None
    for test, kind in _KINDS:
        if test(st.st_mode):
            raise OutputError(path, f"is {kind}, not a regular file, and is not replaced; "
                              "choose a file path for the output")
    if not os.access(real, os.W_OK):  # a rename could replace it, but its owner said no
        raise OutputError(path, "is read-only and is not replaced; make it writable or choose "
                          "another output file")
    return real


def _same_file(real: Path, other: str) -> bool:
    try:
        return os.path.samefile(real, other)
    except OSError:
        return False


class AtomicFile:
    """A temporary file beside ``path`` that becomes ``path`` on ``commit`` (see the module).
    ``file`` is open in ``mode`` ("wb", or "w" with ``encoding`` / ``newline``)."""

    def __init__(self, path: str | Path, mode: str = "wb", *,
                 inputs: Iterable[str | Path | None] = (), encoding: str | None = None,
                 newline: str | None = None) -> None:
        self.path, self.inputs = Path(path), tuple(inputs)
        self.target = check_target(self.path, self.inputs)
        folder = self.target.parent
        sweep(folder)
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=f".{os.getpid()}{PART}",
                                       prefix=f".{self.target.name[:80]}.")
        except OSError as e:
            raise _failed(self.path, e) from None
        self.tmp, self.done = Path(tmp), False
        raw = os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding=encoding,
                                                                 newline=newline)
        self.file: IO[Any] = _Named(raw, self.path)  # type: ignore[assignment]

    def commit(self, to: str | Path | None = None) -> Path:
        """Make the written bytes the target (``to``: another name in the same folder, known
        only now, e.g. from a hash of the content); the target's path."""
        path = Path(to) if to is not None else self.path
        try:
            target = check_target(path, self.inputs) if to is not None else self.target
            if self.file.closed:  # written by name (``atomic_path``)
                _fsync_path(self.tmp)
            else:
                self.file.flush()
                os.fsync(self.file.fileno())
                self.file.close()
            os.chmod(self.tmp, _mode_for(target))
            os.replace(self.tmp, target)
        except OSError as e:
            self.discard()
            raise _failed(path, e) from None
        except BaseException:
            self.discard()
            raise
        self.done = True
        _sync_folder(target.parent)
        return target

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: type | None, err: BaseException | None, tb: Any) -> None:
        if kind is None:
            if not self.done:
                self.commit()
            return
        self.discard()

    def discard(self) -> None:
        """Drop what was written; the target stays as it was."""
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb", *,
                 inputs: Iterable[str | Path | None] = (), encoding: str | None = "utf-8",
                 newline: str | None = None) -> Iterator[IO[Any]]:
    """``with atomic_write(path) as f: f.write(...)``: ``path`` replaced by what was written when
    the block ends without an error, else left as it was (a failed write or rename raises
    OutputError naming it; any other error passes through)."""
    with AtomicFile(path, mode, inputs=inputs, encoding=encoding, newline=newline) as out:
        yield out.file


@contextlib.contextmanager
def atomic_path(path: str | Path, *, inputs: Iterable[str | Path | None] = ()
                ) -> Iterator[Path]:
    """For a library that writes a file by name (pyarrow): the temporary file's path to write;
    it becomes ``path`` when the block ends without an error, as ``atomic_write``."""
    with AtomicFile(path, "wb", inputs=inputs) as out:
        out.file.close()
        yield out.tmp


def write_bytes(path: str | Path, data: bytes,
                inputs: Iterable[str | Path | None] = ()) -> Path:
    """``data`` as the whole of ``path``, atomically."""
    with atomic_write(path, "wb", inputs=inputs) as f:
        f.write(data)
    return Path(path)


class _Named:
    """A file whose failed writes (a full disk) raise OutputError naming the target."""

    def __init__(self, f: IO[Any], path: Path) -> None:
        self._f, self._path = f, path

    def write(self, data: Any) -> int:
        try:
            return self._f.write(data)
        except OSError as e:
            raise _failed(self._path, e) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


def _failed(path: Path, e: OSError) -> OutputError:
    full = _FULL.get(e.errno or 0)
    todo = "free some space" if full else "check the folder's permissions"
    return OutputError(path, f"cannot be written ({full or e.strerror or e}); nothing was "
                       f"changed (a previous file there is kept as it was): {todo} or choose "
                       "another output file")


def _mode_for(target: Path) -> int:
    """The permission bits of the file being replaced, else those a new file gets (umask)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux: read without changing it (os.umask would, for a moment, for every thread)
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """fsync the folder, so the rename itself survives a power cut (where the system allows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sweep(folder: Path) -> int:
    """Remove the temporary files of writers in ``folder`` whose process is gone (killed half-way
    through); the number removed."""
    removed = 0
    try:
        names = [e.name for e in os.scandir(folder) if e.name.endswith(PART)]
    except OSError:
        return 0
    for name in names:
        m = _OURS.match(name)
        if m and not _alive(int(m[1])):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
                removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
