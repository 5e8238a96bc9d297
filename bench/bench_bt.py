"""Bradley–Terry leaderboard: 1,000 bootstrap rounds over N battles among M models.

Battles are drawn from known strengths (ties 10%). Ours: aggregated pair counts, multinomial
bootstrap, all rounds solved by one batched Newton (comparator.analysis.leaderboard.leaderboard).
Same-run baseline: Chatbot Arena's notebook recipe, a scikit-learn LogisticRegression on the
per-battle design matrix for every bootstrap round (timed on a few rounds, scaled to the same
count). Goal: 1,000 rounds over 100k battles among 20 models in <= 10 s.

    python bench/bench_bt.py [--n 100000] [--models 20] [--rounds 1000] [--baseline-rounds 5]
                             [--quick]

``--quick`` keeps the headline size (100k battles, 20 models, 1,000 rounds: ours is fast) and
times the sklearn baseline on 2 rounds instead of 5.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import emit  # noqa: E402
from comparator.analysis.leaderboard import leaderboard  # noqa: E402
from comparator.formats.battles import Battles  # noqa: E402


def synthesise(n: int, m: int, seed: int = 0) -> Battles:
    rng = np.random.default_rng(seed)
    true = rng.normal(0, 1, m)
    i = rng.integers(0, m, n)
    j = (i + rng.integers(1, m, n)) % m
    p = 1 / (1 + np.exp(-(true[i] - true[j])))
    u = rng.random(n)
    outcome = np.where(u < 0.1, 0.5, (rng.random(n) < p).astype(float))
    return Battles([f"model{k}" for k in range(m)], i, j, outcome)


def baseline_round(b: Battles, m: int, idx: np.ndarray) -> np.ndarray:
    """Chatbot Arena's compute_mle_elo: ties as half a win each side (two rows), sklearn."""
    from sklearn.linear_model import LogisticRegression

    i, j, o = b.i[idx], b.j[idx], b.outcome[idx]
    x = np.zeros((2 * len(idx), m))
    rows = np.arange(len(idx))
    for half in (0, 1):
        x[half * len(idx) + rows, i] = math.log(10)
        x[half * len(idx) + rows, j] = -math.log(10)
    y = np.concatenate([o >= 0.5, o > 0.5]).astype(int)  # a tie: one win, one loss
    lr = LogisticRegression(fit_intercept=False, C=1e6, tol=1e-6)
    lr.fit(x, y)
    return 400 * lr.coef_[0] + 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--baseline-rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="baseline timed on 2 rounds")
    a = ap.parse_args()
    if a.quick:
        a.baseline_rounds = 2
    b = synthesise(a.n, a.models)
    leaderboard(b, rounds=2)  # warm imports
    t0 = time.perf_counter()
    lb = leaderboard(b, rounds=a.rounds)
    ours = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    for _ in range(a.baseline_rounds):
        baseline_round(b, a.models, rng.integers(0, len(b), len(b)))
    base = (time.perf_counter() - t0) / a.baseline_rounds * a.rounds
    got = {m["name"]: m["rating"] for m in lb["models"]}
    r = np.array([got[f"model{k}"] for k in range(a.models)])
    full = baseline_round(b, a.models, np.arange(len(b)))
    width = np.mean([m["ci95"][1] - m["ci95"][0] for m in lb["models"]])
    print(f"{a.n:,} battles, {a.models} models, {a.rounds} bootstrap rounds")
    print(f"{'method':<48} {'seconds':>9} {'ratio':>7}")
    print(f"{'ours: counts + multinomial + batched Newton':<48} {ours:>9.2f} {1:>7.2f}")
    print(f"{'sklearn LogisticRegression per round (scaled)':<48} {base:>9.1f} "
          f"{base / ours:>7.1f}")
    print(f"mean 95% CI width {width:.1f} points; on the full data max |ours - sklearn| = "
          f"{np.abs(r - (full - full.mean() + 1000)).max():.4f} points")
    full_size = (a.n, a.models, a.rounds) == (100_000, 20, 1000)
    emit(f"Bradley-Terry, {a.rounds:,} bootstrap rounds over {a.n:,} battles among {a.models} "
         "models (vs sklearn per round, scaled)", ours, base, "s",
         "<= 10 s at 100k/20/1,000", full_size and ours <= 10)


if __name__ == "__main__":
    main()
