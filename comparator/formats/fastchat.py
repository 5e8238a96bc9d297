"""What FastChat's formats share (MT-Bench pairwise, MT-Bench single grades, Arena battles):
the judged record's common fields, ``question.jsonl`` and ``model_answer/<model>.jsonl`` beside
the ``model_judgment`` folder, and the choice of the model pair a file is read for.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, NotRequired

from pydantic import Field, with_config
from typing_extensions import TypedDict

from comparator.formats.checks import OPEN, check_rows
from comparator.formats.common import LoadOptions, read_file, read_jsonl
from comparator.schema.errors import InputError
from comparator.schema.files import named_file
from comparator.schema.records import Integer


@with_config(OPEN)
class FastChatJudged(TypedDict):
    question_id: Integer
    turn: NotRequired[Integer]
    judge: NotRequired[Annotated[list[str], Field(min_length=2)] | str | None]


@with_config(OPEN)
class MTBenchQuestion(TypedDict):
    question_id: Integer
    turns: Annotated[list[str], Field(min_length=1)]
    category: NotRequired[str | None]
    reference: NotRequired[list[str] | None]


@with_config(OPEN)
class _Choice(TypedDict):
    turns: Annotated[list[str], Field(min_length=1)]


@with_config(OPEN)
class MTBenchAnswer(TypedDict):
    question_id: Integer
    choices: Annotated[list[_Choice], Field(min_length=1)]


def fastchat_root(path: Path) -> Path | None:
    """``data/mt_bench`` when ``path`` sits in its ``model_judgment`` folder."""
    return path.parent.parent if path.parent.name == "model_judgment" else None


def judged_siblings(root: Path | None) -> list[Path]:
    """The files a FastChat-layout reader may read beside a judged file under ``root``."""
    if root is None:
        return []
    return [root / "question.jsonl", *sorted((root / "model_answer").glob("*.jsonl"))]


def load_questions(path: Path, within: Path | None = None) -> dict[int, dict]:
    """``question.jsonl`` by question id; ``within``: the folder tree it must lie in when it was
    found beside the judged file (``--questions`` names it: any file its user may read)."""
    rows = read_jsonl(path, read_file(path, within))
    check_rows(path, rows, MTBenchQuestion, is_line=True, quote=within is None)
    return {int(q["question_id"]): q for _, q in rows}


def load_answers(root: Path | None, models: set[str]) -> dict[str, dict[int, list[str]]]:
    """``model_answer/<model>.jsonl`` of each model the judged file names: a name is the file's
    content, so the answers must lie inside ``root`` (no ``..``, no link out of it)."""
    out: dict[str, dict[int, list[str]]] = {}
    if root is None:
        return out
    for m in models:
        f = named_file(root, f"model_answer/{m}.jsonl")
        if f is not None:
            rows = read_jsonl(f, read_file(f, root))
            check_rows(f, rows, MTBenchAnswer, is_line=True, quote=False)
            out[m] = {int(r["question_id"]): r["choices"][0]["turns"] for _, r in rows}
    return out


def choose_pair(path: Path, pairs: Counter, opts: LoadOptions) -> tuple[str, str] | None:
    """The (A, B) to orient on, or None for a file of several pairs kept as model_1/model_2."""
    unordered = {frozenset(p) for p in pairs}
    if opts.pair:
        if frozenset(opts.pair) not in unordered:
            have = ", ".join(sorted(f"{a},{b}" for a, b in pairs))
            raise InputError(path, f"no rows compare {opts.pair[0]} with {opts.pair[1]}; "
                             f"pairs in the file: {have}", field="model_1/model_2")
        return opts.pair
    if len(unordered) == 1:
        return pairs.most_common(1)[0][0]
    return None
