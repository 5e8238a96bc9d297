"""Rebuild the bundled demo comparisons from ../shared/data (run from the repo root):

    python data/build_demo.py

Sources and licences are listed in data/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from comparator.io import LoadOptions, load, save  # noqa: E402

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
        save(comp, ROOT / "data" / name)
        print(f"data/{name}: {len(comp.examples)} examples from {src}")


if __name__ == "__main__":
    main()
