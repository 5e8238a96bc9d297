"""Tables: CSV / TSV / JSONL / JSON lists with a column mapping, and the flat CSV export.

Canonical columns (``--map name=column`` overrides; otherwise the usual spellings are found):
id, prompt, response_a, response_b, score (canonical scale) or label (A / B / tie, [[A]],
A>>B, "A is better", 1 / 2 / 0, or a model's name), category, tags, rationale, judge, flipped,
reference, model_a, model_b. Every other column becomes metadata. Rows that share an id are one
example with several judgments.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import orjson

from comparator.formats.common import (
    LoadOptions,
    Source,
    dedupe_ids,
    finish,
    only_value,
    records,
    text_id,
)
from comparator.formats.registry import Export, Format, register
from comparator.schema.csvsafe import write_rows
from comparator.schema.errors import InputError, excerpt
from comparator.schema.labels import SCORE_MAX, SCORE_MIN, label_to_score, winner_of
from comparator.schema.records import Comparison, example_score, prompt_text, response_text

SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "example_id", "question_id", "uid", "idx"),
    "prompt": ("prompt", "instruction", "question", "input", "input_text", "query"),
    "response_a": ("response_a", "output_a", "answer_a", "completion_a", "output_text_a",
                   "output_1", "response1", "response_1"),
    "response_b": ("response_b", "output_b", "answer_b", "completion_b", "output_text_b",
                   "output_2", "response2", "response_2"),
    "score": ("score",),
    "label": ("label", "winner", "verdict", "preference", "judgment"),
    "category": ("category", "dataset", "source", "task"),
    "tags": ("tags",),
    "rationale": ("rationale", "explanation", "reason", "reasoning"),
    "judge": ("judge", "annotator", "rater"),
    "flipped": ("flipped", "is_flipped", "swapped", "swap"),
    "reference": ("reference", "reference_answer", "gold"),
    "model_a": ("model_a", "generator_a", "model_1", "generator_1"),
    "model_b": ("model_b", "generator_b", "model_2", "generator_2"),
}
# columns our own CSV export writes that are derived from others
DERIVED = ("winner", "judgments_ok", "judgments_unscored")
CANONICAL = tuple(SYNONYMS)
NEEDS = ("prompt", "response_a", "response_b")  # the columns a table must have


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """``["prompt=question", "response_a=ans1,response_b=ans2"]`` -> {canonical: column}."""
    out: dict[str, str] = {}
    for item in items or []:
        for part in item.split(","):
            if not part.strip():
                continue
            name, sep, col = part.partition("=")
            name = name.strip()
            if not sep or name not in SYNONYMS or not col.strip():
                raise ValueError(f"--map takes NAME=COLUMN with NAME one of {', '.join(SYNONYMS)};"
                                 f" got {part!r}")
            out[name] = col.strip()
    return out


def delimiter(header: str, suffix: str) -> str:
    """The delimiter of a CSV from its header line: the most frequent of , ; and tab outside
    quotes (',' for a single column). csv.Sniffer guesses from cell contents and fails on one
    column, long fields or JSON cells ("Could not determine delimiter")."""
    if suffix == ".tsv":
        return "\t"
    outside = "".join(header.split('"')[::2])
    counts = {d: outside.count(d) for d in ",;\t"}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict]]:
    csv.field_size_limit(1 << 30)  # a long response is a long cell (the default is 128 KB)
    delim = delimiter(text[:text.find("\n")] if "\n" in text else text, path.suffix.lower())
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    rows, start = [], 2
    try:
        for row in reader:
            if None in row:
                raise InputError(path, f"more cells than the {len(reader.fieldnames)} header "
                                 "columns (a delimiter inside a cell that is not quoted?)",
                                 line=start)
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as e:
        raise InputError(path, f"not a valid CSV ({e}); a quote left open?", line=start) from None
    return rows


def table_rows(src: Source) -> tuple[list[tuple[int, dict]], bool]:
    """(line or record number, row) and whether the numbers are line numbers."""
    path = src.path
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return _csv_rows(path, src.data.decode("utf-8")), True
    if src.first_char == b"[":
        return list(enumerate(records(path, src.json, "a JSON table"), start=1)), False
    return src.jsonl, True


def peek_columns(src: Source) -> list[str]:
    """The column names of a table (for a mapping form), reading as little as possible."""
    suffix = src.path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        head = src.data[:65536].decode("utf-8", errors="replace").splitlines()[:1]
        if not head:
            return []
        return next(csv.reader(head, delimiter=delimiter(head[0], suffix)))
    rows, _ = table_rows(src)
    return list(dict.fromkeys(k for _, r in rows[:1000] for k in r))


def resolve_columns(columns: list[str], mapping: dict[str, str]) -> dict[str, str]:
    lower = {c.lower().strip(): c for c in columns}
    out: dict[str, str] = {}
    for name, syns in SYNONYMS.items():
        if name in mapping:
            out[name] = mapping[name]
            continue
        for s in syns:
            if s in lower and lower[s] not in out.values():
                out[name] = lower[s]
                break
    return out


def table_misfit(keys: set[str]) -> str | None:
    """Why records with ``keys`` are not a table (None when every needed column is found)."""
    cols = resolve_columns(sorted(keys), {})
    missing = [n for n in NEEDS if n not in cols]
    return (f"no column for {', '.join(missing)}; name columns with --map NAME=COLUMN"
            if missing else None)


def mapping_note(cols: dict[str, str]) -> str:
    """Which column became which field, said every time the table reader is used."""
    pairs = ", ".join(f"{name} <- {col!r}" for name, col in cols.items())
    return f"read as a table: {pairs} (change with --map NAME=COLUMN; other columns are metadata)"


def _refuse_nested(path: Path, rows: list[tuple[int, dict]], cols: dict[str, str],
                   is_line: bool) -> None:
    """A mapped column holding lists or objects is a structure this reader would flatten into
    text or a wrong verdict: refuse it, naming the column (tags may be a list)."""
    check = [c for name, c in cols.items() if name != "tags"]
    for n, row in rows:
        for c in check:
            if isinstance(row.get(c), (list, dict)):
                kw = {"line": n} if is_line else {"record": n}
                raise InputError(path, f"column {c!r} holds a JSON {type(row[c]).__name__}, not "
                                 "a value: this file has a structure the table reader cannot "
                                 "read; choose its format with --format or map another column "
                                 "with --map", field=c, **kw)


def _cell(v: Any) -> Any:
    """CSV cells are strings: '' is missing, numbers become numbers."""
    if not isinstance(v, str):
        return v
    s = v.strip()
    if s == "":
        return None
    for conv in (int, float):
        try:
            x = conv(s)
            return x if not (isinstance(x, float) and math.isnan(x)) else None
        except ValueError:
            pass
    return v


def _bool(v: Any) -> bool | None:
    if v is None or isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(s)


def _tags(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [str(t) for t in v]
    s = str(v).strip()
    if s.startswith("["):
        try:
            return [str(t) for t in orjson.loads(s)]
        except orjson.JSONDecodeError:
            pass
    return [t.strip() for t in s.split("|") if t.strip()]


def _judgment(path: Path, row: dict, cols: dict, n: int, kw: dict, names: tuple) -> dict | None:
    score_col, label_col = cols.get("score"), cols.get("label")
    score = _cell(row.get(score_col)) if score_col else None
    label = row.get(label_col) if label_col else None
    label = None if label is None or str(label).strip() == "" else label
    if score is None and label is None:
        return None
    j: dict = {}
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, (int, float)) or \
                not SCORE_MIN <= score <= SCORE_MAX:  # ``true`` is no score
            raise InputError(path, f"must be a number in [{SCORE_MIN}, {SCORE_MAX}] (+1.5 A much "
                             f"better ... -1.5 B much better), got {excerpt(row.get(score_col))}",
                             field=score_col, **kw)
        j["score"] = float(score)
    if label is not None:
        j["label"] = str(label)
        if score is None:
            s = label_to_score(label)
            if s is None and str(label).strip() in names:
                s = 1.0 if str(label).strip() == names[0] else -1.0
            if s is None:
                j.update(status="unscored", raw=str(label))
            else:
                j["score"] = s
    for name in ("rationale", "judge"):
        v = row.get(cols[name]) if name in cols else None
        if v not in (None, ""):
            j[name] = str(v)
    if "flipped" in cols and _bool(row.get(cols["flipped"])) is not None:
        j["flipped"] = _bool(row.get(cols["flipped"]))
    return j


def read_table(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    path = src.path
    rows, is_line = table_rows(src)
    if not rows:
        raise InputError(path, "no rows")
    columns = list(dict.fromkeys(k for _, r in rows for k in r))
    cols = resolve_columns(columns, opts.mapping)
    for name in ("prompt", "response_a", "response_b"):
        if name not in cols:
            raise InputError(path, f"no column for '{name}'; columns are "
                             f"{excerpt(columns, 200)}. Name it with --map {name}=COLUMN",
                             line=1 if is_line else None, field=name)
    for name, col in cols.items():
        if col not in columns:
            raise InputError(path, f"--map {name}={col}: no such column; columns are "
                             f"{excerpt(columns, 200)}")
    _refuse_nested(path, rows, cols, is_line)
    used = set(cols.values()) | (set(DERIVED) if "score" in cols else set())
    model_a = opts.model_a or only_value([r.get(cols["model_a"]) for _, r in rows]
                                         if "model_a" in cols else [None]) or "A"
    model_b = opts.model_b or only_value([r.get(cols["model_b"]) for _, r in rows]
                                         if "model_b" in cols else [None]) or "B"
    groups: dict[str, dict] = {}
    where: dict[str, int] = {}
    for n, row in rows:
        kw = {"line": n} if is_line else {"record": n}
        prompt = row.get(cols["prompt"])
        if prompt is None or str(prompt) == "":
            raise InputError(path, "empty prompt", field=cols["prompt"], **kw)
        ex_id = row.get(cols["id"]) if "id" in cols else None
        if ex_id in (None, ""):  # no id: identical (prompt, A, B) rows are repeated judgments
            ex_id = text_id(str(prompt), str(row.get(cols["response_a"])),
                            str(row.get(cols["response_b"])))
        else:
            ex_id = str(ex_id).strip()
        ex = groups.get(ex_id)
        if ex is None:
            ex = groups[ex_id] = {
                "id": ex_id, "prompt": str(prompt),
                "response_a": str(row.get(cols["response_a"]) or ""),
                "response_b": str(row.get(cols["response_b"]) or ""),
                "judgments": [], "metadata": {},
                "tags": _tags(row.get(cols["tags"])) if "tags" in cols else [],
            }
            where[ex_id] = n
            for name in ("category", "reference"):
                v = row.get(cols[name]) if name in cols else None
                if v not in (None, ""):
                    ex[name] = str(v)
            for c in columns:
                v = _cell(row.get(c))
                if c not in used and v is not None:
                    ex["metadata"][c.removeprefix("meta:")] = v
        elif ex["prompt"] != str(prompt) or ex["response_a"] != str(row.get(cols["response_a"])):
            raise InputError(path, f"id {excerpt(ex_id)} repeats with another prompt or response "
                             f"(first on {'line' if is_line else 'record'} {where[ex_id]})",
                             field=cols.get("id", "id"), **kw)
        j = _judgment(path, row, cols, n, kw, (model_a, model_b))
        if j is not None:
            ex["judgments"].append(j)
    examples = list(groups.values())
    if "id" not in cols:
        for ex, i in zip(examples, dedupe_ids([e["id"] for e in examples])):
            ex["id"] = i
    comp = finish(path, examples, model_a=str(model_a), model_b=str(model_b),
                  source_format="table", where=[where[e["id"]] for e in examples],
                  where_is_line=is_line, metadata={"column_mapping": cols})
    unscored = sum(1 for e in examples for j in e["judgments"] if j.get("status") == "unscored")
    warnings = [mapping_note(cols)]
    if unscored:
        warnings.append(f"{unscored} labels were not a known verdict and are kept unscored")
    return comp, warnings


def to_rows(comp: Comparison, tie_threshold: float) -> tuple[list[str], list[dict]]:
    """One flat row per example (the CSV export)."""
    meta_cols: dict[str, None] = {}
    for ex in comp.examples:
        meta_cols.update(dict.fromkeys(ex.get("metadata") or {}))
    rows = []
    for ex in comp.examples:
        js = ex.get("judgments") or []
        score = example_score(ex)
        row = {
            "id": ex["id"], "model_a": comp.model_a, "model_b": comp.model_b,
            "category": ex.get("category") or "", "tags": "|".join(ex.get("tags") or []),
            "prompt": prompt_text(ex), "response_a": response_text(ex["response_a"]),
            "response_b": response_text(ex["response_b"]),
            "reference": response_text(ex.get("reference")),
            "score": "" if score is None else round(score, 6),
            "winner": winner_of(score, tie_threshold),
            "judgments_ok": sum(1 for j in js if j.get("status", "ok") == "ok"),
            "judgments_unscored": sum(1 for j in js if j.get("status", "ok") != "ok"),
            "rationale": "\n\n".join(j["rationale"] for j in js if j.get("rationale")),
        }
        for c in meta_cols:
            v = (ex.get("metadata") or {}).get(c)
            row[f"meta:{c}"] = orjson.dumps(v).decode() if isinstance(v, (list, dict)) else v
        rows.append(row)
    header = list(rows[0]) if rows else ["id"]
    return header, rows


def write_csv(comp: Comparison, path: str | Path, tie_threshold: float) -> None:
    write_rows(path, *to_rows(comp, tie_threshold))


register(Format(
    "table", "CSV / TSV / JSONL / JSON list with a column mapping (--map NAME=COLUMN)",
    read_table, aliases=("csv", "jsonl"),
    claims=lambda src, first: src.path.suffix.lower() in (".csv", ".tsv"), claim_order=0,
    misfit=table_misfit, order=100,
    export=Export("csv", ".csv", write_csv, aliases=("table",), order=2)))
