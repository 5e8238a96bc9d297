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

from dataclasses import dataclass
from typing import Any

import numpy as np

from comparator.analysis import columnar
from comparator.analysis.columnar import OUTCOMES, outcomes
from comparator.analysis.human_vote import MAJORITY, majority_arrays
from comparator.analysis.intervals import (
    CI_METHODS,
    DEFAULT_CI,
    TIE_PSEUDO,
    Z95,
    bootstrap_win_rate,
    mean_ci,
    soft_win_rate,
    t_interval,
    wilson,
    wilson_ties,
)
from comparator.analysis.metrics import is_metric_field
from comparator.analysis.metrics.slicing import metric_slices
from comparator.analysis.significance import mark, versus_rest
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison
from comparator.store.table import store_for

SMALL_N = 10
__all__ = ["CI_METHODS", "DEFAULT_CI", "OUTCOMES", "TIE_PSEUDO", "Z95", "Derived",
           "bootstrap_win_rate", "default_judges", "derive", "judgment_counts", "outcomes",
           "position_consistency", "slice_table", "slice_values", "soft_win_rate", "summarize",
           "summary", "t_interval", "wilson", "wilson_ties", "winners"]


def default_judges(comp: Comparison) -> frozenset[str] | None:
    """Which judgments make an example's score when none are named: all of them, except that a
    file with both human labels (or the reference judge it names, e.g. JudgeBench's gold label)
    and model judges is scored by its model judges (the humans are then the reference)."""
    return judges_by_default(comp.judges(), comp.metadata.get("reference_judge"))


def judges_by_default(names: list[str], reference_judge: str | None = None
                      ) -> frozenset[str] | None:
    """``default_judges`` of a file whose judges are ``names`` (the SQL engines' too)."""
    refs = {"human", reference_judge or "human"}  # JudgeBench: "gold"
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
    """The per-example arrays of one judge selection (the rule: ``columnar``), computed once
    and kept in the store's memo under ``("derived", judges)``."""
    if judges == "auto":
        judges = default_judges(comp)
    st = store_for(comp)

    def build() -> Derived:
        if judges and len(judges) == 1 and next(iter(judges)).endswith(MAJORITY):
            return Derived(*majority_arrays(comp, next(iter(judges))[:-len(MAJORITY)]), judges)
        return Derived(*columnar.derive_arrays(st, judges), judges)

    return st.memo(("derived", judges), build)


def winners(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
            judges: frozenset[str] | None | str = "auto") -> np.ndarray:
    """Each example's winner ("A", "tie", "B", "unscored") under a judge selection: what the
    examples table, the side-by-side view and the exports show."""
    return np.asarray(OUTCOMES, dtype=object)[outcomes(derive(comp, judges).score,
                                                       tie_threshold)]


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
        out["scores_continuous"] = _off_grid(scores)
    out["significant"] = bool(ci is not None and (ci[0] > 0.5 or ci[1] < 0.5))
    out["small_n"] = n_scored < SMALL_N
    return out


def _off_grid(scores: np.ndarray, block: int = 1 << 16) -> bool:
    """Whether any score is off the grid of halves, a block at a time (no copies of a
    million scores)."""
    for start in range(0, len(scores), block):
        x = scores[start:start + block] * 2
        if (np.abs(x - np.round(x)) > 1e-9).any():
            return True
    return False


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
                    score[~np.isnan(score)] if counts[3] else score, ci_method)
    pc, pc_n = position_consistency(d, tie_threshold) if mask is None else (None, 0)
    out.update(position_consistency=pc, position_consistency_n=pc_n)
    return out


