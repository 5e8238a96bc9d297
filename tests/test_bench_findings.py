"""bench/bench_findings.py runs end to end on a small comparison (real AlpacaEval texts,
2,000 examples) in a new process, as `python -m bench` runs it: its table has every method's
row, its BENCH lines follow bench/report.py, and its checks hold (the lattice's pair counts
equal the pandas groupby's; sliceline's statistics equal exact counts). Nothing is timed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from conftest import ROOT, SHARED

ROWS = ("find(), first call, fresh comparison", "find(), again (other seed; metrics cached)",
        "  of which: candidate predicates", "  of which: lattice.search",
        "sliceline 0.3.0 (k=20, max_l=2, alpha 0.6)",
        "sliceline 0.3.0 (k=20, max_l=2, alpha 0.99)", "pandas groupby per pair (extrapolated)")


def test_bench_findings_table(tmp_path):
    assert (SHARED / "alpaca_eval").is_dir()  # the script's texts (skipped when absent)
    env = {**os.environ, "COMPARATOR_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "bench/bench_findings.py", "--n", "2000",
                        "--pair-budget", "0.5"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    header = lines[0]
    m = re.search(r"(\d+) predicates of (\d+) fields; ([\d,]+) conjunctions tested", header)
    assert m and int(m[1]) >= int(m[2]) > 1 and int(m[3].replace(",", "")) > int(m[1])
    assert re.search(r"load average at start \d+\.\d+ / end \d+\.\d+", r.stdout)
    for name in ROWS:
        row = next((x for x in lines if x.startswith(name + " ")), None)
        assert row, f"no row {name!r} in:\n{r.stdout}"
        seconds, ratio = row[len(name):].split()[:2]
        assert float(seconds) >= 0 and float(ratio) >= 0
    # the pandas baseline ran out of its 0.5 s budget: timed on a subset, extrapolated
    pandas = next(x for x in lines if x.startswith("pandas groupby per pair"))
    assert re.search(r"count \+ mean of ([\d,]+) pairs \(([\d,]+) timed", pandas)
    same = re.search(r"pandas: (\d+) of (\d+) pair counts", r.stdout)
    assert same and same[1] == same[2] and int(same[2]) > 0
    for alpha in ("0.6", "0.99"):
        check = re.search(rf"sliceline alpha {alpha}: (\d+) slices; (\d+) of (\d+) with size",
                          r.stdout)
        assert check and check[2] == check[3] == check[1]
    bench = [json.loads(x[6:]) for x in lines if x.startswith("BENCH ")]
    assert len(bench) == 2
    for b in bench:
        assert b["unit"] == "s" and b["ours"] > 0 and b["baseline"] > 0
        assert "(5 s at 100k, scaled)" in b["goal"]
