"""Generation throughput against a local OpenAI-compatible endpoint with 200 ms latency.

The endpoint is a stand-in written here (Starlette + uvicorn on 127.0.0.1): it streams a fixed
16-token reply after sleeping LATENCY seconds, so the benchmark measures our client side
(asyncio concurrency, streaming, cache writes, output writes), not a model. For each
concurrency K the runner generates paired responses; ideal = K / latency calls per second.
Baseline, in the same run: a sequential client (the official openai client, one call at a
time). Target: >= 85% of ideal at K = 64.

    python bench/bench_generation.py [--latency 0.2] [--calls-per-level 1920]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import emit  # noqa: E402
from comparator.engines import SamplingParams, Side, generate_pairs  # noqa: E402
from comparator.engines.cache import ResponseCache  # noqa: E402
from comparator.engines.openai_backend import OpenAIBackend  # noqa: E402
from comparator.engines.promptsets import PromptItem  # noqa: E402


def serve(latency: float, port: int) -> None:
    """The stand-in endpoint (runs in its own process so it does not share our GIL)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def chat(request):
        body = await request.json()
        await asyncio.sleep(latency)

        async def stream():
            base = {"id": "x", "object": "chat.completion.chunk", "created": 0,
                    "model": body["model"]}
            for k in range(16):
                chunk = {**base, "choices": [{"index": 0, "delta": {"content": f"w{k} "}}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            end = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 10, "completion_tokens": 16, "total_tokens": 26}}
            yield f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", backlog=2048,
                limit_concurrency=4096)


def start_endpoint(latency: float) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = multiprocessing.Process(target=serve, args=(latency, port), daemon=True)
    proc.start()
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return f"http://127.0.0.1:{port}/v1"


def run_level(url: str, k: int, calls: int, folder: Path) -> float:
    items = [PromptItem(id=f"p{k}-{i}", turns=[f"prompt {k} {i}"]) for i in range(calls // 2)]
    a = Side("a", OpenAIBackend("m", base_urls=[url], api_key="x"), SamplingParams())
    b = Side("b", OpenAIBackend("m", base_urls=[url], api_key="x"), SamplingParams(seed=1))
    t = time.perf_counter()
    prog = asyncio.run(generate_pairs(items, a, b, folder / f"out{k}.jsonl", concurrency=k,
                                      cache=ResponseCache(folder / f"c{k}.sqlite")))
    dt = time.perf_counter() - t
    assert prog.done == len(items) and prog.failed == 0, prog
    return 2 * len(items) / dt


def sequential(url: str, calls: int) -> float:
    import openai

    client = openai.OpenAI(base_url=url, api_key="x", max_retries=0)
    t = time.perf_counter()
    for i in range(calls):
        stream = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"s{i}"}], stream=True)
        for _ in stream:
            pass
    return calls / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--calls-per-level", type=int, default=1920)
    ap.add_argument("--quick", action="store_true", help="at most 640 calls per level")
    args = ap.parse_args()
    if args.quick:
        args.calls_per_level = 640
    url = start_endpoint(args.latency)
    seq = sequential(url, 20)
    print(f"endpoint latency {1000 * args.latency:.0f} ms; sequential openai client: "
          f"{seq:.2f} calls/s (ideal {1 / args.latency:.2f})")
    print(f"{'concurrency':>11} {'calls':>6} {'calls/s':>8} {'ideal':>7} {'% ideal':>8} "
          f"{'x sequential':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for k in (1, 8, 32, 64):
            calls = min(args.calls_per_level, max(20, 30 * k))
            rate = run_level(url, k, calls, Path(tmp))
            ideal = k / args.latency
            print(f"{k:>11} {calls:>6} {rate:>8.1f} {ideal:>7.1f} {100 * rate / ideal:>7.1f}% "
                  f"{rate / seq:>12.1f}x")
    print("target: >= 85% of ideal at concurrency 64")
    emit("generation calls/s at concurrency 64 (vs ideal 64/latency)", rate, ideal, "calls/s",
         ">= 0.85x", rate >= 0.85 * ideal)
    emit("generation calls/s at concurrency 64 (vs sequential openai client)", rate, seq,
         "calls/s", "report", True)


if __name__ == "__main__":
    main()
