"""Open + validate N examples of our native JSONL vs a bare orjson parse of the same bytes.

The examples are synthesised from the real texts in ../shared/data (AlpacaEval prompts,
responses and judge rationales; two judgments each, one in each order). Target: <= 3x.

    python bench/bench_io.py [--n 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from bench.report import emit  # noqa: E402
from comparator.formats import load  # noqa: E402
from comparator.formats.native import read_native, write_native  # noqa: E402
from comparator.schema.records import Comparison  # noqa: E402


def synthesise(n: int) -> Comparison:
    src = orjson.loads((SHARED / "alpaca_eval/claude-2.1_vs_gpt4_1106_preview"
                        ".cot_gpt4_turbo_fn.annotations.json").read_bytes())
    examples = []
    for i in range(n):
        r = src[i % len(src)]
        why = (r.get("raw_completion") or {}).get("concise_explanation") or ""
        pref = r["preference"]
        examples.append({
            "id": f"ex{i}", "prompt": r["instruction"], "response_a": r["output_1"],
            "response_b": r["output_2"], "category": r["dataset"],
            "metadata": {"source_row": i % len(src), "len_a": len(r["output_1"])},
            "judgments": [
                {"score": 3 * (1.5 - pref), "label": str(pref), "flipped": False,
                 "rationale": why, "judge": "gpt-4-turbo", "template_id": "cot"},
                {"score": -1.0 if i % 3 else 0.5, "flipped": True, "rationale": why[::-1],
                 "judge": "gpt-4-turbo", "template_id": "cot"},
            ],
        })
    return Comparison(model_a="gpt4_1106_preview", model_b="claude-2.1", examples=examples)


def timed(fn) -> float:
    gc.collect()
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    del out
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="10k examples, 2 repeats")
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeats = 10_000, 2
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.jsonl"
        write_native(synthesise(args.n), path)
        size = path.stat().st_size
        data = path.read_bytes()
        runs: dict[str, list[float]] = {"orjson (baseline)": [], "read_native": [],
                                         "load (read + detect)": []}
        for _ in range(args.repeats):
            runs["orjson (baseline)"].append(timed(
                lambda: [orjson.loads(x) for x in data.split(b"\n") if x]))
            runs["read_native"].append(timed(lambda: read_native(path, data)))
            runs["load (read + detect)"].append(timed(lambda: load(path)))
        base = statistics.median(runs["orjson (baseline)"])
        print(f"{args.n:,} examples, {size / 1e6:.0f} MB, median of {args.repeats}")
        print(f"{'step':<24} {'seconds':>8} {'x baseline':>11} {'examples/s':>12}")
        for name, ts in runs.items():
            m = statistics.median(ts)
            print(f"{name:<24} {m:>8.2f} {m / base:>10.2f}x {args.n / m:>12,.0f}")
        print("target: read_native <= 3.00x baseline")
        ours = statistics.median(runs["read_native"])
        emit(f"open + validate {args.n:,} native examples (vs orjson parse)", ours, base, "s",
             "<= 3x", ours <= 3 * base)


if __name__ == "__main__":
    main()
