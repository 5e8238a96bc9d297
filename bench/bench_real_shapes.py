"""The fast path on real files: every real source shape in ../shared/data, converted with the
product's own ``convert`` and scaled to N examples with unique ids and prompts, opened as a user
would (``comparator stats --json`` in a fresh process).

Per shape, beside the same run's baseline (a bare orjson parse of the same file: native JSONL
line by line, LLM Comparator JSON the whole document):

- first open (new cache): time / baseline, goal <= 2x; peak memory / file size, goal <= 1x
  (the process's peak RSS, which counts the pages of mapped files it touched: its libraries
  and the cache file the statistics read; beside it, the peak of its anonymous memory, what
  it allocated, sampled every 10 ms);
- cache hit (the same file again): time / baseline, goal <= 1x;
  (each time is the open and the statistics of ``stats --json``; the open alone is in the
  table beside it: Arena-Hard's statistics, its Bradley-Terry score with bootstrap, are most
  of its time at 1M);
- which reader built the table (``arrow``: Arrow's reader took every block of a native file;
  ``llm-comparator stream``: an LLM Comparator document streamed into the store).

    python bench/bench_real_shapes.py [--n 1000000] [--quick] [--only alpaca_cot,...] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
AH = ROOT / "tests" / "data" / "arena_hard"
AH_JUDGED = "data/arena-hard-v0.1/model_judgment/gpt-4-1106-preview/gpt-4-0613.jsonl"

from bench.report import emit  # noqa: E402

# shape -> (source files, concatenated when several; convert options)
SHAPES: dict[str, tuple[list[Path], list[str]]] = {
    "alpaca_eval cot (nested extra)": (
        [SHARED / "alpaca_eval/claude-2.1_vs_gpt4_1106_preview.cot_gpt4_turbo_fn"
         ".annotations.json"], []),
    "alpaca_eval (weighted)": (
        [SHARED / "alpaca_eval/text_davinci_003_vs_gpt4_1106_preview.weighted_gpt4_turbo"
         ".annotations.json"], []),
    "mt-bench pair": ([SHARED / "mt_bench/model_judgment/gpt-4_pair_phi-3_vs_phi-3-dpo.jsonl"],
                      ["--questions", str(SHARED / "mt_bench/question.jsonl")]),
    "mt-bench single (multi-turn)": (sorted((SHARED / "mt_bench_single").glob("*.jsonl")), []),
    "llmbar result": ([SHARED / "llmbar_mtbench_human/gpt-4_vanilla_both_orders.result.json"],
                      []),
    "llmbar dataset": ([SHARED / "llmbar_mtbench_human/dataset.json"], []),
    "pandalm": ([SHARED / "pandalm/testset-v1.json"], []),
    "llm comparator": ([SHARED / "llm_comparator/example_tiny.json"], []),
    "judgebench": ([SHARED / "judgebench/sample_20_pairs.o1-mini_on_gpt-4o.jsonl"], []),
    "arena-hard v0.1": ([AH / "v0.1-question_id" / AH_JUDGED], []),
    "arena-hard v2.0 games": ([AH / "gpt-4-0613.v2.0-games.jsonl"], []),
}
LLMC_SHAPES = ("alpaca_eval cot (nested extra)", "llm comparator")  # also as LLMC JSON


def convert(sources: list[Path], opts: list[str], out: Path, tmp: Path) -> None:
    src = sources[0]
    if len(sources) > 1:
        src = tmp / "concatenated.jsonl"
        src.write_bytes(b"".join(p.read_bytes() for p in sources))
    subprocess.run([sys.executable, "-m", "comparator", "convert", str(src), *opts, "-o",
                    str(out)], check=True, capture_output=True, env=_env(tmp / "home"))


def _unique(ex: dict, i: int) -> dict:
    ex["id"] = f"{ex['id']}~{i}"
    if ex.get("prompt") is not None:
        ex["prompt"] = f"{ex['prompt']} [{i}]"
    elif ex.get("messages"):
        ex["messages"][0]["content"] += f" [{i}]"
    return ex


def scale_native(src: Path, n: int, out: Path) -> None:
    """N examples: the converted file's lines repeated, each id and prompt made unique."""
    lines = src.read_bytes().splitlines()
    head, rows = lines[0], [orjson.loads(x) for x in lines[1:] if x.strip()]
    with open(out, "wb") as f:
        f.write(head + b"\n")
        for i in range(n):
            f.write(orjson.dumps(_unique(dict(rows[i % len(rows)]), i)) + b"\n")


