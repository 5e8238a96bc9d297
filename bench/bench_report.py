"""Report speed on N synthesised examples (real AlpacaEval texts, 20 categories).

The HTML report (50 example pairs, slices by category, SHA-256 of the file, plotly.js inline)
of all examples and of a filtered view, each from a freshly loaded comparison (no cached
arrays), vs two baselines in the same run on an equally fresh comparison: ``summary`` alone, and
the bare ``stats --json`` object by category (``stats_result``, the report's statistics) dumped to
JSON. Target: HTML report <= 10 s at 100k.

    python bench/bench_report.py [--n 100000] [--repeats 1] [--quick]

``--quick``: 20k examples; the goal is scaled linearly (2 s at 20k;
conservative: fixed costs are not scaled down).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_dashboard import make_file  # noqa: E402
from bench.report import emit  # noqa: E402
from comparator.analysis import summary  # noqa: E402
from comparator.analysis.result import stats_result  # noqa: E402
from comparator.analysis.stats import DEFAULT_CI  # noqa: E402
from comparator.formats import load  # noqa: E402
from comparator.reports.build import ViewSpec, build  # noqa: E402
from comparator.reports.export import write_report  # noqa: E402


def timed_fresh(path: Path, fn, repeats: int) -> float:
    """(wall, CPU) seconds of the best of ``repeats`` runs of ``fn(loaded)``, each on a newly
    loaded file (cold caches); the load is not timed. CPU time shows the cost on a machine
    shared with other jobs, where wall time waits for the CPU."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        loaded = load(path)
        t, c = time.perf_counter(), time.process_time()
        fn(loaded)
        best = min(best, (time.perf_counter() - t, time.process_time() - c))
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="20k examples")
    args = ap.parse_args()
    if args.quick:
        args.n = 20_000
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        views = {"HTML report, all examples": ViewSpec(by=["category"], examples=50),
                 "HTML report, filter winner=A|B": ViewSpec(filters=["winner=A|B"],
                                                            by=["category"], examples=50)}
        small = load(make_file(500, Path(tmp)))  # warm-up: imports, plotly.js read once
        for spec in views.values():
            write_report(build(small, spec), out)
        stats_result(small, ["category"], 0.25, DEFAULT_CI, None)
        path = make_file(args.n, Path(tmp))
        t0 = time.perf_counter()
        load(path)
        t_load = time.perf_counter() - t0
        rows = [("summary (baseline)", timed_fresh(path, lambda lo: summary(lo.comparison),
                                                   args.repeats)),
                ("stats --json object by category, written (baseline)", timed_fresh(
                    path, lambda lo: (Path(tmp) / "s.json").write_text(json.dumps(
                        stats_result(lo, ["category"], 0.25, DEFAULT_CI, None).to_json())),
                    args.repeats))]
        for name, spec in views.items():
            t = timed_fresh(path, lambda lo, spec=spec: write_report(build(lo, spec), out),
                            args.repeats)
            rows.append((f"{name} ({out.stat().st_size / 1e6:.1f} MB)", t))
    print(f"report benchmark: {args.n:,} examples, slices by category, 50 example pairs "
          f"(load, not timed: {t_load:.1f} s); target: HTML report <= 10 s at 100k")
    print(f"{'what':<56} {'wall s':>8} {'CPU s':>8} {'x stats':>8}")
    for name, (wall, cpu) in rows:
        print(f"{name:<56} {wall:>8.2f} {cpu:>8.2f} {wall / rows[1][1][0]:>8.2f}")
    goal_s = 10 * args.n / 100_000  # the 100k goal, scaled linearly with the size
    goal = f"<= {goal_s:g} s" + ("" if args.n == 100_000 else " (10 s at 100k, scaled)")
    for name, (wall, _) in rows[2:]:
        emit(f"{name.split(' (')[0]}, {args.n:,} examples{' (quick)' if args.quick else ''} "
             "(vs stats --json object)", wall, rows[1][1][0], "s", goal, wall <= goal_s)


if __name__ == "__main__":
    main()
