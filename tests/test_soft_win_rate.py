"""The soft win rate is AlpacaEval's own figure: mean(2 - preference) = 1 - leaderboard rate."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SHARED, run_cli

from comparator.analysis import slice_table, summary
from comparator.formats import load

ALPACA = sorted((SHARED / "alpaca_eval").glob("*.annotations.json"))


@pytest.mark.parametrize("path", ALPACA, ids=lambda p: p.name.split("_vs_")[0])
def test_soft_win_rate_is_mean_of_two_minus_preference(path):
    raw = json.loads(path.read_text())
    pref = np.array([np.nan if r["preference"] is None else float(r["preference"])
                     for r in raw])
    pref[pref == 0] = 1.5  # AlpacaEval's draw
    ok = ~np.isnan(pref)
    s = summary(load(path).comparison)
    # output_1 (the baseline) is model A, so A's soft rate = mean(2 - preference)
    assert s["win_rate_a_soft"] == pytest.approx(float(np.mean(2 - pref[ok])), abs=1e-12)
    # AlpacaEval 2.0's leaderboard win rate of the evaluated model (output_2), in %
    assert 100 * (1 - s["win_rate_a_soft"]) == pytest.approx(
        100 * float(np.mean(pref[ok] - 1)), abs=1e-9)
    x = 2 - pref[ok]
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    lo, hi = s["win_rate_a_soft_ci95"]
    assert lo == pytest.approx(x.mean() - half, abs=1e-4)
    assert hi == pytest.approx(x.mean() + half, abs=1e-4)
    assert s["scores_continuous"] == ("weighted" in path.name)


def test_slices_and_cli_show_it():
    path = [p for p in ALPACA if "verbose" in p.name][0]
    comp = load(path).comparison
    for r in slice_table(comp, "category"):
        assert r["win_rate_a_soft"] == pytest.approx((r["mean_score"] + 1.5) / 3)
    out = run_cli("stats", path)
    assert "AlpacaEval's convention" in out.stdout
    s = json.loads(run_cli("stats", path, "--json").stdout)
    assert s["win_rate_a_soft"] == pytest.approx(summary(comp)["win_rate_a_soft"])


@pytest.mark.parametrize("path", [p for p in ALPACA if "gpt-3.5-turbo-1106" in p.name],
                         ids=lambda p: p.name.split("_vs_")[0])
def test_equals_alpaca_evals_published_leaderboard_row(path):
    """AlpacaEval 2.0's full leaderboard csv (rows copied in tests/data): win_rate,
    standard_error and the discrete counts of the evaluated model (output_2 = B)."""
    import csv

    from conftest import ROOT
    from scipy.stats import t as student_t

    rows = {r[""]: r for r in csv.DictReader(open(
        ROOT / "tests/data/alpaca_eval_leaderboard/rows.csv"))}
    comp = load(path).comparison
    row = rows[comp.model_b]
    s = summary(comp)
    assert 100 * (1 - s["win_rate_a_soft"]) == pytest.approx(float(row["win_rate"]), abs=1e-9)
    n = s["a_wins"] + s["ties"] + s["b_wins"]
    half = (s["win_rate_a_soft_ci95"][1] - s["win_rate_a_soft_ci95"][0]) / 2
    se = 100 * half / student_t.ppf(0.975, n - 1)
    assert se == pytest.approx(float(row["standard_error"]), rel=1e-6)
    # AlpacaEval's discrete win rate: preference > 1.5 a win, == 1.5 a draw: tie threshold 0
    d = summary(comp, tie_threshold=0.0)
    assert (d["b_wins"], d["a_wins"], d["ties"]) == (
        int(row["n_wins"]), int(row["n_wins_base"]), int(row["n_draws"]))
    assert 100 * (1 - d["win_rate_a"]) == pytest.approx(float(row["discrete_win_rate"]))
