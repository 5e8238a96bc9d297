"""The default win-rate interval (tie-aware Wilson) covers 95% across sample sizes, tie rates
and win rates, by simulation from known A/tie/B probabilities (vectorised: seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from comparator.analysis.stats import summarize, wilson, wilson_ties

REPS = 2000
TIES = np.round(np.arange(0.0, 0.91, 0.1), 2)
RATES = np.round(np.arange(0.05, 0.951, 0.05), 2)


def _coverage(n: int, tie: float, rng: np.random.Generator, method) -> list[float]:
    """Coverage of the true win rate for every feasible win rate at this tie rate."""
    out = []
    for p in RATES:
        pa, pb = p - tie / 2, 1 - p - tie / 2
        if pa < -1e-9 or pb < -1e-9:
            continue  # e.g. 90% ties cannot give a 5% win rate
        draws = rng.multinomial(n, [max(pa, 0), tie, max(pb, 0)], size=REPS)
        lo, hi = method(draws[:, 0], draws[:, 1], draws[:, 2])
        out.append(float(np.mean((lo <= p + 1e-12) & (p - 1e-12 <= hi))))
    return out


@pytest.mark.parametrize("n", [20, 50, 500])
def test_default_interval_covers_95_percent(n):
    rng = np.random.default_rng(n)
    for tie in TIES:
        cov = _coverage(n, tie, rng, wilson_ties)
        mean = float(np.mean(cov))
        if n * (1 - tie) < 5:
            # n = 20 with 90% ties: ~2 decisive outcomes, 12% of samples are all ties; the
            # interval then stays wide enough for the neighbouring rates (conservative)
            assert mean >= 0.935, (n, tie, mean)
        else:
            assert 0.935 <= mean <= 0.965, (n, tie, cov)
        # no single win rate far off (binomial discreteness at n = 20 alone is ~±3 points)
        assert min(cov) >= 0.90, (n, tie, cov)


def test_default_is_narrower_than_wilson_with_ties_and_equal_without():
    a, t, b = 30, 40, 30
    lo, hi = wilson_ties(a, t, b)
    wl, wh = wilson((a + t / 2) / 100, 100)
    assert (hi - lo) < 0.8 * (wh - wl)  # 40% ties: outcome variance 0.15 vs 0.25
    lo, hi = wilson_ties(7, 0, 13)
    assert (lo, hi) == pytest.approx(wilson(7 / 20, 20), abs=1e-12)


def test_wilson_with_ties_overcovers_which_is_why_it_is_not_the_default():
    rng = np.random.default_rng(3)

    def plain(a, t, b):
        n = a + t + b
        p = (a + t / 2) / n
        z2 = 1.959963984540054 ** 2
        c = (p + z2 / (2 * n)) / (1 + z2 / n)
        h = np.sqrt(z2 * p * (1 - p) / n + z2 * z2 / (4 * n * n)) / (1 + z2 / n)
        return c - h, c + h

    assert np.mean(_coverage(500, 0.8, rng, plain)) > 0.99


def test_summarize_default_and_options():
    s = summarize(30, 40, 30, 0)
    assert s["win_rate_a_ci95"] == pytest.approx(list(wilson_ties(30, 40, 30)))
    assert summarize(30, 40, 30, 0, ci_method="wilson")["win_rate_a_ci95"] == pytest.approx(
        list(wilson(0.5, 100)))
    with pytest.raises(ValueError, match="wilson-ties"):
        summarize(1, 1, 1, 0, ci_method="nope")


def test_closed_forms_equal_the_libraries():
    from scipy.stats import t as student_t
    from statsmodels.stats.proportion import proportion_confint

    from comparator.analysis.intervals import _t975

    for k, n in [(0, 5), (1, 5), (7, 20), (35, 60), (500, 1000), (999_999, 1_000_000), (5, 5)]:
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        got = wilson(k / n, n)
        assert got == pytest.approx((0.0 if k == 0 else lo, 1.0 if k == n else hi), abs=1e-9)
    for df in (1, 2, 9, 30, 1000, 10**6):
        assert _t975(df) == pytest.approx(float(student_t.ppf(0.975, df)), rel=1e-12)
