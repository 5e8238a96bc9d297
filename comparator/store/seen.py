"""What the store remembers of a file it opened: a hint under ``<data dir>/store/seen/``, named
by the file's size and first MiB, holding its SHA-256 and, when the file did not change while
it was read, its identity and state as the file system keeps them (device, inode, size,
modification and change times).

The hint says which cache entry the file's bytes built, so that a copy, a link or the same file
again is hashed first (a cache hit) rather than hashed while parsed. A file that is the very one
hashed before, unchanged since, is not hashed again: the kernel sets a file's change time
(``ctime``) on every write, rename or change of its times, and no user can set it back. That is
how git and make tell a changed file; like git's "racy" rule, a file changed less than
``SETTLE_NS`` before it was hashed is hashed again at every open (timestamps are coarse on some
file systems), and so is any file whose state differs in one number. A different file with the
same name, a copy or a replaced file has another inode or change time: it is hashed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from comparator.formats.common import read_file
from comparator.schema.errors import InputError
from comparator.schema.files import open_binary
from comparator.schema.settings import data_dir
from comparator.store.verify import temp_name

FINGERPRINT = 1 << 20  # the bytes of a file's head that, with its size, recall its hash
SETTLE_NS = 2_000_000_000  # a file changed this close to its hashing is hashed every time


def state(st: os.stat_result) -> list[int]:
    """A file's identity and state: device, inode, size, modified and changed (ns)."""
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


@dataclass
class Seen:
    """A file as found now (``fingerprint``, ``state``) and what the hint recalls: ``sha256``
    of a file with that fingerprint opened before; ``trusted`` when it is this very file,
    unchanged since it was hashed (its SHA-256 is then known without reading it)."""

    fingerprint: str | None = None
    state: list[int] | None = None
    sha256: str | None = None
    trusted: bool = False


def look(path: Path) -> Seen:
    """The file's fingerprint and state, and the hint of a file seen before with them."""
    try:
        with open_binary(path) as f:
            head = f.read(FINGERPRINT)
            st = os.fstat(f.fileno())
    except (OSError, InputError):
        return Seen()
    seen = Seen(hashlib.sha256(b"%d\n" % st.st_size + head).hexdigest()[:32], state(st))
    try:
        hint = orjson.loads(read_file(_hint_path(seen.fingerprint)))
        seen.sha256 = str(hint["sha256"])
    except (OSError, InputError, orjson.JSONDecodeError, KeyError, TypeError):
        return seen
    since = hint.get("since")
    seen.trusted = hint.get("state") == seen.state and type(since) is int and \
        max(st.st_mtime_ns, st.st_ctime_ns) + SETTLE_NS <= since
    return seen


def remember(seen: Seen, sha: str, path: Path, since: int) -> None:
    """Keep the hint: ``sha`` is the SHA-256 of the file's bytes as read from ``since`` (ns,
    taken before the read began); its state is kept only if the file's state after the read
    is still the one ``look`` found (nothing wrote to it, renamed or replaced it meanwhile)."""
    if seen.fingerprint is None:
        return
    hint: dict[str, object] = {"sha256": sha}
    try:
        if state(os.stat(path)) == seen.state:
            hint.update(state=seen.state, since=since)
        target = _hint_path(seen.fingerprint)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(target)
        tmp.write_bytes(orjson.dumps(hint))
        tmp.replace(target)
    except OSError:
        pass  # only a hint


def _hint_path(fingerprint: str) -> Path:
    return data_dir() / "store" / "seen" / f"{fingerprint}.json"
