"""The statistics are right: interval coverage by simulation, known values, slices."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_JUDGED, ALPACA_COT

from comparator.analysis import agreement, slice_table, summary
from comparator.analysis.agreement import cohen_kappa
from comparator.analysis.stats import bootstrap_win_rate, derive, wilson
from comparator.formats import load
from comparator.schema.records import Comparison, example_score


def test_wilson_known_value():
    # Wilson score interval for 5/10: [0.2366, 0.7634] (Newcombe 1998, table values)
    lo, hi = wilson(0.5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = wilson(1.0, 5)  # all wins: the upper bound is 1, the lower one is not
    assert hi == 1.0 and lo == pytest.approx(0.5655, abs=1e-4)


@pytest.mark.parametrize("probs,n", [((0.3, 0.4, 0.3), 40), ((0.7, 0.2, 0.1), 60),
                                     ((0.1, 0.1, 0.8), 200), ((0.45, 0.0, 0.55), 30)])
def test_win_rate_interval_covers_95_percent(probs, n):
    """Simulate many comparisons from known A/tie/B probabilities: the labelled 95% interval
    must contain the true win rate at least ~95% of the time (ties counted half)."""
    rng = np.random.default_rng(1)
    true = probs[0] + 0.5 * probs[1]
    draws = rng.multinomial(n, probs, size=3000)
    covered = 0
    for a, t, _b in draws:
        lo, hi = wilson((a + 0.5 * t) / n, n)
        covered += lo <= true <= hi
    assert covered / len(draws) >= 0.935


def test_bootstrap_interval_is_seeded_and_sane():
    assert bootstrap_win_rate(30, 10, 20) == bootstrap_win_rate(30, 10, 20)
    lo, hi = bootstrap_win_rate(30, 10, 20)
    assert lo < (30 + 5) / 60 < hi
    assert wilson(35 / 60, 60)[0] < lo + 0.05  # same ballpark as Wilson


def test_cohen_kappa_known_value():
    # the textbook 2x2 example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa = 0.4
    x = np.array([0] * 25 + [2] * 25)
    y = np.array([0] * 20 + [2] * 5 + [0] * 10 + [2] * 15)
    assert cohen_kappa(x, y) == pytest.approx(0.4)


def _comp(examples):
    return Comparison(model_a="a", model_b="b", examples=examples)


def test_unscored_is_never_a_tie_and_threshold_applies():
    comp = _comp([
        {"id": "1", "prompt": "p", "response_a": "", "response_b": "",
         "judgments": [{"status": "unscored", "raw": "no verdict"}]},
        {"id": "2", "prompt": "p", "response_a": "", "response_b": "",
         "judgments": [{"score": 0.5}, {"score": 0.0}]},  # mean 0.25: a tie at t = 0.25
        {"id": "3", "prompt": "p", "response_a": "", "response_b": "",
         "judgments": [{"score": -1.0}, {"status": "error", "raw": "timeout"}]},
    ])
    s = summary(comp)
    assert (s["a_wins"], s["ties"], s["b_wins"], s["unscored"]) == (0, 1, 1, 1)
    assert s["win_rate_a"] == pytest.approx(0.25)
    s = summary(comp, tie_threshold=0.2)
    assert (s["a_wins"], s["ties"], s["b_wins"]) == (1, 0, 1)


def test_an_example_with_several_tags_counts_in_each():
    comp = _comp([
        {"id": "1", "prompt": "p", "response_a": "", "response_b": "", "tags": ["x", "y"],
         "judgments": [{"score": 1.0}]},
        {"id": "2", "prompt": "p", "response_a": "", "response_b": "", "tags": ["y"],
         "judgments": [{"score": -1.0}]},
        {"id": "3", "prompt": "p", "response_a": "", "response_b": "", "metadata": {"len": 3},
         "judgments": [{"score": -1.0}]},
    ])
    rows = {r["value"]: r for r in slice_table(comp, "tags")}
    assert rows["x"]["n"] == 1 and rows["y"]["n"] == 2 and rows["(none)"]["n"] == 1
    assert rows["y"]["win_rate_a"] == 0.5
    assert {r["value"] for r in slice_table(comp, "len")} == {"3", "(none)"}
    with pytest.raises(KeyError, match="no field"):
        slice_table(comp, "nope")


def test_slice_table_equals_summary_of_each_slice():
    comp = load(ALPACA_COT).comparison
    cats = np.array([ex.get("category") for ex in comp.examples])
    for row in slice_table(comp, "category", ci_method="bootstrap"):
        mask = cats == row["value"]
        s = summary(comp, mask=mask, ci_method="bootstrap")
        for k in ("n", "a_wins", "b_wins", "ties", "win_rate_a", "win_rate_a_ci95"):
            assert row[k] == s[k]
        assert row["mean_score"] == pytest.approx(s["mean_score"])
        assert row["mean_score_ci95"] == pytest.approx(s["mean_score_ci95"])


def test_agreement_with_itself_is_perfect():
    comp = load(ALPACA_COT).comparison
    name = comp.judges()[0]
    a = agreement(comp, name, name)
    assert a["agreement"] == 1.0 and a["cohen_kappa"] == 1.0 and a["n"] == 805


@pytest.mark.parametrize("path", ALL_JUDGED, ids=lambda p: p.name)
def test_the_writers_scalar_score_is_the_analysis_rule(path):
    """``schema.records.example_score`` (the format writers' score, below the analysis) equals
    the vectorised rule with every judge on every real judged file."""
    comp = load(path).comparison
    want = derive(comp, None).score
    got = np.array([np.nan if s is None else s for s in map(example_score, comp.examples)])
    assert np.isnan(want).sum() < len(want)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
