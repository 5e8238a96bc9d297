"""``python -m comparator judge``: an LLM judge over a pair file, with a tqdm bar."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from comparator.judge.prompts import PROTOCOLS


def add_judge_parser(sub) -> None:
    p = sub.add_parser("judge", help="judge every pair with an LLM (both orders, repeats)")
    p.add_argument("pairs", type=Path, help="a pair file (native JSONL from generate, or any "
                   "format comparator reads)")
    p.add_argument("--judge", required=True, metavar="SPEC",
                   help="openai/MODEL, hf/PATH_OR_NAME or vllm/MODEL")
    p.add_argument("--base-url", action="append", metavar="URL",
                   help="OpenAI-compatible base URL; repeat for a fleet")
    p.add_argument("--api-key", help="prefer env COMPARATOR_API_KEY_JUDGE or OPENAI_API_KEY")
    p.add_argument("--name", help="judge name recorded in the judgments")
    p.add_argument("--protocol", default="7level",
                   choices=sorted(PROTOCOLS) + sorted(PROTOCOLS.values()),
                   help="7level (default), mt-bench, arena-hard, custom (with --rubric)")
    p.add_argument("--rubric", type=Path, help="a text file with your rubric (custom protocol)")
    p.add_argument("--repeats", type=int, default=6, help="judgments per pair, half swapped")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--max-tokens", type=int, default=1024)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-tries", type=int, default=5)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--format", help="format of PAIRS when auto-detection is not enough")
    p.add_argument("-o", "--output", type=Path, required=True)


def run_judge(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from comparator.engines import SamplingParams, make_backend
    from comparator.engines.secrets import api_key, base_urls
    from comparator.formats import load
    from comparator.judge.runner import JudgeConfig, judge_comparison

    comp = load(args.pairs, args.format).comparison
    rubric = args.rubric.read_text() if args.rubric else None
    template = PROTOCOLS.get(args.protocol, args.protocol)
    cfg = JudgeConfig(template, args.repeats, SamplingParams(
        temperature=args.temperature, max_tokens=args.max_tokens, seed=args.seed), rubric)
    backend = make_backend(args.judge, base_urls=base_urls("judge", args.base_url),
                           api_key=api_key("judge", args.api_key), timeout_s=args.timeout,
                           max_tries=args.max_tries)
    bar = tqdm(total=len(comp.examples), unit="ex", desc="judging", file=sys.stderr)

    def progress(p) -> None:
        bar.n = p.done
        bar.set_postfix(ok=p.ok, unscored=p.unscored, errors=p.errors, refresh=False)
        bar.refresh()

    prog = asyncio.run(judge_comparison(comp, backend, cfg, args.output, name=args.name,
                                        concurrency=args.concurrency, on_progress=progress))
    progress(prog)
    bar.close()
    print(f"{prog.done} examples judged ({prog.skipped} from an earlier run): {prog.ok} verdicts,"
          f" {prog.unscored} unscored, {prog.errors} errors, {prog.cache_hits} cached -> "
          f"{args.output}", file=sys.stderr)
    return 0 if prog.errors == 0 else 3
