"""Prompt sets for generation: native JSONL (prompt or messages + category), MT-Bench
``question.jsonl`` (several user turns), AlpacaEval-style instruction lists, CSV."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comparator.formats.common import Source, dedupe_ids, text_id
from comparator.formats.native import is_header
from comparator.formats.tabular import resolve_columns, table_rows
from comparator.schema.errors import InputError


@dataclass
class PromptItem:
    id: str
    turns: list[str]  # user turns; turn k+1 is asked after the model's own reply to turn k
    system: str | None = None
    category: str | None = None
    reference: list[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _item_from(rec: dict, n: int, path: Path, line: bool) -> PromptItem:
    kw = {"line": n} if line else {"record": n}
    meta: dict[str, Any] = {}
    system = None
    if isinstance(rec.get("turns"), list):  # MT-Bench question.jsonl
        turns = [str(t) for t in rec["turns"]]
        ident = rec.get("question_id", rec.get("id"))
    elif isinstance(rec.get("messages"), list):
        turns = [m["content"] for m in rec["messages"] if m.get("role") == "user"]
        system = next((m["content"] for m in rec["messages"] if m.get("role") == "system"), None)
        ident = rec.get("id")
    else:
        cols = resolve_columns(list(rec), {})
        if "prompt" not in cols:
            raise InputError(path, "no prompt: give 'prompt', 'instruction', 'messages' or "
                             "'turns'", field="prompt", **kw)
        text = str(rec[cols["prompt"]])
        extra = rec.get("input")
        if cols["prompt"] == "instruction" and extra:  # AlpacaEval / Alpaca style
            text += f"\n\n{extra}"
        turns = [text]
        ident = rec.get(cols["id"]) if "id" in cols else None
    if not turns or not all(isinstance(t, str) and t for t in turns):
        raise InputError(path, "empty prompt", field="turns", **kw)
    category = rec.get("category", rec.get("dataset"))
    ref = rec.get("reference")
    for k in ("cmp_key", "source"):
        if k in rec:
            meta[k] = rec[k]
    return PromptItem(id="" if ident in (None, "") else str(ident), turns=turns, system=system,
                      category=None if category is None else str(category),
                      reference=[str(r) for r in ref] if isinstance(ref, list) else
                      ([str(ref)] if ref else None), metadata=meta)


def load_prompts(path: str | Path, limit: int | None = None) -> list[PromptItem]:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    src = Source(path)
    if path.suffix.lower() in (".csv", ".tsv"):
        rows, is_line = table_rows(src)
    elif src.first_char == b"[":
        rows, is_line = list(enumerate(src.json, start=1)), False
    else:
        rows, is_line = src.jsonl, True
        if rows and is_header(rows[0][1]):  # a comparison file: reuse its prompts
            rows = rows[1:]
    items = [_item_from(r, n, path, is_line) for n, r in rows if isinstance(r, dict)]
    if not items:
        raise InputError(path, "no prompts found")
    ids = dedupe_ids([it.id or text_id(it.turns) for it in items])
    for it, i in zip(items, ids):
        it.id = i
    return items[:limit] if limit else items

