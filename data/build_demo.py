"""Rebuild the bundled demo comparisons from ../shared/data (run from the repo root):

    python data/build_demo.py

The judges' rationales of each demo are clustered here, once, with the offline pipeline
(sentence splitter, all-MiniLM-L6-v2, KMeans k=8 seed 0, UMAP map; the same as the Clusters
page's defaults), so the Clusters page of a demo is not empty at first open.

Sources and licences are listed in data/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from comparator.clustering import ClusterConfig, cluster_rationales  # noqa: E402
from comparator.formats import LoadOptions, load, save  # noqa: E402

DEMOS = {
    "alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl": (
        "alpaca_eval/claude-2.1_vs_gpt4_1106_preview.cot_gpt4_turbo_fn.annotations.json", None),
    "mt_bench_phi-3_vs_phi-3-dpo.jsonl": (
        "mt_bench/model_judgment/gpt-4_pair_phi-3_vs_phi-3-dpo.jsonl", "mt_bench/question.jsonl"),
    "llmbar_gpt-4_vs_human.jsonl": (
        "llmbar_mtbench_human/gpt-4_vanilla_both_orders.result.json", None),
}


def main() -> None:
    for name, (src, questions) in DEMOS.items():
        opts = LoadOptions(questions=SHARED / questions if questions else None)
        comp = load(SHARED / src, options=opts).comparison
        comp.metadata["source"] = src
        run = cluster_rationales(comp, ClusterConfig(method="kmeans", k=8, seed=0))
        if not run.n_items:  # no rationales (LLMBar): nothing to show
            comp.metadata.pop("clusters", None)
        save(comp, ROOT / "data" / name)
        print(f"data/{name}: {len(comp.examples)} examples from {src}; {len(run.clusters)} "
              f"clusters of {run.n_items} reasons in {sum(run.timings.values()):.0f} s")


if __name__ == "__main__":
    main()
