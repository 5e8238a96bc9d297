"""Import and export of comparisons: one ``load`` for every format, auto-detected.

Formats (``--format`` names): native, table (CSV/TSV/JSONL/JSON with a column mapping),
llm-comparator, mt-bench, arena, alpaca-eval, llmbar, pandalm, arena-hard, mt-bench-single,
judgebench. Detection (``comparator.formats.detect``) needs a positive match of a format's
structure.
Exports: native (.jsonl), llm-comparator (.json), csv (.csv).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from comparator.formats.alpaca_eval import read_alpaca_eval
from comparator.formats.arena_hard import read_arena_hard
from comparator.formats.checks import guarded, unwritable
from comparator.formats.common import LoadOptions, Source
from comparator.formats.detect import detect_format
from comparator.formats.fastchat import read_arena, read_mt_bench_pairs
from comparator.formats.human import read_llmbar, read_pandalm
from comparator.formats.judgebench import read_judgebench
from comparator.formats.llm_comparator import read_llm_comparator, write_llm_comparator
from comparator.formats.mt_bench_single import read_mt_bench_single
from comparator.formats.native import read_native, write_native
from comparator.formats.tabular import read_table, write_csv
from comparator.schema.errors import InputError
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison

__all__ = ["FORMATS", "EXPORTS", "InputError", "LoadOptions", "Loaded", "detect_format", "load",
           "save", "Comparison"]

Reader = Callable[[Source, LoadOptions], tuple[Comparison, list[str]]]


def _native(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    return read_native(src.path, src.data), []


FORMATS: dict[str, Reader] = {
    "native": _native,
    "table": read_table,
    "llm-comparator": read_llm_comparator,
    "mt-bench": read_mt_bench_pairs,
    "arena": read_arena,
    "alpaca-eval": read_alpaca_eval,
    "llmbar": read_llmbar,
    "pandalm": read_pandalm,
    "arena-hard": read_arena_hard,
    "mt-bench-single": read_mt_bench_single,
    "judgebench": read_judgebench,
}
ALIASES = {"csv": "table", "jsonl": "table", "llmc": "llm-comparator", "fastchat": "mt-bench",
           "alpacaeval": "alpaca-eval", "alpaca_eval": "alpaca-eval", "mt_bench": "mt-bench",
           "arena_hard": "arena-hard", "mt-bench-single-grade": "mt-bench-single"}
EXPORTS = {"native": ".jsonl", "llm-comparator": ".json", "csv": ".csv"}


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
        to = {"llmc": "llm-comparator", "jsonl": "native", "table": "csv"}.get(to, to)
        if to not in EXPORTS:
            raise ValueError(f"--to must be one of {', '.join(EXPORTS)}")
        return to
    suffix = Path(path).suffix.lower()
    for name, ext in EXPORTS.items():
        if suffix == ext:
            return name
    raise ValueError(f"cannot tell the output format from {Path(path).name!r}: use .jsonl "
                     "(native), .json (llm-comparator), .csv, or --to")


def save(comp: Comparison, path: str | Path, to: str | None = None,
         tie_threshold: float = DEFAULT_TIE_THRESHOLD) -> str:
    """Write ``comp`` (atomically) in the format named by ``to`` or the extension."""
    fmt = export_format(path, to)
    with unwritable(comp, path):
        if fmt == "native":
            write_native(comp, path)
        elif fmt == "llm-comparator":
            write_llm_comparator(comp, path)
        else:
            write_csv(comp, path, tie_threshold)
    return fmt
