"""Helpers of the benchmark readers (Arena-Hard-Auto, JudgeBench, MT-Bench single grades):
required keys per line, and one judged game as a judgment in the file's orientation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from comparator.schema.errors import InputError


def require_keys(path: Path, rows: list[tuple[int, dict]], keys: tuple[str, ...], what: str
                 ) -> None:
    """Every line has ``keys``, else an InputError naming the line, the key and the format."""
    for n, r in rows:
        for key in keys:
            if key not in r:
                raise InputError(path, f"missing (is this {what}?)", line=n, field=key)


def game_judgment(game: Any, verdict_key: str, scale: dict[str, float], text_of: Callable,
                  flipped: bool, **fields: Any) -> dict:
    """A game ``{verdict_key: verdict, "judgment": text}`` (or null) as a judgment: the verdict's
    score from ``scale``, negated when the judge saw the responses swapped (``flipped``); a null
    game or an unknown verdict is unscored with its text kept."""
    verdict = game.get(verdict_key) if isinstance(game, dict) else None
    text = text_of(game.get("judgment")) if isinstance(game, dict) else None
    j: dict = {**fields, "flipped": flipped,
               "label": verdict if isinstance(verdict, str) else None}
    if text:
        j["rationale"] = text
    if isinstance(verdict, str) and verdict in scale:
        j["score"] = (-scale[verdict] if flipped else scale[verdict]) + 0.0  # no -0.0
    else:
        j["status"] = "unscored"
        j["raw"] = text or ("null game" if game is None else f"verdict {verdict!r}")
    return j
