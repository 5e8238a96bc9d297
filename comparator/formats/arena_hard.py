"""Arena-Hard-Auto judgments (``data/<bench>/model_judgment/<judge>/<model>.jsonl``).

One line per prompt and evaluated model, with two ``games``: game 1 shows the baseline as
"Assistant A" and the model as "Assistant B", game 2 the reverse. Verdicts ``A>>B, A>B, A=B,
B>A, B>>A`` (and the ``A<<B`` / ``B<A`` spellings of Arena-Hard's result script) are in the
judge's frame; a ``null`` game or verdict is kept *unscored* with its text.

In our comparison A is the evaluated model (``model``) and B the baseline: the record's
``baseline``, else ``--model-b``, else the one Arena-Hard's ``JUDGE_SETTINGS`` names for the
record's category (gpt-4-0314 for v0.1, whose oldest files name no category). Game 1 is
therefore a judgment with ``flipped = True`` and its score negated.

Layouts the repository has used:
- v0.1 (2024): ``question_id, model, judge, games[{user_prompt, judgment, score}]``;
  ``question.jsonl``: ``question_id, turns[{content}]``; answers: ``choices[0].turns[{content}]``.
- v2.0 (2025, also for v0.1 data): ``uid, category, judge, model, baseline, games`` whose games
  are ``{user_prompt, judgment, score}`` or ``{score, judgment: {answer}, prompt: [messages]}``;
  ``question.jsonl``: ``uid, category, prompt``; answers: ``messages`` with the assistant
  ``content`` a string or ``{"answer": ...}``.
Prompts and answers come from ``question.jsonl`` and ``model_answer/<model>.jsonl`` beside
``model_judgment/`` when present, else from the game's prompt text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from comparator.formats.common import (
    LoadOptions,
    Source,
    between,
    dedupe_ids,
    finish,
    read_file,
    read_jsonl,
)
from comparator.formats.fastchat import judged_siblings
from comparator.formats.games import game_judgment, require_keys
from comparator.formats.registry import Format, Signature, register
from comparator.schema.errors import InputError
from comparator.schema.files import named_file
from comparator.schema.records import Comparison

# Arena-Hard's show_result.py label table, as the score of the answer shown as "A"
VERDICTS = {"A>>B": 1.5, "A>B": 0.5, "A=B": 0.0, "B>A": -0.5, "B>>A": -1.5,
            "A<<B": -1.5, "A<B": -0.5, "B=A": 0.0, "B<A": 0.5, "B<<A": 1.5}
# utils/judge_utils.py JUDGE_SETTINGS: the baseline of each question category
BASELINES = {"arena-hard-v0.1": "gpt-4-0314", "hard_prompt": "o3-mini-2025-01-31",
             "coding": "o3-mini-2025-01-31", "math": "o3-mini-2025-01-31",
             "creative_writing": "gemini-2.0-flash-001"}
V01_BASELINE = "gpt-4-0314"


def parse_game_prompt(text: str) -> tuple[str, str, str] | None:
    """(question, answer shown as A, answer shown as B) from Arena-Hard's judge prompt."""
    q = between(text, "<|User Prompt|>\n", "\n\n<|The Start of Assistant A's Answer|>")
    a = between(text, "<|The Start of Assistant A's Answer|>\n", "\n<|The End of Assistant A's")
    b = between(text, "<|The Start of Assistant B's Answer|>\n", "\n<|The End of Assistant B's")
    return None if q is None or a is None or b is None else (q, a, b)


def _game_prompt(game: Any) -> str:
    if not isinstance(game, dict):
        return ""
    if isinstance(game.get("user_prompt"), str):
        return game["user_prompt"]
    msgs = game.get("prompt")
    if isinstance(msgs, list):
        users = [m.get("content") for m in msgs if isinstance(m, dict) and m.get("role") == "user"]
        return users[0] if users and isinstance(users[0], str) else ""
    return ""


def _text(value: Any) -> str | None:
    """A judgment or answer: a string, or v2.0's ``{"answer": ...}`` object."""
    if isinstance(value, dict):
        value = value.get("answer")
    return value if isinstance(value, str) else None


def _root(path: Path) -> Path | None:
    """``data/<bench>`` when ``path`` is ``.../model_judgment/<judge>/<model>.jsonl``."""
    return path.parents[2] if len(path.parents) > 2 and path.parent.parent.name == \
        "model_judgment" else None


def _questions(root: Path | None, opts: LoadOptions) -> dict[str, dict]:
    f = opts.questions or (root / "question.jsonl" if root else None)
    if f is None or not (f.exists() or f.is_symlink()):
        return {}
    out = {}
    for _, q in read_jsonl(f, read_file(f, None if opts.questions else root)):
        qid = q.get("uid", q.get("question_id"))
        turns = q.get("turns")
        prompt = q.get("prompt")
        if prompt is None and isinstance(turns, list) and turns:
            prompt = turns[0].get("content") if isinstance(turns[0], dict) else turns[0]
        out[str(qid)] = {"prompt": prompt, "category": q.get("category"),
                         "cluster": q.get("cluster"), "subcategory": q.get("subcategory")}
    return out


def _answer(r: dict) -> str | None:
    msgs = r.get("messages")
    if isinstance(msgs, list):
        said = [_text(m.get("content")) for m in msgs
                if isinstance(m, dict) and m.get("role") == "assistant"]
        return said[-1] if said else None
    try:
        turn = r["choices"][0]["turns"][0]
    except (KeyError, IndexError, TypeError):
        return None
    return turn.get("content") if isinstance(turn, dict) else turn


