"""Judge every pair of a comparison with an LLM, ``repeats`` times, half of them with A and B
swapped; verdicts and rationales are turned back into the file's A/B orientation.

Uses the generation backends, concurrency and response cache. Examples are written to the
output as soon as all their repeats are in; rerunning resumes (finished examples kept, ones
with a transport error redone, nothing paid twice). A reply without a clear verdict is asked
once more, then recorded ``unscored`` with its raw text — never guessed, never a tie.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import orjson

from comparator.engines.appendlog import drain, resume
from comparator.engines.base import Backend, SamplingParams
from comparator.engines.cache import ResponseCache
from comparator.engines.runner import Progress, Side, cached_call
from comparator.formats.native import header_of
from comparator.judge.parse import parse_verdict, swap_ab
from comparator.judge.prompts import TEMPLATES, Pair, render
from comparator.schema.errors import InputError
from comparator.schema.records import Comparison, Example
from comparator.schema.redact import redact

RETRY_SEED_OFFSET = 100_000


@dataclass(frozen=True)
class JudgeConfig:
    template_id: str = "sxs-7level-v1"
    repeats: int = 6
    params: SamplingParams = SamplingParams(temperature=0.7, max_tokens=1024)
    rubric: str | None = None

    def run_id(self, spec: str) -> str:
        blob = orjson.dumps([spec, self.template_id, self.repeats, self.params.key(), self.rubric])
        return hashlib.sha256(blob).hexdigest()[:12]


@dataclass
class JudgeProgress(Progress):
    ok: int = 0
    unscored: int = 0
    errors: int = 0


def pair_for(ex: Example, flipped: bool) -> Pair:
    """The pair as the judge sees it: B first when ``flipped``."""
    if ex.get("messages"):
        turns = [m["content"] for m in ex["messages"] if m["role"] == "user"]
        system = next((m["content"] for m in ex["messages"] if m["role"] == "system"), None)
    else:
        turns, system = [ex.get("prompt") or ""], None

    def as_list(v):
        return list(v) if isinstance(v, list) else [v or ""]

    a, b = as_list(ex["response_a"]), as_list(ex["response_b"])
    ref = ex.get("reference")
    ref = None if not ref else as_list(ref)
    return Pair(turns, b if flipped else a, a if flipped else b, ref, system)


async def _one(ex: Example, k: int, side: Side, cfg: JudgeConfig, run: str, cache, sem,
               prog: JudgeProgress) -> dict:
    flipped = k % 2 == 1
    grammar = TEMPLATES[cfg.template_id].grammar
    messages = render(cfg.template_id, pair_for(ex, flipped), cfg.rubric)
    base_seed = cfg.params.seed or 0
    j: dict = {"judge": side.name, "template_id": cfg.template_id, "flipped": flipped,
               "rater": f"r{k + 1}"}
    replies = []
    for attempt in range(2):
        params = replace(cfg.params, seed=base_seed + k + attempt * RETRY_SEED_OFFSET)
        res = await cached_call(replace(side, params=params), messages, cache, sem, prog)
        if res.status != "ok":
            prog.errors += 1
            return {**j, "status": "error", "raw": res.error and redact(res.error),
                    "extra": {"run": run}}
        replies.append(res.text)
        v = parse_verdict(res.text, grammar)
        if v.ok:
            prog.ok += 1
            score = -v.score if flipped else v.score
            rationale = swap_ab(v.rationale) if flipped and v.rationale else v.rationale
            return {**j, "score": score + 0.0, "label": v.label, "rationale": rationale,
                    "extra": {"run": run, "tries": attempt + 1}}
    prog.unscored += 1
    return {**j, "status": "unscored", "raw": replies[-1],
            "extra": {"run": run, "tries": 2, "problem": v.problem}}


def _check_run(out: Path, run: str):
    def check(old: dict) -> None:
        if run not in [r.get("run") for r in old["metadata"].get("judge_runs", [])]:
            raise InputError(out, "exists and was not written by this judge run (other judge, "
                             "protocol, repeats or parameters); choose another -o", line=1)
    return check


def _finished(run: str):
    def keep(ex: dict) -> bool:  # every judgment of this run in, none failed in transport
        mine = [j for j in ex.get("judgments", []) if (j.get("extra") or {}).get("run") == run]
        return bool(mine) and all(j.get("status", "ok") != "error" for j in mine)
    return keep


async def judge_comparison(comp: Comparison, backend: Backend, cfg: JudgeConfig,
                           out: str | Path, *, name: str | None = None, concurrency: int = 8,
                           cache: ResponseCache | None = None,
                           on_progress: Callable[[JudgeProgress], None] | None = None,
                           cancel: threading.Event | None = None) -> JudgeProgress:
    if cfg.template_id not in TEMPLATES:
        raise ValueError(f"unknown protocol {cfg.template_id!r}")
    if cfg.repeats < 1:
        raise ValueError("--repeats must be at least 1")
    render(cfg.template_id, Pair(["?"], ["a"], ["b"]), cfg.rubric)  # a bad setup fails now
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    run = cfg.run_id(backend.spec)
    side = Side(name or backend.spec.split("/", 1)[1], backend, cfg.params)
    header = header_of(comp)
    runs = [r for r in header["metadata"].get("judge_runs", []) if r.get("run") != run]
    header["metadata"] = {**header["metadata"], "judge_runs": runs + [{
        "run": run, "judge": side.name, "spec": backend.spec, "template_id": cfg.template_id,
        "repeats": cfg.repeats, "params": cfg.params.key(), "rubric": cfg.rubric}]}
    done = resume(out, header, _check_run(out, run), _finished(run))
    todo = [ex for ex in comp.examples if ex["id"] not in done]
    prog = JudgeProgress(total=len(comp.examples), skipped=len(done), done=len(done))
    own_cache = cache is None
    cache = cache or ResponseCache()
    sem = asyncio.Semaphore(max(1, concurrency))

    async def handle(ex: Example) -> dict:
        new = await asyncio.gather(*(_one(ex, k, side, cfg, run, cache, sem, prog)
                                     for k in range(cfg.repeats)))
        kept = [j for j in ex.get("judgments", []) if (j.get("extra") or {}).get("run") != run]
        return {**ex, "judgments": kept + new}

    def after(_: dict) -> None:
        prog.done += 1
        if on_progress:
            on_progress(prog)

    await drain(todo, handle, out, concurrency, cancel, after,
                close=[*([cache] if own_cache else []), backend])
    return prog
