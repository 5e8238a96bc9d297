"""Files brought onto this server's disk: URLs downloaded (only under the allowed prefixes, see
``comparator.schema.settings.allowed_url``) and browser uploads, each streamed in 1 MiB chunks
through the one atomic writer (``comparator.schema.atomic``), never held whole in memory."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import re
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from comparator.schema.atomic import AtomicFile
from comparator.schema.redact import public_url, redact, url_secrets
from comparator.schema.settings import (
    MAX_BYTES_ENV,
    SECONDS_ENV,
    allowed_path,
    allowed_url,
    settings,
    user_dir,
)

CHUNK = 1 << 20
TIMEOUT_S = 30  # per connection attempt and per read; the whole download: SECONDS_ENV


def safe_name(name: str, default: str = "file") -> str:
    """A file name made of letters, digits, ``._-`` only (no folders, no leading dot)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePosixPath(str(name).replace("\\", "/")).name)
    suffix = PurePosixPath(base).suffix[:16]
    base = base[:len(base) - len(PurePosixPath(base).suffix)][:90] + suffix
    if base.strip("._") == "":
        return default
    return "_" + base if base.startswith(".") else base


def looks_like_url(text: str) -> bool:
    """Whether the Data page's "Path or URL" text is a URL (any ``scheme://``), not a path."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text.strip()) is not None


def _copy(src: BinaryIO, out: AtomicFile, limit: int | None = None, what: str = "",
          check: Callable[[], None] | None = None) -> tuple[str, int]:
    """Stream ``src`` into ``out``: (SHA-256, size). ValueError past ``limit`` bytes; ``check``
    runs after every read (a deadline)."""
    sha, size = hashlib.sha256(), 0
    read = getattr(src, "read1", src.read)  # what has arrived, not a full 1 MiB at a time
    while chunk := read(CHUNK):
        size += len(chunk)
        if limit is not None and size > limit:
            raise ValueError(f"{what}: larger than {limit:,} bytes ({MAX_BYTES_ENV})")
        sha.update(chunk)
        out.file.write(chunk)
        if check:
            check()
    if check:
        check()
    return sha.hexdigest(), size


def write_stream(fileobj: BinaryIO, path: Path) -> Path:
    """``fileobj`` from its start written to ``path`` in chunks, all or nothing (its folder
    made first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fileobj.seek(0)
    with AtomicFile(path) as out:
        _copy(fileobj, out)
    return path


def save_upload(fileobj: BinaryIO, name: str) -> tuple[Path, str]:
    """An uploaded file copied to ``user_dir()/uploads/<sha256[:16]>-<name>`` (the uploader's
    own folder): (path, SHA-256 of its bytes). The same content under the same name is the
    same file."""
    folder = user_dir() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    fileobj.seek(0)
    with AtomicFile(folder / safe_name(name)) as out:
        sha, _ = _copy(fileobj, out)
        path = out.commit(folder / f"{sha[:16]}-{safe_name(name)}")
    return path, sha


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a URL that is itself allowed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            allowed_url(newurl)
        except ValueError as e:
            raise ValueError(f"{public_url(req.full_url)}: redirected to a URL this server may "
                             f"not open ({redact(str(e))})") from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _TooSlow(Exception):
    """The download's deadline passed."""


class _Deadline:
    """The whole download's deadline: when it passes, every connection of the download is shut
    down, which ends a read that is waiting (a server sending a byte now and then) at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.expired = seconds, False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for s in self._socks:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)
        if self.expired:
            self._expire()

    def cancel(self) -> None:
        self._timer.cancel()

    def check(self) -> None:
        if self.expired:
            raise _TooSlow


def _watched(base: type, deadline: _Deadline) -> type:
    """``base`` (an http.client connection class) whose socket ``deadline`` can shut down."""

    class Watched(base):
        def connect(self) -> None:
            super().connect()
            deadline.add(self.sock)

    return Watched


class _HTTP(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(_watched(http.client.HTTPConnection, self.deadline), req)


class _HTTPS(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(_watched(http.client.HTTPSConnection, self.deadline), req,
                            context=self._context)


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    """http(s) only: no file://, ftp:// or data: handlers, no proxies from the environment."""
    opener = urllib.request.OpenerDirector()
    for handler in (_HTTP(deadline), _HTTPS(deadline), _Redirects(),
                    urllib.request.HTTPDefaultErrorHandler(),
                    urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def download_path(url: str) -> Path:
    name = safe_name(unquote(urlsplit(url).path), default="download")
    return user_dir() / "downloads" / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{name}"


def download(url: str) -> Path:
    """Download an allowed URL to ``user_dir()/downloads``: streamed, all or nothing (no partial
    file is ever left under the name), size-capped by ``COMPARATOR_URL_MAX_BYTES`` (default
    8 GiB), the whole of it within ``COMPARATOR_URL_SECONDS`` (default 15 minutes), refused when
    shorter than its Content-Length; ValueError with what to do otherwise."""
    try:
        url = allowed_url(url)
    except ValueError as e:
        raise ValueError(redact(str(e))) from None  # the URL shown without its user info
    shown, hidden = public_url(url), url_secrets([url])
    limit, seconds = settings().url_max_bytes, settings().url_seconds
    path = download_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    req = urllib.request.Request(url, headers={"User-Agent": "comparator"})
    deadline = _Deadline(seconds)
    try:
        with _opener(deadline).open(req, timeout=min(TIMEOUT_S, seconds)) as resp, \
                AtomicFile(path) as out:
            final = resp.geturl()
            if final != url:
                allowed_url(final)
            length = resp.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() and not resp.chunked else None
            if expected is not None and expected > limit:
                raise ValueError(f"{shown}: {expected:,} bytes, larger than {limit:,} "
                                 f"({MAX_BYTES_ENV})")
            _, size = _copy(resp, out, limit, shown, deadline.check)
            if expected is not None and size < expected:
                raise ValueError(f"{shown}: the server sent {size:,} of the {expected:,} bytes "
                                 "its Content-Length announced (the connection ended early); "
                                 "nothing was saved: try again")
    except urllib.error.HTTPError as e:
        if 300 <= e.code < 400:  # urllib gives up on a loop, or after 10 redirects
            raise ValueError(f"{shown}: the server redirects in a loop (or more than "
                             f"{_Redirects.max_redirections} times); check the URL, or give "
                             "the address it finally serves the file from") from None
        raise ValueError(f"{shown}: the server answered {e.code} {e.reason}; check the URL"
                         ) from None
    except (_TooSlow, OSError, http.client.HTTPException, urllib.error.URLError) as e:
        if deadline.expired:
            raise ValueError(f"{shown}: the download took longer than {seconds:g} s "
                             f"({SECONDS_ENV}); nothing was saved: try again, or raise "
                             f"{SECONDS_ENV}") from None
        if isinstance(e, urllib.error.URLError):
            raise ValueError(f"{shown}: cannot reach it ({redact(str(e.reason), hidden)}); "
                             "check the URL and the network") from None
        raise ValueError(f"{shown}: the download failed ({redact(str(e), hidden)}); try again"
                         ) from None
    finally:
        deadline.cancel()
    return path


def fetch_location(text: str) -> Path:
    """The Data page's "Path or URL": an allowed URL downloaded, or an allowed file path
    (``comparator.schema.settings.allowed_path``); ValueError with a message otherwise."""
    text = text.strip()
    if not text:
        raise ValueError("type a file path or an http(s) URL first")
    return download(text) if looks_like_url(text) else allowed_path(text)

