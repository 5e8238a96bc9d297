"""Our native format: JSONL, a header line then one example per line.

Header (first line, or a sidecar ``NAME.meta.json`` beside a header-less file)::

    {"kind": "comparator.comparison", "schema_version": 3, "model_a": "...", "model_b": "...",
     "source_format": "...", "metadata": {...}}

Reading validates every line with pydantic in one pass and names the line and field of the
first problem. Files written by an older schema version are upgraded on read.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from comparator.formats.common import LoadOptions, Source, read_file
from comparator.formats.registry import Export, Format, Signature, register
from comparator.schema.atomic import atomic_write
from comparator.schema.errors import InputError, excerpt
from comparator.schema.labels import label_to_score
from comparator.schema.records import EXAMPLE, SCHEMA_VERSION, Comparison, Example

HEADER_KIND = "comparator.comparison"


def is_header(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("kind") == HEADER_KIND


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.stem + ".meta.json")


def _loc_to_field(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def validation_error(path: Path, err: ValidationError, line: int) -> InputError:
    """The first problem of a line's pydantic error, naming the line and field."""
    first = err.errors()[0]
    if first.get("type") == "json_invalid":
        return InputError(path, f"not valid JSON ({first.get('ctx', {}).get('error', '')})",
                          line=line)
    # pydantic names union members in the location ('str', 'list[str]'): hide those
    loc = tuple(p for p in first.get("loc", ()) if p not in _UNION_PARTS)
    msg = first.get("msg", "invalid value")
    if "input" in first and first.get("type") != "missing":
        msg += f" (got {excerpt(first['input'])})"
    return InputError(path, msg, line=line, field=_loc_to_field(loc) or None)


_UNION_PARTS = {"str", "list[str]", "float", "none", "constrained-float"}


def check_statuses(path: Path, examples: list[Example], line_of) -> None:
    """A judgment has a score exactly when its status is ``ok``."""
    for i, ex in enumerate(examples):
        for k, j in enumerate(ex.get("judgments", ())):
            status = j.get("status", "ok")
            if (status == "ok") != (j.get("score") is not None):
                need = "needs a score" if status == "ok" else "must not have a score"
                raise InputError(
                    path, f"a judgment with status '{status}' {need}",
                    line=line_of[i], field=f"judgments[{k}].score",
                )


def _upgrade_v1(header: dict, rows: list[dict]) -> tuple[dict, list[dict]]:
    """Schema 1 (0.0.x drafts): ``models: [a, b]`` in the header, and judgments carrying a
    ``winner`` (A/B/tie/null) instead of a score and status."""
    header = dict(header)
    models = header.pop("models", None) or ["A", "B"]
    header.setdefault("model_a", models[0])
    header.setdefault("model_b", models[1])
    for row in rows:
        for j in row.get("judgments", []):
            if "winner" in j:
                winner = j.pop("winner")
                score = label_to_score(winner)
                j["label"] = winner
                if score is None:
                    j["status"] = "unscored"
                else:
                    j["score"] = score
    header["schema_version"] = 2
    return header, rows  # then _upgrade_v2


def _upgrade_v2(header: dict, rows: list[dict]) -> tuple[dict, list[dict]]:
    """Schema 3 added the optional ``reasons`` of an example (rationale clusters): a schema-2
    file is already a valid schema-3 file."""
    return {**header, "schema_version": 3}, rows


_UPGRADES = {1: _upgrade_v1, 2: _upgrade_v2}


def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of every non-blank line, one at a time: splitting a GB file at once
    would hold a second copy of it."""
    start, n, end = 0, 1, len(data)
    while start < end:
        nl = data.find(b"\n", start)
        stop = end if nl < 0 else nl
        raw = data[start:stop]
        if raw and not raw.isspace():
            yield n, raw
        start, n = stop + 1, n + 1


def _split(path: Path, data: bytes) -> tuple[dict | None, Iterator[tuple[int, bytes]]]:
    """Header (if the first non-blank line is one), and the body's (line number, line)."""
    lines = _lines(data)
    first = next(lines, None)
    if first is None:
        return None, lines
    try:
        obj = orjson.loads(first[1])
    except orjson.JSONDecodeError as e:
        raise InputError(path, f"not valid JSON ({e})", line=first[0]) from None
    return (obj, lines) if is_header(obj) else (None, chain([first], lines))


