"""Several models: Bradley–Terry ratings with bootstrap intervals and a win-rate matrix.

Input: battles (model i, model j, outcome 1 / 1/2 / 0 for i wins / tie / j wins), from an
Arena battle log (``comparator.formats.battles``) or from any loaded ``Comparison`` (each example
one battle between its two models: ``comp.model_a`` / ``model_b``, or the ``model_1`` /
``model_2`` metadata of a multi-pair file; the outcome is the example's verdict at the tie
threshold, as for the win rate). Ties count half to each side.

Ratings on Chatbot Arena's Elo-like scale: rating = 400·log10(strength), shifted so the mean
is 1000; P(i beats j) = 1 / (1 + 10^((r_j - r_i) / 400)). The fit is the maximum-likelihood
Bradley–Terry model on the aggregated pair counts (Newton's method); the 95% intervals are
percentiles of a bootstrap over battles (a resample of N battles is a multinomial draw of the
(pair, outcome) counts, so a round costs O(pairs), not O(N)), all rounds solved at once.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from comparator.analysis.stats import derive, outcomes, slice_values
from comparator.formats import load
from comparator.formats.battles import Battles, combine, is_battle_log, read_battles
from comparator.formats.common import Source
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison

SCALE = 400 / math.log(10)  # natural-log strength -> Elo points
ANCHOR = 1000.0
RIDGE = 1e-9  # keeps Newton's system regular (a model that never loses); negligible otherwise


def from_comparison(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                    judges: frozenset[str] | None | str = "auto") -> Battles:
    """Each scored example is one battle between its two models (unscored ones are left out)."""
    value = np.array([1.0, 0.5, 0.0, np.nan])[outcomes(derive(comp, judges).score,
                                                       tie_threshold)]
    n = len(value)
    try:  # a multi-pair file loaded without --pair names each example's models
        idx1, code1, names1 = slice_values(comp, "metadata.model_1")
        idx2, code2, names2 = slice_values(comp, "metadata.model_2")
    except KeyError:
        idx1 = idx2 = None
    if idx1 is not None and len(idx1) == n and len(idx2) == n and "(none)" not in names1 + names2:
        models = list(dict.fromkeys(names1 + names2))
        pos = {m: k for k, m in enumerate(models)}
        i = np.empty(n, np.int64)
        j = np.empty(n, np.int64)
        i[idx1] = np.array([pos[m] for m in names1], np.int64)[code1]
        j[idx2] = np.array([pos[m] for m in names2], np.int64)[code2]
    else:
        models = [comp.model_a, comp.model_b]
        i, j = np.zeros(n, np.int64), np.ones(n, np.int64)
    ok = ~np.isnan(value) & (i != j)
    return Battles(models, i[ok], j[ok], value[ok])


def _pair_counts(b: Battles) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pairs (P, 2) with i < j, counts (P, 3) of [i wins, tie, j wins])."""
    lo, hi = np.minimum(b.i, b.j), np.maximum(b.i, b.j)
    won_lo = np.where(b.i == lo, b.outcome, 1 - b.outcome)  # outcome from lo's side
    cls = np.where(won_lo == 1, 0, np.where(won_lo == 0, 2, 1))
    m = len(b.models)
    key = lo * m + hi
    uniq, inv = np.unique(key, return_inverse=True)
    counts = np.bincount(inv * 3 + cls, minlength=3 * len(uniq)).reshape(-1, 3)
    return np.stack([uniq // m, uniq % m], 1), counts.astype(float), uniq


def fit(pairs: np.ndarray, wins: np.ndarray, games: np.ndarray, m: int,
        iters: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Bradley–Terry log-strengths (mean 0) for R sets of pair counts at once.

    ``wins``/``games``: (R, P) wins of the pair's first model (ties half) and games per pair.
    Newton's method on the log-likelihood, batched over R; returns (R, m). Own code: batched
    over bootstrap rounds, which a per-fit library call (sklearn LogisticRegression) is not."""
    wins, games = np.atleast_2d(wins), np.atleast_2d(games)
    r = wins.shape[0]
    inc = np.zeros((len(pairs), m))
    inc[np.arange(len(pairs)), pairs[:, 0]] = 1.0
    inc[np.arange(len(pairs)), pairs[:, 1]] = -1.0
    theta = np.zeros((r, m))
    ridge = RIDGE * np.maximum(games.sum(1), 1.0)[:, None, None] * np.eye(m)
    for _ in range(iters):
        d = theta @ inc.T  # (R, P)
        p = 1 / (1 + np.exp(-d))
        grad = (wins - games * p) @ inc - ridge[:, 0, 0][:, None] * theta
        w = games * p * (1 - p)
        hess = np.einsum("pm,rp,pk->rmk", inc, w, inc) + ridge
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        step = np.clip(step, -3.0, 3.0)  # damped: far from the optimum, no wild jumps
        theta += step
        theta -= theta.mean(1, keepdims=True)
        if np.abs(step).max() < tol:
            break
    return theta


def to_rating(theta: np.ndarray) -> np.ndarray:
    return SCALE * (theta - theta.mean(-1, keepdims=True)) + ANCHOR


def win_matrix(rating: np.ndarray) -> np.ndarray:
    """P(row beats column) predicted from the ratings."""
    return 1 / (1 + 10 ** ((rating[None, :] - rating[:, None]) / 400))


def _connected(m: int, pairs: np.ndarray, counts: np.ndarray) -> tuple[bool, bool]:
    """(the models form one comparison graph, the maximum-likelihood ratings exist). They
    exist iff the "scored against" graph (i -> j when i won or tied a game against j) is
    strongly connected (Ford 1957); otherwise some model never lost (or never won) against the
    rest and its rating is only held finite by the tiny ridge."""
    from scipy.sparse import coo_matrix  # heavy (scipy.sparse): only when ranking
    from scipy.sparse.csgraph import connected_components  # heavy, as above

    if m <= 1:
        return True, True
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    one = connected_components(g, directed=False)[0] == 1
    fwd = (counts[:, 0] + counts[:, 1]) > 0  # first model won or tied at least once
    back = (counts[:, 2] + counts[:, 1]) > 0
    src = np.concatenate([pairs[fwd, 0], pairs[back, 1]])
    dst = np.concatenate([pairs[fwd, 1], pairs[back, 0]])
    d = coo_matrix((np.ones(len(src)), (src, dst)), shape=(m, m))
    return one, connected_components(d, directed=True, connection="strong")[0] == 1


def leaderboard(b: Battles, rounds: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Ratings, bootstrap 95% intervals, battle counts and the predicted win-rate matrix."""
    m = len(b.models)
    if len(b) == 0 or m < 2:
        raise ValueError("no battles between two different models to rate")
    pairs, counts, _ = _pair_counts(b)
    games = counts.sum(1)
    theta = fit(pairs, counts[:, 0] + 0.5 * counts[:, 1], games, m)[0]
    rating = to_rating(theta)
    ci = np.full((m, 2), np.nan)
    if rounds:
        n = int(counts.sum())
        draws = np.random.default_rng(seed).multinomial(
            n, counts.ravel() / n, size=rounds).reshape(rounds, -1, 3).astype(float)
        boot = to_rating(fit(pairs, draws[..., 0] + 0.5 * draws[..., 1], draws.sum(2), m))
        ci = np.percentile(boot, [2.5, 97.5], axis=0).T
    per = np.zeros((m, 3))  # wins, ties, losses per model
    np.add.at(per, pairs[:, 0], counts)
    np.add.at(per, pairs[:, 1], counts[:, ::-1])
    connected, exists = (bool(x) for x in _connected(m, pairs, counts))
    order = np.argsort(-rating, kind="stable")
    models = [{"name": b.models[k], "rating": float(rating[k]),
               "ci95": None if np.isnan(ci[k]).any() else [float(x) for x in ci[k]],
               "n": int(per[k].sum()), "wins": int(per[k, 0]), "ties": int(per[k, 1]),
               "losses": int(per[k, 2])} for k in order]
    wm = win_matrix(rating)[np.ix_(order, order)]
    return {"models": models,
            "win_matrix": {"models": [b.models[k] for k in order], "matrix": wm.tolist()},
            "n_battles": int(games.sum()), "bootstrap_rounds": rounds,
            "connected": connected, "mle_exists": exists,
            "scale": "400·log10 (Elo-like), mean rating 1000"}


def battles_of(path: Path, fmt: str | None, tie_threshold: float):
    """(Battles, warnings) of one file: a battle log read directly, anything else loaded."""
    if fmt is None:
        src = Source(path)
        if is_battle_log(src):
            return read_battles(path, src.data)
    loaded = load(path, fmt)
    return from_comparison(loaded.comparison, tie_threshold), loaded.warnings


def leaderboard_dict(paths: list[Path], fmt: str | None, tie_threshold: float, rounds: int,
                     seed: int) -> dict[str, Any]:

    parts, notes = [], []
    for p in paths:
        b, w = battles_of(p, fmt, tie_threshold)
        parts.append(b)
        notes += [f"{p}: {x}" for x in w]
    out = leaderboard(combine(parts), rounds, seed)
    out["files"] = [str(p) for p in paths]
    out["notes"] = notes
    return out
