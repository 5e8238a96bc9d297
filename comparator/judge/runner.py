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
from comparator.engines.ray_engine import require, run_sharded
from comparator.engines.registry import make_backend
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


def start_judging(comp: Comparison, spec: str, cfg: JudgeConfig, out: Path,
                  name: str | None = None) -> tuple[list[Example], JudgeProgress, str, str]:
    """Check the setup, start ``out`` (or resume it): the examples still to judge, the progress
    so far, the run id and the judge's name. Every engine (local, Ray) starts a run here."""
    if cfg.template_id not in TEMPLATES:
        raise ValueError(f"unknown protocol {cfg.template_id!r}")
    if cfg.repeats < 1:
        raise ValueError("--repeats must be at least 1")
    render(cfg.template_id, Pair(["?"], ["a"], ["b"]), cfg.rubric)  # a bad setup fails now
    out.parent.mkdir(parents=True, exist_ok=True)
    run = cfg.run_id(spec)
    judge_name = name or spec.split("/", 1)[1]
    header = header_of(comp)
    runs = [r for r in header["metadata"].get("judge_runs", []) if r.get("run") != run]
    header["metadata"] = {**header["metadata"], "judge_runs": runs + [{
        "run": run, "judge": judge_name, "spec": spec, "template_id": cfg.template_id,
        "repeats": cfg.repeats, "params": cfg.params.key(), "rubric": cfg.rubric}]}
    done = resume(out, header, _check_run(out, run), _finished(run))
    todo = [ex for ex in comp.examples if ex["id"] not in done]
    prog = JudgeProgress(total=len(comp.examples), skipped=len(done), done=len(done))
    return todo, prog, run, judge_name


async def judge_example(ex: Example, side: Side, cfg: JudgeConfig, run: str, cache, sem,
                        prog: JudgeProgress) -> dict:
    """``ex`` with this run's ``cfg.repeats`` judgments (earlier runs' judgments kept)."""
    new = await asyncio.gather(*(_one(ex, k, side, cfg, run, cache, sem, prog)
                                 for k in range(cfg.repeats)))
    kept = [j for j in ex.get("judgments", []) if (j.get("extra") or {}).get("run") != run]
    return {**ex, "judgments": kept + new}


async def judge_comparison(comp: Comparison, backend: Backend, cfg: JudgeConfig,
                           out: str | Path, *, name: str | None = None, concurrency: int = 8,
                           cache: ResponseCache | None = None,
                           on_progress: Callable[[JudgeProgress], None] | None = None,
                           cancel: threading.Event | None = None) -> JudgeProgress:
    out = Path(out)
    todo, prog, run, judge_name = start_judging(comp, backend.spec, cfg, out, name)
    side = Side(judge_name, backend, cfg.params)
    own_cache = cache is None
    cache = cache or ResponseCache()
    sem = asyncio.Semaphore(max(1, concurrency))

    async def handle(ex: Example) -> dict:
        return await judge_example(ex, side, cfg, run, cache, sem, prog)

    def after(_: dict) -> None:
        prog.done += 1
        if on_progress:
            on_progress(prog)

    await drain(todo, handle, out, concurrency, cancel, after,
                close=[*([cache] if own_cache else []), backend])
    return prog


@dataclass
class JudgeRecipe:
    """The judge as a Ray worker builds it (comparator.engines.ray_engine)."""

    spec: str
    kwargs: dict
    cfg: JudgeConfig
    run: str
    name: str

    def build(self) -> None:
        self._side = Side(self.name, make_backend(self.spec, **self.kwargs), self.cfg.params)

    async def handle(self, ex: Example, cache, sem, prog: JudgeProgress) -> dict:
        return await judge_example(ex, self._side, self.cfg, self.run, cache, sem, prog)


def judge_comparison_ray(comp: Comparison, spec: str, kwargs: dict, cfg: JudgeConfig,
                         out: str | Path, *, name: str | None = None, **opts) -> JudgeProgress:
    """``judge_comparison`` on Ray: the same output, cache and resume (``opts``: those of
    ``ray_engine.run_sharded``). ``kwargs``: what ``make_backend`` takes besides the spec."""
    require()
    out = Path(out)
    todo, prog, run, judge_name = start_judging(comp, spec, cfg, out, name)

    def count(p: JudgeProgress, _: dict) -> None:
        p.done += 1

    return run_sharded(todo, lambda ex: ex["id"], JudgeRecipe(spec, kwargs, cfg, run, judge_name),
                       out, prog, _finished(run), count, specs=[spec], **opts)