def scale_llmc(src: Path, n: int, out: Path) -> None:
    """The same for an LLM Comparator document: its examples repeated, prompts made unique
    (LLM Comparator has no ids; ours come from the prompt)."""
    doc = orjson.loads(src.read_bytes())
    examples = doc.pop("examples")
    with open(out, "wb") as f:
        f.write(orjson.dumps(doc)[:-1] + b',"examples":[')
        for i in range(n):
            ex = dict(examples[i % len(examples)])
            ex["input_text"] = f"{ex['input_text']} [{i}]"
            f.write((b"," if i else b"") + orjson.dumps(ex))
        f.write(b"]}")


BASELINE = """
import sys, time, orjson
t = time.perf_counter()
if sys.argv[2] == "lines":
    with open(sys.argv[1], "rb") as f:
        for line in f:
            orjson.loads(line)
else:
    with open(sys.argv[1], "rb") as f:
        orjson.loads(f.read())
print(time.perf_counter() - t)
"""


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "COMPARATOR_HOME": str(home), "PYTHONPATH": str(ROOT)}


def _child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """(seconds, stdout) of a fresh process."""
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t
    if r.returncode:
        raise SystemExit(f"{cmd} failed:\n{r.stderr[-2000:]}")
    return dt, r.stdout


OPEN = """
import sys, json, time, resource, threading
from comparator.store.memory import share_one_arena
share_one_arena()  # as the command line starts (before this script's own thread)
anon = [0]
def sample():  # the peak of anonymous memory: what the process allocated, not mapped files
    while True:
        with open("/proc/self/status") as f:
            kb = next((int(x.split()[1]) for x in f if x.startswith("RssAnon:")), 0)
        anon[0] = max(anon[0], kb * 1024)
        time.sleep(0.01)
threading.Thread(target=sample, daemon=True).start()
from comparator.store.cache import open_store
from comparator.analysis.result import stats_result
t = time.perf_counter()
loaded = open_store(sys.argv[1])
opened = time.perf_counter() - t
out = stats_result(loaded, [], 0.25, "wilson", None).to_json()
print(json.dumps({"open_s": opened, "total_s": time.perf_counter() - t,
                  "reader": loaded.reader, "cached": loaded.cached, "n": out["n"],
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "anon": anon[0]}))
"""


