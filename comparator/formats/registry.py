"""The formats, each a ``Format`` record its own module registers when it is imported.

A format says its ``--format`` name and aliases, how it is detected, how it is read and,
optionally, how a comparison is written in it. Detection has two kinds of rules, tried by
``comparator.formats.detect`` in this order:

1. ``claims(src, first)``: the whole file is of this format (a CSV/TSV by its extension, our
   native header line, an LLM Comparator document), tried by ascending ``claim_order``;
   ``first`` is the file's first line parsed as JSON (None when it is not one JSON value).
2. ``misfit(keys)``: why records with these keys are not of this format (None when they are),
   asked of every format by ascending ``order`` for the keys of the file's first record; the
   first that fits wins, and when none does each one's reason is in the error.

Registration order is the order of ``comparator.formats.FORMATS`` (``--format`` choices).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comparator.formats.common import LoadOptions, Source
from comparator.schema.records import Comparison

Reader = Callable[[Source, LoadOptions], tuple[Comparison, list[str]]]
Writer = Callable[[Comparison, Path, float], None]  # (comparison, path, tie threshold)


@dataclass(frozen=True)
class Export:
    """How a format is written: ``save``'s ``to`` name, the file extension that implies it,
    other ``to`` spellings, and its place in the list of exports."""

    name: str
    suffix: str
    write: Writer
    aliases: tuple[str, ...] = ()
    order: int = 0


@dataclass(frozen=True)
class Signature:
    """Keys every record of a format has, and keys of which it has at least one
    (``"x*"``: a key starting ``x``)."""

    needs: tuple[str, ...]
    any_of: tuple[str, ...] = ()

    def __call__(self, keys: set[str]) -> str | None:
        """Why records with ``keys`` are not of the format (None when they are)."""
        missing = [k for k in self.needs if not _has(keys, k)]
        if self.any_of and not any(_has(keys, k) for k in self.any_of):
            missing.append(" or ".join(self.any_of))
        return f"no {', '.join(missing)}" if missing else None


def _has(keys: set[str], key: str) -> bool:
    return any(k.startswith(key[:-1]) for k in keys) if key.endswith("*") else key in keys


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    read: Reader
    aliases: tuple[str, ...] = ()
    misfit: Callable[[set[str]], str | None] | None = None
    order: int = 0
    claims: Callable[[Source, Any], bool] | None = None
    claim_order: int = 0
    export: Export | None = None
    # the files beside ``path`` that the reader may read (question.jsonl, model_answer/...):
    # they shape the table as much as the file itself, so the store's cache keys by them too
    siblings: Callable[[Path], list[Path]] | None = None


REGISTRY: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Add ``fmt`` (a format module calls this once, at import)."""
    taken = {a for f in REGISTRY.values() for a in (f.name, *f.aliases)}
    clash = {fmt.name, *fmt.aliases} & taken
    if clash:
        raise ValueError(f"format {fmt.name!r}: the name(s) {sorted(clash)} are already taken")
    REGISTRY[fmt.name] = fmt
    return fmt


def sibling_files(path: Path) -> list[Path]:
    """Every existing file beside ``path`` that some format's reader may read with it."""
    found = {s for f in REGISTRY.values() if f.siblings for s in f.siblings(path)}
    return sorted(s for s in found if s.is_file())


def by_claim() -> list[Format]:
    return sorted((f for f in REGISTRY.values() if f.claims), key=lambda f: f.claim_order)


def by_keys() -> list[Format]:
    return sorted((f for f in REGISTRY.values() if f.misfit), key=lambda f: f.order)


def exports() -> dict[str, Export]:
    found = sorted((f.export for f in REGISTRY.values() if f.export), key=lambda e: e.order)
    return {e.name: e for e in found}
