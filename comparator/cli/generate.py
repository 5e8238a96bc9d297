"""``comparator generate``: paired responses from two models, with a tqdm bar."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from comparator.cli.options import model_call_options, stack
from comparator.engines import (
    SamplingParams,
    generate_pairs,
    load_prompts,
    parse_spec,
)
from comparator.engines.ct2_backend import OPTIONS, POOL
from comparator.engines.ray_engine import SideSpec, generate_pairs_ray, require
from comparator.engines.secrets import api_key, base_urls
from comparator.schema.redact import public_url

SPEC_HELP = "openai/MODEL, hf/PATH_OR_NAME, vllm/MODEL or ct2/PATH_OR_NAME"


def side_options(s: str) -> Callable:
    """The options of model ``s`` (a or b)."""
    return stack(
        click.option(f"--model-{s}", f"model_{s}", required=True, metavar="SPEC",
                     help=f"model {s.upper()}: {SPEC_HELP}"),
        click.option(f"--base-url-{s}", f"base_url_{s}", multiple=True, metavar="URL",
                     help="OpenAI-compatible base URL; repeat for a fleet (round-robin)"),
        click.option(f"--api-key-{s}", f"api_key_{s}",
                     help=f"API key (prefer env COMPARATOR_API_KEY_{s.upper()})"),
        click.option(f"--name-{s}", f"name_{s}", help="model name shown in reports"),
        click.option(f"--params-{s}", f"params_{s}", metavar="K=V,...",
                     help="per-model overrides: temperature, top_p, max_tokens, seed, system, "
                          "logprobs; ct2/ also compute_type, intra_threads, top_k"))

engine_options = stack(
    click.option("--engine", type=click.Choice(["local", "ray"]), default="local",
                 show_default=True, help="local: this process; ray: the workers of a Ray "
                 "cluster (pip install -r requirements-scale.txt), same output and resume"),
    click.option("--ray-address", envvar="RAY_ADDRESS", metavar="ADDR",
                 help="the Ray cluster's head (HOST:PORT; env RAY_ADDRESS); "
                      "default: a local Ray started for the run"),
    click.option("--ray-workers", type=click.IntRange(1), metavar="N",
                 help="Ray workers (one backend each); default: one per CPU, or per GPU"),
    click.option("--shard-size", type=click.IntRange(1), metavar="N",
                 help="examples per Ray task (default: about a quarter of a worker's share, "
                      "at most 64)"))


def ray_opts(engine: str, ray_address: str | None, ray_workers: int | None,
             shard_size: int | None) -> dict[str, Any] | None:
    """The Ray engine's settings, or None for the local engine."""
    if engine != "ray":
        return None
    require()  # Ray missing: one line, before anything is written
    return dict(address=ray_address, workers=ray_workers, shard_size=shard_size)


def sampling(base: dict[str, Any], params: str | None, side: str
             ) -> tuple[SamplingParams, dict[str, Any]]:
    """(sampling parameters, backend options) from the flags (``base``) and ``--params-<side>``."""
    base, options = dict(base), {}
    for part in (params or "").split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        k = k.strip()
        if not sep or k not in (*base, *OPTIONS):
            raise ValueError(f"--params-{side} takes KEY=VALUE with KEY one of "
                             f"{', '.join((*base, *OPTIONS))}")
        if k in OPTIONS:
            options[k] = v.strip() if k == "compute_type" else int(v)
        elif k == "system":
            base[k] = v
        elif k == "logprobs":
            base[k] = v.strip().lower() in ("1", "true", "yes")
        else:
            base[k] = int(v) if k in ("max_tokens", "seed") else float(v)
    return SamplingParams(**base), options


@click.command(short_help="paired responses from two models -> native JSONL")
@click.option("--prompts", type=click.Path(path_type=Path), required=True,
              help="native JSONL, MT-Bench question.jsonl, AlpacaEval JSON, CSV")
@side_options("a")
@side_options("b")
@click.option("--limit", type=int, help="the first N prompts only")
@click.option("--concurrency", type=int,
              help="requests in flight (default 8 API calls; hf/vllm: the batch size)")
@model_call_options(temperature=0.0, max_tokens=512, per="response")
@click.option("--top-p", type=float, default=1.0, show_default=True, help="nucleus sampling")
@click.option("--system", help="system prompt for both models")
@click.option("--logprobs", is_flag=True,
              help="record each response's mean token log-probability and perplexity "
                   "(openai: servers that return logprobs; hf; ct2)")
@click.option("--batch-size", type=int, default=8, show_default=True,
              help="hf/vllm/ct2 batch size")
@click.option("--tp", type=int, default=1, show_default=True, help="vLLM tensor-parallel size")
@engine_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="native JSONL; an existing file is resumed (its done examples skipped)")
def generate(prompts: Path, limit: int | None, concurrency: int | None, max_tokens: int,
             temperature: float, top_p: float, seed: int, system: str | None, logprobs: bool,
             max_tries: int, timeout: float, batch_size: int, tp: int, output: Path,
             engine: str, ray_address: str | None, ray_workers: int | None,
             shard_size: int | None, **sides: Any) -> int:
    """Generate a response of model A and of model B to every prompt of --prompts: a pair file
    (native JSONL) to judge. Exit code 3 when some generations failed."""
    items = load_prompts(prompts, limit)
    base = dict(temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed,
                system=system, logprobs=logprobs)
    pair = []
    for s in ("a", "b"):
        spec = sides[f"model_{s}"]
        provider, model = parse_spec(spec)
        urls = base_urls(s, list(sides[f"base_url_{s}"]) or None)
        key = api_key(s, sides[f"api_key_{s}"])
        params, options = sampling(base, sides[f"params_{s}"], s)
        kwargs = dict(base_urls=urls, api_key=key, timeout_s=timeout, max_tries=max_tries,
                      batch_size=batch_size, tensor_parallel_size=tp, options=options)
        info = {"base_urls": [public_url(u) for u in urls]} if provider == "openai" and urls else {}
        pair.append(SideSpec(sides[f"name_{s}"] or model, spec, kwargs, params, info))
    if pair[0].name == pair[1].name:
        pair[0].name, pair[1].name = f"{pair[0].name} [A]", f"{pair[1].name} [B]"
    a, b = (s.side() for s in pair)  # a bad spec or option fails here, before any work
    on_ray = ray_opts(engine, ray_address, ray_workers, shard_size)
    bar = tqdm(total=len(items), unit="ex", desc="generating", file=sys.stderr)

    def progress(p) -> None:
        bar.n = p.done + p.failed
        bar.set_postfix(failed=p.failed, cached=p.cache_hits, refresh=False)
        bar.refresh()

    local = {"hf": batch_size, "vllm": batch_size, "ct2": batch_size * POOL}  # ct2/ sorts a pool
    concurrency = concurrency or local.get(pair[0].spec.split("/")[0], 8)
    if on_ray is not None:
        prog = generate_pairs_ray(items, pair[0], pair[1], output, prompts_name=str(prompts),
                                  sides=(a, b), concurrency=concurrency, tp=tp,
                                  on_progress=progress, **on_ray)
    else:
        prog = asyncio.run(generate_pairs(items, a, b, output, concurrency=concurrency,
                                          prompts_name=str(prompts), on_progress=progress))
    progress(prog)
    bar.close()
    print(f"{prog.done} done ({prog.skipped} from an earlier run), {prog.failed} failed, "
          f"{prog.cache_hits} cached replies, {prog.calls} calls -> {output}", file=sys.stderr)
    return 0 if prog.failed == 0 else 3
