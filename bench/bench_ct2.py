"""Local CPU generation: ``ct2/`` (CTranslate2, int8) against ``hf/`` (transformers, float32).

A randomly initialised Llama-architecture model of about 100M parameters is built offline here
(tests/tiny_llm.py's builder, bigger sizes; ``</s>`` suppressed so that every reply runs to the
full length), then 32 MT-Bench first turns, 128 new tokens each, greedy, are generated through
each backend in its own process, batched the same way (the same Batcher, ``--batch-size``) with
the same number of threads. Figures: generated tokens per second (wall time of the 32 replies,
after a warm-up batch) and the process's peak resident memory (VmHWM). Baseline, in the same
run: ``hf/``. Goal: ct2/ >= 2x hf/. Ablation: ct2/ with its batches in arrival order (no sort
by prompt length), as hf/ gets them.

    python bench/bench_ct2.py [--prompts 32] [--new-tokens 128] [--batch-size 8] [--threads N]
                              [--quick]

``--quick``: 16 prompts x 64 new tokens (same model, same code paths).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))

from bench.report import emit  # noqa: E402

PROMPTS = ROOT / "data" / "prompts" / "mt_bench_questions.jsonl"
LABELS = {"hf": "hf/ float32 (baseline)", "ct2": "ct2/ int8",
          "ct2-arrival": "ct2/ int8, batches in arrival order"}
SIZE = dict(hidden=768, intermediate=2560, layers=12, heads=12, kv_heads=12, init_range=0.02)


def build(folder: Path) -> int:
    """The ~100M-parameter model; returns its parameter count."""
    from tiny_llm import build_tiny_llama
    from transformers import AutoConfig, LlamaForCausalLM

    build_tiny_llama(folder, **SIZE)
    gconf_path = folder / "generation_config.json"
    gconf = json.loads(gconf_path.read_text())
    gconf["suppress_tokens"] = sorted({*gconf["suppress_tokens"], gconf["eos_token_id"]})
    gconf_path.write_text(json.dumps(gconf))
    with __import__("torch").device("meta"):
        model = LlamaForCausalLM(AutoConfig.from_pretrained(folder))
    return sum(p.numel() for p in model.parameters())


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def worker(engine: str, model: str, n: int, new_tokens: int, batch: int, threads: int) -> dict:
    """Runs in its own process: load, warm up, time ``n`` replies; one JSON line out."""
    from comparator.engines import SamplingParams, make_backend

    if engine == "hf":
        import torch

        torch.set_num_threads(threads)
    if engine == "ct2-arrival":  # ablation: batches in arrival order, as hf/ gets them
        from comparator.engines import ct2_backend

        ct2_backend.POOL = 1
    engine = engine.split("-")[0]
    questions = [json.loads(x)["turns"][0] for x in PROMPTS.read_text().splitlines()][:n]
    options = {"compute_type": "int8", "intra_threads": threads} if engine == "ct2" else None
    t0 = time.perf_counter()
    backend = make_backend(f"{engine}/{model}", batch_size=batch, options=options)
    params = SamplingParams(max_tokens=new_tokens)
    backend.run_batch([[{"role": "user", "content": "warm up"}]] * batch,
                      SamplingParams(max_tokens=8))
    load_s = time.perf_counter() - t0

    async def go():
        return await asyncio.gather(*(backend.generate([{"role": "user", "content": q}], params)
                                      for q in questions))

    t0 = time.perf_counter()
    results = asyncio.run(go())
    wall = time.perf_counter() - t0
    bad = [r.error for r in results if r.status != "ok"]
    if bad:
        raise RuntimeError(bad[0])
    tokens = sum(r.completion_tokens for r in results)
    return {"tokens": tokens, "wall_s": wall, "tok_s": tokens / wall,
            "load_s": load_s, "peak_rss_mb": peak_rss_mb(),
            "batch_sizes": sorted({r.extra["batch_size"] for r in results})}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--worker", choices=list(LABELS))
    ap.add_argument("--model")
    ap.add_argument("--quick", action="store_true", help="16 prompts x 64 new tokens")
    args = ap.parse_args()
    if args.quick:
        args.prompts, args.new_tokens = 16, 64
    if args.worker:
        print(json.dumps(worker(args.worker, args.model, args.prompts, args.new_tokens,
                                args.batch_size, args.threads)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "llama-100m"
        n_params = build(model)
        env = {**os.environ, "COMPARATOR_HOME": str(Path(tmp) / "home"), "HF_HUB_OFFLINE": "1"}
        t0 = time.perf_counter()  # the one-time conversion, outside the timed runs
        subprocess.run([sys.executable, "-c", "from comparator.engines.ct2_backend import "
                        f"Ct2Backend; Ct2Backend({str(model)!r}, compute_type='int8')"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        convert_s = time.perf_counter() - t0
        load_before = os.getloadavg()
        rows = {}
        for engine in LABELS:
            out = subprocess.run([sys.executable, __file__, "--worker", engine, "--model",
                                  str(model), "--prompts", str(args.prompts), "--new-tokens",
                                  str(args.new_tokens), "--batch-size", str(args.batch_size),
                                  "--threads", str(args.threads)], cwd=ROOT, env=env,
                                 capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{engine} worker failed:\n{out.stderr[-3000:]}")
            rows[engine] = json.loads(out.stdout.strip().splitlines()[-1])
    expected = args.prompts * args.new_tokens
    print(f"model: random Llama, {n_params / 1e6:.1f}M parameters; {args.prompts} prompts x "
          f"{args.new_tokens} new tokens, greedy, batch {args.batch_size}, {args.threads} "
          f"threads, {os.cpu_count()} CPUs; one-time int8 conversion {convert_s:.1f}s")
    print(f"load average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f}")
    print(f"{'backend':<34}{'tokens':>8}{'wall s':>9}{'tok/s':>9}{'peak RSS MB':>13}{'load s':>8}")
    for engine, label in LABELS.items():
        r = rows[engine]
        flag = "" if r["tokens"] == expected else f"  (expected {expected} tokens)"
        print(f"{label:<34}{r['tokens']:>8}{r['wall_s']:>9.1f}{r['tok_s']:>9.1f}"
              f"{r['peak_rss_mb']:>13.0f}{r['load_s']:>8.1f}{flag}")
    arrival = rows["ct2-arrival"]["tok_s"] / rows["hf"]["tok_s"]
    ratio = rows["ct2"]["tok_s"] / rows["hf"]["tok_s"]
    mem = rows["ct2"]["peak_rss_mb"] / rows["hf"]["peak_rss_mb"]
    print(f"ct2/ vs hf/: {ratio:.2f}x tokens/s (goal >= 2x: {'met' if ratio >= 2 else 'NOT met'}),"
          f" {mem:.2f}x peak memory; without the length sort {arrival:.2f}x")
    size = f"{args.prompts} prompts x {args.new_tokens} tokens" + (" (quick)" if args.quick
                                                                    else "")
    complete = all(rows[e]["tokens"] == expected for e in LABELS)
    emit(f"tokens/s, ct2/ int8 vs hf/ float32, {size}", rows["ct2"]["tok_s"],
         rows["hf"]["tok_s"], "tok/s", ">= 2x", complete and ratio >= 2)
    emit(f"tokens/s, ct2/ int8 in arrival order vs hf/ float32, {size}",
         rows["ct2-arrival"]["tok_s"], rows["hf"]["tok_s"], "tok/s", "report", True)
    emit(f"peak RSS, ct2/ int8 vs hf/ float32, {size}", rows["ct2"]["peak_rss_mb"],
         rows["hf"]["peak_rss_mb"], "MB", "report", True)


if __name__ == "__main__":
    main()
