"""A file's SHA-256, the identity of a loaded file (the store's cache key, a report's source)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from comparator.schema.files import open_binary


def file_sha256(path: str | Path, within: str | Path | None = None) -> str:
    """Hex SHA-256 of the file's bytes, read in blocks (never whole into memory); opened as
    every read is (``comparator.schema.files``: a regular file only, the read rules checked)."""
    with open_binary(path, within=within) as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
