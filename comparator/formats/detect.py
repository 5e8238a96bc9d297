"""Which format a file is, from a positive match of its structure (never by elimination).

The rules are the formats' own (``comparator.formats.registry``): first the formats that claim
a whole file (a CSV/TSV by its extension, a native header line, an LLM Comparator document),
then the keys of the first record against each format's signature, the generic table last (the
columns it needs found by name). A file that fits nothing is refused with, for every format,
the keys it lacked.
"""

from __future__ import annotations

import orjson

from comparator.formats.common import Source
from comparator.formats.registry import by_claim, by_keys
from comparator.schema.errors import InputError, excerpt


def sniff_keys(keys: set[str]) -> str | None:
    """The first format (by detection order) whose records may have ``keys``."""
    for fmt in by_keys():
        if fmt.misfit(keys) is None:
            return fmt.name
    return None


def records_format(src: Source, keys: set[str]) -> str:
    """The format of a file whose first record has ``keys``, else an InputError saying why each
    format does not fit."""
    name = sniff_keys(keys)
    if name:
        return name
    if {"model_a", "model_b", "winner"} <= keys:  # votes without the responses they judged
        raise InputError(src.path, "this is an Arena battle log (model_a, model_b and winner "
                         "per battle, no conversations): it ranks models rather than compare "
                         "two models' responses; rate its models with `comparator leaderboard "
                         "FILE`")
    tried = [f"{fmt.name} ({fmt.misfit(keys)})" for fmt in by_keys()]
    raise InputError(src.path, f"matches no format; the first record's keys are "
                     f"{excerpt(sorted(keys), 200)}. Tried as: {'; '.join(tried)}. Name the "
                     "format with --format")


def detect_format(src: Source) -> str:
    """The format of a file, from its content (the extension only separates CSV/TSV)."""
    head = src.first_char
    first = None
    if head == b"{":
        try:
            first = orjson.loads(src.first_line)
        except orjson.JSONDecodeError:
            first = None  # a JSON document spread over several lines
    for fmt in by_claim():
        if fmt.claims(src, first):
            return fmt.name
    if head == b"{":
        if isinstance(first, dict) and (not src.one_line or src.path.suffix.lower() == ".jsonl"):
            return records_format(src, set(first))
        doc = src.json
        if isinstance(doc, dict):
            return records_format(src, set(doc))
    if head == b"[":
        doc = src.json
        if isinstance(doc, list) and doc and isinstance(doc[0], dict):
            return records_format(src, set(doc[0]))
        raise InputError(src.path, "a JSON list, but not of objects (records); cannot tell the "
                         "format")
    raise InputError(src.path, "neither JSON, JSON lines nor CSV/TSV; cannot tell the format")


def one_document(src: Source, first: object) -> bool:
    """Whether a file starting with ``{`` is one JSON document rather than JSON lines (the
    condition under which a format may claim it from ``src.json``)."""
    return src.first_char == b"{" and not (
        isinstance(first, dict) and (not src.one_line or src.path.suffix.lower() == ".jsonl"))
