"""Ratings at scale: saving one rating, reading a rater's file, People vs judge at 100k.

1. Save one rating (validated, O_APPEND + flock + fsync) vs a bare os.write + fsync of the same
   line: the durability is the fsync, our overhead should be small.
2. Read 10k ratings (validated, last line per id standing) vs a bare orjson parse of the lines.
3. People vs judge on N synthesised examples (real AlpacaEval texts) with 1,000 rated by two
   raters: merge (with_ratings) + every figure (people_report) vs summary() of the same
   comparison (the Overview's headline), both after the first derivation.

    python bench/bench_ratings.py [--n 100000] [--quick]

No goal is stated for these figures: they are reported (goal "report") with their baselines.
``--quick``: 20k examples, 50 saves timed instead of 200.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_io import synthesise  # noqa: E402
from bench.report import emit  # noqa: E402
from comparator.analysis import summary  # noqa: E402
from comparator.analysis.people import people_report  # noqa: E402
from comparator.ratings.store import (  # noqa: E402
    comparison_key,
    load_ratings,
    ratings_path,
    save_rating,
    with_ratings,
)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="20k examples, 50 saves")
    args = ap.parse_args()
    saves = 200
    if args.quick:
        args.n, saves = 20_000, 50
    tmp = Path(tempfile.mkdtemp())
    os.environ["COMPARATOR_HOME"] = str(tmp)
    comp = synthesise(args.n)
    t0 = time.perf_counter()
    key = comparison_key(comp)
    print(f"comparison key of {args.n:,} examples: {time.perf_counter() - t0:.2f} s (once, cached)")
    ids = [ex["id"] for ex in comp.examples]
    rng = np.random.default_rng(0)
    k = iter(range(10**9))
    ours = median_time(lambda: save_rating(comp, "bench", ids[next(k) % len(ids)], 1.0, False,
                                           note="ok", seconds=3.0), saves)
    line = orjson.dumps({"id": ids[0], "judge": "human", "rater": "bench", "score": 1.0,
                         "flipped": False, "note": "ok", "rated_at": "x", "seconds": 3.0}) + b"\n"
    bare_path = tmp / "bare.jsonl"

    def bare():
        fd = os.open(bare_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, line)
        os.fsync(fd)
        os.close(fd)

    base = median_time(bare, saves)
    print(f"save one rating: {1000 * ours:.2f} ms vs bare write+fsync {1000 * base:.2f} ms "
          f"({ours / base:.2f}x)")
    emit("save one rating (vs bare os.write + fsync)", 1000 * ours, 1000 * base, "ms", "report",
         True)
    big = tmp / "big.jsonl"
    rows = [orjson.dumps({"id": ids[i % len(ids)], "judge": "human", "rater": "r",
                          "score": float(rng.choice([-1.5, -1, 0, 1, 1.5])),
                          "flipped": bool(i % 2), "note": None, "rated_at": "x",
                          "seconds": 1.0}) for i in range(10_000)]
    big.write_bytes(b"\n".join(rows) + b"\n")
    ours = median_time(lambda: load_ratings([big], comp, check_key=False), 5)
    base = median_time(lambda: [orjson.loads(x) for x in big.read_bytes().split(b"\n") if x], 5)
    print(f"read 10k ratings: {1000 * ours:.1f} ms vs bare orjson {1000 * base:.1f} ms "
          f"({ours / base:.1f}x)")
    emit("read 10k ratings (vs bare orjson parse)", 1000 * ours, 1000 * base, "ms", "report",
         True)
    for r, seed in (("r1", 1), ("r2", 2)):
        g = np.random.default_rng(seed)
        for i in range(1000):
            save_rating(comp, r, ids[i], float(g.choice([-1.5, -1, 0, 1, 1.5])), bool(i % 2))
    files = [ratings_path(key, r) for r in ("r1", "r2")]
    summary(comp)

    def people():
        merged = with_ratings(comp, load_ratings(files, comp), only_rated=True)
        return people_report(merged)

    people()
    ours = median_time(people, 3)
    comp.invalidate()
    comparison_key(comp)
    base = median_time(lambda: (comp.invalidate(), summary(comp)), 3)
    print(f"People vs judge at {args.n:,} (2,000 ratings): {ours:.2f} s vs a cold summary() "
          f"{base:.2f} s ({ours / base:.1f}x)")
    emit(f"People vs judge, {args.n:,} examples{' (quick)' if args.quick else ''}, 2,000 "
         "ratings (vs cold summary())", ours, base, "s", "report", True)


if __name__ == "__main__":
    main()