def _read_header(path: Path, header: dict | None) -> dict:
    if header is not None:
        return header
    side = sidecar_path(path)
    if not side.exists():
        raise InputError(
            path,
            "no header line and no sidecar: the first line must be "
            f'{{"kind": "{HEADER_KIND}", "model_a": ..., "model_b": ...}} or a file '
            f"{side.name} must sit beside it; for other JSONL use --format table",
            line=1,
        )
    try:
        return orjson.loads(read_file(side, path.parent))  # beside it, not a link elsewhere
    except orjson.JSONDecodeError as e:
        raise InputError(side, f"not valid JSON ({e})") from None


def check_version(path: Path, header: dict) -> int:
    """The header's ``schema_version``: a whole number from 1 (the oldest this reads) to
    ``SCHEMA_VERSION``; else InputError naming the field (``true``, ``"3"``, 0, -1 are not)."""
    version = header.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputError(path, f"must be a whole number from 1 to {SCHEMA_VERSION}, got "
                         f"{excerpt(version)}; write the version this file was written with "
                         f"({SCHEMA_VERSION} for files of this comparator)", line=1,
                         field="schema_version")
    if version > SCHEMA_VERSION:
        raise InputError(
            path, f"schema_version {excerpt(version)} is newer than this comparator reads "
            f"({SCHEMA_VERSION}); upgrade comparator", line=1, field="schema_version",
        )
    return version


def read_native(path: str | Path, data: bytes | None = None) -> Comparison:
    path = Path(path)
    if data is None:
        data = read_file(path)
    header, body = _split(path, data)
    header = _read_header(path, header)
    version = check_version(path, header)
    if version < SCHEMA_VERSION:
        rows, line_of = [], []
        for n, raw in body:
            try:
                rows.append(orjson.loads(raw))
            except orjson.JSONDecodeError as e:
                raise InputError(path, f"not valid JSON ({e})", line=n) from None
            line_of.append(n)
        while version < SCHEMA_VERSION:
            header, rows = _UPGRADES[version](header, rows)
            version = header["schema_version"]
        body = zip(line_of, [orjson.dumps(r) for r in rows])
    validate = EXAMPLE.validate_json
    examples: list[Example] = []
    line_of = []
    append, where = examples.append, line_of.append
    for n, raw in body:
        try:
            append(validate(raw))
        except ValidationError as err:
            raise validation_error(path, err, n) from None
        where(n)
    check_statuses(path, examples, line_of)
    _check_unique_ids(path, examples, line_of)
    head = {k: v for k, v in header.items() if k not in ("kind", "examples")}
    head["schema_version"] = SCHEMA_VERSION
    try:
        comp = Comparison(examples=[], **head)
    except ValidationError as err:
        raise validation_error(path, err, 1) from None
    comp.examples = examples
    return comp


def _check_unique_ids(path: Path, examples: list[Example], line_of) -> None:
    seen: dict[str, int] = {}
    for ex, n in zip(examples, line_of):
        if ex["id"] in seen:
            raise InputError(
                path, f"duplicate id {excerpt(ex['id'])} (first on line {seen[ex['id']]})", line=n,
                field="id",
            )
        seen[ex["id"]] = n


def header_of(comp: Comparison) -> dict:
    return {
        "kind": HEADER_KIND,
        "schema_version": SCHEMA_VERSION,
        "model_a": comp.model_a,
        "model_b": comp.model_b,
        "source_format": comp.source_format,
        "metadata": comp.metadata,
    }


def dump_example(ex: Example) -> bytes:
    return orjson.dumps(ex)


def write_native(comp: Comparison, path: str | Path) -> None:
    """Write through the one atomic writer (``comparator.schema.atomic``): a crash or a full
    disk never leaves half a file, nor touches the previous one."""
    with atomic_write(path) as f:
        f.write(orjson.dumps(header_of(comp)) + b"\n")
        for ex in comp.examples:
            f.write(dump_example(ex) + b"\n")


def _read(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    return read_native(src.path, src.data), []


def _write(comp: Comparison, path: Path, tie_threshold: float) -> None:
    write_native(comp, path)  # scores are kept as they are: no tie threshold


register(Format(
    "native", "comparator's own JSONL: a header line, then one example per line", _read,
    claims=lambda src, first: is_header(first), claim_order=10,
    misfit=Signature(("id", "response_a", "response_b"), ("prompt", "messages")), order=90,
    export=Export("native", ".jsonl", _write, aliases=("jsonl",), order=0),
    siblings=lambda path: [sidecar_path(path)]))  # a header-less file's header
