"""The headline figure of each benchmark whose files we read, computed as its own scripts do.

- ``arena_hard_score``: Arena-Hard-Auto's win rate of the model against the baseline
  (``show_result.py``): every game is a battle, a strong verdict (``A>>B``) three battles, a tie
  half a win; in percent, with a percentile bootstrap interval over battles. v0.1 files drop an
  unscored game (its ``get_battles_from_row`` gives it weight 0) and report a 95% interval
  (2.5/97.5 percentiles of 100 bootstrap rounds); v2.0 files drop the whole record when either
  game is unscored and report a 90% interval (5/95 percentiles). We draw 1,000 seeded rounds.
- ``single_scores``: FastChat's single-mode table (``show_result.py --mode single``): per model,
  the mean grade over rows with score != -1, overall and per turn.
- ``reference_accuracy``: a judge's accuracy against a reference judge (JudgeBench's gold
  label): the share of ALL examples with a reference verdict on which the judge's example-level
  verdict equals it; an unscored example or a tie counts as wrong, as in JudgeBench's
  ``utils/metrics.py`` (for any tie threshold below 0.5, the mean of two +-1 games is a win
  exactly when JudgeBench's counter is positive).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from comparator.analysis.stats import derive, outcomes, slice_values
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison
from comparator.store.table import store_for

ROUNDS = 1000
LEVELS = {"v0.1": (2.5, 97.5), "v2.0": (5.0, 95.0)}


def _per_example(comp: Comparison, drop: str) -> np.ndarray:
    """(3, n): each example's model wins, ties and baseline wins counted in battles (a +-1.5
    game is three); with ``drop="record"``, nothing for an example with an unscored game."""
    def build() -> np.ndarray:
        j = store_for(comp).judgments()
        parent, score, use = np.asarray(j["parent"]), j["score"], j["ok"].copy()
        n = len(comp.examples)
        if drop == "record":
            whole = np.bincount(parent[use], minlength=n) == np.bincount(parent, minlength=n)
            use &= whole[parent]
        weight = np.where(np.abs(score) == 1.5, 3, 1)
        return np.stack([np.bincount(parent[use & side], weights=weight[use & side],
                                     minlength=n).astype(np.int64)
                         for side in (score > 0, score == 0, score < 0)])
    return store_for(comp).memo(("arena_hard_battles", drop), build)


def _battles(comp: Comparison, mask: np.ndarray | None, drop: str, swapped: bool
             ) -> tuple[int, int, int]:
    """(model wins, ties, baseline wins) counted in battles over the examples in ``mask``
    (``swapped``: the baseline is A)."""
    per = _per_example(comp, drop)
    wins, ties, losses = (per if mask is None else per[:, mask]).sum(axis=1).tolist()
    return (losses, ties, wins) if swapped else (wins, ties, losses)


def _score(wins: int, ties: int, losses: int, level: tuple[float, float], seed: int
           ) -> dict[str, Any]:
    n = wins + ties + losses
    if n == 0:
        return {"score": None, "ci": None, "battles": 0}
    p = [wins / n, ties / n, losses / n]
    # a resample of n battles is a multinomial draw of the three outcome counts
    draws = np.random.default_rng(seed).multinomial(n, p, size=ROUNDS)
    rates = (draws[:, 0] + 0.5 * draws[:, 1]) / n
    lo, hi = np.percentile(rates, level)
    return {"score": 100 * (wins + 0.5 * ties) / n, "ci": [100 * float(lo), 100 * float(hi)],
            "battles": n}


def arena_hard_score(comp: Comparison, seed: int = 0) -> dict[str, Any] | None:
    """Arena-Hard's score of the model against its baseline (``model_b``; ``model_a`` in a
    swapped file) (None for other files)."""
    info = comp.metadata.get("arena_hard")
    if not info:
        return None
    layout = info.get("layout", "v2.0")
    drop = info.get("drop", "record")
    level = LEVELS.get(layout, LEVELS["v2.0"])
    # a swapped file (comparator.schema.swap) has the baseline as A: the score stays the model's
    swapped = comp.model_a == " | ".join(info.get("baselines") or ()) != comp.model_b
    model, baseline = (comp.model_b, comp.model_a) if swapped else (comp.model_a, comp.model_b)
    out: dict[str, Any] = {"model": model, "baseline": baseline, "layout": layout,
                           "unscored_dropped": "game" if drop == "game" else "record",
                           "ci_level": level[1] - level[0], "bootstrap_rounds": ROUNDS}
    if len(info.get("baselines") or []) <= 1:
        out.update(_score(*_battles(comp, None, drop, swapped), level, seed))
    else:
        out.update(score=None, ci=None, battles=None)  # one score per category and baseline
    # the categories coded by Arrow, in the order first seen (not a million Python strings)
    cats = store_for(comp).column("category").fill_null("").combine_chunks().dictionary_encode()
    code = cats.indices.to_numpy(zero_copy_only=False)
    out["by_category"] = {str(c): _score(*_battles(comp, code == k, drop, swapped), level, seed)
                          for k, c in enumerate(cats.dictionary.to_pylist()) if c}
    return out


def single_scores(comp: Comparison) -> dict[str, Any] | None:
    """FastChat's single-mode table for every model graded in the file (None for others)."""
    grades = comp.metadata.get("single_grades")
    if not grades:
        return None
    out = {}
    for model, g in grades.items():
        score = np.asarray(g["score"], dtype=float)
        turn = np.asarray(g["turn"])
        keep = score != -1
        by_turn = {str(t): float(score[keep & (turn == t)].mean())
                   for t in sorted(set(turn[keep].tolist()))}
        out[model] = {"mean": float(score[keep].mean()) if keep.any() else None,
                      "n": int(keep.sum()), "by_turn": by_turn}
    return out


