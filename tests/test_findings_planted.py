"""Findings on real texts with planted effects (issue 22's "must show"): the real pairs of the
AlpacaEval annotation files, 10,000 examples, verdicts drawn by a seeded generator. A depth-2
slice of about 3% where A's win rate is 20 points lower must be among the top 3 findings,
confirmed, in at least 95% of 40 seeds; with the outcomes permuted, a finding with adjusted
p < 0.05 may appear in at most 5% of 40 seeds."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED
from findings_data import draw, simulated

from comparator.analysis import expr
from comparator.analysis.filters import apply
from comparator.findings import FindingsConfig, find
from comparator.findings.candidates import candidates

N = 10_000
SEEDS = range(40)
BASE, PLANTED = 0.5, 0.3


@pytest.fixture(scope="module")
def predicates():
    """The candidate predicates of the real texts (the same for every seed: same texts)."""
    comp = simulated(SHARED, N, np.zeros(N, dtype=np.int64))
    return candidates(comp, 100, np.ones(N, dtype=bool))


def _plant(preds, rng) -> np.ndarray:
    """A random conjunction of two predicates of distinct fields holding 2.5-4% of the
    examples."""
    pairs = [(i, j) for i in range(len(preds)) for j in range(i + 1, len(preds))
             if preds[i].feature != preds[j].feature
             and 250 <= int((preds[i].mask & preds[j].mask).sum()) <= 400]
    assert len(pairs) > 20, "the real texts should offer many depth-2 slices of ~3%"
    i, j = pairs[rng.integers(len(pairs))]
    return preds[i].mask & preds[j].mask


def _jaccard(a, b) -> float:
    return (a & b).sum() / (a | b).sum()


def _members(comp, finding) -> np.ndarray:
    """The examples the finding's filter selects, through the filter parser as a user's."""
    return apply(comp, expr.parse(finding["filters"]))


def test_a_planted_slice_is_found_confirmed_and_reopens(predicates):
    hits = []
    for seed in SEEDS:
        rng = np.random.default_rng(1000 + seed)
        planted = _plant(predicates, rng)
        comp = simulated(SHARED, N, draw(rng, np.where(planted, PLANTED, BASE)))
        result = find(comp, FindingsConfig(seed=seed))
        top = result["findings"][:3]
        found = [f for f in top if _jaccard(_members(comp, f), planted) >= 0.7
                 and f["confirmed"]]
        hits.append(bool(found))
        if seed < 3:  # what the user sees is exactly the data: n, rate, filter
            f = result["findings"][0]
            m = _members(comp, f)
            assert f["n"] == int(m.sum())
            oc = np.array([{1.0: 1.0, 0.0: 0.5, -1.0: 0.0}[ex["judgments"][0]["score"]]
                           for ex in comp.examples])
            assert f["win_rate_a"] == pytest.approx(oc[m].mean())
            assert f["rest_win_rate_a"] == pytest.approx(oc[~m].mean())
            assert result["tested"] > 500
    assert sum(hits) >= 38, f"planted slice in the top 3 for {sum(hits)} of 40 seeds"


def test_no_findings_in_noise(predicates):
    false = 0
    for seed in SEEDS:
        rng = np.random.default_rng(2000 + seed)
        planted = _plant(predicates, rng)
        outcome = draw(rng, np.where(planted, PLANTED, BASE))
        comp = simulated(SHARED, N, rng.permutation(outcome))
        result = find(comp, FindingsConfig(seed=seed, with_biases=False))
        false += any(f["p_adjusted"] < 0.05 for f in result["findings"])
    assert false <= 2, f"findings in noise in {false} of 40 seeds"
