"""Files brought onto this server's disk: URLs downloaded (only under the allowed prefixes, see
``comparator.schema.settings.allowed_url``) and browser uploads, each streamed in 1 MiB chunks
through a temporary file renamed into place, never held whole in memory."""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import tempfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from comparator.schema.settings import (
    MAX_BYTES_ENV,
    allowed_path,
    allowed_url,
    data_dir,
    settings,
)

CHUNK = 1 << 20
TIMEOUT_S = 30  # per connection attempt and per read


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


def _copy(src: BinaryIO, folder: Path, limit: int | None = None,
          what: str = "") -> tuple[Path, str, int]:
    """Stream ``src`` into a temporary file in ``folder``: (its path, SHA-256, size). Deleted
    again (ValueError) past ``limit`` bytes or on any error."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
    sha, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                if limit is not None and size > limit:
                    raise ValueError(f"{what}: larger than {limit:,} bytes ({MAX_BYTES_ENV})")
                sha.update(chunk)
                out.write(chunk)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp), sha.hexdigest(), size


def write_stream(fileobj: BinaryIO, path: Path) -> Path:
    """``fileobj`` from its start written to ``path`` in chunks, through a temporary file."""
    fileobj.seek(0)
    tmp, _, _ = _copy(fileobj, path.parent)
    os.replace(tmp, path)
    return path


def save_upload(fileobj: BinaryIO, name: str) -> tuple[Path, str]:
    """An uploaded file copied to ``data_dir()/uploads/<sha256[:16]>-<name>``: (path, SHA-256
    of its bytes). The same content under the same name is the same file."""
    folder = data_dir() / "uploads"
    fileobj.seek(0)
    tmp, sha, _ = _copy(fileobj, folder)
    path = folder / f"{sha[:16]}-{safe_name(name)}"
    os.replace(tmp, path)
    return path, sha


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a URL that is itself allowed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            allowed_url(newurl)
        except ValueError as e:
            raise ValueError(f"{req.full_url}: redirected to a URL this server may not open "
                             f"({e})") from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    """http(s) only: no file://, ftp:// or data: handlers, no proxies from the environment."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(), _Redirects(),
                    urllib.request.HTTPDefaultErrorHandler(),
                    urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def download_path(url: str) -> Path:
    name = safe_name(unquote(urlsplit(url).path), default="download")
    return data_dir() / "downloads" / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{name}"


def download(url: str) -> Path:
    """Download an allowed URL to ``data_dir()/downloads`` (streamed, size-capped by
    ``COMPARATOR_URL_MAX_BYTES``, default 8 GiB); ValueError with what to do otherwise."""
    url = allowed_url(url)
    limit = settings().url_max_bytes
    path = download_path(url)
    req = urllib.request.Request(url, headers={"User-Agent": "comparator"})
    try:
        with _opener().open(req, timeout=TIMEOUT_S) as resp:
            final = resp.geturl()
            if final != url:
                allowed_url(final)
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise ValueError(f"{url}: {int(length):,} bytes, larger than {limit:,} "
                                 f"({MAX_BYTES_ENV})")
            tmp, _, _ = _copy(resp, path.parent, limit, url)
    except urllib.error.HTTPError as e:
        raise ValueError(f"{url}: the server answered {e.code} {e.reason}; check the URL"
                         ) from None
    except urllib.error.URLError as e:
        raise ValueError(f"{url}: cannot reach it ({e.reason}); check the URL and the network"
                         ) from None
    except (TimeoutError, OSError, http.client.HTTPException) as e:
        raise ValueError(f"{url}: the download failed ({e}); try again") from None
    os.replace(tmp, path)
    return path


def fetch_location(text: str) -> Path:
    """The Data page's "Path or URL": an allowed URL downloaded, or an allowed file path
    (``comparator.schema.settings.allowed_path``); ValueError with a message otherwise."""
    text = text.strip()
    if not text:
        raise ValueError("type a file path or an http(s) URL first")
    return download(text) if looks_like_url(text) else allowed_path(text)