def reference_accuracy(comp: Comparison, judge: str, reference: str,
                       tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                       mask: np.ndarray | None = None) -> dict[str, Any]:
    """Accuracy of ``judge`` against ``reference`` over every example the reference scored
    (the judge's unscored examples count as wrong)."""
    ref = outcomes(derive(comp, frozenset([reference])).score, tie_threshold)
    got = outcomes(derive(comp, frozenset([judge])).score, tie_threshold)
    has = ref != 3
    if mask is not None:
        has &= mask
    n = int(has.sum())
    correct = int((got[has] == ref[has]).sum())
    return {"judge": judge, "reference": reference, "n": n, "correct": correct,
            "accuracy": correct / n if n else None,
            "unscored": int((got[has] == 3).sum())}


def judgebench_accuracy(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD
                        ) -> dict[str, Any] | None:
    """Per judge: overall accuracy and per JudgeBench source group (None for other files)."""
    reference = comp.metadata.get("reference_judge")
    if not reference:
        return None
    groups = (comp.metadata.get("judgebench") or {}).get("groups") or []
    idx, code, names = slice_values(comp, "source_group")
    masks = {}
    for g in groups:
        masks[g] = np.zeros(len(comp.examples), dtype=bool)
        if g in names:
            masks[g][idx[code == names.index(g)]] = True
    out = {}
    for judge in (j for j in comp.judges() if j != reference):
        row = reference_accuracy(comp, judge, reference, tie_threshold)
        row["groups"] = {g: reference_accuracy(comp, judge, reference, tie_threshold, masks[g])
                         for g in groups}
        out[judge] = row
    return out


def benchmark_figures(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD
                      ) -> dict[str, Any]:
    """The figures above that apply to this file, keyed as in ``stats --json``."""
    figures = {"arena_hard_score": arena_hard_score(comp),
               "single_scores": single_scores(comp),
               "reference_accuracy": judgebench_accuracy(comp, tie_threshold)}
    return {k: v for k, v in figures.items() if v is not None}


def figure_lines(s: dict[str, Any]) -> list[str]:
    """The benchmark figures of a ``stats`` result as text lines (for the CLI)."""
    lines = []
    ah = s.get("arena_hard_score")
    if ah:
        for name, r in [("overall", ah), *ah["by_category"].items()]:
            if r.get("score") is not None:
                lo, hi = r["ci"]
                lines.append(f"Arena-Hard score ({name}): {r['score']:.1f}% "
                             f"[{lo:.1f}, {hi:.1f}] ({ah['ci_level']:g}% bootstrap, "
                             f"{r['battles']} battles)")
    for model, r in (s.get("single_scores") or {}).items():
        turns = ", ".join(f"turn {t} {v:.3f}" for t, v in r["by_turn"].items())
        mean = "n/a" if r["mean"] is None else f"{r['mean']:.3f}"
        lines.append(f"MT-Bench single grade of {model}: {mean} ({turns}; n={r['n']})")
    for judge, r in (s.get("reference_accuracy") or {}).items():
        if r["accuracy"] is not None:
            groups = ", ".join(f"{g} {100 * x['accuracy']:.2f}%" for g, x in r["groups"].items()
                               if x["accuracy"] is not None)
            lines.append(f"{judge} accuracy vs {r['reference']}: {100 * r['accuracy']:.2f}% of "
                         f"{r['n']} ({groups})")
    return lines
