"""Open Arena-Hard-Auto, MT-Bench single-grade and JudgeBench files of N records, and compute
their benchmark figure, vs a bare orjson parse of the same bytes (same run).

Records are the real ones in tests/data/arena_hard and ../shared/data, repeated with new ids.

    python bench/bench_benchmark_formats.py [--n 5000] [--quick]

No goal is stated for these formats: the open time is reported (goal "report") against the
bare parse. ``--quick``: 1,000 records per format.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from bench.report import emit  # noqa: E402
from comparator.analysis.benchmarks import benchmark_figures  # noqa: E402
from comparator.formats import load  # noqa: E402

SOURCES = {
    "arena-hard": (ROOT / "tests/data/arena_hard/gpt-4-0613.v2.0-games.jsonl", "uid"),
    "mt-bench-single": (sorted((SHARED / "mt_bench_single").glob("*.jsonl")), "question_id"),
    "judgebench": (SHARED / "judgebench/sample_20_pairs.o1-mini_on_gpt-4o.jsonl", "pair_id"),
}


def build(fmt: str, n: int, out: Path) -> Path:
    src, key = SOURCES[fmt]
    paths = src if isinstance(src, list) else [src]
    rows = [orjson.loads(line) for p in paths for line in p.read_bytes().splitlines() if line]
    lines = []
    for i in range(n):
        r = dict(rows[i % len(rows)])
        k = i // len(rows)
        r[key] = r[key] + 1000 * k if fmt == "mt-bench-single" else f"{r[key]}-{k}"
        lines.append(orjson.dumps(r))
    path = out / f"{fmt}.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--quick", action="store_true", help="1,000 records per format")
    args = ap.parse_args()
    if args.quick:
        args.n = 1000
    print(f"{'format':<16} {'records':>8} {'MB':>6} {'parse s':>8} {'load s':>7} {'ratio':>6} "
          f"{'figure s':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in SOURCES:
            path = build(fmt, args.n, Path(tmp))
            data = path.read_bytes()
            t0 = time.perf_counter()
            [orjson.loads(x) for x in data.splitlines() if x]
            t1 = time.perf_counter()
            comp = load(path).comparison
            t2 = time.perf_counter()
            benchmark_figures(comp)
            t3 = time.perf_counter()
            print(f"{fmt:<16} {args.n:>8} {len(data) / 1e6:>6.1f} {t1 - t0:>8.3f} {t2 - t1:>7.3f} "
                  f"{(t2 - t1) / (t1 - t0):>5.1f}x {t3 - t2:>8.3f}")
            emit(f"open {fmt}, {args.n:,} records{' (quick)' if args.quick else ''} "
                 "(vs orjson parse)", t2 - t1, t1 - t0, "s", "report", True)


if __name__ == "__main__":
    main()
