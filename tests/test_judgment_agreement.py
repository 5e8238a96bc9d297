"""Judgment-level agreement with humans and LLMBar's Swap semantics, checked against LLMBar's
own published statistics.json and a hand count on the real files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import LLMBAR_GPT4, ROOT

from comparator.analysis import agreement, summary
from comparator.formats import load

SWAP_DIR = ROOT / "tests/data/llmbar_gptout/evaluators/GPT-4"
FILES = [
    (LLMBAR_GPT4, LLMBAR_GPT4.with_name("gpt-4_vanilla_both_orders.statistics.json")),
    (SWAP_DIR / "Swap/result.json", SWAP_DIR / "Swap/statistics.json"),
    (SWAP_DIR / "Swap_CoT/result.json", SWAP_DIR / "Swap_CoT/statistics.json"),
]


def _published(path: Path) -> dict[str, float]:
    """LLMBar's strings ("34 / 47 = 72.3%", "73.4%") -> fractions."""
    out = {}
    for k, v in json.loads(path.read_text()).items():
        if isinstance(v, str):
            m = re.match(r"\s*(\d+) / (\d+)", v)
            out[k] = int(m[1]) / int(m[2]) if m else float(v.rstrip("%")) / 100
    return out


@pytest.mark.parametrize("result,stats", FILES, ids=lambda p: p.parent.name)
def test_reproduces_llmbar_statistics(result, stats):
    pub = _published(stats)
    comp = load(result).comparison
    judge = [n for n in comp.judges() if n != "human"][0]
    a = agreement(comp, judge, "human")
    assert a["judgment_n"] == 2 * len(comp.examples)
    assert a["judgment_agreement"] == pytest.approx(pub["correct_average"], abs=1e-9)
    by = a["judgment_agreement_by_order"]
    assert by["shown"] == pytest.approx(pub["correct_False"], abs=1e-9)
    assert by["swapped"] == pytest.approx(pub["correct_True"], abs=1e-9)
    s = summary(comp)
    assert s["position_consistency"] == pytest.approx(pub["equal"], abs=1e-9)
    assert s["position_consistency_n"] == len(comp.examples)


@pytest.mark.parametrize("result,stats", FILES, ids=lambda p: p.parent.name)
def test_judgment_agreement_equals_hand_count(result, stats):
    raw = json.loads(result.read_text())
    hits = n = 0
    for r in raw:
        last = r["results"][-1]
        for key in ("swap = False", "swap = True"):
            n += 1
            hits += str(last[key]["winner"]) == str(r["label"])
    comp = load(result).comparison
    judge = [x for x in comp.judges() if x != "human"][0]
    a = agreement(comp, judge, "human")
    assert (a["judgment_n"], a["judgment_agreement"]) == (n, pytest.approx(hits / n))


def test_swap_reads_the_last_round_only():
    raw = json.loads((SWAP_DIR / "Swap_CoT/result.json").read_text())
    comp = load(SWAP_DIR / "Swap_CoT/result.json").comparison
    assert sorted(comp.judges()) == ["GPT-4", "human"]
    two = [i for i, r in enumerate(raw) if len(r["results"]) == 2]
    assert two  # the file has synthesis rounds
    for i in two:
        js = [j for j in comp.examples[i]["judgments"] if j["judge"] == "GPT-4"]
        assert len(js) == 2
        final = raw[i]["results"][-1]
        assert [j["score"] for j in js] == [
            1.0 if final[k]["winner"] == "1" else -1.0 for k in ("swap = False", "swap = True")]
        assert js[0]["extra"]["earlier_winners"] == [raw[i]["results"][0]["swap = False"]["winner"]]


def test_unscored_judgment_counts_as_disagreement():
    comp = load(LLMBAR_GPT4).comparison
    before = agreement(comp, "llm-judge", "human")
    ex = comp.examples[0]
    j = next(j for j in ex["judgments"] if j["judge"] == "llm-judge")
    agreed = (j["score"] > 0) == (ex["judgments"][0]["score"] > 0)
    j.pop("score")
    j["status"] = "unscored"
    comp.invalidate()
    after = agreement(comp, "llm-judge", "human")
    assert after["judgment_n"] == before["judgment_n"]
    assert after["judgment_agreement"] == pytest.approx(
        before["judgment_agreement"] - agreed / before["judgment_n"])


def test_stats_json_carries_judgment_agreement():
    from conftest import run_cli

    result, stats = FILES[1]
    out = run_cli("stats", result, "--json")
    assert out.returncode == 0, out.stderr
    ha = json.loads(out.stdout)["human_agreement"]["GPT-4"]
    assert ha["judgment_n"] == 94
    assert ha["judgment_agreement"] == pytest.approx(_published(stats)["correct_average"])
