"""Judge biases, in the form of findings: length (A's win rate when its answer is longer vs
when it is not, and the raw vs length-controlled gap), position (the response shown first,
where both orders were judged) and self-preference (a judge of the same family as one model,
against the other judges). Each is a dict with ``kind``, ``sentence`` and the figures."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from comparator.analysis.intervals import wilson, wilson_ties
from comparator.analysis.length_control import lc_win_rate
from comparator.analysis.metrics.slicing import column
from comparator.analysis.stats import derive, outcomes, position_consistency
from comparator.findings.lattice import two_sample
from comparator.findings.sentences import model, p_text, pct, points
from comparator.schema.records import Comparison

LONGER = "a-b.characters>0"


def biases(comp: Comparison, tie_threshold: float, judges, scored: np.ndarray
           ) -> list[dict[str, Any]]:
    out = [b for b in (_length(comp, tie_threshold, judges, scored),
                       _position(comp, tie_threshold, judges, scored)) if b]
    return out + _self_preference(comp, tie_threshold, scored)


def _counts(oc: np.ndarray) -> np.ndarray:
    return np.bincount(oc, minlength=4)[:3].astype(float)


def _versus(oc: np.ndarray, members: np.ndarray) -> dict[str, Any]:
    """A's win rate in ``members`` vs the rest (both over scored outcomes ``oc``)."""
    c_in, total = _counts(oc[members]), _counts(oc)
    t = two_sample(c_in[None, :], total)
    lo, hi = wilson_ties(*c_in)
    return {"n": int(c_in.sum()), "win_rate_a": float(t["rate"][0]),
            "win_rate_a_ci95": [float(lo), float(hi)], "rest_win_rate_a": float(t["rest"][0]),
            "rest_n": int((total - c_in).sum()), "difference": float(t["diff"][0]),
            "p_value": float(t["p"][0])}


def _length(comp, tie_threshold, judges, scored) -> dict[str, Any] | None:
    diff = np.asarray(column(comp, "a-b.characters"), dtype=float)
    oc = outcomes(derive(comp, judges).score, tie_threshold)[scored]
    longer = diff[scored] > 0
    if longer.sum() < 10 or (~longer).sum() < 10:
        return None
    item = {"kind": "length", "filter": LONGER, **_versus(oc, longer)}
    lc = lc_win_rate(comp, tie_threshold, judges, mask=scored, rounds=0)
    raw = float((_counts(oc) @ np.array([1, 0.5, 0])) / len(oc))
    item.update(raw_win_rate_a=raw, win_rate_a_lc=lc["win_rate_a_lc"],
                lc_length_coef=lc["lc_length_coef"])
    text = (f"Length: when {model(comp, 'A')}'s answer is longer (n = {item['n']:,}) it wins "
            f"{pct(item['win_rate_a'])} vs {pct(item['rest_win_rate_a'])} when it is not "
            f"({points(item['difference'])}, p {p_text(item['p_value'])})")
    if lc["win_rate_a_lc"] is not None:
        text += (f"; length-controlled, A's win rate is {pct(lc['win_rate_a_lc'])} against "
                 f"{pct(raw)} raw ({points(raw - lc['win_rate_a_lc'])} from length)")
    item["sentence"] = text + "."
    return item


def _position(comp, tie_threshold, judges, scored) -> dict[str, Any] | None:
    d = derive(comp, judges)
    both = scored & ~np.isnan(d.score_unflipped) & ~np.isnan(d.score_flipped)
    n = int(both.sum())
    if n < 10:
        return None
    first = int((outcomes(d.score_unflipped[both], tie_threshold) == 0).sum()
                + (outcomes(d.score_flipped[both], tie_threshold) == 2).sum())
    second = int((outcomes(d.score_unflipped[both], tie_threshold) == 2).sum()
                 + (outcomes(d.score_flipped[both], tie_threshold) == 0).sum())
    decisive = first + second
    if not decisive:
        return None
    from scipy.special import ndtr

    rate = first / decisive
    z = (first - decisive / 2) / np.sqrt(decisive / 4)
    agree, _ = position_consistency(d, tie_threshold)
    item = {"kind": "position", "n": n, "decisive": decisive, "first_wins": rate,
            "first_wins_ci95": list(wilson(rate, decisive)), "difference": rate - 0.5,
            "p_value": float(2 * ndtr(-abs(z))), "consistency": agree}
    item["sentence"] = (
        f"Position: where both orders were judged (n = {n:,}), the response shown first wins "
        f"{pct(rate)} of {decisive:,} decisive verdicts (p {p_text(item['p_value'])}); the "
        f"verdict is the same in both orders for {pct(agree)} of the examples.")
    return item


GENERIC = {"", "eval", "turbo", "preview", "instruct", "chat", "weighted", "vanilla", "both",
           "orders", "base", "judge", "annotator", "fn", "cot", "v", "hf", "it", "model"}


def family(name: str | None) -> str:
    """A model's family: the letters of the first word of its name after any ``org/``
    (``gpt-4o`` and ``gpt4_1106_preview`` -> gpt, ``meta-llama/Llama-3-70b`` -> llama)."""
    words = _words(name)
    return words[0] if words else ""


def _words(name: str | None) -> list[str]:
    base = (name or "").lower().rsplit("/", 1)[-1]
    words = [re.sub(r"\d.*$", "", w) for w in re.split(r"[-_ .:@]+", base)]
    return [w for w in words if w not in GENERIC]


def shares_family(judge: str, model: str | None) -> bool:
    """Whether a judge's name holds the model's family as one of its words (AlpacaEval's
    annotator ``weighted_alpaca_eval_gpt4_turbo`` is a gpt judge)."""
    fam = family(model)
    return bool(fam) and fam in _words(judge)


def _self_preference(comp, tie_threshold, scored) -> list[dict[str, Any]]:
    out = []
    judges = [j for j in comp.judges() if j]
    for j in judges:
        mine_a, mine_b = shares_family(j, comp.model_a), shares_family(j, comp.model_b)
        if mine_a == mine_b:
            continue
        side = "A" if mine_a else "B"
        mine = outcomes(derive(comp, frozenset([j])).score, tie_threshold)
        others = [k for k in judges if k != j]
        item: dict[str, Any] = {"kind": "self_preference", "judge": j, "favours": side}
        ok = scored & (mine < 3)
        c = _counts(mine[ok])
        if not c.sum():
            continue
        rate = float(c @ np.array([1, 0.5, 0]) / c.sum())
        item.update(n=int(c.sum()), win_rate_a=rate)
        if others:
            theirs = outcomes(derive(comp, frozenset(others)).score, tie_threshold)
            both = ok & (theirs < 3)
            if both.sum() >= 10:
                t = two_sample(_counts(mine[both])[None, :], _counts(mine[both])
                               + _counts(theirs[both]))
                item.update(other_judges=others, other_win_rate_a=float(t["rest"][0]),
                            difference=float(t["diff"][0]), p_value=float(t["p"][0]))
        who = model(comp, side)
        if "difference" in item:
            item["sentence"] = (
                f"Self-preference: the judge {j} shares a family with {who}; on the "
                f"{item['n']:,} examples it scored, A's win rate is {pct(rate)} under it vs "
                f"{pct(item['other_win_rate_a'])} under the other judges "
                f"({points(item['difference'])}, p {p_text(item['p_value'])}).")
        else:
            item["sentence"] = (
                f"Self-preference possible: the judge {j} shares a family with {who} and no "
                f"other judge scored these examples to compare with (A's win rate "
                f"{pct(rate)}, n = {item['n']:,}).")
        out.append(item)
    return out
