"""Scale: opening N judged examples through the columnar store, each figure beside its same-run
baseline (a bare orjson parse of the same bytes).

1. First open (validate + write the memory-mapped cache) and cached open of N examples, native
   JSONL and LLM Comparator JSON: goals first open <= 5 s at 100k and cached <= 1 s.
2. Native JSONL, first open in a fresh process: time vs orjson (goal <= 3x) and peak memory vs
   the file size (goal <= 1.5x); ``stats --json`` the same (new cache).
3. On the open store: 20-slice re-slice (goal <= 100 ms at 1M), a filter change (winner +
   slice), a regex search over prompts and responses (goal <= 2 s at 1M).

The examples repeat the 805 real AlpacaEval texts in ../shared/data (two judgments each, one
per order, 20 categories). LLM Comparator's own viewer cannot run offline here; its measured
100k figure is in ../shared/reference/README.md (25 s).

    python bench/bench_scale.py [--n 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from bench.report import emit  # noqa: E402

SRC = SHARED / "alpaca_eval/claude-2.1_vs_gpt4_1106_preview.cot_gpt4_turbo_fn.annotations.json"


def _example(i: int, r: dict) -> dict:
    why = (r.get("raw_completion") or {}).get("concise_explanation") or ""
    pref = r["preference"]
    return {"id": f"ex{i}", "prompt": r["instruction"], "response_a": r["output_1"],
            "response_b": r["output_2"], "category": f"topic-{i % 20:02d}",
            "metadata": {"source_row": i % 805},
            "judgments": [
                {"score": 3 * (1.5 - pref), "label": str(pref), "flipped": False,
                 "rationale": why, "judge": "gpt-4-turbo"},
                {"score": [-1.5, -0.5, 0.0, 0.5, 1.0][i % 5], "flipped": True,
                 "rationale": why[::-1], "judge": "gpt-4-turbo"}]}


def write_native_file(n: int, path: Path) -> None:
    """N examples as native JSONL, written a line at a time (a 4 GB file never in memory)."""
    src = orjson.loads(SRC.read_bytes())
    with open(path, "wb") as f:
        f.write(orjson.dumps({"kind": "comparator.comparison", "schema_version": 3,
                              "model_a": "gpt4_1106_preview", "model_b": "claude-2.1"}) + b"\n")
        for i in range(n):
            f.write(orjson.dumps(_example(i, src[i % len(src)])) + b"\n")


def write_llmc_file(n: int, path: Path) -> None:
    """The same N examples as an LLM Comparator JSON document (one line, as its library
    writes), streamed out."""
    src = orjson.loads(SRC.read_bytes())
    with open(path, "wb") as f:
        f.write(b'{"metadata":{"source_path":"bench"},"models":[{"name":"gpt4_1106_preview"},'
                b'{"name":"claude-2.1"}],"examples":[')
        for i in range(n):
            ex = _example(i, src[i % len(src)])
            f.write((b"," if i else b"") + orjson.dumps({
                "input_text": ex["prompt"], "tags": [ex["category"]],
                "output_text_a": ex["response_a"], "output_text_b": ex["response_b"],
                "score": None, "custom_fields": ex["metadata"],
                "individual_rater_scores": [
                    {"score": j["score"], "rating_label": j.get("label"),
                     "is_flipped": j["flipped"], "rationale": j["rationale"]}
                    for j in ex["judgments"]]}))
        f.write(b"]}")


def orjson_parse(path: Path) -> float:
    t = time.perf_counter()
    data = path.read_bytes()
    if path.suffix == ".jsonl":
        for line in data.split(b"\n"):
            if line:
                orjson.loads(line)
    else:
        orjson.loads(data)
    return time.perf_counter() - t


# Children print their peak RSS (the interpreter with the app's modules is ~0.3-0.5 GB of it,
# whatever the file).
# The kernel's high-water mark of this process's own memory (ru_maxrss would carry the
# benchmark's RSS over from the fork).
PEAK = """
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
"""
CHILD = PEAK + """
import sys, time
import comparator.cli.main, comparator.analysis.columnar  # what the app has loaded anyway
from comparator.store.cache import flush, open_store
t = time.perf_counter()
loaded = open_store(sys.argv[1])
n = len(loaded.comparison.examples)
dt = time.perf_counter() - t
flush()
print(dt, peak(), n)
"""


def fresh_open(path: Path, home: Path) -> tuple[float, int]:
    """First open in a new process with an empty cache: seconds, peak bytes."""
    env = {**os.environ, "COMPARATOR_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


STATS = PEAK + """
import sys
import comparator.analysis.columnar
from comparator.cli.main import main
code = main(["stats", sys.argv[1], "--json", "--by", "category"])
print(peak(), file=sys.stderr)
"""


def stats_run(path: Path, home: Path) -> tuple[float, int]:
    """``stats --json`` in a new process with an empty cache: seconds, its own peak bytes."""
    env = {**os.environ, "COMPARATOR_HOME": str(home)}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", STATS, str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return time.perf_counter() - t, int(proc.stderr.split()[-1])


def memory_goal(peak: int, size: int, quick: bool) -> tuple[str, bool]:
    """The goal and verdict of a peak-memory figure: <= 1.5x the file; a quick run only
    reports it (a 0.2 GB file weighs less than the interpreter's own 0.3-0.5 GB)."""
    if quick:
        return "report (quick: the interpreter outweighs the file)", True
    return "<= 1.5x", peak <= 1.5 * size


def median_time(fn, repeats: int = 5) -> float:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000, help="examples for parts 2 and 3")
    ap.add_argument("--quick", action="store_true", help="10k / 50k examples")
    args = ap.parse_args()
    n_open, n_big = (10_000, 50_000) if args.quick else (100_000, args.n)
    scale = n_open / 100_000
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["COMPARATOR_HOME"] = str(tmp / "home")
        from comparator.store.cache import open_store

        for name, writer in (("native JSONL", write_native_file),
                             ("LLM Comparator JSON", write_llmc_file)):
            path = tmp / ("open.jsonl" if "native" in name else "open.json")
            writer(n_open, path)
            base = orjson_parse(path)
            t = time.perf_counter()
            open_store(path)
            first = time.perf_counter() - t
            cached = median_time(lambda p=path: open_store(p), 3)
            emit(f"first open, {n_open:,} examples, {name}", first, base, "s",
                 f"<= {5 * scale:g} s", first <= 5 * scale)
            emit(f"open from the cache, {n_open:,} examples, {name}", cached, base, "s",
                 f"<= {max(0.1, scale):g} s", cached <= max(0.1, scale))
            path.unlink()

        for name, big, writer in (("LLM Comparator JSON", tmp / "big.json", write_llmc_file),
                                  ("native JSONL", tmp / "big.jsonl", write_native_file)):
            writer(n_big, big)
            size = big.stat().st_size
            base = orjson_parse(big)
            secs, peak = fresh_open(big, tmp / f"home-{big.suffix[1:]}")
            emit(f"first open, {n_big:,} examples {name} ({size / 1e9:.2f} GB), new process",
                 secs, base, "s", "<= 3x orjson", secs <= 3 * base)
            emit(f"first open peak memory / file size, {n_big:,} {name}", peak / size, None,
                 "x", *memory_goal(peak, size, args.quick))
            if big.suffix == ".json":
                big.unlink()
        secs, peak = stats_run(big, tmp / "home2")
        emit(f"stats --json --by category, {n_big:,} examples (new cache)", secs, base, "s",
             "<= 3x orjson", secs <= 3 * base)
        emit(f"stats --json peak memory / file size, {n_big:,}",
             peak / size, None, "x",
             *memory_goal(peak, size, args.quick))

        from comparator.analysis import slice_table
        from comparator.analysis.filters import Filters, apply, search_mask

        os.environ["COMPARATOR_HOME"] = str(tmp / "home-jsonl")
        comp = open_store(big).comparison
        slice_table(comp, "category")  # derive + slice arrays once (cached, as in the app)
        t_slice = median_time(lambda: slice_table(comp, "category", tie_threshold=0.3))
        emit(f"re-slice: 20 slices after a tie change, {n_big:,}", t_slice * 1e3, None, "ms",
             "<= 100 ms", t_slice <= 0.1)
        f = Filters(slice_field="category", slice_value="topic-03", winners=["A", "tie"])
        t_filter = median_time(lambda: apply(comp, f))
        emit(f"filter change (slice + winner mask), {n_big:,}", t_filter * 1e3, None, "ms",
             "<= 100 ms", t_filter <= 0.1)
        regex = iter(range(1000))
        t_regex = median_time(lambda: search_mask(comp, rf"pyth\w+|{next(regex)}x\d", True), 3)
        emit(f"regex search over prompts and responses, {n_big:,}", t_regex, None, "s",
             "<= 2 s", t_regex <= 2.0)


if __name__ == "__main__":
    main()
