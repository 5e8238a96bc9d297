"""Slice significance: two-sample test against the rest of the data, Benjamini–Hochberg."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ALPACA_COT, MT_JUDGMENTS, MT_QUESTIONS, run_cli

from comparator.analysis import slice_table
from comparator.analysis.significance import benjamini_hochberg
from comparator.analysis.stats import derive, outcomes
from comparator.formats import LoadOptions, load


def test_bh_textbook_case():
    # Benjamini & Hochberg (1995), section 4: 15 p-values, q = 0.05 -> the 4 smallest rejected
    p = np.array([0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
                  0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000])
    adj, rej = benjamini_hochberg(p)
    assert rej.tolist() == [True] * 4 + [False] * 11
    # adjusted p = min over j >= i of p_(j) m / j, computed here by hand
    m = len(p)
    hand = np.minimum.accumulate((p * m / np.arange(1, m + 1))[::-1])[::-1]
    assert adj == pytest.approx(np.minimum(hand, 1))
    adj, rej = benjamini_hochberg(np.array([np.nan, 0.01]))
    assert np.isnan(adj[0]) and rej.tolist() == [False, True]


def _independent(comp, field_of, t=0.25):
    """Per-example arrays, two-sample z with the pooled outcome variance, then BH by hand."""
    from scipy.stats import norm

    d = derive(comp)
    x = np.array([1.0, 0.5, 0.0, np.nan])[outcomes(d.score, t)]
    vals = np.array([field_of(ex) for ex in comp.examples])
    ok = ~np.isnan(x)
    out = {}
    for v in set(vals):
        s, r = ok & (vals == v), ok & (vals != v)
        pool = x[ok]
        se = np.sqrt(pool.var() * (1 / s.sum() + 1 / r.sum()))
        out[v] = 2 * norm.sf(abs(x[s].mean() - x[r].mean()) / se)
    keys = sorted(out, key=out.get)
    m = len(keys)
    adj = np.minimum.accumulate((np.array([out[k] for k in keys]) * m
                                 / np.arange(1, m + 1))[::-1])[::-1]
    return out, dict(zip(keys, np.minimum(adj, 1)))


@pytest.mark.parametrize("path,opts", [(ALPACA_COT, None),
                                       (MT_JUDGMENTS, LoadOptions(questions=MT_QUESTIONS))])
def test_slice_p_values_equal_independent_computation(path, opts):
    comp = load(path, None, opts).comparison if opts else load(path).comparison
    rows = slice_table(comp, "category")
    p, adj = _independent(comp, lambda ex: ex.get("category"))
    assert len(rows) == len(p)
    for r in rows:
        assert r["p_value"] == pytest.approx(p[r["value"]], rel=1e-9)
        assert r["p_adjusted"] == pytest.approx(adj[r["value"]], rel=1e-9)
        assert r["significant"] == (adj[r["value"]] < 0.05)


def test_without_ties_it_is_the_two_proportion_z_test():
    from statsmodels.stats.proportion import proportions_ztest

    comp = load(ALPACA_COT).comparison
    no_tie = outcomes(derive(comp).score) != 1  # the file's 2 ties left out: 0/1 outcomes
    rows = slice_table(comp, "category", mask=no_tie)
    tot_a = sum(r["a_wins"] for r in rows)
    tot = sum(r["a_wins"] + r["b_wins"] for r in rows)
    for r in rows:
        assert r["ties"] == 0
        n1 = r["a_wins"] + r["b_wins"]
        _, p = proportions_ztest([r["a_wins"], tot_a - r["a_wins"]], [n1, tot - n1])
        assert r["p_value"] == pytest.approx(p, rel=1e-9)


def test_stats_json_slices_and_legend():
    out = run_cli("stats", MT_JUDGMENTS, "--questions", MT_QUESTIONS, "--by", "category",
                  "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["slices"]
    assert all({"p_value", "p_adjusted", "significant"} <= set(r) for r in rows)
    text = run_cli("stats", MT_JUDGMENTS, "--questions", MT_QUESTIONS, "--by", "category")
    assert "Benjamini–Hochberg" in text.stdout
