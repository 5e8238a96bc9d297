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


APP_DATA = Path(__file__).resolve().parents[1] / "data"


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
