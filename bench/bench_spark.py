"""``stats`` at 1M examples: Spark (local[2]) vs DuckDB vs in-process, time and peak memory.

Each engine runs ``comparator stats FILE --json --by category --by tags --by judge
--engine ENGINE`` in a fresh process on the same Parquet file (our store's layout, written by
``synthesise_parquet`` below: short texts, 0-3 judgments per example from three judges, with
every rule of the SQL exercised). Time is the command's wall time in that process (Spark's
includes starting its JVM; "Spark, warm" is a second run on the session already up). Peak
memory is the high-water mark (VmHWM) of the process and, for Spark, of the JVM it starts, summed.
All three give the same figures (tests/test_spark.py checks it).

    python bench/bench_spark.py [--n 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import emit  # noqa: E402
from comparator.schema.records import Comparison  # noqa: E402
from comparator.store import schema  # noqa: E402
from comparator.store.cache import PARQUET_META  # noqa: E402

JUDGES = ["gpt-4-turbo", "claude-judge", None, "human"]  # None: a judgment without a judge
GRID = np.arange(-6, 7) * 0.25  # the 7-level scale's halves, ties at the ±0.25 edges


def synthesise_table(n: int, seed: int = 0, humans: bool = False) -> pa.Table:
    """``n`` examples in our store's layout, built column by column (about a second per
    million): 20 categories plus null and empty ones; tags (repeated, empty, or none); 0-3
    judgments from ``JUDGES`` (``human`` only with ``humans``), with raters, unscored and
    error ones and some continuous scores; examples without judgments scored by a
    ``reported_score`` or unscored, some with a null judgments list."""
    rng = np.random.default_rng(seed)
    k = rng.choice(4, n, p=[0.08, 0.3, 0.5, 0.12]).astype(np.int32)  # judgments per example
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(k, out=offsets[1:])
    m = int(offsets[-1])
    # multiples of 1/64: sums of a few add exactly, so no engine's order of addition can move a
    # mean across the tie band's edge (5% continuous scores, off every grid, besides)
    score = rng.choice(GRID, m) + np.round(rng.normal(0.1, 0.075, m) * 64) / 64
    score = np.where(rng.random(m) < 0.05, rng.uniform(-1.5, 1.5, m), np.clip(score, -1.5, 1.5))
    status = rng.choice(4, m, p=[0.85, 0.07, 0.05, 0.03])  # ok, null, unscored, error
    ok = status < 2
    judge = rng.choice(len(JUDGES) if humans else 3, m, p=None if humans else [0.6, 0.3, 0.1])
    judgment = pa.StructArray.from_arrays([
        pa.array(np.where(ok, score, np.nan), from_pandas=True),
        pa.nulls(m, pa.string()), pa.array(rng.random(m) < 0.5), pa.nulls(m, schema.S),
        pc.take(pa.array(JUDGES), pa.array(judge)),
        pc.take(pa.array(["r0", "r1", None]), pa.array(rng.choice(3, m))),
        pa.nulls(m, pa.string()),
        pc.take(pa.array(["ok", None, "unscored", "error"]), pa.array(status)),
        pa.nulls(m, schema.S)], fields=list(schema.JUDGMENT))
    no_list = (k == 0) & (rng.random(n) < 0.3)  # judgments null, not empty
    judgments = pa.ListArray.from_arrays(pa.array(offsets), judgment,
                                         mask=pa.array(no_list))
    reported = np.where((k == 0) & (rng.random(n) < 0.6), rng.choice(GRID, n), np.nan)
    cats = [f"topic-{i:02d}" for i in range(20)] + [None, ""]
    tags = pa.array([["short"], ["long", "math", "long"], [], None, ["math"]],
                    pa.list_(pa.string()))
    ids = pc.binary_join_element_wise("ex", pc.cast(pa.array(np.arange(n)), pa.string()), "")
    texts = pa.array(["Short prompt.", "A response.", "Another response, longer."], schema.S)
    cols = {
        "id": ids, "prompt": pc.take(texts, pa.array(np.zeros(n, np.int64))),
        "response_a": pc.take(texts, pa.array(np.ones(n, np.int64))),
        "response_b": pc.take(texts, pa.array(np.full(n, 2, np.int64))),
        "category": pc.take(pa.array(cats), pa.array(rng.choice(len(cats), n))),
        "tags": pc.take(tags, pa.array(rng.choice(5, n))),
        "reported_score": pa.array(reported, from_pandas=True),
        "judgments": judgments.cast(pa.list_(schema.JUDGMENT)),
    }
    head = schema.header(Comparison(model_a="model-x", model_b="model-y", examples=[]))
    sch = schema.EMPTY.with_metadata({PARQUET_META: orjson.dumps(head)})
    return pa.Table.from_arrays([cols[f.name] if f.name in cols else pa.nulls(n, f.type)
                                 for f in sch], schema=sch)


def synthesise_parquet(n: int, path: Path, seed: int = 0, shards: int = 1,
                       humans: bool = False) -> list[Path]:
    """``synthesise_table`` written as one Parquet file, or as ``shards`` files
    ``part-00.parquet``... in the folder ``path``; the files written."""
    table = synthesise_table(n, seed, humans)
    if shards == 1:
        pq.write_table(table, path, row_group_size=65536)
        return [path]
    path.mkdir(parents=True, exist_ok=True)
    step = -(-n // shards)
    out = []
    for i in range(shards):
        out.append(path / f"part-{i:02d}.parquet")
        pq.write_table(table.slice(i * step, step), out[-1], row_group_size=65536)
    return out


PEAK = """
import os, sys, time