def judgment_counts(comp: Comparison) -> dict[str, int]:
    """The file's judgments by status: ok, unscored, error."""
    st = store_for(comp)
    return st.memo("judgment_counts", lambda: columnar.judgment_counts(st))


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
    (tags, list fields) appears once per value. Cached in the store's memo under
    ``("slice", field)`` (a metric's under ``metrics.slicing``'s key, which holds its spec)."""
    if is_metric_field(field):  # a metric (a., b., a-b., prompt.: analysis.metrics), bucketed
        return metric_slices(comp, field)
    st = store_for(comp)
    if field in ("category", "tags", "judge"):
        return st.memo(("slice", field), lambda: columnar.slice_arrays(st, field))
    return st.memo(("slice", field), lambda: _metadata_slices(st, field))


def _metadata_slices(st, field: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    name = field.removeprefix("metadata.")
    values = columnar.metadata_values(st, name)
    if values is None:
        raise KeyError(f"no field {field!r}; slice by category, tags, judge or one of "
                       f"{sorted(columnar.metadata_keys(st))}")
    codes: dict[str, int] = {}
    idx: list[int] = []
    code: list[int] = []
    for i, v in enumerate(values):
        for x in _values(v):
            idx.append(i)
            code.append(codes.setdefault(x, len(codes)))
    return (np.asarray(idx, dtype=np.int64), np.asarray(code, dtype=np.int64), list(codes))


def slice_scores(comp: Comparison, field: str, judges, idx: np.ndarray, code: np.ndarray,
                 names: list[str]) -> np.ndarray:
    """The score of each (example ``idx``, slice value ``code``) pair of ``slice_values``: the
    selected judges' score of the example, except for the field ``judge``, a slice of
    judgments: the slice's own judge's score (otherwise every judge's row shows the same
    examples scored by the same judges: identical rows for a human and a model judge). The
    value ``(none)`` (examples no judge judged) keeps the selection's score (a file's own
    ``reported_score``). ``comparator.analysis.sql.SLICE_VALUES['judge']`` is the same rule."""
    score = derive(comp, judges).score
    if field != "judge":
        return score[idx]
    out = score[idx]
    for c, name in enumerate(names):
        if name != "(none)":
            sel = code == c
            out[sel] = derive(comp, frozenset([name])).score[idx[sel]]
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
    score = slice_scores(comp, field, judges, idx, code, names)
    oc = outcomes(score, tie_threshold)
    counts = np.bincount(code * 4 + oc, minlength=4 * len(names)).reshape(len(names), 4)
    ok = ~np.isnan(score)
    n_ok = np.bincount(code[ok], minlength=len(names))
    sums = np.bincount(code[ok], weights=score[ok], minlength=len(names))
    sq = np.bincount(code[ok], weights=score[ok] ** 2, minlength=len(names))
    whole = oc if field == "judge" else outcomes(d.score if mask is None else d.score[mask],
                                                 tie_threshold)
    p_rest = versus_rest(counts[:, :3], np.bincount(whole, minlength=4)[:3])
    rows = []
    for c, value in enumerate(names):
        a, t, b, u = (int(x) for x in counts[c])
        if a + t + b + u == 0:
            continue
        rows.append(slice_row(field, value, (a, t, b, u), (int(n_ok[c]), sums[c], sq[c]),
                              p_rest[c], ci_method))
    rows.sort(key=lambda r: (-r["n"], r["value"]))
    return mark(rows)


def slice_row(field: str, value: str, counts: tuple[int, int, int, int],
              score_sums: tuple[int, float, float], p_value: float,
              ci_method: str = DEFAULT_CI) -> dict[str, Any]:
    """One slice value's row of ``slice_table`` from its counts (A, tie, B, unscored), its
    scores' count, sum and sum of squares, and its p-value against the rest (NaN: none)."""
    row = {"field": field, "value": value, **summarize(*counts, None, ci_method)}
    row["mean_score"], row["mean_score_ci95"] = mean_ci(*score_sums)
    row.update(soft_win_rate(row["mean_score"], row["mean_score_ci95"]))
    # significant: vs the rest of the data, BH-adjusted (comparator.analysis.significance)
    row["ci_excludes_half"] = row.pop("significant")
    row["p_value"] = None if np.isnan(p_value) else float(p_value)
    return row


