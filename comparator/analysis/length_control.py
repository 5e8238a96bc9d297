"""Length-controlled win rate, in the manner of AlpacaEval 2.0's LC.

Per example, the outcome for A (1 / 1/2 / 0, as for the win rate) is modelled by a logistic
regression on tanh of the standardised length difference, (len A - len B) / sd over the scored
examples, plus the instruction difficulty when the examples carry a numeric
``metadata.instruction_difficulty``. The length-controlled win rate is the model's prediction
with the length difference set to 0 (averaged over the examples' difficulties): "what the
judge would say if both responses were as long". Its 95% interval is a percentile bootstrap
over examples (Poisson(1) weights, seeded), all rounds solved at once by a batched Newton
warm-started at the full-data fit; above 5,000 examples (without difficulty) the resampling is
a multinomial draw over (2,000 length-quantile bins x outcome) groups at their mean length term
(the point estimate is always the exact fit). Every fit runs on the distinct rows (length
term, difficulty, outcome), each weighted by how many examples share it: the same likelihood,
in memory that does not grow with repeats (a million examples of a few hundred lengths).

Not AlpacaEval's figure exactly: AlpacaEval fits one GLM per model against its baseline with
a per-model difficulty coefficient learned across the whole leaderboard and its own
instruction-difficulty table (not public data here), with a regularised solver. Lengths here
are characters of the response text (AlpacaEval: characters too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from comparator.analysis.filters import slice_mask
from comparator.analysis.stats import derive, outcomes, slice_values
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison
from comparator.store.table import store_for

ROUNDS = 200
RIDGE = 1e-8  # keeps a perfectly separated slice (or resample) finite; 1e-3 of it on the
# intercept, so an all-wins resample stays solvable without moving ordinary fits
MIN_N = 10
GROUP_ABOVE, BINS = 5000, 2000  # bootstrap on (length bin, outcome) groups above this n


def length_difference(comp: Comparison) -> np.ndarray:
    """Characters of response A minus those of response B per example, as floats (cached
    under ``("length_difference",)``)."""
    st = store_for(comp)
    return st.memo(("length_difference",), st.chars_difference)


def _difficulty(comp: Comparison) -> np.ndarray | None:
    """Cached under ``("difficulty",)`` (absent is the common case, and costly): a None result
    is kept as a one-element tuple, since the memo treats None as not yet computed."""
    return store_for(comp).memo(("difficulty",), lambda: (_difficulty_of(comp),))[0]


def _difficulty_of(comp: Comparison) -> np.ndarray | None:
    try:
        idx, code, names = slice_values(comp, "metadata.instruction_difficulty")
    except KeyError:
        return None
    try:
        vals = np.array([np.nan if v == "(none)" else float(v) for v in names])
    except ValueError:
        return None
    out = np.full(len(comp.examples), np.nan)
    out[idx] = vals[code]
    return out if np.isfinite(out).all() else None


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray | None = None,
         iters: int = 50) -> np.ndarray:
    """Weighted logistic regression with fractional targets, batched over the rows of ``w``
    (R, n): returns (R, k); ``beta`` warm-starts it. Own code: batched over bootstrap rounds
    (statsmodels' GLM fits one at a time; the test checks we equal it)."""
    r, k = w.shape[0], x.shape[1]
    beta = np.zeros((r, k)) if beta is None else np.array(np.broadcast_to(beta, (r, k)))
    pen = np.full(k, RIDGE)
    pen[0] = RIDGE * 1e-3
    outer = (x[:, :, None] * x[:, None, :]).reshape(len(x), k * k)  # x_i x_i^T, flattened
    total = w.sum(1, keepdims=True)
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(beta @ x.T)))
        grad = (w * (y - p)) @ x - pen * beta * total
        h = ((w * p * (1 - p)) @ outer).reshape(r, k, k) + np.diag(pen) * total[:, :, None]
        step = np.clip(np.linalg.solve(h, grad[..., None])[..., 0], -5, 5)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def _distinct(cols: list[np.ndarray], y: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of (``cols``, ``y``): their design (intercept first), outcome and
    count; and the first column sorted (its quantiles without another sort)."""
    order = np.lexsort((y, *cols[::-1]))
    keyed = [c[order] for c in (*cols, y)]
    del order
    first = np.zeros(len(y), bool)
    first[:1] = True
    for c in keyed:
        first[1:] |= c[1:] != c[:-1]
    at = np.flatnonzero(first)
    cnt = np.diff(np.append(at, len(y))).astype(float)
    return (np.stack([np.ones(len(at)), *(c[at] for c in keyed[:-1])], 1), keyed[-1][at], cnt,
            keyed[0])


def _at_zero(x: np.ndarray) -> np.ndarray:
    """The design with the length term set to 0."""
    x0 = x.copy()
    x0[:, 1] = 0.0
    return x0


def _lc_rate(beta: np.ndarray, x0: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Predicted win rate with the length term at 0, averaged over the (weighted) examples."""
    p = 1 / (1 + np.exp(-(beta @ x0.T)))
    return (p * w).sum(1) / w.sum(1)


def lc_win_rate(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                judges: frozenset[str] | None | str = "auto", mask: np.ndarray | None = None,
                rounds: int = ROUNDS, seed: int = 0) -> dict[str, Any]:
    """``win_rate_a_lc``, its bootstrap ``win_rate_a_lc_ci95``, and the fitted length slope
    (``lc_length_coef``: > 0 = the judge favours the longer response)."""
    empty = {"win_rate_a_lc": None, "win_rate_a_lc_ci95": None, "lc_length_coef": None}
    code = outcomes(derive(comp, judges).score, tie_threshold)
    diff = length_difference(comp)
    scored = code != 3
    everyone = bool(scored.all())
    sd = diff.std() if everyone else diff[scored].std() if scored.any() else 0.0
    keep = scored if mask is None else scored & mask
    if keep.sum() < MIN_N or not sd > 0:
        return empty
    half = 2 - code[keep]  # the outcome for A in halves (B 0, tie 1, A 2): one byte each
    del code, scored
    term = diff / sd if everyone and mask is None else np.divide(diff[keep], sd)
    cols = [np.tanh(term, out=term)]
    difficulty = _difficulty(comp)
    if difficulty is not None:
        cols.append(difficulty[keep])
    n = len(half)
    gx, gy, cnt, ordered = _distinct(cols, half)
    gy = gy / 2
    beta0 = _fit(gx, gy, cnt[None])
    rate = float(_lc_rate(beta0, _at_zero(gx), cnt[None])[0])
    ci = None
    if rounds:
        rng = np.random.default_rng(seed)
        if n > GROUP_ABOVE and len(cols) == 1:
            # large n: resample the counts of (length bin, outcome) groups (a multinomial draw
            # of n examples), each group at its mean tanh: O(groups) per round, not O(n)
            del cols, term, half
            edges = np.unique(np.quantile(ordered, np.linspace(0, 1, BINS + 1),
                                          overwrite_input=True))
            del ordered
            cell = np.clip(np.searchsorted(edges, gx[:, 1], side="right") - 1, 0, None) * 3 + (
                2 * gy).astype(np.int64)
            _, inv = np.unique(cell, return_inverse=True)
            total = np.bincount(inv, cnt)
            bx = np.stack([np.ones(len(total)), np.bincount(inv, cnt * gx[:, 1]) / total], 1)
            by = np.bincount(inv, cnt * gy) / total
            w = rng.multinomial(n, total / n, size=rounds).astype(float)
            rates = [_lc_rate(_fit(bx, by, w, beta0[0]), _at_zero(bx), w)]
        else:
            # Poisson(1) weights: the usual fast stand-in for resampling the examples
            x, y = np.stack([np.ones(n), *cols], 1), half / 2
            x0, rates = _at_zero(x), []
            for start in range(0, rounds, 50):  # chunks keep memory at 50 x n
                w = rng.poisson(1.0, (min(50, rounds - start), n)).astype(float)
                rates.append(_lc_rate(_fit(x, y, w, beta0[0]), x0, w))
        ci = [float(v) for v in np.percentile(np.concatenate(rates), [2.5, 97.5])]
    return {"win_rate_a_lc": rate, "win_rate_a_lc_ci95": ci,
            "lc_length_coef": float(beta0[0, 1])}


def lc_by_slice(comp: Comparison, field: str, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                judges: frozenset[str] | None | str = "auto", rounds: int = ROUNDS,
                mask: np.ndarray | None = None) -> dict[str, dict[str, Any]]:
    """``lc_win_rate`` of every value of ``field`` (the length scale of the whole file)."""
    out = {}
    for value in slice_values(comp, field)[2]:
        m = slice_mask(comp, field, value)
        out[value] = lc_win_rate(comp, tie_threshold, judges, m if mask is None else m & mask,
                                 rounds)
    return out
