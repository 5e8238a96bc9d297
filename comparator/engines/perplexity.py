"""Perplexity of both responses under one local reference model (``hf/<path-or-name>``),
conditioned on the prompt through the model's chat template: for each turn, the tokens of the
reply (tokenised alone, no special tokens) after the chat-templated conversation so far
(``add_generation_prompt=True``). A response's mean log-probability pools the tokens of all its
turns; perplexity = exp(-mean). Batched (right padding), cached per (model, context, reply) in
``$COMPARATOR_HOME/perplexity.sqlite``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import orjson

from comparator.engines.base import conversation
from comparator.engines.cache import SqliteKV
from comparator.engines.registry import parse_spec
from comparator.schema.records import Comparison, Example
from comparator.schema.settings import data_dir


class ScoreCache(SqliteKV):
    """(model, context, reply) -> (sum of token log-probabilities, token count)."""

    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__(Path(path) if path else data_dir() / "perplexity.sqlite", "scores",
                         ("total REAL", "n INTEGER"))

    @staticmethod
    def key(model: str, context: str, reply: str) -> str:
        return hashlib.sha256(orjson.dumps([model, context, reply])).hexdigest()


def turns_of(ex: Example, side: str) -> tuple[str | None, list[str], list[str]]:
    """(system, user turns, this side's replies) of an example."""
    msgs = ex.get("messages") or []
    system = next((m["content"] for m in msgs if m["role"] == "system"), None)
    users = [m["content"] for m in msgs if m["role"] == "user"] if ex.get("prompt") is None \
        else [ex["prompt"]]
    resp = ex[f"response_{side}"]
    replies = resp if isinstance(resp, list) else [resp or ""]
    return system, users, replies[: len(users)] if users else replies


def load_model(model: str, device: str | None = None):
    import torch  # heavy, as transformers (seconds): only when some score is not cached
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tok = AutoTokenizer.from_pretrained(model)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    lm = AutoModelForCausalLM.from_pretrained(model, dtype=dtype).to(device).eval()
    return tok, lm, device


def token_logprobs(lm, device: str, pad_id: int, items: list[tuple[list[int], list[int]]]
                   ) -> list[tuple[float, int]]:
    """For each (context ids, reply ids): (sum of log p(reply token | everything before), number
    of reply tokens), in one right-padded forward pass."""
    import torch  # heavy: loaded by load_model by now

    width = max(len(c) + len(r) for c, r in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    att = torch.zeros((len(items), width), dtype=torch.long)
    for k, (c, r) in enumerate(items):
        seq = c + r
        ids[k, : len(seq)] = torch.tensor(seq)
        att[k, : len(seq)] = 1
    with torch.inference_mode():
        logits = lm(input_ids=ids.to(device), attention_mask=att.to(device)).logits.float()
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None].to(device))[..., 0]
    out = []
    for k, (c, r) in enumerate(items):
        out.append((float(lp[k, len(c) - 1: len(c) + len(r) - 1].sum()) if r else 0.0, len(r)))
    return out


def score(comp: Comparison, spec: str, batch_size: int = 8, device: str | None = None,
          cache: ScoreCache | None = None, progress=None) -> dict[str, np.ndarray]:
    """``{"a_ref_mean_logprob", "a_ref_perplexity", "b_...": array}`` (NaN: empty response)."""
    provider, model = parse_spec(spec)
    if provider != "hf":
        raise ValueError(f"--perplexity takes a local model hf/PATH_OR_NAME, not {spec!r}")
    own = cache is None
    cache = cache or ScoreCache()
    n = len(comp.examples)
    total = {s: np.zeros(n) for s in "ab"}
    count = {s: np.zeros(n, dtype=np.int64) for s in "ab"}
    todo: list[tuple[str, int, str, str]] = []  # (side, example, context text, reply)
    for i, ex in enumerate(comp.examples):
        for s in "ab":
            system, users, replies = turns_of(ex, s)
            for k, reply in enumerate(replies):
                if not reply:
                    continue
                todo.append((s, i, orjson.dumps(conversation(system, users[: k + 1],
                                                              replies[:k])).decode(), reply))
    pending = []
    for item in todo:
        hit = cache.get(ScoreCache.key(spec, item[2], item[3]))
        if hit is None:
            pending.append(item)
        else:
            total[item[0]][item[1]] += hit[0]
            count[item[0]][item[1]] += hit[1]
    if pending:
        tok, lm, dev = load_model(model, device)
        pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
        encoded = []
        for _, _, ctx, reply in pending:
            prefix = tok.apply_chat_template(orjson.loads(ctx), tokenize=False,
                                             add_generation_prompt=True)
            encoded.append((tok(prefix, add_special_tokens=False)["input_ids"],
                            tok(reply, add_special_tokens=False)["input_ids"]))
        order = sorted(range(len(pending)), key=lambda j: len(encoded[j][0]) + len(encoded[j][1]))
        for start in range(0, len(order), batch_size):
            chunk = order[start: start + batch_size]
            rows = []
            for j, (lp, m) in zip(chunk, token_logprobs(lm, dev, pad, [encoded[j] for j in chunk]),
                                  strict=True):
                s, i, ctx, reply = pending[j]
                total[s][i] += lp
                count[s][i] += m
                rows.append((ScoreCache.key(spec, ctx, reply), lp, m))
            cache.put_many(rows)
            if progress:
                progress(min(start + batch_size, len(order)), len(order))
    if own:
        cache.close()
    out = {}
    for s in "ab":
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count[s] > 0, total[s] / np.maximum(count[s], 1), np.nan)
        out[f"{s}_ref_mean_logprob"] = mean
        out[f"{s}_ref_perplexity"] = np.exp(-mean)
    return out
