"""The ``COMPARATOR_*`` environment variables (one ``Settings`` class, read when used, so a
changed variable counts at once), and what follows from them: where runs and caches live
(``$COMPARATOR_HOME``, else ``~/.cache/comparator``, never the repository), the folders and URLs
the dashboard may open."""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from comparator.schema import identity

URL_ENV = "COMPARATOR_URL_PREFIXES"
MAX_BYTES_ENV = "COMPARATOR_URL_MAX_BYTES"
SECONDS_ENV = "COMPARATOR_URL_SECONDS"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMG]?)B?\s*$", re.IGNORECASE)
_URLS = Annotated[list[str] | None, NoDecode]
_NAMES_LIST = Annotated[list[str], NoDecode]
# what an admin may do and, when the operator grants it, every signed-in user
GRANTS = ("paths", "runs")  # open server paths beyond their own folders; start runs


def _env(name: str, expects: str, default: Any = None) -> Any:
    """A field read from the variable ``name``; ``expects`` says what it takes (for errors)."""
    return Field(default, validation_alias=name, description=expects)


class Settings(BaseSettings):
    """Every ``COMPARATOR_*`` variable (and ``XDG_CACHE_HOME``); unset or empty = the default."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, frozen=True)

    home: Path | None = _env("COMPARATOR_HOME", "a folder for runs and caches")
    xdg_cache_home: Path | None = _env("XDG_CACHE_HOME", "a folder")
    data_dirs: Annotated[list[Path] | None, NoDecode] = _env(
        "COMPARATOR_DATA_DIRS", f"folders separated by {os.pathsep!r}")
    url_prefixes: Annotated[list[str], NoDecode] = _env(
        URL_ENV, "URL prefixes separated by spaces or commas", [])
    url_max_bytes: int = _env(MAX_BYTES_ENV, "a number of bytes (e.g. 1000000000)", 8 << 30)
    url_seconds: Annotated[float, Field(gt=0, allow_inf_nan=False)] = _env(
        SECONDS_ENV, "a number of seconds above 0 (e.g. 600): the most one whole download may "
        "take", 900.0)
    max_memory: int | None = _env("COMPARATOR_MAX_MEMORY",
                                  "a number of bytes, or with a K, M or G suffix (e.g. 16G)")
    store_max_gb: Annotated[float, Field(gt=0, allow_inf_nan=False)] = _env(
        "COMPARATOR_STORE_MAX_GB", "a number of gigabytes (e.g. 20)", 20.0)
    regex_seconds: float = _env(
        "COMPARATOR_REGEX_SECONDS", "a number of seconds (e.g. 5): the most one regular "
        "expression that RE2 cannot run may take", 5.0)
    debug: bool = _env("COMPARATOR_DEBUG", "1 to show tracebacks (0, or unset, for none)", False)
    base_url_a: _URLS = _env("COMPARATOR_BASE_URL_A", "base URLs separated by commas")
    base_url_b: _URLS = _env("COMPARATOR_BASE_URL_B", "base URLs separated by commas")
    base_url_judge: _URLS = _env("COMPARATOR_BASE_URL_JUDGE", "base URLs separated by commas")
    base_url_llm: _URLS = _env("COMPARATOR_BASE_URL_LLM", "base URLs separated by commas")
    api_key_a: SecretStr | None = _env("COMPARATOR_API_KEY_A", "an API key")
    api_key_b: SecretStr | None = _env("COMPARATOR_API_KEY_B", "an API key")
    api_key_judge: SecretStr | None = _env("COMPARATOR_API_KEY_JUDGE", "an API key")
    api_key_llm: SecretStr | None = _env("COMPARATOR_API_KEY_LLM", "an API key")
    # a team server (docs/team.md): who is an admin, what everyone else may do
    admins: _NAMES_LIST = _env("COMPARATOR_ADMINS", "e-mails (or OIDC subjects) separated by "
                               "spaces or commas", [])
    admin_groups: _NAMES_LIST = _env("COMPARATOR_ADMIN_GROUPS", "group names separated by "
                                     "spaces or commas", [])
    groups_claim: str = _env("COMPARATOR_GROUPS_CLAIM", "the name of the OIDC claim that lists "
                             "a user's groups (e.g. groups)", "groups")
    grant: _NAMES_LIST = _env("COMPARATOR_GRANT", "what every signed-in user may do besides "
                              f"admins, separated by spaces or commas: {', '.join(GRANTS)}", [])
    allow_anonymous: bool = _env("COMPARATOR_ALLOW_ANONYMOUS", "1 to serve data on an open "
                                 "address without sign-in (0, or unset, to refuse)", False)

    @field_validator("data_dirs", mode="before")
    @classmethod
    def _folders(cls, v: Any) -> Any:
        return [d for d in v.split(os.pathsep) if d.strip()] if isinstance(v, str) else v

    @field_validator("url_prefixes", "admins", "admin_groups", "grant", mode="before")
    @classmethod
    def _prefixes(cls, v: Any) -> Any:
        return v.replace(",", " ").split() if isinstance(v, str) else v

    @field_validator("base_url_a", "base_url_b", "base_url_judge", "base_url_llm", mode="before")
    @classmethod
    def _urls(cls, v: Any) -> Any:
        return ([u.strip() for u in v.split(",") if u.strip()] or None) if isinstance(v, str) else v

    @field_validator("max_memory", mode="before")
    @classmethod
    def _size(cls, v: Any) -> Any:
        if not isinstance(v, str) or not v.strip():
            return v or None
        m = _SIZE.match(v)
        if m is None:
            raise ValueError("not a size")
        return int(float(m[1]) * {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(m[2].upper(), 1))

    @field_validator("grant")
    @classmethod
    def _grants(cls, v: list[str]) -> list[str]:
        if bad := [g for g in v if g not in GRANTS]:
            raise ValueError(f"unknown: {', '.join(bad)}")
        return v

    @field_validator("debug", "allow_anonymous", mode="before")
    @classmethod
    def _debug(cls, v: Any) -> Any:  # any value turns it on, but 0, false, no and off
        return v.strip().lower() not in ("", "0", "false", "no", "off") if isinstance(v, str) \
            else v


class SettingsError(ValueError):
    """A ``COMPARATOR_*`` variable with a value it cannot take (one line, naming it)."""


_NAMES = tuple(f.validation_alias for f in Settings.model_fields.values())


def settings() -> Settings:
    """The settings from the environment as it is now; SettingsError names a bad variable."""
    return _settings(tuple(os.environ.get(n) for n in _NAMES))


@functools.lru_cache(maxsize=4)
def _settings(values: tuple[str | None, ...]) -> Settings:
    """Parsed once per set of values (a parse costs ~1 ms; looking the variables up, ~5 us)."""
    try:
        return Settings()
    except ValidationError as e:
        err = e.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        field = next((f for f in Settings.model_fields.values() if f.validation_alias == name),
                     None)
        what = field.description if field else err["msg"]
        raise SettingsError(f"{name}={str(err['input'])[:80]!r}: expected {what}; fix or unset "
                            "the variable") from None


def data_dir() -> Path:
    """The folder for runs and caches, created if need be; SettingsError naming the variable
    it comes from when it is a file or cannot be created."""
    s = settings()
    path = s.home or (s.xdg_cache_home or Path.home() / ".cache") / "comparator"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        name = ("COMPARATOR_HOME" if s.home else "XDG_CACHE_HOME" if s.xdg_cache_home
                else "the default")
        what = ("is a file, not a folder" if path.exists() and not path.is_dir() else
                f"cannot be created ({e.strerror or e})")
        raise SettingsError(f"{name}: the folder for runs and caches {str(path)[:200]!r} "
                            f"{what}; set COMPARATOR_HOME to a folder you can write") from None
    return path


APP_DATA = Path(__file__).resolve().parents[2] / "data"  # the repository's data/


def loopback_only(host: str) -> bool:
    """Whether listening on ``host`` reaches this machine only (a loopback address or
    ``localhost``); an empty host (every address) or any other name is reachable by others."""
    name = host.strip().strip("[]")
    if name.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # empty (every address) or a host name: reachable by whoever resolves it


def is_admin(user_id: str, groups: Iterable[str] = ()) -> bool:
    """Whether the operator made this identity an admin: its id (e-mail or subject) in
    ``COMPARATOR_ADMINS`` (e-mails compared without case) or one of its groups in
    ``COMPARATOR_ADMIN_GROUPS``."""
    s = settings()
    return user_id.lower() in {a.lower() for a in s.admins} or bool(
        set(groups) & set(s.admin_groups))


def may(what: str) -> bool:
    """Whether the calling user may do ``what`` (one of ``GRANTS``): always in single-user mode;
    on a team server, admins, and everyone when the operator grants it (``COMPARATOR_GRANT``)."""
    user = identity.current()
    return user is None or user.admin or what in settings().grant


def user_dir() -> Path:
    """The calling user's own folder (runs, uploads, downloads, run records): the data dir in
    single-user mode (as it has always been), else ``users/<their folder>`` inside it."""
    user = identity.current()
    return data_dir() if user is None else data_dir() / "users" / user.folder


def team_dir() -> Path:
    """The folder a team shares (runs its members chose to share)."""
    return data_dir() / "team"


def allowed_dirs() -> list[Path]:
    """Folders the dashboard may open files from (e.g. by a shared link), symlinks resolved:
    always the user data dir (``$COMPARATOR_HOME``: the app's own runs, uploads and downloads),
    then the ``COMPARATOR_DATA_DIRS`` folders (separated by ``os.pathsep``), else the app's
    ``data/``. On a team server, someone without the ``paths`` grant gets their own folder, the
    team's and the app's ``data/`` (the demos) only."""
    listed = settings().data_dirs
    if not may("paths"):
        dirs = [user_dir(), team_dir(), APP_DATA]
    else:
        dirs = [data_dir(), *([APP_DATA] if listed is None else listed)]
    return list(dict.fromkeys(d.expanduser().resolve() for d in dirs))


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


_PORTS = {"http": 80, "https": 443}


def _parts(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL; ValueError for anything else."""
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
    prefixes = settings().url_prefixes  # separated by whitespace or commas; none by default
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
