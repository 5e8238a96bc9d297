"""Golden outputs of the CLI, recorded before the redesign (issue 19): ``stats --json --by
category`` and ``report ... -o x.json`` for every judged file in ``../shared/data`` and the
bundled demos. ``tests/test_golden.py`` compares today's outputs with them key by key.

    python tests/golden/make_golden.py      # rewrite the files (only when a change is meant)
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = Path(os.environ.get("COMPARATOR_TEST_DATA") or ROOT.parent / "shared" / "data")

# name -> (path relative to its base, extra CLI arguments); base "shared" or "demo"
CASES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "mt_bench_pair": ("shared", "mt_bench/model_judgment/gpt-4_pair_phi-3_vs_phi-3-dpo.jsonl",
                      ("--questions", "{shared}/mt_bench/question.jsonl")),
    "mt_bench_pair_no_questions": (
        "shared", "mt_bench/model_judgment/gpt-4_pair_phi-3_vs_phi-3-dpo.jsonl", ()),
    "alpaca_cot": ("shared", "alpaca_eval/claude-2.1_vs_gpt4_1106_preview"
                   ".cot_gpt4_turbo_fn.annotations.json", ()),
    "alpaca_weighted_verbose": ("shared", "alpaca_eval/gpt-3.5-turbo-1106_verbose_vs_"
                                "gpt4_1106_preview.weighted_gpt4_turbo.annotations.json", ()),
    "alpaca_weighted_concise": ("shared", "alpaca_eval/gpt-3.5-turbo-1106_concise_vs_"
                                "gpt4_1106_preview.weighted_gpt4_turbo.annotations.json", ()),
    "alpaca_weighted_davinci": ("shared", "alpaca_eval/text_davinci_003_vs_gpt4_1106_preview"
                                ".weighted_gpt4_turbo.annotations.json", ()),
    "llmbar_dataset": ("shared", "llmbar_mtbench_human/dataset.json", ()),
    "llmbar_gpt4": ("shared", "llmbar_mtbench_human/gpt-4_vanilla_both_orders.result.json", ()),
    "pandalm": ("shared", "pandalm/testset-v1.json", ()),
    "llmc_tiny": ("shared", "llm_comparator/example_tiny.json", ()),
    "judgebench": ("shared", "judgebench/sample_20_pairs.o1-mini_on_gpt-4o.jsonl", ()),
    # one model's grades alone is refused (located message); two models' grades concatenated
    "mt_bench_single_one_model": ("shared", "mt_bench_single/gpt-4_single.phi-3-dpo.jsonl", ()),
    "mt_bench_single_two_models": (
        "cat", "mt_bench_single/gpt-4_single.phi-3-dpo.jsonl|"
        "mt_bench_single/gpt-4_single.Meta-Llama-3-8B-Instruct-Griffin.jsonl", ()),
    "demo_alpaca": ("demo", "alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl", ()),
    "demo_llmbar": ("demo", "llmbar_gpt-4_vs_human.jsonl", ()),
    "demo_mt_bench": ("demo", "mt_bench_phi-3_vs_phi-3-dpo.jsonl", ()),
}

# Report keys that name this run rather than the data.
VOLATILE = {"created"}


def case_path(base: str, rel: str, tmp: Path) -> Path:
    """The case's input; ``cat``: the files named (``a|b``) concatenated into ``tmp``."""
    if base == "cat":
        out = tmp / "concatenated.jsonl"
        out.write_bytes(b"".join((SHARED / r).read_bytes() for r in rel.split("|")))
        return out
    return (SHARED if base == "shared" else ROOT / "data") / rel


def _failed(proc: subprocess.CompletedProcess, tmp: Path) -> dict:
    """A refused input as data: the exit code and the message, folders made relative."""
    msg = proc.stderr.strip().replace(str(SHARED), "{shared}").replace(str(tmp), "{tmp}")
    return {"exit": proc.returncode, "stderr": msg}


def run(name: str, env: dict | None = None) -> dict:
    """``{"stats": ..., "report": ...}`` of case ``name`` from the CLI in a subprocess."""
    base, rel, extra = CASES[name]
    args = [a.format(shared=SHARED) for a in extra]
    cmd = [sys.executable, "-m", "comparator"]
    out: dict = {}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        path = case_path(base, rel, tmp)
        stats = subprocess.run([*cmd, "stats", str(path), *args, "--json", "--by", "category"],
                               capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
        out["stats"] = (json.loads(stats.stdout) if stats.returncode == 0
                        else _failed(stats, tmp))
        target = tmp / "x.json"
        rep = subprocess.run([*cmd, "report", str(path), *args, "--by", "category", "-o",
                              str(target)], capture_output=True, text=True, cwd=ROOT,
                             timeout=300, env=env)
        out["report"] = (json.loads(target.read_text()) if rep.returncode == 0
                         else _failed(rep, tmp))
    return out


def digest(obj):
    """``obj`` with every long text as its length and SHA-256 (the golden files keep no copy of
    the data's responses and prompts, only a check of them)."""
    if isinstance(obj, dict):
        return {k: digest(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [digest(v) for v in obj]
    if isinstance(obj, str) and len(obj) > 120:
        return f"<{len(obj)} chars sha256:{hashlib.sha256(obj.encode()).hexdigest()[:16]}>"
    return obj


def main() -> None:
    for name in CASES:
        got = digest(run(name))
        (HERE / f"{name}.json").write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(name, "ok" if "exit" not in got["stats"] else got["stats"], flush=True)


if __name__ == "__main__":
    main()
