"""Generate paired responses A and B for a prompt set, into our native JSONL.

Each finished example is appended (and flushed) as soon as both models answered every turn, so
a crash loses nothing finished. Rerunning the same command resumes: finished examples are kept,
failed ones are retried, none is written twice, and every reply already paid for comes from the
content-addressed cache. Per response: latency, time to first token, token counts, tokens/s and
finish reason become metadata (``a_latency_s`` ...) that the dashboard can slice and compare.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from comparator.engines.appendlog import drain, resume
from comparator.engines.base import Backend, GenResult, SamplingParams, conversation
from comparator.engines.cache import ResponseCache, cache_key
from comparator.engines.promptsets import PromptItem
from comparator.formats.native import HEADER_KIND
from comparator.schema.errors import InputError
from comparator.schema.records import SCHEMA_VERSION
from comparator.schema.redact import redact


@dataclass
class Side:
    name: str
    backend: Backend
    params: SamplingParams
    info: dict = field(default_factory=dict)  # recorded in the header (never keys)


@dataclass
class Progress:
    total: int
    done: int = 0
    failed: int = 0
    skipped: int = 0  # already in the output from an earlier run
    cache_hits: int = 0
    calls: int = 0


def _header(a: Side, b: Side, prompts: str) -> dict:
    gen = {s: {"spec": side.backend.spec, "params": side.params.key(),
               **getattr(side.backend, "info", {}), **side.info}
           for s, side in (("a", a), ("b", b))}
    return {"kind": HEADER_KIND, "schema_version": SCHEMA_VERSION, "model_a": a.name,
            "model_b": b.name, "source_format": "generation",
            "metadata": {"generation": gen, "prompts": prompts}}


def _check_header(out: Path, header: dict):
    def check(old: dict) -> None:
        for key in ("model_a", "model_b"):
            if old.get(key) != header[key]:
                raise InputError(out, f"was written for {old.get(key)!r}, not "
                                 f"{header[key]!r}; choose another -o to start a new run",
                                 line=1, field=key)
        if old["metadata"].get("generation") != header["metadata"]["generation"]:
            raise InputError(out, "was written with other models or sampling parameters; "
                             "choose another -o to start a new run", line=1,
                             field="metadata.generation")
    return check


def _metrics(prefix: str, results: list[GenResult]) -> dict:
    ok = [r for r in results if r.status == "ok"]
    m: dict = {f"{prefix}_cached": bool(ok) and all(r.cached for r in ok)}
    if ok:
        lat = [r.latency_s for r in ok if r.latency_s is not None]
        m[f"{prefix}_latency_s"] = round(sum(lat), 4) if lat else None
        m[f"{prefix}_ttft_s"] = None if ok[0].ttft_s is None else round(ok[0].ttft_s, 4)
        toks = [r.completion_tokens for r in ok]
        m[f"{prefix}_completion_tokens"] = sum(toks) if all(t is not None for t in toks) else None
        ptoks = [r.prompt_tokens for r in ok]
        m[f"{prefix}_prompt_tokens"] = ptoks[-1] if ptoks[-1] is not None else None
        tps = [r.tokens_per_s for r in ok if r.tokens_per_s]
        m[f"{prefix}_tokens_per_s"] = round(sum(tps) / len(tps), 2) if tps else None
        m[f"{prefix}_finish_reason"] = ok[-1].finish_reason
        m[f"{prefix}_tries"] = sum(r.tries for r in results)
        m.update(_logprob_metrics(prefix, ok))
    bad = [r for r in results if r.status != "ok"]
    if bad:
        err = bad[-1].error
        m[f"{prefix}_error"] = redact(err) if err else err  # any backend's words, redacted
    return {k: v for k, v in m.items() if v is not None}


def _logprob_metrics(prefix: str, ok: list[GenResult]) -> dict:
    """Mean token log-probability of a response (all turns, token-weighted when the token
    counts are known) and its perplexity exp(-mean) under its own model."""
    if not ok or any(r.mean_logprob is None for r in ok):
        return {}
    w = [r.completion_tokens or 0 for r in ok]
    if sum(w) <= 0:
        w = [1] * len(ok)
    mean = sum(r.mean_logprob * k for r, k in zip(ok, w, strict=True)) / sum(w)
    return {f"{prefix}_mean_logprob": round(mean, 6),
            f"{prefix}_perplexity": round(math.exp(-mean), 4)}


def _example(item: PromptItem, ra: list[GenResult], rb: list[GenResult]) -> dict:
    ok = all(r.status == "ok" for r in ra + rb) and len(ra) == len(rb) == len(item.turns)
    texts_a = [r.text for r in ra if r.status == "ok"]
    texts_b = [r.text for r in rb if r.status == "ok"]
    ex: dict = {"id": item.id}
    if len(item.turns) == 1 and not item.system:
        ex["prompt"] = item.turns[0]
        ex["response_a"] = texts_a[0] if texts_a else ""
        ex["response_b"] = texts_b[0] if texts_b else ""
    else:
        msgs = [{"role": "system", "content": item.system}] if item.system else []
        ex["messages"] = msgs + [{"role": "user", "content": t} for t in item.turns]
        ex["response_a"], ex["response_b"] = texts_a, texts_b
    if item.category:
        ex["category"] = item.category
    if item.reference:
        ex["reference"] = item.reference[0] if "prompt" in ex else item.reference
    ex["metadata"] = {**item.metadata, "gen_status": "ok" if ok else "error",
                      **_metrics("a", ra), **_metrics("b", rb)}
    return ex


async def cached_call(side: Side, messages, cache: ResponseCache, sem: asyncio.Semaphore,
                prog: Progress) -> GenResult:
    # a backend whose options change its replies (ct2/ compute_type) keys them in cache_spec
    spec = getattr(side.backend, "cache_spec", side.backend.spec)
    key = cache_key(spec, side.params, messages)
    hit = cache.get(key)
    if hit is not None:
        prog.cache_hits += 1
        return hit
    async with sem:
        prog.calls += 1
        res = await side.backend.generate(messages, side.params)
    cache.put(key, side.backend.spec, res)
    return res


async def _answer(item: PromptItem, side: Side, cache, sem, prog) -> list[GenResult]:
    replies: list[GenResult] = []
    for k in range(len(item.turns)):
        msgs = conversation(side.params.system or item.system, item.turns[: k + 1],
                            [r.text for r in replies])
        res = await cached_call(side, msgs, cache, sem, prog)
        replies.append(res)
        if res.status != "ok":
            break
    return replies


def start_pairs(items: list[PromptItem], a: Side, b: Side, out: Path, prompts_name: str = ""
                ) -> tuple[list[PromptItem], Progress]:
    """Start ``out`` (or resume it: the same header, its finished examples kept): the items
    still to do and the progress so far. Every engine (local, Ray) starts a run here."""
    out.parent.mkdir(parents=True, exist_ok=True)
    header = _header(a, b, prompts_name)
    done = resume(out, header, _check_header(out, header), keep=finished_pair)
    todo = [it for it in items if it.id not in done]
    prog = Progress(total=len(items), skipped=len(items) - len(todo))
    prog.done = prog.skipped
    return todo, prog


def finished_pair(ex: dict) -> bool:
    """An example of the output that a rerun keeps (a failed one is tried again)."""
    return ex.get("metadata", {}).get("gen_status") == "ok"


async def pair_example(item: PromptItem, a: Side, b: Side, cache: ResponseCache,
                       sem: asyncio.Semaphore, prog: Progress) -> dict:
    """One example: both models answer every turn of ``item`` (through the cache)."""
    ra, rb = await asyncio.gather(_answer(item, a, cache, sem, prog),
                                  _answer(item, b, cache, sem, prog))
    return _example(item, ra, rb)


def count_pair(prog: Progress, ex: dict) -> None:
    if ex["metadata"]["gen_status"] == "ok":
        prog.done += 1
    else:
        prog.failed += 1


async def generate_pairs(items: list[PromptItem], a: Side, b: Side, out: str | Path, *,
                         concurrency: int = 8, cache: ResponseCache | None = None,
                         prompts_name: str = "", on_progress: Callable[[Progress], None] | None
                         = None, cancel: threading.Event | None = None) -> Progress:
    out = Path(out)
    todo, prog = start_pairs(items, a, b, out, prompts_name)
    own_cache = cache is None
    cache = cache or ResponseCache()
    sem = asyncio.Semaphore(max(1, concurrency))

    async def handle(item: PromptItem) -> dict:
        return await pair_example(item, a, b, cache, sem, prog)

    def after(ex: dict) -> None:
        count_pair(prog, ex)
        if on_progress:
            on_progress(prog)

    await drain(todo, handle, out, concurrency, cancel, after,
                close=[*([cache] if own_cache else []), a.backend, b.backend])
    return prog
