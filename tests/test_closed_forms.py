"""Cohen's kappa, Fleiss' kappa and Benjamini–Hochberg in closed form (issue 25: importing
scikit-learn and statsmodels for them cost 1.5-2.5 s of every ``stats`` of a file with human
labels or slices) give the libraries' values: on the real files' verdicts and on seeded random
tables, edge cases included; and ``stats`` of those files no longer imports either library."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import LLMBAR_GPT4, PANDALM, ROOT

from comparator.analysis.agreement import kappa_score
from comparator.analysis.human_vote import fleiss_kappa
from comparator.analysis.significance import benjamini_hochberg
from comparator.analysis.stats import derive, outcomes
from comparator.formats import load


def _same(got: float, want: float) -> bool:
    return (np.isnan(got) and np.isnan(want)) or abs(got - want) <= 1e-12


def test_cohen_kappa_of_the_real_judges_against_the_people_is_scikit_learns():
    from sklearn.metrics import cohen_kappa_score

    comp = load(LLMBAR_GPT4).comparison
    judges = [j for j in comp.judges() if j != "human"]
    assert judges
    human = derive(comp, frozenset(["human"])).score
    for j in judges:
        score = derive(comp, frozenset([j])).score
        both = ~np.isnan(score) & ~np.isnan(human)
        x, y = (outcomes(s[both], 0.25).astype(np.int64) for s in (score, human))
        assert len(x) > 100
        assert _same(kappa_score(x, y), cohen_kappa_score(x, y, labels=[0, 1, 2]))


def test_fleiss_kappa_of_pandalms_three_annotators_is_statsmodels():
    from statsmodels.stats.inter_rater import fleiss_kappa as library

    comp = load(PANDALM).comparison
    codes = [outcomes(derive(comp, frozenset([f"human:{r}"])).score, 0.25) for r in
             sorted({j["rater"] for ex in comp.examples for j in ex["judgments"]
                     if j.get("judge") == "human" and j.get("rater")})]
    assert len(codes) == 3
    stacked = np.stack(codes)
    rated = (stacked < 3).all(0)
    table = np.stack([(stacked[:, rated] == c).sum(0) for c in range(3)], axis=1)
    assert table.shape[0] > 900 and (table.sum(1) == 3).all()
    assert _same(fleiss_kappa(table), library(table, method="fleiss"))


def test_random_tables_and_edge_cases_match_the_libraries():
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import fleiss_kappa as library_fleiss
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(25)
    for t in range(400):
        m = int(rng.integers(1, 60))
        p = rng.uniform(0, 1, m) ** rng.uniform(0.2, 4)
        if t % 3 == 0:
            p[rng.integers(0, m, size=m // 2)] = p[0]  # tied p-values
        rej, adj, _, _ = multipletests(p, alpha=0.05, method="fdr_bh")
        ours, ours_rej = benjamini_hochberg(p)
        assert np.abs(ours - adj).max() <= 1e-12 and (ours_rej == rej).all()
        n = int(rng.integers(1, 300))
        x = rng.integers(0, 3, n)
        y = x.copy() if t % 5 == 0 else np.where(rng.uniform(size=n) < 0.6, x,
                                                  rng.integers(0, 3, n))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn warns on 0 / 0
            assert _same(kappa_score(x, y), cohen_kappa_score(x, y, labels=[0, 1, 2]))
        raters = int(rng.integers(2, 6))
        table = np.array([np.bincount(rng.integers(0, 3, raters), minlength=3)
                          for _ in range(int(rng.integers(1, 200)))])
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            assert _same(fleiss_kappa(table), library_fleiss(table, method="fleiss"))
    assert np.isnan(kappa_score(np.array([1, 1]), np.array([1, 1])))  # chance agreement 1
    assert np.isnan(fleiss_kappa(np.array([[3, 0, 0], [3, 0, 0]])))
    adj, rej = benjamini_hochberg(np.array([np.nan, 0.01, 0.04, np.nan]))
    assert np.isnan(adj[[0, 3]]).all() and list(rej) == [False, True, True, False]


@pytest.mark.parametrize("path", [LLMBAR_GPT4, PANDALM], ids=["llmbar", "pandalm"])
def test_stats_of_files_with_people_imports_neither_library(path, tmp_path):
    code = ("import sys, json; from comparator.cli.main import main; "
            f"main(['stats', {str(path)!r}, '--json', '--by', 'category', '--by', 'judge']); "
            "print(json.dumps(sorted(m for m in ('sklearn', 'statsmodels') "
            "if m in sys.modules)), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "COMPARATOR_HOME": str(tmp_path)},
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "[]"
    assert '"human_agreement"' in r.stdout or '"annotators"' in r.stdout


def test_t_quantile_of_large_samples_is_scipys_without_scipy():
    from scipy.special import stdtrit

    from comparator.analysis.intervals import _t975

    for df in (1, 2, 30, 999, 1000, 1001, 4321, 10**5, 10**6, 10**7 + 3):
        assert abs(_t975(df) - float(stdtrit(df, 0.975))) <= 1e-14, df
    code = ("import sys; from comparator.analysis.intervals import mean_ci; "
            "print(mean_ci(5000, 1234.5, 4000.25)); print('scipy' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.split("\n")[1] == "False", r.stdout + r.stderr
