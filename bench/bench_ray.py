"""Generation throughput on this machine: the local engine against ``--engine ray`` with 1 and 2
workers (``comparator generate`` end to end, each run in its own process with an empty cache).

The model is the tests' tiny Llama builder at a bigger size (CPU, float32, random weights, every
reply runs to ``--new-tokens``), both turns of MT-Bench prompts, greedy. Each engine runs a small
and a large prompt set, so that its fixed cost (start-up: Ray started for the run, the workers,
each loading the model) and its rate per call separate:

    rate = (calls_large - calls_small) / (time_large - time_small)
    fixed = time_small - calls_small / rate

Crossover: the number of calls above which Ray's run is shorter than the local engine's,
``(fixed_ray - fixed_local) / (1/rate_local - 1/rate_ray)`` when Ray's rate is the higher; else
there is none on this machine, and the table says how many such machines a cluster needs.

    python bench/bench_ray.py [--small 4] [--large 40] [--new-tokens 64] [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
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
SIZE = dict(hidden=256, intermediate=688, layers=4, heads=4, kv_heads=4, init_range=0.02)
ENGINES = {"local": [], "ray, 1 worker": ["--engine", "ray", "--ray-workers", "1"],
           "ray, 2 workers": ["--engine", "ray", "--ray-workers", "2"]}


def run(model: Path, n: int, tokens: int, engine: list[str], tmp: Path) -> tuple[float, int]:
    """Seconds of one ``generate`` command and the calls it made."""
    home = Path(tempfile.mkdtemp(dir=tmp))
    cmd = [sys.executable, "-m", "comparator", "generate", "--prompts", str(PROMPTS),
           "--limit", str(n), "--model-a", f"hf/{model}", "--model-b", f"hf/{model}",
           "--params-b", "seed=1", "--max-tokens", str(tokens), *engine,
           "-o", str(home / "out.jsonl")]
    env = {**os.environ, "COMPARATOR_HOME": str(home), "HF_HUB_OFFLINE": "1",
           "RAY_USAGE_STATS_ENABLED": "0"}
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(engine) or 'local'}: {r.stderr[-2000:]}")
    calls = int(re.search(r"(\d+) calls ->", r.stderr).group(1))
    return dt, calls


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=4, help="prompts of the small run")
    ap.add_argument("--large", type=int, default=40, help="prompts of the large run")
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--quick", action="store_true", help="2 and 12 prompts, 32 new tokens")
    args = ap.parse_args()
    if args.quick:
        args.small, args.large, args.new_tokens = 2, 12, 32
    from tiny_llm import build_tiny_llama

    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_llama(Path(tmp) / "model", **SIZE)
        fig: dict[str, tuple[float, float, float, float]] = {}
        print(f"{os.cpu_count()} CPUs; MT-Bench prompts, 2 turns x 2 models, "
              f"{args.new_tokens} new tokens; hf/ Llama {SIZE['hidden']}d x {SIZE['layers']}")
        print(f"{'engine':<16} {'small s':>8} {'large s':>8} {'calls':>6} {'calls/s':>8} "
              f"{'fixed s':>8} {'x local rate':>13}")
        for name, engine in ENGINES.items():
            t_s, c_s = run(model, args.small, args.new_tokens, engine, Path(tmp))
            t_l, c_l = run(model, args.large, args.new_tokens, engine, Path(tmp))
            rate = (c_l - c_s) / max(t_l - t_s, 1e-9)
            fixed = max(0.0, t_s - c_s / rate)
            fig[name] = (t_s, t_l, rate, fixed)
            base = fig["local"][2]
            print(f"{name:<16} {t_s:>8.1f} {t_l:>8.1f} {c_l:>6} {rate:>8.2f} {fixed:>8.1f} "
                  f"{rate / base:>12.2f}x")
    _, _, r_loc, f_loc = fig["local"]
    _, _, r_one, _ = fig["ray, 1 worker"]
    _, _, r_two, f_two = fig["ray, 2 workers"]
    if r_two > r_loc:
        cross = (f_two - f_loc) / (1 / r_loc - 1 / r_two)
        print(f"crossover: Ray with 2 workers is faster above about {cross:,.0f} calls here")
    else:
        nodes = 8  # an example cluster: nodes like this one, one worker each
        rate = nodes * r_one
        cross = ((f_two - f_loc) / (1 / r_loc - 1 / rate)) if rate > r_loc else float("inf")
        print(f"crossover: none on this machine (2 Ray workers {r_two / r_loc:.2f}x the local "
              f"rate). Ray's rate grows with nodes: one worker per node passes the local rate "
              f"from {r_loc / r_one:.1f} nodes; with {nodes} nodes ({rate:.1f} calls/s) a run "
              f"is shorter on Ray above about {cross:,.0f} calls")
    emit("Ray engine, 2 workers: generation calls/s (vs local engine)", r_two, r_loc, "calls/s",
         "report", True)
    emit("Ray engine: fixed cost of a run, 2 workers (vs local engine)", f_two, f_loc, "s",
         "report", True)


if __name__ == "__main__":
    main()
