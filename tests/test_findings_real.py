"""Findings on the real files (issue 22): the AlpacaEval judge's documented length preference
is reported with its effect, each finding reopens as a view through the filter parser, the
position bias of MT-Bench's judge equals a count from its judgments, and the CLI's JSON holds
the contract's fields."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT, SHARED, run_cli

from comparator.analysis import expr
from comparator.analysis.filters import apply
from comparator.analysis.stats import default_judges, outcomes
from comparator.findings import FindingsConfig, find
from comparator.formats import load
from comparator.schema.records import response_text

ALPACA = sorted((SHARED / "alpaca_eval").glob("*.annotations.json"))
DEMOS = sorted((ROOT / "data").glob("*.jsonl"))
VALUE = {0: 1.0, 1: 0.5, 2: 0.0}


def _values(comp) -> np.ndarray:
    """A's outcome value per example from its judgments (NaN: unscored): the mean score of
    the ok judgments of the judges the file is scored by (its model judges where people are
    the reference, as ``stats``)."""
    judges = default_judges(comp)
    scores = []
    for ex in comp.examples:
        mine = [j["score"] for j in ex.get("judgments") or []
                if j.get("status", "ok") == "ok" and j.get("score") is not None
                and (judges is None or j.get("judge") in judges)]
        scores.append(np.mean(mine) if mine else np.nan)
    scores = np.array(scores)
    return np.array([VALUE.get(int(o), np.nan) for o in outcomes(scores, 0.25)])


@pytest.mark.parametrize("path", ALPACA, ids=lambda p: p.name.split(".")[0])
def test_alpaca_eval_judge_prefers_length(path):
    comp = load(path).comparison
    length = next(b for b in find(comp)["biases"] if b["kind"] == "length")
    v = _values(comp)
    longer = np.array([len(response_text(ex["response_a"])) > len(response_text(ex["response_b"]))
                       for ex in comp.examples])
    ok = ~np.isnan(v)
    assert length["n"] == int((longer & ok).sum())
    assert length["win_rate_a"] == pytest.approx(v[longer & ok].mean())
    assert length["rest_win_rate_a"] == pytest.approx(v[~longer & ok].mean())
    # AlpacaEval 2.0's length-controlled work: the judge favours the longer answer
    assert length["difference"] > 0.15 and length["p_value"] < 1e-3
    assert length["lc_length_coef"] > 0
    assert length["win_rate_a_lc"] < length["raw_win_rate_a"]
    assert "longer" in length["sentence"]


@pytest.mark.parametrize("path", [*DEMOS, ALPACA[0]], ids=lambda p: p.stem[:30])
def test_every_finding_reopens_as_its_view(path):
    comp = load(path).comparison
    result = find(comp)
    v = _values(comp)
    for f in result["findings"]:
        members = apply(comp, expr.parse(f["filters"]))
        assert f["n"] == int((members & ~np.isnan(v)).sum()), f["filter"]
        assert f["win_rate_a"] == pytest.approx(np.nanmean(v[members]))
        assert f["p_adjusted"] < 0.05 and f["p_adjusted"] >= f["p_value"]
        assert expr.parse([f["filter"]]).describe() == expr.parse(f["filters"]).describe()


def test_position_bias_of_mt_bench_judge_is_counted_from_its_judgments():
    path = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"
    comp = load(path).comparison
    pos = next(b for b in find(comp)["biases"] if b["kind"] == "position")
    first = second = 0
    for ex in comp.examples:
        by_order: dict[bool, list[float]] = {}
        for j in ex.get("judgments") or []:
            if j.get("status", "ok") == "ok" and j.get("score") is not None:
                by_order.setdefault(bool(j.get("flipped")), []).append(j["score"])
        if len(by_order) < 2:
            continue
        for flipped, scores in by_order.items():
            s = np.mean(scores)
            a_wins, b_wins = s > 0.25, s < -0.25
            first += a_wins if not flipped else b_wins
            second += b_wins if not flipped else a_wins
    assert pos["decisive"] == first + second
    assert pos["first_wins"] == pytest.approx(first / (first + second))


def test_cli_json_contract_and_depth():
    demo = ROOT / "data" / "alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl"
    out = run_cli("findings", demo, "--json", "--seed", "3")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["tested"] > 100 and d["findings"]
    for f in d["findings"]:
        assert {"filter", "conditions", "n", "win_rate_a", "win_rate_a_ci95", "rest_win_rate_a",
                "difference", "p_value", "p_adjusted", "confirmed", "themes",
                "sentence"} <= set(f)
        assert all({"field", "op", "value"} == set(c) for c in f["conditions"])
        for t in f["themes"]:
            assert {"title", "lift", "favours"} <= set(t)
    deeper = find(load(demo).comparison, FindingsConfig(depth=3, seed=3))
    assert deeper["tested"] > d["tested"]
    text = run_cli("findings", demo, "--min-size", "50", "--top", "2")
    assert text.returncode == 0 and "filter: " in text.stdout and "judge biases" in text.stdout
    bad = run_cli("findings", demo, "--filter", "nosuchfield=1")
    assert bad.returncode == 2 and "nosuchfield" in bad.stderr


def test_readme_quotes_each_demos_finding_as_found_today():
    readme = (ROOT / "README.md").read_text()
    for name in ("alpaca_eval_gpt4-1106_vs_claude-2.1", "llmbar_gpt-4_vs_human"):
        comp = load(ROOT / "data" / f"{name}.jsonl").comparison
        first = find(comp)["findings"][0]["sentence"]
        head = first.split(" vs ")[0].split("), ", 1)[1]  # "gpt4_1106_preview (A) wins 62% [...]"
        assert f"(n = {find(comp)['findings'][0]['n']}), {head}" in readme, head
    comp = load(ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl").comparison
    pos = next(b for b in find(comp)["biases"] if b["kind"] == "position")
    assert f"wins {round(100 * pos['first_wins'])}% of {pos['decisive']} decisive" in readme
