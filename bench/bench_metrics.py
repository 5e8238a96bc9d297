"""Built-in response metrics for N examples (both sides) vs a bare Python loop counting words
(``len(text.split())``) over the same responses, measured in the same run. Also: the n-gram
panel's table (1,000-example sample) and a metric slice table. Target: built-ins <= 5 s at 100k.

The examples reuse bench_io's synthesis from the real AlpacaEval texts in ../shared/data.

    python bench/bench_metrics.py [--n 100000] [--repeats 3] [--quick]

``--quick``: 20k examples, 2 repeats; the goal is scaled linearly (1 s at 20k;
conservative: fixed costs are not scaled down).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_io import synthesise, timed  # noqa: E402
from bench.report import emit  # noqa: E402
from comparator.analysis import slice_table  # noqa: E402
from comparator.analysis.metrics import metric_columns  # noqa: E402
from comparator.analysis.metrics.ngrams import ngram_table  # noqa: E402
from comparator.schema.records import response_text  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="20k examples, 2 repeats")
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeats = 20_000, 2
    comp = synthesise(args.n)
    for i, ex in enumerate(comp.examples):  # distinct strings, as in a real file (no shared
        ex["response_a"] += f" ({i})"       # objects whose UTF-8 form is cached)
        ex["response_b"] += f" ({i})"
    texts = [response_text(ex[s]) for ex in comp.examples for s in ("response_a", "response_b")]
    mb = sum(len(t) for t in texts) / 1e6

    def builtins():
        comp.invalidate()
        return metric_columns(comp)

    base = statistics.median(timed(lambda: [len(t.split()) for t in texts])
                             for _ in range(args.repeats))
    cold = timed(builtins)  # the first run also encodes every string to UTF-8 for Arrow
    ours = statistics.median(timed(builtins) for _ in range(args.repeats))
    metric_columns(comp)
    sl = timed(lambda: slice_table(comp, "a.words"))
    ng = timed(lambda: ngram_table(comp))
    print(f"{args.n:,} examples, {len(texts):,} responses, {mb:.0f} M characters")
    print(f"{'step':<44}{'seconds':>9}{'x baseline':>12}")
    print(f"{'baseline: len(text.split()) loop (words only)':<44}{base:>9.2f}{1:>12.1f}")
    print(f"{'all 9 built-in metrics, both sides, 1st run':<44}{cold:>9.2f}{cold / base:>12.1f}")
    print(f"{'all 9 built-in metrics, both sides, again':<44}{ours:>9.2f}{ours / base:>12.1f}")
    print(f"{'slice table by a.words (bins, first time)':<44}{sl:>9.2f}{sl / base:>12.1f}")
    print(f"{'n-gram table (1-4-grams, 1,000-example sample)':<44}{ng:>9.2f}{ng / base:>12.1f}")
    goal_s = 5 * args.n / 100_000  # the 100k goal, scaled linearly with the size
    size = f"{args.n:,}" + (" (quick)" if args.quick else "")
    goal = f"<= {goal_s:g} s" + ("" if args.n == 100_000 else " (5 s at 100k, scaled)")
    for what, t in (("1st run", cold), ("again", ours)):
        emit(f"9 built-in metrics, both sides, {size} examples, {what} (vs word-count loop)",
             t, base, "s", goal, t <= goal_s)


if __name__ == "__main__":
    main()
