"""Why a finding holds (issue 22): a reason planted in the planted slice's rationales surfaces as
that finding's top theme, through the real pipeline (the judge's rationales split into reasons,
named by role, embedded by the offline model, clustered) and the findings engine. The texts and
reason sentences are real (AlpacaEval's pairs; the reasons the AlpacaEval demo's judge wrote);
the verdicts and which reasons go with them are drawn by a seeded generator."""

from __future__ import annotations

import numpy as np
from conftest import ROOT, SHARED
from findings_data import draw, simulated

from comparator.clustering.pipeline import ClusterConfig, cluster_rationales
from comparator.engines.embed import EmbeddingCache
from comparator.findings import FindingsConfig, find
from comparator.findings.candidates import candidates
from comparator.formats import load

N = 3000
PLANTED = "Output (b) keeps to the word limit the user set, while Output (a) runs far past it."


def _real_reasons() -> dict[str, list[str]]:
    """The demo judge's reasons by the side they favour, in its own A/B wording."""
    comp = load(ROOT / "data" / "alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl").comparison
    out: dict[str, list[str]] = {"A": [], "B": []}
    for ex in comp.examples:
        for r in ex.get("reasons") or []:
            if r.get("favours") in out and len(out[r["favours"]]) < 150:
                out[r["favours"]].append(r["text"].replace("Model A", "Output (a)")
                                         .replace("Model B", "Output (b)"))
    return out


def test_planted_reason_is_the_top_theme_of_the_planted_finding(tmp_path):
    rng = np.random.default_rng(7)
    pool = _real_reasons()
    base = simulated(SHARED, N, np.zeros(N, dtype=np.int64))
    preds = candidates(base, 30, np.ones(N, dtype=bool))
    pairs = [(i, j) for i in range(len(preds)) for j in range(i + 1, len(preds))
             if preds[i].feature != preds[j].feature
             and 80 <= int((preds[i].mask & preds[j].mask).sum()) <= 120]
    i, j = pairs[rng.integers(len(pairs))]
    planted = preds[i].mask & preds[j].mask
    outcome = draw(rng, np.where(planted, 0.2, 0.55))
    comp = simulated(SHARED, N, outcome)
    for k, ex in enumerate(comp.examples):
        side = {0: "A", 2: "B"}.get(int(outcome[k]))
        sents = [pool[side][x] for x in rng.choice(len(pool[side]), 2)] if side else []
        if planted[k] and side == "B":
            sents.insert(int(rng.integers(3)), PLANTED)
        ex["judgments"][0]["rationale"] = " ".join(sents)
    cluster_rationales(comp, ClusterConfig(k=12, with_map=False),
                       cache=EmbeddingCache(tmp_path / "emb.sqlite"))
    home = [r["cluster"] for ex in comp.examples for r in ex.get("reasons") or []
            if "word limit the user set" in r["text"]]
    assert home, "the planted sentence is one reason of its examples"
    theme = max(set(home), key=home.count)
    result = find(comp, FindingsConfig(seed=1))
    best = max(result["findings"][:3], key=lambda f: _jaccard(f, comp, planted))
    assert _jaccard(best, comp, planted) >= 0.7
    top = best["themes"][0]
    assert top["theme"] == theme and top["favours"] == "B" and top["lift"] > 2
    assert "\u201c" + top["title"] in best["sentence"]


def _jaccard(f, comp, planted) -> float:
    from comparator.analysis import expr
    from comparator.analysis.filters import apply

    m = apply(comp, expr.parse(f["filters"]))
    return (m & planted).sum() / (m | planted).sum()
