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
