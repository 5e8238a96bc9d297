"""Ranked search at scale: warm query latency over N examples (real AlpacaEval texts, see
bench_io.synthesise) vs a plain case-insensitive substring scan of the same texts (the sidebar's
text filter, ``filters.search_mask`` without its cache). Target: warm query <= 200 ms at 100k.

Words: BM25 over prompt + both responses + rationales. Meaning: MiniLM similarity over prompts;
the N examples reuse the 805 real prompts, so the prompt embeddings cost 805 encodings (cached on
disk): the figure that matters, the warm query, is unaffected.

    python bench/bench_search.py [--n 100000] [--queries 20] [--quick]

``--quick``: 20k examples, 10 queries; the goal is scaled linearly (40 ms at 20k;
conservative: fixed costs are not scaled down).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_io import synthesise  # noqa: E402
from bench.report import emit  # noqa: E402
from comparator.schema.records import prompt_text, response_text  # noqa: E402
from comparator.search.ranked import meaning_index, search, word_index  # noqa: E402

QUERIES = ["chocolate chip cookies recipe", "northern lights aurora", "python list comprehension",
           "history of the roman empire", "write a poem about the ocean", "tax deduction rules",
           "how to fix a leaking roof", "best exercises for beginners", "translate to french",
           "quantum computing explained"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="20k examples, 10 queries")
    args = ap.parse_args()
    if args.quick:
        args.n, args.queries = 20_000, 10
    comp = synthesise(args.n)
    qs = [QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else f" {i}")
          for i in range(args.queries)]
    t = time.perf_counter()
    word_index(comp)
    build_words = time.perf_counter() - t
    t = time.perf_counter()
    meaning_index(comp)
    build_meaning = time.perf_counter() - t
    # the baseline's lower-cased texts (prompt, A, B joined by NUL), built once beforehand
    hay = [f"{prompt_text(ex)}\0{response_text(ex['response_a'])}\0"
           f"{response_text(ex['response_b'])}".lower() for ex in comp.examples]

    def scan(query: str) -> np.ndarray:
        ql = query.lower()
        return np.fromiter((ql in s for s in hay), bool, len(hay))

    search(comp, "warm up", meaning=True)
    runs: dict[str, list[float]] = {"substring scan (baseline)": [], "search, words": [],
                                     "search, words + meaning": []}
    for q in qs:
        for name, fn, kw in (("substring scan (baseline)", scan, {}),
                             ("search, words", search, {"comp": comp}),
                             ("search, words + meaning", search, {"comp": comp, "meaning": True})):
            t = time.perf_counter()
            fn(query=q, **kw)
            runs[name].append(time.perf_counter() - t)
    base = statistics.median(runs["substring scan (baseline)"])
    print(f"{args.n:,} examples; index build: words {build_words:.1f} s, meaning "
          f"{build_meaning:.1f} s (805 distinct prompts); median of {len(qs)} warm queries")
    print(f"{'step':<28} {'ms':>8} {'p90 ms':>8} {'x baseline':>11}")
    for name, ts in runs.items():
        m, p90 = statistics.median(ts), float(np.percentile(ts, 90))
        print(f"{name:<28} {1000 * m:>8.1f} {1000 * p90:>8.1f} {m / base:>10.2f}x")
    print("target: warm query (words + meaning) <= 200 ms at 100k")
    goal_ms = 200 * args.n / 100_000  # the 100k goal, scaled linearly with the size
    goal = f"<= {goal_ms:g} ms" + ("" if args.n == 100_000 else " (200 ms at 100k, scaled)")
    size = f"{args.n:,}" + (" (quick)" if args.quick else "")
    for name in ("search, words", "search, words + meaning"):
        m = statistics.median(runs[name])
        emit(f"warm query, {name.removeprefix('search, ')}, {size} examples (vs substring scan)",
             1000 * m, 1000 * base, "ms", goal, 1000 * m <= goal_ms)


if __name__ == "__main__":
    main()
