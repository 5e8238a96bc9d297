"""``comparator judge``: an LLM judge over a pair file, with a tqdm bar."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from tqdm import tqdm

from comparator.cli.generate import engine_options, ray_opts
from comparator.cli.options import format_option, model_call_options
from comparator.engines import SamplingParams, make_backend
from comparator.engines.secrets import api_key, base_urls
from comparator.formats import load
from comparator.formats.common import read_file, text_bytes
from comparator.judge.prompts import PROTOCOLS
from comparator.judge.runner import JudgeConfig, judge_comparison, judge_comparison_ray


@click.command(short_help="judge every pair with an LLM (both orders, repeats)")
@click.argument("pairs", type=click.Path(path_type=Path))
@click.option("--judge", "spec", required=True, metavar="SPEC",
              help="the judge model: openai/MODEL, hf/PATH_OR_NAME or vllm/MODEL")
@click.option("--base-url", multiple=True, metavar="URL",
              help="OpenAI-compatible base URL; repeat for a fleet")
@click.option("--api-key", "key",
              help="API key (prefer env COMPARATOR_API_KEY_JUDGE or OPENAI_API_KEY)")
@click.option("--name", help="judge name recorded in the judgments")
@click.option("--protocol", default="7level", show_default=True,
              type=click.Choice(sorted(PROTOCOLS) + sorted(PROTOCOLS.values())),
              help="7level, mt-bench, arena-hard, custom (with --rubric)")
@click.option("--rubric", type=click.Path(path_type=Path),
              help="a text file with your rubric (custom protocol)")
@click.option("--repeats", type=int, default=6, show_default=True,
              help="judgments per pair, half with the responses swapped")
@click.option("--concurrency", type=int, default=8, show_default=True,
              help="API calls in flight")
@model_call_options(temperature=0.7, max_tokens=1024, per="judgment")
@format_option("format of PAIRS when auto-detection is not enough")
@engine_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="the judged file (native JSONL); an existing one is resumed")
def judge(pairs: Path, spec: str, base_url: tuple[str, ...], key: str | None,
          name: str | None, protocol: str, rubric: Path | None, repeats: int, concurrency: int,
          temperature: float, max_tokens: int, seed: int, max_tries: int, timeout: float,
          format_: str | None, output: Path, engine: str, ray_address: str | None,
          ray_workers: int | None, shard_size: int | None) -> int:
    """Judge every pair of PAIRS (native JSONL from generate, or any format comparator reads)
    with an LLM, in both orders and several times. Exit code 3 when some calls failed."""
    comp = load(pairs, format_).comparison
    text = text_bytes(rubric, read_file(rubric)).decode() if rubric else None
    template = PROTOCOLS.get(protocol, protocol)
    cfg = JudgeConfig(template, repeats, SamplingParams(
        temperature=temperature, max_tokens=max_tokens, seed=seed), text)
    kwargs = dict(base_urls=base_urls("judge", list(base_url) or None),
                  api_key=api_key("judge", key), timeout_s=timeout, max_tries=max_tries)
    backend = make_backend(spec, **kwargs)  # a bad spec fails here, before any work
    on_ray = ray_opts(engine, ray_address, ray_workers, shard_size)
    bar = tqdm(total=len(comp.examples), unit="ex", desc="judging", file=sys.stderr)

    def progress(p) -> None:
        bar.n = p.done
        bar.set_postfix(ok=p.ok, unscored=p.unscored, errors=p.errors, cached=p.cache_hits,
                        refresh=False)
        bar.refresh()

    if on_ray is not None:
        prog = judge_comparison_ray(comp, spec, kwargs, cfg, output, name=name,
                                    concurrency=concurrency, on_progress=progress, **on_ray)
    else:
        prog = asyncio.run(judge_comparison(comp, backend, cfg, output, name=name,
                                            concurrency=concurrency, on_progress=progress))
    progress(prog)
    bar.close()
    print(f"{prog.done} examples judged ({prog.skipped} from an earlier run): {prog.ok} verdicts,"
          f" {prog.unscored} unscored, {prog.errors} errors, {prog.cache_hits} cached -> "
          f"{output}", file=sys.stderr)
    return 0 if prog.errors == 0 else 3

