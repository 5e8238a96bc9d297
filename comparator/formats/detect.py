"""Which format a file is, from a positive match of its structure (never by elimination).

Each JSON format is recognised by the keys its records must have; the generic table reader is
chosen only when the columns it needs (prompt, response_a, response_b) are found by name. A
file that fits nothing is refused with, for every format, the keys it lacked.
"""

from __future__ import annotations

import orjson

from comparator.formats.common import Source
from comparator.formats.native import is_header
from comparator.schema.errors import InputError, excerpt

# (format, keys every record has, keys of which it has at least one; "x*" = a key starting "x")
SIGNATURES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("mt-bench", ("g1_winner", "g2_winner", "model_1", "model_2"), ()),
    ("arena-hard", ("model", "games"), ("uid", "question_id")),
    ("judgebench", ("pair_id", "response_A", "response_B", "label", "judgments"), ()),
    ("mt-bench-single", ("question_id", "model", "score", "turn"), ("judgment", "user_prompt")),
    ("arena", ("model_a", "model_b", "winner"), ("conversation_a", "conversation_b")),
    ("alpaca-eval", ("output_1", "output_2"), ("preference", "annotator", "generator_1")),
    ("llmbar", ("input", "output_1", "output_2", "label"), ()),
    ("pandalm", ("response1", "response2"), ("annotator*",)),
    ("native", ("id", "response_a", "response_b"), ("prompt", "messages")),
]
TABLE_NEEDS = ("prompt", "response_a", "response_b")


def _has(keys: set[str], key: str) -> bool:
    return any(k.startswith(key[:-1]) for k in keys) if key.endswith("*") else key in keys


def misfit(keys: set[str], needs: tuple[str, ...], any_of: tuple[str, ...]) -> str | None:
    """Why records with ``keys`` are not of a format (None when they are)."""
    missing = [k for k in needs if not _has(keys, k)]
    if any_of and not any(_has(keys, k) for k in any_of):
        missing.append(" or ".join(any_of))
    return f"no {', '.join(missing)}" if missing else None


def sniff_keys(keys: set[str]) -> str | None:
    for name, needs, any_of in SIGNATURES:
        if misfit(keys, needs, any_of) is None:
            return name
    return None


def _table_misfit(keys: set[str]) -> str | None:
    from comparator.formats.tabular import resolve_columns

    cols = resolve_columns(sorted(keys), {})
    missing = [n for n in TABLE_NEEDS if n not in cols]
    return f"no column for {', '.join(missing)}" if missing else None


def _records_format(src: Source, keys: set[str]) -> str:
    name = sniff_keys(keys)
    if name:
        return name
    why_table = _table_misfit(keys)
    if why_table is None:
        return "table"
    tried = [f"{name} ({misfit(keys, needs, any_of)})" for name, needs, any_of in SIGNATURES]
    tried.append(f"table ({why_table}; name columns with --map NAME=COLUMN)")
    raise InputError(src.path, f"matches no format; the first record's keys are "
                     f"{excerpt(sorted(keys), 200)}. Tried as: {'; '.join(tried)}. Name the "
                     "format with --format")


def detect_format(src: Source) -> str:
    """The format of a file, from its content (the extension only separates CSV/TSV)."""
    suffix = src.path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "table"
    head = src.first_char
    if head == b"{":
        try:
            first = orjson.loads(src.first_line)
        except orjson.JSONDecodeError:
            first = None  # a JSON document spread over several lines
        if is_header(first):
            return "native"
        if isinstance(first, dict) and (not src.one_line or suffix == ".jsonl"):
            return _records_format(src, set(first))
        doc = src.json
        if isinstance(doc, dict) and ("examples" in doc or "models" in doc):
            return "llm-comparator"  # its reader says "no examples" when the list is missing
        if isinstance(doc, dict):
            return _records_format(src, set(doc))
    if head == b"[":
        doc = src.json
        if isinstance(doc, list) and doc and isinstance(doc[0], dict):
            return _records_format(src, set(doc[0]))
        raise InputError(src.path, "a JSON list, but not of objects (records); cannot tell the "
                         "format")
    raise InputError(src.path, "neither JSON, JSON lines nor CSV/TSV; cannot tell the format")
