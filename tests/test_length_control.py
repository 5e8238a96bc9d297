"""Length-controlled win rate: equals an independent statsmodels GLM fit on the real AlpacaEval
files, and moves against the longer side (and removes the verbose prompt's gain)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SHARED, run_cli

from comparator.analysis import summary
from comparator.analysis.length_control import lc_win_rate
from comparator.formats import load

ALPACA = sorted((SHARED / "alpaca_eval").glob("*.annotations.json"))
VERBOSE = next((p for p in ALPACA if "verbose" in p.name), None)  # None: no data (skipped)
CONCISE = next((p for p in ALPACA if "concise" in p.name), None)


def _glm(path, difficulty=None):
    """Independent: the raw file's preference -> outcome for output_1, lengths in characters,
    statsmodels GLM (binomial, fractional outcome); the rate at zero length difference."""
    import statsmodels.api as sm

    raw = json.loads(path.read_text())
    pref = np.array([np.nan if r["preference"] is None else r["preference"] for r in raw], float)
    s = np.where(pref == 0, 0.0, 3 * (1.5 - pref))
    y = np.where(s > 0.25, 1.0, np.where(s < -0.25, 0.0, 0.5))
    d = np.array([len(r["output_1"]) - len(r["output_2"]) for r in raw], float)
    x = [np.ones(len(y)), np.tanh(d / d.std())]
    if difficulty is not None:
        x.append(difficulty)
    x = np.stack(x, 1)
    beta = sm.GLM(y, x, family=sm.families.Binomial()).fit(tol=1e-12).params
    x0 = x.copy()
    x0[:, 1] = 0
    return float(np.mean(1 / (1 + np.exp(-(x0 @ beta))))), beta


@pytest.mark.parametrize("path", ALPACA, ids=lambda p: p.name.split("_vs_")[0])
def test_lc_equals_statsmodels_glm_and_moves_against_the_longer_side(path):
    comp = load(path).comparison
    lc = lc_win_rate(comp, rounds=100)
    want, beta = _glm(path)
    assert lc["win_rate_a_lc"] == pytest.approx(want, abs=1e-5)
    assert lc["lc_length_coef"] == pytest.approx(beta[1], abs=1e-4)
    lo, hi = lc["win_rate_a_lc_ci95"]
    assert lo < lc["win_rate_a_lc"] < hi
    raw = json.loads(path.read_text())
    a_longer = np.mean([len(r["output_1"]) - len(r["output_2"]) for r in raw]) > 0
    rate = summary(comp)["win_rate_a"]
    # the judge favours length (coef > 0): controlling for it moves against the longer side
    assert beta[1] > 0
    assert (lc["win_rate_a_lc"] < rate) == a_longer


@pytest.mark.parametrize("path", [VERBOSE, CONCISE], ids=["verbose", "concise"])
def test_lc_moves_like_alpaca_evals_published_lc(path):
    """AlpacaEval's own leaderboard row: its LC moves the evaluated model (B) the same way."""
    import csv

    from conftest import ROOT

    rows = {r[""]: r for r in csv.DictReader(open(
        ROOT / "tests/data/alpaca_eval_leaderboard/rows.csv"))}
    row = rows[json.loads(path.read_text())[0]["generator_2"]]
    comp = load(path).comparison
    ours = (1 - lc_win_rate(comp, rounds=0)["win_rate_a_lc"]) - (1 - summary(comp)["win_rate_a"])
    theirs = float(row["length_controlled_winrate"]) - float(row["win_rate"])
    assert ours > 0 and theirs > 0  # B is the shorter side: length control lifts it


def test_instruction_difficulty_is_used_when_the_file_gives_it():
    comp = load(VERBOSE).comparison
    # a made-up difficulty (prompt length, standardised) written into the metadata
    plen = np.array([len(ex["prompt"]) for ex in comp.examples], float)
    fake_difficulty = (plen - plen.mean()) / plen.std()
    for ex, v in zip(comp.examples, fake_difficulty):
        ex.setdefault("metadata", {})["instruction_difficulty"] = float(v)
    comp.invalidate()
    want, _ = _glm(VERBOSE, fake_difficulty)
    assert lc_win_rate(comp, rounds=0)["win_rate_a_lc"] == pytest.approx(want, abs=1e-5)


def test_stats_json_overall_and_per_slice():
    s = json.loads(run_cli("stats", VERBOSE, "--by", "category", "--json").stdout)
    assert s["win_rate_a_lc"] == pytest.approx(_glm(VERBOSE)[0], abs=1e-5)
    assert all("win_rate_a_lc" in r and "win_rate_a_lc_ci95" in r for r in s["slices"])


def test_overview_toggle_shows_it(tmp_path, monkeypatch):
    from conftest import ROOT
    from streamlit.testing.v1 import AppTest

    from comparator.ui import state

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.toggle(key="ov_lc").set_value(True).run()
    assert not at.exception, at.exception
    lc = lc_win_rate(load(next(iter(state.demos().values()))).comparison)
    shown = [c.value for c in at.caption if c.value.startswith("Length-controlled")]
    assert shown == [f"Length-controlled {100 * lc['win_rate_a_lc']:.1f}% "
                     f"[{100 * lc['win_rate_a_lc_ci95'][0]:.1f}, "
                     f"{100 * lc['win_rate_a_lc_ci95'][1]:.1f}]"]


def test_grouped_bootstrap_for_large_files_matches_the_per_example_one(monkeypatch):
    """Above 5,000 examples the bootstrap resamples (length bin, outcome) groups; on 8 copies of
    a real file (6,440 examples) its interval matches the per-example bootstrap."""
    import comparator.analysis.length_control as lcm

    comp = load(VERBOSE).comparison
    big = comp.subset([dict(ex, id=f"{ex['id']}-{k}") for k in range(8) for ex in comp.examples])
    grouped = lc_win_rate(big, rounds=400)
    monkeypatch.setattr(lcm, "GROUP_ABOVE", 10**9)
    exact = lc_win_rate(big, rounds=400)
    assert grouped["win_rate_a_lc"] == exact["win_rate_a_lc"]
    # the fit runs on the distinct rows weighted by their count: 8 copies of each example fit
    # as the examples once do (the same likelihood, times 8), statsmodels on the raw file
    want, beta = _glm(VERBOSE)
    assert grouped["win_rate_a_lc"] == pytest.approx(want, abs=1e-5)
    assert grouped["lc_length_coef"] == pytest.approx(beta[1], abs=1e-4)
    for g, e in zip(grouped["win_rate_a_lc_ci95"], exact["win_rate_a_lc_ci95"]):
        assert abs(g - e) < 0.01
