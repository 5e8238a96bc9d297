"""Hostile folder trees: a real MT-Bench layout (FastChat's ``model_judgment/``, ``question.jsonl``,
``model_answer/``) copied from ../shared/data, then one thing made hostile: a judged file whose
content names a file outside its tree, a sibling that is a link out of it, a named pipe, a
sibling that does not parse. Outside the tree lies a file holding ``SECRET``: no message may
ever show it.

Each ``Tree`` says which file the message must name, and a word it must hold.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from conftest import SHARED  # ../shared/data or $COMPARATOR_TEST_DATA

MT = SHARED / "mt_bench"
JUDGED = "model_judgment/gpt-4_pair_phi-3_vs_phi-3-dpo.jsonl"
SECRET = "TOP-SECRET-7f3a"  # in every file outside the tree


def mt_tree(folder: Path) -> Path:
    """A copy of the MT-Bench layout for phi-3 vs phi-3-dpo under ``folder/bench``; the
    judged file."""
    root = folder / "bench"
    (root / "model_judgment").mkdir(parents=True)
    (root / "model_answer").mkdir()
    shutil.copy(MT / JUDGED, root / JUDGED)
    shutil.copy(MT / "question.jsonl", root / "question.jsonl")
    for m in ("phi-3", "phi-3-dpo"):
        shutil.copy(MT / "model_answer" / f"{m}.jsonl", root / "model_answer" / f"{m}.jsonl")
    return root / JUDGED


def outside(folder: Path, name: str = "phi-3-dpo.jsonl") -> Path:
    """A file outside the tree: real answers with the secret in each, plus a line that is not
    JSON (a parse error must not quote it either)."""
    out = folder / "elsewhere" / name
    out.parent.mkdir(exist_ok=True)
    rows = [orjson.loads(x) for x in (MT / "model_answer/phi-3-dpo.jsonl").read_bytes()
            .splitlines() if x.strip()]
    for r in rows:
        r["choices"][0]["turns"] = [f"{SECRET} {t}" for t in r["choices"][0]["turns"]]
    out.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + f"\n{SECRET}\n".encode())
    return out


def _rename(judged: Path, model: str, to: str) -> None:
    rows = [orjson.loads(x) for x in judged.read_bytes().splitlines() if x.strip()]
    for r in rows:
        for k in ("model_1", "model_2"):
            if r[k] == model:
                r[k] = to
    judged.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")


def _traversal(folder: Path) -> Path:
    judged = mt_tree(folder)
    outside(folder)  # bench/model_answer/../../elsewhere/phi-3-dpo.jsonl
    _rename(judged, "phi-3-dpo", "../../elsewhere/phi-3-dpo")
    return judged


def _traversal_missing(folder: Path) -> Path:
    judged = mt_tree(folder)  # no such file outside: the same refusal (no existence oracle)
    _rename(judged, "phi-3-dpo", "../../nowhere/phi-3-dpo")
    return judged


def _linked_answers(folder: Path) -> Path:
    judged = mt_tree(folder)
    target = outside(folder)
    answers = judged.parents[1] / "model_answer/phi-3.jsonl"
    answers.unlink()
    answers.symlink_to(target)
    return judged


def _linked_questions(folder: Path) -> Path:
    judged = mt_tree(folder)
    target = outside(folder, "question.jsonl")
    questions = judged.parents[1] / "question.jsonl"
    questions.unlink()
    questions.symlink_to(target)
    return judged


def _fifo(name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        judged = mt_tree(folder)
        sibling = judged.parents[1] / name
        sibling.unlink()
        os.mkfifo(sibling)
        return judged
    return make


def _bad_answers(folder: Path) -> Path:
    judged = mt_tree(folder)  # inside the tree, but a value of the wrong type: never quoted
    answers = judged.parents[1] / "model_answer/phi-3.jsonl"
    answers.write_bytes(orjson.dumps({"question_id": 81, "choices": SECRET}) + b"\n")
    return judged


AH = Path(__file__).resolve().parents[1] / "data/arena_hard/v2.0-uid"  # real records (README)
AH_JUDGED = "data/arena-hard-v0.1/model_judgment/gpt-4-1106-preview/gpt-4-0613.jsonl"


def _arena_baseline(folder: Path) -> Path:
    """Arena-Hard-Auto v2.0: the record's ``baseline`` names ``model_answer/<baseline>.jsonl``;
    here it climbs out of the tree to a file holding the secret."""
    shutil.copytree(AH, folder / "ah")
    judged = folder / "ah" / AH_JUDGED
    (folder / "elsewhere").mkdir(exist_ok=True)
    (folder / "elsewhere/base.jsonl").write_text(
        orjson.dumps({"uid": "b4b1c3f799f6459b8cfb15fa27e399e7", "messages": [
            {"role": "assistant", "content": SECRET}]}).decode() + "\n")
    rows = [orjson.loads(x) for x in judged.read_bytes().splitlines() if x.strip()]
    for r in rows:
        r["baseline"] = "../../../../elsewhere/base"  # folder/elsewhere/base.jsonl
    judged.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return judged


def _arena_linked(folder: Path) -> Path:
    shutil.copytree(AH, folder / "ah")
    target = outside(folder)
    answers = folder / "ah/data/arena-hard-v0.1/model_answer/gpt-4-0314.jsonl"
    answers.unlink()
    answers.symlink_to(target)
    return folder / "ah" / AH_JUDGED


@dataclass
class Tree:
    name: str
    make: Callable[[Path], Path]  # builds the tree in a folder; the judged file
    names: str  # the file the message must name (its path's end)
    fragment: str  # a word the message must hold


TREES = [
    Tree("traversal", _traversal, "elsewhere/phi-3-dpo.jsonl", "outside"),
    Tree("traversal-missing", _traversal_missing, "nowhere/phi-3-dpo.jsonl", "outside"),
    Tree("linked-answers", _linked_answers, "model_answer/phi-3.jsonl", "outside"),
    Tree("linked-questions", _linked_questions, "question.jsonl", "outside"),
    Tree("fifo-answers", _fifo("model_answer/phi-3.jsonl"), "model_answer/phi-3.jsonl",
         "named pipe"),
    Tree("fifo-questions", _fifo("question.jsonl"), "question.jsonl", "named pipe"),
    Tree("bad-answers", _bad_answers, "model_answer/phi-3.jsonl:1", "choices"),
    Tree("arena-hard-baseline", _arena_baseline, "elsewhere/base.jsonl", "outside"),
    Tree("arena-hard-linked", _arena_linked, "model_answer/gpt-4-0314.jsonl", "outside"),
]
