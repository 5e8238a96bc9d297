"""Arena battle logs for the leaderboard: one battle per line (JSONL) or per record (JSON list)
with ``model_a``, ``model_b``, ``winner`` (``model_a`` / ``model_b`` / ``tie`` /
``tie (bothbad)``); ``question_id`` and the conversations are optional (Arena-Hard's
``arena_hard_battles.jsonl``, Chatbot Arena's battle dumps). Only what a rating needs is read,
so a million battles load in seconds; any other winner (e.g. ``error``) is not a battle and is
counted in a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from comparator.formats.common import Source
from comparator.schema.errors import InputError


@dataclass
class Battles:
    """One row per battle: ``i``, ``j`` index ``models``; ``outcome`` 1 i wins, .5 tie, 0."""

    models: list[str]
    i: np.ndarray
    j: np.ndarray
    outcome: np.ndarray

    def __len__(self) -> int:
        return len(self.outcome)


def combine(parts: list[Battles]) -> Battles:
    """Battles of several sources on one model index (models keyed by name)."""
    names: dict[str, int] = {}
    ii, jj, oo = [], [], []
    for b in parts:
        remap = np.array([names.setdefault(m, len(names)) for m in b.models], dtype=np.int64)
        ii.append(remap[b.i] if len(b) else b.i)
        jj.append(remap[b.j] if len(b) else b.j)
        oo.append(b.outcome)
    cat = (lambda xs, t: np.concatenate(xs).astype(t) if xs else np.zeros(0, t))  # noqa: E731
    return Battles(list(names), cat(ii, np.int64), cat(jj, np.int64), cat(oo, float))


OUTCOME = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}
KEYS = ("model_a", "model_b", "winner")


def is_battle_log(src: Source) -> bool:
    """The first record has model_a, model_b and winner (and no FastChat g1_/g2_ fields)."""
    try:
        if src.first_char == b"{":
            first = orjson.loads(src.first_line)
        elif src.first_char == b"[":
            doc = src.json
            first = doc[0] if isinstance(doc, list) and doc else None
        else:
            return False
    except orjson.JSONDecodeError:
        return False
    return isinstance(first, dict) and all(k in first for k in KEYS)


def read_battles(path: str | Path, data: bytes | None = None) -> tuple[Battles, list[str]]:
    src = Source(Path(path), data)
    if src.first_char == b"[":
        rows = list(enumerate(src.json, start=1))
        where = "record"
    else:
        rows = src.jsonl
        where = "line"
    names: dict[str, int] = {}
    ii = np.empty(len(rows), np.int64)
    jj = np.empty(len(rows), np.int64)
    oo = np.empty(len(rows), float)
    k = skipped = 0
    for n, r in rows:
        if not isinstance(r, dict):
            raise InputError(src.path, "expected an object with model_a, model_b, winner",
                             **{where: n})
        try:
            a, b, w = r["model_a"], r["model_b"], r["winner"]
        except KeyError as e:
            raise InputError(src.path, "missing (an Arena battle needs model_a, model_b, "
                             "winner)", field=e.args[0], **{where: n}) from None
        o = OUTCOME.get(w) if isinstance(w, str) else None
        if o is None or not isinstance(a, str) or not isinstance(b, str):
            skipped += 1
            continue
        ii[k] = names.setdefault(a, len(names))
        jj[k] = names.setdefault(b, len(names))
        oo[k] = o
        k += 1
    warnings = [f"{skipped} rows are not battles (winner not one of {', '.join(OUTCOME)}, or "
                "a model name is not text): left out"] if skipped else []
    return Battles(list(names), ii[:k], jj[:k], oo[:k]), warnings
