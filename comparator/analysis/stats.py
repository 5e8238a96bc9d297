"""Win/tie/loss counts, win rates with 95% intervals, slices, position consistency.

Conventions (documented for users in the README):
- example score = mean of its ``ok`` judgment scores (of the selected judges); unscored when none;
- winner: A if score > t, B if score < -t, tie otherwise (t = tie threshold, default 0.25);
- win rate of A = (A + ties / 2) / (A + B + ties); unscored examples are left out, never ties;
- its 95% interval by default (``ci_method="wilson-ties"``) is a tie-aware Wilson score
  interval: the Wilson interval on the effective sample size n / r, where r is the observed
  variance of the {1, 1/2, 0} outcomes over its binomial maximum p(1 - p) (a design effect,
  estimated with 0.7 pseudo-wins and pseudo-losses, see ``wilson_ties``). Without ties
  it is the Wilson interval. ``ci_method="wilson"`` (each example a win/loss trial: valid but
  conservative with ties) and ``"bootstrap"`` (percentile, 2,000 seeded resamples) remain;
- mean score with a Student-t 95% interval over scored examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison, Judgment, is_ok

Z95 = 1.959963984540054
OUTCOMES = ("A", "tie", "B", "unscored")  # codes 0..3
SMALL_N = 10


def is_selected(j: Judgment, judges: frozenset[str] | None) -> bool:
    if judges is None:
        return True
    name = j.get("judge") or "unknown"
    return name in judges or f"{name}:{j.get('rater')}" in judges


def default_judges(comp: Comparison) -> frozenset[str] | None:
    """Which judgments make an example's score when none are named: all of them, except that a
    file with both human labels (or the reference judge it names, e.g. JudgeBench's gold label)
    and model judges is scored by its model judges (the humans are then the reference)."""
    names = comp.judges()
    refs = {"human", comp.metadata.get("reference_judge") or "human"}  # JudgeBench: "gold"
    models = [n for n in names if n not in refs]
    if models and refs & set(names):
        return frozenset(models)
    return None


@dataclass
class Derived:
    """Per-example arrays for one judge selection (NaN = no ok judgment)."""

    score: np.ndarray
    score_unflipped: np.ndarray
    score_flipped: np.ndarray
    n_ok: np.ndarray
    n_unscored: np.ndarray
    judges: frozenset[str] | None


def derive(comp: Comparison, judges: frozenset[str] | None | str = "auto") -> Derived:
    """The per-example arrays, computed once per judge selection and cached on ``comp``."""
    if judges == "auto":
        judges = default_judges(comp)
    key = ("derived", judges)
    hit = comp._derived.get(key)
    if hit is not None:
        return hit
    if judges and len(judges) == 1 and next(iter(judges)).endswith("@majority"):
        from comparator.analysis.human_vote import majority_derived

        hit = comp._derived[key] = majority_derived(comp, next(iter(judges))[:-9])
        return hit
    from comparator.store.table import store_of

    st = store_of(comp)
    if st is not None:
        from comparator.analysis.columnar import derive_arrays

        hit = comp._derived[key] = Derived(*derive_arrays(st, judges), judges)
        return hit
    n = len(comp.examples)
    score = np.full(n, np.nan)
    unf = np.full(n, np.nan)
    fl = np.full(n, np.nan)
    n_ok = np.zeros(n, dtype=np.int32)
    n_bad = np.zeros(n, dtype=np.int32)
    for i, ex in enumerate(comp.examples):
        js = ex.get("judgments")
        if not js:
            if judges is None and ex.get("reported_score") is not None:
                score[i] = ex["reported_score"]
            continue
        tot = cnt = tu = cu = tf = cf = 0.0
        for j in js:
            if not is_selected(j, judges):
                continue
            if not is_ok(j):
                n_bad[i] += 1
                continue
            s = j["score"]
            tot += s
            cnt += 1
            flipped = j.get("flipped")
            if flipped is True:
                tf += s
                cf += 1
            elif flipped is False:
                tu += s
                cu += 1
        if cnt:
            score[i] = tot / cnt
            n_ok[i] = cnt
        if cu:
            unf[i] = tu / cu
        if cf:
            fl[i] = tf / cf
    out = Derived(score, unf, fl, n_ok, n_bad, judges)
    comp._derived[key] = out
    return out


def outcomes(score: np.ndarray, tie_threshold: float = DEFAULT_TIE_THRESHOLD) -> np.ndarray:
    """Outcome codes 0 = A, 1 = tie, 2 = B, 3 = unscored."""
    code = np.full(score.shape, 1, dtype=np.int8)
    code[score > tie_threshold] = 0
    code[score < -tie_threshold] = 2
    code[np.isnan(score)] = 3
    return code


def wilson(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion p over n trials (statsmodels)."""
    if n <= 0:
        return (math.nan, math.nan)
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(p * n, n, alpha=2 * (1 - _norm_cdf(z)), method="wilson")
    return (0.0 if p <= 0 else max(0.0, float(lo)), 1.0 if p >= 1 else min(1.0, float(hi)))


def _norm_cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


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
    return _mean_ci(len(values), float(values.sum()), float((values**2).sum()))


def summarize(a: int, t: int, b: int, unscored: int, scores: np.ndarray | None = None,
              ci_method: str = DEFAULT_CI) -> dict[str, Any]:
    """Counts -> the summary fields of ``stats --json`` (one slice or the whole file)."""
    n_scored = a + t + b
    rate = (a + 0.5 * t) / n_scored if n_scored else None
    if rate is None:
        ci = None
    elif ci_method == "bootstrap":
        ci = list(bootstrap_win_rate(a, t, b))
    elif ci_method == "wilson":
        ci = list(wilson(rate, n_scored))
    elif ci_method == "wilson-ties":
        ci = [float(x) for x in wilson_ties(a, t, b)]
    else:
        raise ValueError(f"ci_method must be one of {', '.join(CI_METHODS)}, got {ci_method!r}")
    out: dict[str, Any] = {
        "n": n_scored + unscored, "a_wins": a, "b_wins": b, "ties": t, "unscored": unscored,
        "win_rate_a": rate, "win_rate_a_ci95": ci,
    }
    if scores is not None:
        out["mean_score"], out["mean_score_ci95"] = t_interval(scores)
        out.update(soft_win_rate(out["mean_score"], out["mean_score_ci95"]))
        # continuous: any score off the 7-level grid (e.g. AlpacaEval's weighted annotators)
        out["scores_continuous"] = bool(np.any(np.abs(scores * 2 - np.round(scores * 2)) > 1e-9))
    out["significant"] = bool(ci is not None and (ci[0] > 0.5 or ci[1] < 0.5))
    out["small_n"] = n_scored < SMALL_N
    return out


def soft_win_rate(mean: float | None, ci: list[float] | None) -> dict[str, Any]:
    """AlpacaEval's convention: mean over scored examples of (score + 1.5) / 3 (+1.5 -> 1,
    0 -> 1/2, -1.5 -> 0), i.e. the mean score rescaled, with its Student-t interval rescaled.
    On an AlpacaEval file it is mean(2 - preference) = 1 - the leaderboard's win rate."""
    return {"win_rate_a_soft": None if mean is None else (mean + 1.5) / 3,
            "win_rate_a_soft_ci95": None if ci is None else [(x + 1.5) / 3 for x in ci]}


def position_consistency(d: Derived, tie_threshold: float = DEFAULT_TIE_THRESHOLD
                         ) -> tuple[float | None, int]:
    """Share of examples whose verdict in the shown order equals the verdict in the swapped
    order, over the examples judged (ok) in both orders; None when there are none."""
    both = ~np.isnan(d.score_unflipped) & ~np.isnan(d.score_flipped)
    n = int(both.sum())
    if n == 0:
        return None, 0
    agree = outcomes(d.score_unflipped[both], tie_threshold) == outcomes(
        d.score_flipped[both], tie_threshold)
    return float(agree.mean()), n


def summary(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
            judges: frozenset[str] | None | str = "auto", ci_method: str = DEFAULT_CI,
            mask: np.ndarray | None = None) -> dict[str, Any]:
    """Headline statistics of a comparison (or of the examples in ``mask``)."""
    d = derive(comp, judges)
    score = d.score if mask is None else d.score[mask]
    counts = np.bincount(outcomes(score, tie_threshold), minlength=4)
    out = summarize(int(counts[0]), int(counts[1]), int(counts[2]), int(counts[3]),
                    score[~np.isnan(score)], ci_method)
    pc, pc_n = position_consistency(d, tie_threshold) if mask is None else (None, 0)
    out.update(position_consistency=pc, position_consistency_n=pc_n)
    return out


def judgment_counts(comp: Comparison) -> dict[str, int]:
    """The file's judgments by status: ok, unscored, error."""
    from comparator.store.table import store_of

    st = store_of(comp)
    if st is not None:
        from comparator.analysis.columnar import judgment_counts as columnar_counts

        return st.memo("judgment_counts", lambda: columnar_counts(st))
    out = {"ok": 0, "unscored": 0, "error": 0}
    for ex in comp.examples:
        for j in ex.get("judgments") or ():
            k = j.get("status", "ok")
            out[k] = out.get(k, 0) + 1
    return out


def _values(v: Any) -> list[str]:
    if v is None or v == "" or v == []:
        return ["(none)"]
    if isinstance(v, list):
        return list(dict.fromkeys(str(x) for x in v)) or ["(none)"]
    if isinstance(v, bool):
        return [str(v).lower()]
    return [str(v)]


def slice_values(comp: Comparison, field: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(example index, value code, value names) pairs for a field: ``category``, ``tags``,
    ``metadata.KEY`` (or a bare metadata key), ``judge``, a metric ``a.NAME`` / ``b.NAME``
    (booleans true/false, numbers in quantile bins). An example with several values
    (tags, list fields) appears once per value. Cached per field."""
    key = ("slice", field)
    hit = comp._derived.get(key)
    if hit is not None:
        return hit
    if field[:2] in ("a.", "b."):  # a response metric (comparator.analysis.metrics), bucketed
        from comparator.analysis.metrics.slicing import metric_slices

        hit = comp._derived[key] = metric_slices(comp, field)
        return hit
    from comparator.store.table import store_of

    st = store_of(comp)
    if st is not None and field in ("category", "tags", "judge"):
        from comparator.analysis.columnar import slice_arrays

        hit = comp._derived[key] = slice_arrays(st, field)
        return hit
    if field in ("category", "tags"):
        values = (ex.get(field) for ex in comp.examples)
    elif field == "judge":
        values = ([j.get("judge") or "unknown" for j in ex.get("judgments") or []]
                  for ex in comp.examples)
    else:
        name = field.removeprefix("metadata.")
        if st is not None:
            from comparator.analysis.columnar import metadata_keys, metadata_values

            values = metadata_values(st, name)
            known = metadata_keys(st) if values is None else ()
        else:
            metas = [ex.get("metadata") or {} for ex in comp.examples]
            values = [m.get(name) for m in metas] if any(name in m for m in metas) else None
            known = {k for m in metas for k in m} if values is None else ()
        if values is None:
            raise KeyError(f"no field {field!r}; slice by category, tags, judge or one of "
                           f"{sorted(known)}")
    codes: dict[str, int] = {}
    idx: list[int] = []
    code: list[int] = []
    for i, v in enumerate(values):
        for x in _values(v):
            idx.append(i)
            code.append(codes.setdefault(x, len(codes)))
    out = (np.asarray(idx, dtype=np.int64), np.asarray(code, dtype=np.int64), list(codes))
    comp._derived[key] = out
    return out


def slice_table(comp: Comparison, field: str, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                judges: frozenset[str] | None | str = "auto", ci_method: str = DEFAULT_CI,
                mask: np.ndarray | None = None) -> list[dict[str, Any]]:
    """The summary of every value of ``field`` (largest slices first)."""
    d = derive(comp, judges)
    idx, code, names = slice_values(comp, field)
    if mask is not None:
        keep = mask[idx]
        idx, code = idx[keep], code[keep]
    oc = outcomes(d.score, tie_threshold)[idx]
    counts = np.bincount(code * 4 + oc, minlength=4 * len(names)).reshape(len(names), 4)
    score = d.score[idx]
    ok = ~np.isnan(score)
    n_ok = np.bincount(code[ok], minlength=len(names))
    sums = np.bincount(code[ok], weights=score[ok], minlength=len(names))
    sq = np.bincount(code[ok], weights=score[ok] ** 2, minlength=len(names))
    from comparator.analysis.significance import mark, versus_rest

    whole = outcomes(d.score if mask is None else d.score[mask], tie_threshold)
    p_rest = versus_rest(counts[:, :3], np.bincount(whole, minlength=4)[:3])
    rows = []
    for c, value in enumerate(names):
        a, t, b, u = (int(x) for x in counts[c])
        if a + t + b + u == 0:
            continue
        row = {"field": field, "value": value, **summarize(a, t, b, u, None, ci_method)}
        row["mean_score"], row["mean_score_ci95"] = _mean_ci(int(n_ok[c]), sums[c], sq[c])
        row.update(soft_win_rate(row["mean_score"], row["mean_score_ci95"]))
        # significant: vs the rest of the data, BH-adjusted (comparator.analysis.significance)
        row["ci_excludes_half"] = row.pop("significant")
        row["p_value"] = None if np.isnan(p_rest[c]) else float(p_rest[c])
        rows.append(row)
    rows.sort(key=lambda r: (-r["n"], r["value"]))
    return mark(rows)


def _mean_ci(n: int, s: float, sq: float) -> tuple[float | None, list[float] | None]:
    if n == 0:
        return None, None
    mean = float(s / n)
    if n < 2:
        return mean, None
    var = max(0.0, (sq - n * mean * mean) / (n - 1))
    half = _t975(n - 1) * math.sqrt(var / n)
    return mean, [mean - half, mean + half]


@lru_cache(maxsize=4096)
def _t975(df: int) -> float:
    from scipy.stats import t as student_t

    return float(student_t.ppf(0.975, df))
