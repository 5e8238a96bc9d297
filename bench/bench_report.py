"""Report speed on N synthesised examples (real AlpacaEval texts, 20 categories).

The HTML report (50 example pairs, slices by category, a winner filter, SHA-256 of the file,
plotly.js inline) from a freshly loaded comparison (no cached arrays), vs two baselines in the
same run on an equally fresh comparison: ``summary`` alone, and the bare ``stats --json`` object
(``stats_dict``) dumped to JSON. Target: HTML report <= 10 s at 100k.

    python bench/bench_report.py [--n 100000] [--repeats 1]
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
from comparator.cli import stats_dict  # noqa: E402
from comparator.io import load  # noqa: E402
from comparator.reports.build import ViewSpec, build  # noqa: E402
from comparator.reports.export import write_report  # noqa: E402
from comparator.slices import summary  # noqa: E402


def timed_fresh(path: Path, fn, repeats: int) -> float:
    """Best of ``repeats`` runs of ``fn(loaded)``, each on a newly loaded file (cold caches);
    the load is not timed."""
    best = float("inf")
    for _ in range(repeats):
        loaded = load(path)
        t = time.perf_counter()
        fn(loaded)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        spec = ViewSpec(filters=["winner=A|B"], by=["category"], examples=50)
        small = load(make_file(500, Path(tmp)))  # warm-up: imports, plotly.js read once
        write_report(build(small, spec), out)
        stats_dict(small, ["category"], 0.25, "wilson", None)
        path = make_file(args.n, Path(tmp))
        t0 = time.perf_counter()
        load(path)
        t_load = time.perf_counter() - t0
        t_summary = timed_fresh(path, lambda lo: summary(lo.comparison), args.repeats)
        t_json = timed_fresh(path, lambda lo: (Path(tmp) / "s.json").write_text(json.dumps(
            stats_dict(lo, ["category"], 0.25, "wilson", None))), args.repeats)
        t_html = timed_fresh(path, lambda lo: write_report(build(lo, spec), out), args.repeats)
        size = out.stat().st_size / 1e6
    print(f"report benchmark: {args.n:,} examples (load, not timed: {t_load:.1f} s)")
    print(f"{'what':<52} {'seconds':>8} {'x summary':>10}")
    for name, t in (("summary (baseline)", t_summary),
                    ("stats --json object, written (baseline)", t_json),
                    (f"HTML report, 50 examples, {size:.1f} MB (target <= 10 s)", t_html)):
        print(f"{name:<52} {t:>8.2f} {t / t_summary:>10.1f}")


if __name__ == "__main__":
    main()
