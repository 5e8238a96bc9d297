"""Built-in response metrics, vectorised with Arrow's compute kernels (C++, RE2 regexes over
whole columns: no per-example Python loop).

Multi-turn responses are measured per turn, then combined per response: counts are summed over
the turns, booleans are true when any turn has the feature ("starts with an affirmation": any
turn starts with one).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from comparator.io.schema import Text

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
    "repeated_sentences": ("count", None, "sentences that repeat an earlier sentence of the "
                           "same response (case and spacing ignored, 3+ words)"),
}
WORD = r"[^\t-\r\x{1c}-\x{20}\x{85}\p{Z}]+"  # a run of what Python's str.split() keeps
SENTENCE_SPLIT = r"[.!?]+(?:\s+|$)|\n+"


def flatten(values: Sequence[Text | None]) -> tuple[pa.Array, np.ndarray]:
    """All turns of all responses as one Arrow string array, and each turn's response index."""
    turns: list[str] = []
    owner: list[int] = []
    for i, v in enumerate(values):
        if isinstance(v, list):
            turns.extend(v)
            owner.extend([i] * len(v))
        else:
            turns.append(v or "")
            owner.append(i)
    return pa.array(turns, type=pa.large_string()), np.asarray(owner, dtype=np.int64)


def _per_response(turn_values: np.ndarray, owner: np.ndarray, n: int, kind: str) -> np.ndarray:
    if len(owner) == n:  # single-turn: one turn per response, already aligned
        return turn_values.astype(bool) if kind == "bool" else turn_values.astype(np.float64)
    total = np.bincount(owner, weights=turn_values.astype(np.float64), minlength=n)
    return total > 0 if kind == "bool" else total


def repeated_sentences(turns: pa.Array) -> np.ndarray:
    """Per turn, how many of its sentences (3+ words, lower-cased, spaces collapsed) repeat an
    earlier one of the same turn. pandas' hashing ``duplicated`` does the matching."""
    import pandas as pd

    parts = pc.split_pattern_regex(turns, SENTENCE_SPLIT)
    flat = pc.list_flatten(parts)
    parent = pc.list_parent_indices(parts).to_numpy()
    norm = pc.utf8_lower(pc.replace_substring_regex(pc.utf8_trim_whitespace(flat), r"\s+", " "))
    words = pc.add(pc.count_substring(norm, " "), 1)
    keep = pc.and_(pc.greater_equal(words, 3), pc.greater(pc.utf8_length(norm), 0))
    keep_np = keep.to_numpy(zero_copy_only=False)
    df = pd.DataFrame({"p": parent[keep_np], "s": pc.filter(norm, keep).to_pandas()})
    dup = df.duplicated(["p", "s"]).to_numpy()
    return np.bincount(df["p"].to_numpy()[dup], minlength=len(turns))


def turn_metric(name: str, turns: pa.Array) -> np.ndarray:
    """One built-in metric for every turn (counts as ints, booleans as bools)."""
    kind, pattern, _ = BUILTINS[name]
    if name == "words":
        out = pc.count_substring_regex(turns, WORD)
    elif name == "characters":
        out = pc.utf8_length(turns)
    elif name == "repeated_sentences":
        return repeated_sentences(turns)
    else:
        out = pc.match_substring_regex(turns, pattern)
    return out.to_numpy(zero_copy_only=False)


def builtin_columns(values: Sequence[Text | None], prefix: str) -> dict[str, np.ndarray]:
    """Every built-in metric of one side's responses: ``{prefix.name: array}``; counts are
    float64, booleans bool."""
    turns, owner = flatten(values)
    n = len(values)
    return {f"{prefix}.{name}": _per_response(turn_metric(name, turns), owner, n, kind)
            for name, (kind, _, _) in BUILTINS.items()}