def hwm(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0

def tree(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1] == str(pid):
                    kids.append(int(d))
            except OSError:
                pass
    return [pid] + [p for k in kids for p in tree(k)]

def peak():
    return sum(hwm(p) for p in tree(os.getpid()))
"""
CHILD = PEAK + """
import io, contextlib
from comparator.analysis.sql_stats import sql_stats
from comparator.cli.main import main
path, engine = sys.argv[1], sys.argv[2]
args = ["stats", path, "--json", "--by", "category", "--by", "tags", "--by", "judge",
        "--engine", engine]
out = io.StringIO()
t = time.perf_counter()
with contextlib.redirect_stdout(out):
    code = main(args)
dt = time.perf_counter() - t
warm = None
if engine == "spark":  # the same again on a session already up (a long-lived driver)
    from comparator.analysis.spark import session
    s = session()
    sql_stats(path, "spark", ["category", "tags", "judge"], spark=s)
    t = time.perf_counter()
    sql_stats(path, "spark", ["category", "tags", "judge"], spark=s)
    warm = time.perf_counter() - t
mem = peak()
print(json.dumps({"code": code, "seconds": dt, "warm": warm, "peak": mem,
                  "n": json.loads(out.getvalue())["n"]}), file=sys.stderr)
""".replace("import io,", "import json, io,")


def run(path: Path, engine: str, home: Path) -> dict:
    env = {**os.environ, "COMPARATOR_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), engine], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{engine}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stderr.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 examples")
    args = ap.parse_args()
    n = 100_000 if args.quick else args.n
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.parquet"
        synthesise_parquet(n, path)
        size = path.stat().st_size
        print(f"{n:,} examples, Parquet {size / 1e6:.0f} MB; stats --json --by category "
              "--by tags --by judge, each engine in a fresh process")
        got = {e: run(path, e, Path(tmp) / "home") for e in ("local", "duckdb", "spark")}
    base = got["local"]
    rows = [("in-process (--engine local)", base["seconds"], base["peak"]),
            ("DuckDB (--engine duckdb)", got["duckdb"]["seconds"], got["duckdb"]["peak"]),
            ("Spark local[2] (--engine spark)", got["spark"]["seconds"], got["spark"]["peak"]),
            ("Spark, warm session (queries only)", got["spark"]["warm"], None)]
    print(f"\n{'engine':<36} {'time s':>8} {'x local':>8} {'peak MB':>9} {'x local':>8}")
    for name, secs, mem in rows:
        m = f"{mem / 1e6:>9.0f} {mem / base['peak']:>8.2f}" if mem else f"{'-':>9} {'-':>8}"
        print(f"{name:<36} {secs:>8.2f} {secs / base['seconds']:>8.2f} {m}")
    assert all(g["n"] == n and g["code"] == 0 for g in got.values())
    for e in ("duckdb", "spark"):
        emit(f"stats {n:,} examples, {e} vs in-process (time)", got[e]["seconds"],
             base["seconds"], "s", "report", True)
        emit(f"stats {n:,} examples, {e} vs in-process (peak memory)", got[e]["peak"] / 1e6,
             base["peak"] / 1e6, "MB", "report", True)


if __name__ == "__main__":
    main()
