"""Built-in response metrics, vectorised with Arrow's compute kernels (C++, RE2 regexes over
whole columns: no per-example Python loop).

Multi-turn responses are measured per turn, then combined per response: counts are summed over
the turns, booleans are true when any turn has the feature ("starts with an affirmation": any
turn starts with one).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from comparator.schema.records import Text
from comparator.store.schema import text_array

# name -> (kind, RE2 pattern or None, help). kind: "count" | "bool"
AFFIRMATIONS = ("sure", "certainly", "of course", "absolutely", "definitely", "great question",
                "good question", "happy to help", "gladly", "yes", "okay", "ok")
REFUSALS = (r"i(?:'m| am) (?:sorry|unable|not able)", r"i can(?:not|'t|’t) (?:help|assist|"
            r"provide|comply|do that|fulfill)", r"as an ai(?: language model)?",
            r"i (?:must|have to) (?:decline|refuse)", r"i won(?:'|’)t be able",
            r"i(?:'m| am) not comfortable", r"against my (?:guidelines|policy|programming)")
BUILTINS: dict[str, tuple[str, str | None, str]] = {
    "words": ("count", None, "words (whitespace-separated tokens)"),
    "characters": ("count", None, "characters (Unicode code points)"),
    "has_list": ("bool", r"(?m)^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+\S",
                 "a bulleted or numbered list"),
    "has_headings": ("bool", r"(?m)^[ \t]{0,3}#{1,6}[ \t]+\S|^[^\n]*\S[^\n]*\n[ \t]{0,3}=+[ \t]*$",
                     "Markdown headings (# Title or a === underline)"),
    "has_code": ("bool", r"(?m)^[ \t]*(?:```|~~~)", "a fenced code block (``` or ~~~)"),
    "has_url": ("bool", r"(?i)\bhttps?://[^\s<>()]+|\bwww\.[a-z0-9-]+\.[a-z]", "a URL"),
    "affirmation": ("bool", r"(?i)^[\s\W]*(?:" + "|".join(a.replace(" ", r"\s+") for a in
                                                            AFFIRMATIONS) + r")\b",
                    "starts with an affirmation (Sure, Certainly, Of course, ...)"),
    "refusal": ("bool", r"(?i)(?:" + "|".join(REFUSALS) + ")", "a refusal phrase (I'm sorry, "
                "I can't help, As an AI ...)"),
    "repeated_sentences": ("count", None, "sentences (16+ bytes) that repeat an earlier "
                           "sentence of the same turn, ASCII case and end punctuation "
                           "ignored"),
}
SENTENCE_ENDS = ("\n", ". ", "! ", "? ")  # split on each in turn (literal splits are fast)
MIN_SENTENCE = 16  # UTF-8 bytes: shorter "sentences" ("Yes.", "1.", list stubs) repeat by nature


def flatten(values: Sequence[Text | None]) -> tuple[pa.Array, np.ndarray, list[str]]:
    """All turns of all responses as one Arrow string array, each turn's response index, and
    the turns as Python strings."""
    turns: list[str] = []
    owner: list[int] = []
    for i, v in enumerate(values):
        if isinstance(v, list):
            turns.extend(v)
            owner.extend([i] * len(v))
        else:
            turns.append(v or "")
            owner.append(i)
    return to_arrow(turns), np.asarray(owner, dtype=np.int64), turns


def to_arrow(texts: list[str]) -> pa.Array:
    """``texts`` as an Arrow large-string array built from one joined UTF-8 buffer: 5-8x faster
    than ``pa.array(texts)`` on 100k fresh strings (lone surrogates become "?")."""
    return text_array(texts, errors="replace")


def _per_response(turn_values: np.ndarray, owner: np.ndarray, n: int, kind: str) -> np.ndarray:
    if len(owner) == n and (n == 0 or owner[-1] == n - 1 and (np.diff(owner) == 1).all()):
        # single-turn: one turn per response, already aligned
        return turn_values.astype(bool) if kind == "bool" else turn_values.astype(np.float64)
    total = np.bincount(owner, weights=turn_values.astype(np.float64), minlength=n)
    return total > 0 if kind == "bool" else total


def repeated_sentences(turns: pa.Array) -> np.ndarray:
    """Per turn, how many of its sentences (16+ UTF-8 bytes, ASCII case ignored) repeat an
    earlier one of the same turn. Sentences end at a line break or at ``.``, ``!``, ``?``
    before a space (end punctuation is ignored); Arrow splits and hash-encodes them, numpy
    finds the repeats."""
    flat, parent = turns, np.arange(len(turns), dtype=np.int64)
    for sep in SENTENCE_ENDS:
        parts = pc.split_pattern(flat, sep)
        parent = parent[pc.list_parent_indices(parts).to_numpy()]
        flat = pc.list_flatten(parts)
    flat = pc.ascii_rtrim(pc.ascii_lower(pc.ascii_trim_whitespace(flat)), characters=".!? ")
    keep = pc.greater_equal(pc.binary_length(flat), MIN_SENTENCE).to_numpy(zero_copy_only=False)
    codes = pc.dictionary_encode(flat).indices.to_numpy(zero_copy_only=False)
    width = int(codes.max(initial=0)) + 1
    key = np.sort(parent[keep] * width + codes[keep])
    dup = key[1:][key[1:] == key[:-1]]
    return np.bincount(dup // width, minlength=len(turns))


def turn_metric(name: str, turns: pa.Array) -> np.ndarray:
    """One Arrow-computed built-in (all but words and characters) for every turn. (RE2 runs
    these patterns faster than Arrow's literal-substring kernels could pre-filter them.)"""
    if name == "repeated_sentences":
        return repeated_sentences(turns)
    return pc.match_substring_regex(turns, BUILTINS[name][1]).to_numpy(zero_copy_only=False)


ARROW_METRICS = [k for k in BUILTINS if k not in ("words", "characters")]
CHUNK = 20_000  # turns per task: Arrow's kernels release the GIL, so chunks run in threads


def turn_metrics(turns: pa.Array, texts: list[str]) -> dict[str, np.ndarray]:
    """Every built-in for every turn. Words and characters are counted by a loop over Python's
    C ``str.split`` / ``len`` (faster here than a regex or byte kernel), meanwhile the regex
    metrics run on chunks of the Arrow array in worker threads."""
    def run(lo: int) -> dict[str, np.ndarray]:
        part = turns.slice(lo, CHUNK)
        return {k: turn_metric(k, part) for k in ARROW_METRICS}

    starts = range(0, len(texts), CHUNK)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        futures = [pool.submit(run, lo) for lo in starts]
        out = {"words": np.fromiter(map(len, map(str.split, texts)), np.int64, len(texts)),
               "characters": np.fromiter(map(len, texts), np.int64, len(texts))}
        parts = [f.result() for f in futures]
    for k in ARROW_METRICS:
        out[k] = (np.concatenate([p[k] for p in parts]) if parts
                  else np.zeros(0, bool if BUILTINS[k][0] == "bool" else np.int64))
    return out


def builtin_columns(turns: pa.Array, owner: np.ndarray, texts: list[str], n: int,
                    prefix: str) -> dict[str, np.ndarray]:
    """Every built-in metric of one side's ``n`` responses (from ``flatten``):
    ``{prefix.name: array}``; counts are float64, booleans bool."""
    per_turn = turn_metrics(turns, texts)
    return {f"{prefix}.{name}": _per_response(per_turn[name], owner, n, kind)
            for name, (kind, _, _) in BUILTINS.items()}
