"""Intervals of the win rate and the mean score (see ``comparator.analysis.stats`` for the
conventions): Wilson, the tie-aware Wilson, a multinomial bootstrap, Student-t. Closed forms
(equal to statsmodels' ``proportion_confint(method="wilson")`` and scipy's ``t.ppf``, which the
tests check): importing those modules costs about a second, more than the statistics of a
million examples."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

Z95 = 1.959963984540054


def wilson(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion p over n trials."""
    if n <= 0:
        return (math.nan, math.nan)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (0.0 if p <= 0 else max(0.0, centre - half), 1.0 if p >= 1 else min(1.0, centre + half))


TIE_PSEUDO = 0.7  # pseudo-win and pseudo-loss added to estimate r (see tests/test_intervals.py)
CI_METHODS = ("wilson-ties", "wilson", "bootstrap")
DEFAULT_CI = "wilson-ties"


def wilson_ties(a, t, b, z: float = Z95):
    """Tie-aware Wilson interval for the win rate (A + t/2) / n; vectorised over counts.

    Each outcome is 1, 1/2 or 0, whose variance is p(1 - p) - tie_rate / 4, not p(1 - p). The
    interval is Wilson's on n_eff = n / r, r = s^2 / (p(1 - p)) estimated from the counts with
    TIE_PSEUDO extra wins and losses (so all-tie samples keep a width). r = 1 without ties.
    Our own code: no library has a tie-aware score interval; simulated coverage in the README."""
    a, t, b = (np.asarray(x, dtype=float) for x in (a, t, b))
    n = a + t + b
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (a + 0.5 * t) / n
        aa, bb = a + TIE_PSEUDO, b + TIE_PSEUDO
        nn = aa + t + bb
        pp = (aa + 0.5 * t) / nn
        r = ((aa + 0.25 * t) / nn - pp * pp) / (pp * (1 - pp))
        k = z * z * r / n
        centre = (p + k / 2) / (1 + k)
        half = np.sqrt(k * p * (1 - p) + k * k / 4) / (1 + k)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def bootstrap_win_rate(a: int, t: int, b: int, reps: int = 2000, seed: int = 0
                       ) -> tuple[float, float]:
    """Percentile bootstrap over examples: resampling n examples with replacement is a
    multinomial draw of the (A, tie, B) counts, so this costs O(reps), not O(reps * n)."""
    n = a + t + b
    if n == 0:
        return (math.nan, math.nan)
    draws = np.random.default_rng(seed).multinomial(n, [a / n, t / n, b / n], size=reps)
    rates = (draws[:, 0] + 0.5 * draws[:, 1]) / n
    lo, hi = np.percentile(rates, [2.5, 97.5])
    return (float(lo), float(hi))


def t_interval(values: np.ndarray) -> tuple[float | None, list[float] | None]:
    """Mean with a Student-t 95% interval (None when n < 2)."""
    return mean_ci(len(values), float(values.sum()), float((values**2).sum()))


def soft_win_rate(mean: float | None, ci: list[float] | None) -> dict[str, Any]:
    """AlpacaEval's convention: mean over scored examples of (score + 1.5) / 3 (+1.5 -> 1,
    0 -> 1/2, -1.5 -> 0), i.e. the mean score rescaled, with its Student-t interval rescaled.
    On an AlpacaEval file it is mean(2 - preference) = 1 - the leaderboard's win rate."""
    return {"win_rate_a_soft": None if mean is None else (mean + 1.5) / 3,
            "win_rate_a_soft_ci95": None if ci is None else [(x + 1.5) / 3 for x in ci]}


def mean_ci(n: int, s: float, sq: float) -> tuple[float | None, list[float] | None]:
    if n == 0:
        return None, None
    mean = float(s / n)
    if n < 2:
        return mean, None
    var = max(0.0, (sq - n * mean * mean) / (n - 1))
    half = _t975(n - 1) * math.sqrt(var / n)
    return mean, [mean - half, mean + half]


Z975 = 1.959963984540054  # the standard normal's 0.975 quantile


@lru_cache(maxsize=4096)
def _t975(df: int) -> float:
    """Student's t 0.975 quantile. From 1,000 degrees of freedom, the expansion in 1/df of
    Abramowitz & Stegun 26.7.5 to its fourth term (within 1e-15 of scipy's ``stdtrit`` there,
    tests/test_closed_forms.py), which spares importing scipy (0.4 s); below, scipy."""
    if df >= 1000:
        x = Z975
        terms = ((x**3 + x) / 4, (5 * x**5 + 16 * x**3 + 3 * x) / 96,
                 (3 * x**7 + 19 * x**5 + 17 * x**3 - 15 * x) / 384,
                 (79 * x**9 + 776 * x**7 + 1482 * x**5 - 1920 * x**3 - 945 * x) / 92160)
        return x + sum(g / df ** (k + 1) for k, g in enumerate(terms))
    from scipy.special import stdtrit  # scipy.stats would cost ~0.5 s more to import

    return float(stdtrit(df, 0.975))
