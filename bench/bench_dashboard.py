"""Dashboard speed on N synthesised examples (real AlpacaEval texts, 20 categories).

1. Page rerun after a filter change (Streamlit AppTest: the server-side script run of the
   Overview and Examples pages once the file is loaded), vs the same rerun on 1k examples.
   Target: <= 1 s at 100k.
2. Win rate by slice for 20 slices (counts, Wilson intervals, mean-score intervals) after a
   tie-threshold change, vs a pandas groupby computing the same counts. Target: <= 50 ms median.

    python bench/bench_dashboard.py [--n 100000]
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
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_io import synthesise  # noqa: E402
from bench.report import emit  # noqa: E402
from comparator.analysis import slice_table  # noqa: E402
from comparator.analysis.stats import derive  # noqa: E402
from comparator.formats.native import read_native, write_native  # noqa: E402
from comparator.ui import state  # noqa: E402


def make_file(n: int, folder: Path) -> Path:
    comp = synthesise(n)
    for i, ex in enumerate(comp.examples):
        ex["category"] = f"topic-{i % 20:02d}"
        ex["judgments"][1]["score"] = [-1.5, -0.5, 0.0, 0.5, 1.0][i % 5]
    path = folder / f"bench_{n}.jsonl"
    write_native(comp, path)
    return path


def rerun_times(path: Path, repeats: int) -> dict[str, float]:
    from streamlit.testing.v1 import AppTest

    os.environ["COMPARATOR_DATA_DIRS"] = str(path.parent)  # a folder the dashboard may read
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state[state.SOURCE] = ("path", str(path))
    at.run()  # load + first derivation (cached afterwards)
    n = sum(1 for _ in open(path)) - 1
    assert any(f"{n:,} examples" in c.value for c in at.sidebar.caption), "file not loaded"
    out: dict[str, list[float]] = {"overview: slice change": [], "examples: slice change": [],
                                   "examples: winner filter": []}
    values = ["topic-03", "topic-07", "topic-11", "topic-15", "topic-19"]
    for page, label in (("pages/overview.py", "overview: slice change"),
                        ("pages/examples.py", "examples: slice change")):
        at.switch_page(page).run()
        at.sidebar.selectbox(key=state.W_FIELD).select("category").run()
        at.sidebar.selectbox(key=state.W_VALUE).select("topic-01").run()  # warm-up, untimed
        for k in range(repeats):
            t = time.perf_counter()
            at.sidebar.selectbox(key=state.W_VALUE).select(values[k % len(values)]).run()
            out[label].append(time.perf_counter() - t)
            assert not at.exception, at.exception
    for k in range(repeats):
        t = time.perf_counter()
        at.sidebar.multiselect(key=state.F_WINNERS).set_value(["A"] if k % 2 else ["B"]).run()
        out["examples: winner filter"].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in out.items()}


def slice_times(path: Path, repeats: int) -> tuple[float, float, float]:
    comp = read_native(path)
    derive(comp)
    t = time.perf_counter()
    slice_table(comp, "category", 0.25)  # first call: builds the slice index
    first = time.perf_counter() - t
    ours, base = [], []
    df = pd.DataFrame({"category": [ex["category"] for ex in comp.examples],
                       "score": derive(comp).score})
    for k in range(repeats):
        tt = 0.2 + 0.01 * (k % 10)  # a new tie threshold each time: nothing cached to reuse
        t = time.perf_counter()
        rows = slice_table(comp, "category", tt)
        ours.append(time.perf_counter() - t)
        assert len(rows) == 20
        t = time.perf_counter()
        w = np.where(df.score > tt, "A", np.where(df.score < -tt, "B", "tie"))
        df.assign(w=w).groupby(["category", "w"]).size().unstack(fill_value=0)
        base.append(time.perf_counter() - t)
    return first, statistics.median(ours), statistics.median(base)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="20k examples, 3 repeats")
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeats = 20_000, 3
    with tempfile.TemporaryDirectory() as tmp:
        small = rerun_times(make_file(1000, Path(tmp)), args.repeats)
        big_path = make_file(args.n, Path(tmp))
        big = rerun_times(big_path, args.repeats)
        print(f"Page rerun after a filter change (median of {args.repeats}, AppTest, server side)")
        print(f"{'rerun':<26} {'1k s':>8} {f'{args.n // 1000}k s':>8} {'ratio':>7}  target")
        for k in big:
            print(f"{k:<26} {small[k]:>8.3f} {big[k]:>8.3f} {big[k] / small[k]:>6.1f}x  <= 1 s")
        first, ours, base = slice_times(big_path, 30)
        print(f"\nWin rate by slice, 20 slices, {args.n:,} examples (median of 30)")
        print(f"{'step':<40} {'ms':>8} {'x pandas':>9}")
        print(f"{'pandas groupby counts only (baseline)':<40} {1000 * base:>8.1f} {1.0:>8.2f}x")
        print(f"{'slice_table (counts + CIs + means)':<40} {1000 * ours:>8.1f} {ours / base:>8.2f}x"
              "   target <= 50 ms")
        print(f"{'first slice_table (builds the index)':<40} {1000 * first:>8.1f}")
        for k in big:
            emit(f"page rerun, {k}, {args.n // 1000}k examples (vs 1k)", big[k], small[k], "s",
                 "<= 1 s", big[k] <= 1.0)
        emit(f"win rate by 20 slices, {args.n // 1000}k (vs pandas groupby counts)",
             1000 * ours, 1000 * base, "ms", "<= 50 ms", 1000 * ours <= 50)


if __name__ == "__main__":
    main()
