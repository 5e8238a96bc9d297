"""``python -m comparator generate``: paired responses from two models, with a tqdm bar."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_generate_parser(sub) -> None:
    gen = sub.add_parser("generate", help="paired responses from two models -> native JSONL")
    gen.add_argument("--prompts", type=Path, required=True,
                     help="native JSONL, MT-Bench question.jsonl, AlpacaEval JSON, CSV")
    for s in ("a", "b"):
        gen.add_argument(f"--model-{s}", required=True, metavar="SPEC",
                         help="openai/MODEL, hf/PATH_OR_NAME, vllm/MODEL or ct2/PATH_OR_NAME")
        gen.add_argument(f"--base-url-{s}", action="append", metavar="URL",
                         help="OpenAI-compatible base URL; repeat for a fleet (round-robin)")
        gen.add_argument(f"--api-key-{s}", help=f"prefer env COMPARATOR_API_KEY_{s.upper()}")
        gen.add_argument(f"--name-{s}", help="model name shown in reports")
        gen.add_argument(f"--params-{s}", metavar="K=V,...",
                         help="per-model overrides: temperature, top_p, max_tokens, seed, "
                              "system, logprobs; ct2/ also compute_type, intra_threads, top_k")
    gen.add_argument("--limit", type=int)
    gen.add_argument("--concurrency", type=int, help="API calls in flight (default 8)")
    gen.add_argument("--max-tokens", type=int, default=512)
    gen.add_argument("--temperature", type=float, default=0.0)
    gen.add_argument("--top-p", type=float, default=1.0)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--system", help="system prompt for both models")
    gen.add_argument("--logprobs", action="store_true",
                     help="record each response's mean token log-probability and perplexity "
                          "(openai: servers that return logprobs; hf; ct2)")
    gen.add_argument("--max-tries", type=int, default=5)
    gen.add_argument("--timeout", type=float, default=120.0, help="seconds per API call")
    gen.add_argument("--batch-size", type=int, default=8, help="hf/vllm/ct2 batch size")
    gen.add_argument("--tp", type=int, default=1, help="vLLM tensor-parallel size")
    gen.add_argument("-o", "--output", type=Path, required=True)


def _params(args: argparse.Namespace, side: str):
    """(sampling parameters, backend options) from the flags and ``--params-<side>``."""
    from comparator.engines import SamplingParams
    from comparator.engines.ct2_backend import OPTIONS

    base = dict(temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_tokens,
                seed=args.seed, system=args.system, logprobs=getattr(args, "logprobs", False))
    options: dict = {}
    for part in (getattr(args, f"params_{side}") or "").split(","):
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


def run_generate(args: argparse.Namespace) -> int:
    import asyncio

    from tqdm import tqdm

    from comparator.engines import Side, generate_pairs, load_prompts, make_backend, parse_spec
    from comparator.engines.base import public_url
    from comparator.engines.secrets import api_key, base_urls

    items = load_prompts(args.prompts, args.limit)
    sides = []
    for s in ("a", "b"):
        spec = getattr(args, f"model_{s}")
        provider, model = parse_spec(spec)
        urls = base_urls(s, getattr(args, f"base_url_{s}"))
        key = api_key(s, getattr(args, f"api_key_{s}"))
        params, options = _params(args, s)
        backend = make_backend(spec, base_urls=urls, api_key=key, timeout_s=args.timeout,
                               max_tries=args.max_tries, batch_size=args.batch_size,
                               tensor_parallel_size=args.tp, options=options)
        info = {"base_urls": [public_url(u) for u in urls]} if provider == "openai" and urls else {}
        sides.append(Side(getattr(args, f"name_{s}") or model, backend, params, info))
    if sides[0].name == sides[1].name:
        sides[0].name, sides[1].name = f"{sides[0].name} [A]", f"{sides[1].name} [B]"
    bar = tqdm(total=len(items), unit="ex", desc="generating", file=sys.stderr)

    def progress(p) -> None:
        bar.n = p.done + p.failed
        bar.set_postfix(failed=p.failed, cached=p.cache_hits, refresh=False)
        bar.refresh()

    from comparator.engines.ct2_backend import POOL  # ct2/ sorts a pool by prompt length

    local = {"hf": args.batch_size, "vllm": args.batch_size, "ct2": args.batch_size * POOL}
    concurrency = args.concurrency or local.get(sides[0].backend.spec.split("/")[0], 8)
    prog = asyncio.run(generate_pairs(items, sides[0], sides[1], args.output,
                                      concurrency=concurrency, prompts_name=str(args.prompts),
                                      on_progress=progress))
    progress(prog)
    bar.close()
    print(f"{prog.done} done ({prog.skipped} from an earlier run), {prog.failed} failed, "
          f"{prog.cache_hits} cached replies, {prog.calls} calls -> {args.output}", file=sys.stderr)
    return 0 if prog.failed == 0 else 3
