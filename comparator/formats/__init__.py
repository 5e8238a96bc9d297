"""Import and export of comparisons: one ``load`` for every format, auto-detected.

Each format is one module that registers a ``comparator.formats.registry.Format``: its
``--format`` name and aliases, its detection rule, its reader and, for the three that are
written (native .jsonl, llm-comparator .json, csv), its ``Export``. ``FORMATS``, ``ALIASES``,
``EXPORTS``, ``load``, ``save``, ``detect_format`` and ``export_format`` all derive from the
registry. Detection (``comparator.formats.detect``) needs a positive match of a format's
structure.

Adding a format is one new file plus one import line below, e.g. ``formats/my_bench.py``::

    from comparator.formats.common import LoadOptions, Source, finish
    from comparator.formats.registry import Format, Signature, register
    from comparator.schema.records import Comparison

    def read_my_bench(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
        examples = [...]  # dicts of comparator.schema.records.Example, from src.jsonl
        return finish(src.path, examples, model_a=..., model_b=...,
                      source_format="my-bench"), []

    register(Format("my-bench", "MyBench verdicts (JSONL)", read_my_bench, order=55,
                    misfit=Signature(("prompt_id", "verdict"))))

and ``from comparator.formats import my_bench  # noqa: F401`` among the format imports below
(its place there is its place in ``FORMATS``; ``order`` is its place in detection by record
keys, see ``comparator.formats.registry``). Per-format record checks (pydantic ``TypedDict``)
live in the format's module too; ``checks``, ``common`` and ``games`` hold what formats share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# The format modules; each registers itself on import, in this order (FORMATS' order).
# isort: off
from comparator.formats import native  # noqa: F401
from comparator.formats import tabular  # noqa: F401
from comparator.formats import llm_comparator  # noqa: F401
from comparator.formats import mt_bench  # noqa: F401
from comparator.formats import arena  # noqa: F401
from comparator.formats import alpaca_eval  # noqa: F401
from comparator.formats import llmbar  # noqa: F401
from comparator.formats import pandalm  # noqa: F401
from comparator.formats import arena_hard  # noqa: F401
from comparator.formats import mt_bench_single  # noqa: F401
from comparator.formats import judgebench  # noqa: F401
# isort: on
from comparator.formats.checks import guarded, unwritable
from comparator.formats.common import LoadOptions, Source
from comparator.formats.detect import detect_format
from comparator.formats.registry import REGISTRY, Reader, exports
from comparator.schema.atomic import protected
from comparator.schema.errors import InputError
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison

__all__ = ["FORMATS", "EXPORTS", "InputError", "LoadOptions", "Loaded", "detect_format", "load",
           "save", "Comparison"]

FORMATS: dict[str, Reader] = {name: fmt.read for name, fmt in REGISTRY.items()}
ALIASES: dict[str, str] = {a: fmt.name for fmt in REGISTRY.values() for a in fmt.aliases}
EXPORTS: dict[str, str] = {name: e.suffix for name, e in exports().items()}
_EXPORT_ALIASES = {a: e.name for e in exports().values() for a in e.aliases}


@dataclass
class Loaded:
    comparison: Comparison
    format: str
    warnings: list[str] = field(default_factory=list)
    path: Path | None = None


def load(path: str | Path, format: str | None = None, options: LoadOptions | None = None,
         data: bytes | None = None) -> Loaded:
    """Load any supported file into a validated Comparison (raises InputError)."""
    path = Path(path)
    src = Source(path, data)  # refuses folders, pipes, binary and wrongly encoded files
    if src.empty:
        raise InputError(path, "the file is empty" if not src.data else "only whitespace")
    name = ALIASES.get(format, format) if format else detect_format(src)
    if name not in FORMATS:
        raise InputError(path, f"unknown format {format!r}; one of {', '.join(FORMATS)}")
    comp, warnings = guarded(FORMATS[name], src, options or LoadOptions(), name)
    if not comp.examples:
        warnings.append("no examples")
    return Loaded(comp, name, warnings, path)


def export_format(path: str | Path, to: str | None = None) -> str:
    if to:
        to = _EXPORT_ALIASES.get(to, to)
        if to not in EXPORTS:
            raise ValueError(f"--to must be one of {', '.join(EXPORTS)}")
        return to
    suffix = Path(path).suffix.lower()
    for name, ext in EXPORTS.items():
        if suffix == ext:
            return name
    known = ", ".join(ext if ext == f".{name}" else f"{ext} ({name})"
                      for name, ext in EXPORTS.items())
    raise ValueError(f"cannot tell the output format from {Path(path).name!r}: use {known}, "
                     "or --to")


def save(comp: Comparison, path: str | Path, to: str | None = None,
         tie_threshold: float = DEFAULT_TIE_THRESHOLD,
         inputs: Iterable[str | Path | None] = ()) -> str:
    """Write ``comp`` (atomically, never over one of ``inputs``) in the format named by ``to``
    or the extension."""
    fmt = export_format(path, to)
    with protected(inputs), unwritable(comp, path):
        exports()[fmt].write(comp, path, tie_threshold)
    return fmt