def measure(path: Path, kind: str, home: Path, repeats: int = 1) -> dict[str, object]:
    """The figures of one file: ``repeats`` alternated (bare parse, first open) pairs, the
    ratio the median of the pairs' ratios (this machine's kernel time varies by a third
    between identical runs), the peaks the highest; then a cache hit."""
    pairs = []
    for _ in range(repeats):
        base_s = float(_child([sys.executable, "-c", BASELINE, str(path), kind])[1])
        shutil.rmtree(home, ignore_errors=True)
        os.sync()  # the last run's cache entry, deleted, is not written back during this one
        _, out1 = _child([sys.executable, "-c", OPEN, str(path)], _env(home))
        pairs.append((base_s, json.loads(out1)))
    _, out2 = _child([sys.executable, "-c", OPEN, str(path)], _env(home))
    o2 = json.loads(out2)
    firsts = [o for _, o in pairs]
    ratios = [o["total_s"] / b for b, o in pairs]
    base_s = statistics.median(b for b, _ in pairs)
    size = path.stat().st_size
    return {"n": firsts[0]["n"], "size_gb": size / 1e9, "baseline_s": base_s,
            "first_s": statistics.median(o["total_s"] for o in firsts),
            "first_x": statistics.median(ratios), "first_x_range": [min(ratios), max(ratios)],
            "first_open_s": statistics.median(o["open_s"] for o in firsts),
            "hit_open_s": o2["open_s"],
            "peak_x_file": max(o["peak"] for o in firsts) / size,
            "anon_x_file": max(o["anon"] for o in firsts) / size,
            "hit_s": o2["total_s"], "hit_x": o2["total_s"] / base_s,
            "hit_peak_x_file": o2["peak"] / size,
            # every run's reader: a run that left the fast path shows, not hidden by a median
            "reader": "/".join(sorted({o["reader"] for o in firsts})),
            "hit_cached": o2["cached"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="10,000 examples per shape")
    ap.add_argument("--only", default="", help="comma-separated parts of shape names")
    ap.add_argument("--native-only", action="store_true", help="no LLM Comparator JSON rows")
    ap.add_argument("--repeats", type=int, default=1,
                    help="alternated (bare parse, first open) pairs per file: medians")
    args = ap.parse_args()
    n = 10_000 if args.quick else args.n
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as d:
        tmp = Path(d)
        for name, (sources, opts) in SHAPES.items():
            if only and not any(o in name for o in only):
                continue
            jobs = [("native JSONL", ".jsonl", scale_native, "lines")]
            if name in LLMC_SHAPES and not args.native_only:
                jobs.append(("LLM Comparator JSON", ".json", scale_llmc, "whole"))
            for label, ext, scale, kind in jobs:
                conv = tmp / f"converted{ext}"
                convert(sources, opts, conv, tmp)
                big = tmp / f"scaled{ext}"
                scale(conv, n, big)
                os.sync()  # the scaled file at rest: its writeback is not the open's to wait on
                row = measure(big, kind, tmp / "home", args.repeats)
                rows.append({"shape": name, "file": label, **row})
                big.unlink()
                _print(rows[-1], n)
    print(f"\n{'shape':32} {'file':20} {'GB':>5} {'orjson s':>8} {'first s':>8} "
          f"{'(open s)':>8} {'first/orjson':>12} {'peak/file':>9} {'anon':>5} {'hit s':>6} "
          f"{'(open s)':>8} "
          f"{'hit/orjson':>10}  reader")
    for r in rows:
        print(f"{r['shape']:32} {r['file']:20} {r['size_gb']:5.2f} {r['baseline_s']:8.2f} "
              f"{r['first_s']:8.2f} {r['first_open_s']:8.2f} {r['first_x']:12.2f} "
              f"{r['peak_x_file']:9.2f} {r['anon_x_file']:5.2f} {r['hit_s']:6.2f} "
              f"{r['hit_open_s']:8.2f} "
              f"{r['hit_x']:10.2f}  {r['reader']}  "
              f"(first/orjson {r['first_x_range'][0]:.2f}-{r['first_x_range'][1]:.2f})")


def _print(r: dict, n: int) -> None:
    fig = f"{r['shape']}, {r['file']}, {n:,} examples"
    emit(f"{fig}: first open (stats --json)", r["first_s"], r["baseline_s"], "s",
         "<= 2x orjson", r["first_x"] <= 2.0)
    emit(f"{fig}: first open peak memory", r["peak_x_file"], None, "x file", "<= 1x file",
         r["peak_x_file"] <= 1.0)
    emit(f"{fig}: first open peak anonymous memory", r["anon_x_file"], None, "x file",
         "<= 1x file", r["anon_x_file"] <= 1.0)
    emit(f"{fig}: cache hit", r["hit_s"], r["baseline_s"], "s", "<= 1x orjson",
         r["hit_x"] <= 1.0)
    fast = "arrow" if r["file"] == "native JSONL" else "llm-comparator stream"
    emit(f"{fig}: read by the fast path ({fast})", float(r["reader"] == fast), None, "", fast,
         r["reader"] == fast)


if __name__ == "__main__":
    main()