def _answers_of(root: Path | None, model: str, cache: dict[str, dict[str, str]]
                ) -> dict[str, str]:
    """``model_answer/<model>.jsonl`` beside ``model_judgment/`` (read once per load)."""
    if model not in cache:
        # the name is the file's content: the answers must lie inside root (no '..', no link)
        f = named_file(root, f"model_answer/{model}.jsonl") if root else None
        cache[model] = ({str(r.get("uid", r.get("question_id"))): _answer(r)
                         for _, r in read_jsonl(f, read_file(f, root))} if f else {})
    return cache[model]


def read_arena_hard(src: Source, opts: LoadOptions) -> tuple[Comparison, list[str]]:
    path = src.path
    rows = src.jsonl
    warnings: list[str] = []
    require_keys(path, rows, ("model", "games"), "an Arena-Hard-Auto judgment file")
    for n, r in rows:
        if not isinstance(r["games"], list) or len(r["games"]) != 2:
            raise InputError(path, "must be a list of two games (baseline first, then swapped)",
                             line=n, field="games")
        if "uid" not in r and "question_id" not in r:
            raise InputError(path, "missing", line=n, field="uid")
    models = list(dict.fromkeys(str(r["model"]).split("/")[-1] for _, r in rows))
    model = opts.pair[0] if opts.pair else (opts.model_a or models[0])
    if len(models) > 1 and not (opts.pair or opts.model_a):
        raise InputError(path, f"judgments of several models ({', '.join(models)}); Arena-Hard "
                         "writes one file per model: choose one with --model-a MODEL",
                         field="model")
    old_layout = "uid" not in rows[0][1]
    root = _root(path)
    questions = _questions(root, opts)
    baselines: set[str] = set()
    answers: dict[str, dict[str, str]] = {}
    examples, where = [], []
    for n, r in rows:
        if str(r["model"]).split("/")[-1] != model:
            continue
        qid = str(r.get("uid", r.get("question_id")))
        q = questions.get(qid, {})
        category = r.get("category") or q.get("category")
        base = (r.get("baseline") or (opts.pair[1] if opts.pair else None) or opts.model_b
                or BASELINES.get(category or "", V01_BASELINE if old_layout else None))
        if base is None:
            raise InputError(path, f"no baseline for category {category!r}: name it with "
                             "--model-b", line=n, field="baseline")
        baselines.add(base)
        judge = str(r.get("judge") or (path.parent.name if root else "arena-hard-judge"))
        games = r["games"]
        ex: dict = {"id": qid, "judgments": [  # game 1 showed the baseline as "A"
            game_judgment(g, "score", VERDICTS, _text, k == 0, judge=judge,
                          template_id="arena-hard") for k, g in enumerate(games)],
                    "metadata": {"baseline": base}}
        if category:
            ex["category"] = str(category)
        for k in ("cluster", "subcategory"):
            if q.get(k):
                ex["metadata"][k] = q[k]
        ex["prompt"], ex["response_a"], ex["response_b"] = _texts(path, n, r, q, (
            _answers_of(root, model, answers), _answers_of(root, base, answers)))
        examples.append(ex)
        where.append(n)
    if not examples:
        raise InputError(path, f"no judgments of {model}; models in the file: {models}")
    for ex, i in zip(examples, dedupe_ids([e["id"] for e in examples])):
        ex["id"] = i
    if len(baselines) > 1:
        warnings.append(f"baselines differ by category ({', '.join(sorted(baselines))}): "
                        "Arena-Hard scores each category against its own baseline")
    if questions:
        warnings.append("prompts and categories joined from question.jsonl")
    meta = {"arena_hard": {"layout": "v0.1" if old_layout else "v2.0",
                           "drop": "game" if old_layout else "record",
                           "baselines": sorted(baselines)}}
    comp = finish(path, examples, model_a=model, model_b=" | ".join(sorted(baselines)),
                  source_format="arena-hard", metadata=meta, where=where)
    return comp, warnings


def _texts(path: Path, n: int, r: dict, q: dict, answers: tuple[dict, dict]
           ) -> tuple[str, str, str]:
    """Prompt, model answer, baseline answer: from the files beside model_judgment/, else from
    the judge prompt of game 2 (model shown as A) or game 1 (baseline shown as A)."""
    qid = str(r.get("uid", r.get("question_id")))
    prompt, a, b = q.get("prompt"), answers[0].get(qid), answers[1].get(qid)
    g1, g2 = (parse_game_prompt(_game_prompt(g)) for g in r["games"])
    if g2:
        prompt, a, b = prompt or g2[0], a if a is not None else g2[1], b if b is not None else g2[2]
    if g1:
        prompt, a, b = prompt or g1[0], a if a is not None else g1[2], b if b is not None else g1[1]
    if prompt is None or a is None or b is None:
        raise InputError(path, "cannot recover the prompt and both answers: keep question.jsonl "
                         "and model_answer/ beside model_judgment/", line=n, field="games")
    return prompt, a, b


register(Format(
    "arena-hard", "Arena-Hard-Auto judgments (model_judgment/<judge>/<model>.jsonl)",
    read_arena_hard, aliases=("arena_hard",), order=20,
    misfit=Signature(("model", "games"), ("uid", "question_id")),
    siblings=lambda path: judged_siblings(_root(path))))
