"""Where runs and caches live: ``$COMPARATOR_HOME``, else ``~/.cache/comparator`` (never the
repository)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    root = os.environ.get("COMPARATOR_HOME")
    path = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")
                                        ) / "comparator"
    path.mkdir(parents=True, exist_ok=True)
    return path


APP_DATA = Path(__file__).resolve().parents[2] / "data"  # the repository's data/


def allowed_dirs() -> list[Path]:
    """Folders the dashboard may open files from (e.g. by a shared link): the
    ``COMPARATOR_DATA_DIRS`` folders (separated by ``os.pathsep``), else the user data dir and
    the app's ``data/``; symlinks resolved."""
    env = os.environ.get("COMPARATOR_DATA_DIRS")
    dirs = [Path(d) for d in env.split(os.pathsep) if d.strip()] if env else [data_dir(),
                                                                              APP_DATA]
    return [d.expanduser().resolve() for d in dirs]


def allowed_path(path: str | Path) -> Path:
    """``path`` resolved (symlinks followed) if it is a file inside an allowed folder; else
    ValueError with a message that names the folders, never the file's content."""
    try:
        real = Path(path).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        raise ValueError(f"{path}: no such file") from None
    dirs = allowed_dirs()
    if not any(real.is_relative_to(d) for d in dirs):
        raise ValueError(f"{path}: not in a folder this server may open files from ("
                         + ", ".join(map(str, dirs)) + "); set COMPARATOR_DATA_DIRS")
    if not real.is_file():
        raise ValueError(f"{path}: not a file")
    return real


URL_ENV = "COMPARATOR_URL_PREFIXES"
_PORTS = {"http": 80, "https": 443}


def url_prefixes() -> list[str]:
    """The URL prefixes the dashboard may download from: ``COMPARATOR_URL_PREFIXES``, separated
    by whitespace or commas (none by default)."""
    raw = os.environ.get(URL_ENV, "")
    return [p for p in raw.replace(",", " ").split() if p]


def _parts(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL; ValueError for anything else."""
    from urllib.parse import unquote, urlsplit

    try:
        u = urlsplit(url.strip())
        scheme, host, port = u.scheme.lower(), (u.hostname or "").lower(), u.port
    except ValueError as e:  # a bad port or IPv6 literal
        raise ValueError(f"{url}: not a valid URL ({e})") from None
    if scheme not in _PORTS:
        raise ValueError(f"{url}: only http:// and https:// URLs can be opened")
    if not host:
        raise ValueError(f"{url}: the URL names no host")
    path = u.path or "/"
    if ".." in unquote(path).split("/"):
        raise ValueError(f"{url}: '..' in the path is not allowed")
    return scheme, host, port or _PORTS[scheme], path


def _under(path: str, prefix: str) -> bool:
    return path.startswith(prefix if prefix.endswith("/") else prefix + "/") or path == prefix


def allowed_url(url: str) -> str:
    """``url`` (stripped) if it is an http(s) URL under one of the allowed prefixes: same
    scheme, host and port, and its path inside the prefix's path (compared parsed, never as raw
    strings, so ``http://allowed.example.com.evil.com/`` is not under
    ``http://allowed.example.com/``); else ValueError with a message saying what to do."""
    scheme, host, port, path = _parts(url)
    prefixes = url_prefixes()
    if not prefixes:
        raise ValueError(f"{url}: this server downloads no URLs; to allow some, set {URL_ENV} "
                         "to the URL prefixes it may open (e.g. https://example.org/data/)")
    for prefix in prefixes:
        try:
            p_scheme, p_host, p_port, p_path = _parts(prefix)
        except ValueError:
            continue  # a malformed prefix allows nothing
        if (scheme, host, port) == (p_scheme, p_host, p_port) and _under(path, p_path):
            return url.strip()
    raise ValueError(f"{url}: not under a URL prefix this server may open from ("
                     + ", ".join(prefixes) + f"); set {URL_ENV}")
