"""Rationale clustering on N reasons (default 10k) on this machine.

The reasons are synthesised from the real judge rationales in ../shared/data (AlpacaEval and
MT-Bench): pairs of real reason sentences joined into one, so every text is distinct.

1. Embedding rate: our cached ``embed`` (hashing, SQLite cache, MiniLM) on cold texts vs a bare
   ``SentenceTransformer.encode`` of the same texts. Target >= 80%.
2. Cold end-to-end: ``python -m comparator cluster`` in a new process with an empty cache
   (imports, model load, embeddings, KMeans, UMAP map, labels, writing). Target <= 90 s.
3. Warm re-cluster with cached embeddings (and map): a new k, in a new process and in-process.
   Target <= 5 s.

    python bench/bench_clustering.py [--n 10000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from bench.report import emit  # noqa: E402
from comparator.clustering.reasons import extract_reasons  # noqa: E402
from comparator.formats import load, save  # noqa: E402
from comparator.schema.records import Comparison  # noqa: E402


def real_reasons() -> list[str]:
    out = []
    for f in ("alpaca_eval/claude-2.1_vs_gpt4_1106_preview.cot_gpt4_turbo_fn.annotations.json",
              "mt_bench/model_judgment/gpt-4_pair_phi-3_vs_phi-3-dpo.jsonl"):
        out += [r["text"] for r in extract_reasons(load(SHARED / f).comparison)]
    return out


def synthesise(n: int) -> tuple[Comparison, list[str]]:
    base = real_reasons()
    texts, k = [], 0
    while len(texts) < n:
        a, b = base[k % len(base)], base[(k * 7 + 13) % len(base)]
        texts.append(f"{a.rstrip('.')}, and {b[0].lower()}{b[1:]}")
        k += 1
    examples = []
    for i in range(0, n, 4):
        rationale = " ".join(texts[i:i + 4])
        examples.append({"id": f"ex{i}", "prompt": f"prompt {i}", "response_a": "a",
                         "response_b": "b", "category": "bench",
                         "judgments": [{"score": 1.0 if i % 3 else -1.0, "judge": "j",
                                        "rationale": rationale}]})
    return Comparison(model_a="A", model_b="B", examples=examples), texts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--quick", action="store_true", help="2,000 reasons")
    args = ap.parse_args()
    if args.quick:
        args.n = 2_000
    comp, _ = synthesise(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "judged.jsonl"
        save(comp, src)
        texts = [r["text"] for r in extract_reasons(comp)]
        print(f"{len(texts):,} reasons from {len(comp.examples):,} rationales")
        # 1. embedding rate, both cold, same texts (a subset keeps the bench short)
        os.environ["COMPARATOR_HOME"] = str(tmp / "rate-home")
        from comparator.engines.embed import EmbeddingCache, embed, sentence_model

        model = sentence_model()
        sample = texts[:3000]
        model.encode(sample[:64], batch_size=64)  # warm up both equally
        t = time.perf_counter()
        model.encode(sample, batch_size=64, normalize_embeddings=True)
        bare = time.perf_counter() - t
        t = time.perf_counter()
        embed(sample, cache=EmbeddingCache(tmp / "rate.sqlite"))
        ours = time.perf_counter() - t
        print(f"\n{'embedding (' + str(len(sample)) + ' texts)':<34} {'texts/s':>9} {'ratio':>7}")
        print(f"{'bare SentenceTransformer.encode':<34} {len(sample) / bare:>9.1f} {1:>6.2f}x")
        print(f"{'comparator embed (cold cache)':<34} {len(sample) / ours:>9.1f} "
              f"{bare / ours:>6.2f}x   target >= 0.80x")
        # 2 and 3: the CLI in new processes
        env = {**os.environ, "COMPARATOR_HOME": str(tmp / "cli-home")}
        rows = []
        for label, extra in (("cold end-to-end (new process)", ["--k", "20"]),
                             ("warm re-cluster, new k (new process)", ["--k", "12"])):
            t = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "comparator", "cluster", str(src),
                                *extra, "-o", str(tmp / "out.jsonl")], env=env, cwd=ROOT,
                               capture_output=True, text=True)
            dt = time.perf_counter() - t
            assert r.returncode == 0, r.stderr[-2000:]
            rows.append((label, dt, r.stderr.strip().splitlines()[-1]))
        os.environ["COMPARATOR_HOME"] = env["COMPARATOR_HOME"]
        from comparator.clustering import ClusterConfig, cluster_rationales

        again = load(src).comparison
        cluster_rationales(again, ClusterConfig(k=16))  # load libraries once
        t = time.perf_counter()
        cluster_rationales(again, ClusterConfig(k=8))
        rows.append(("warm re-cluster, new k (in-process)", time.perf_counter() - t, ""))
        print(f"\n{'run':<40} {'seconds':>8}  target")
        for label, dt, _ in rows:
            target = "<= 90 s" if label.startswith("cold") else "<= 5 s"
            print(f"{label:<40} {dt:>8.1f}  {target}")
        print("\ncold run:", rows[0][2])
        emit(f"embedding rate, {len(sample)} texts (vs bare encode)", len(sample) / ours,
             len(sample) / bare, "texts/s", ">= 0.80x", bare / ours >= 0.8)
        for label, dt, _ in rows:
            cold = label.startswith("cold")
            emit(f"clustering {len(texts):,} reasons: {label}", dt, None, "s",
                 "<= 90 s" if cold else "<= 5 s", dt <= (90 if cold else 5))


if __name__ == "__main__":
    main()
