"""Findings: where A's win rate differs from the rest, found on one random half of the scored
examples and confirmed on the other, with every tested conjunction counted in the
Benjamini-Hochberg correction.

- Candidates: ``comparator.findings.candidates`` (one predicate per slice value / number bin).
- Search: ``comparator.findings.lattice`` (all conjunctions up to ``depth`` of at least
  ``min_size`` examples; depth 3 pruned by a bound on the statistic).
- Test: a slice's win rate (A = 1, tie = 1/2, B = 0) against the rest of the examples, the
  two-sample z test of ``comparator.analysis.significance``; Benjamini-Hochberg over every
  tested conjunction (those pruned by the bound count as tested with p = 1).
- Kept: adjusted p < q and an effect larger than that of each of its parts, each part
  narrowed to less than 95% of its examples (redundancy).
  Ranked by the smaller end of the effect's interval, |difference| - 1.96 se (the effect the
  data vouch for); conjunctions that share most of their examples are one finding, shown by
  the one with the strongest evidence (``overlapping``: how many others it stands for).
- Confirmed: the scored examples are split at random (``seed``) into two halves; a finding is
  confirmed when its difference on the held-out half has the sign it has on the search half
  and p < 0.05 there (``search`` and ``holdout`` carry each half's figures). A pattern in noise
  rarely survives both the correction and the other half.
- Reported figures (n, win rate and its tie-aware interval, rest, difference) are those of all
  the examples the filter selects, i.e. what the view shows when the finding is clicked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from comparator.analysis.intervals import Z95, wilson_ties
from comparator.analysis.significance import benjamini_hochberg
from comparator.analysis.stats import derive, outcomes
from comparator.findings import lattice, themes
from comparator.findings.biases import biases
from comparator.findings.candidates import Predicate, candidates
from comparator.findings.sentences import finding_sentence
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison
from comparator.store.table import store_for

SCHEMA_VERSION = 1
SAME_PART = 0.95  # a conjunction holding this share of a part's examples is that part
OVERLAP_SAME = 0.5  # share of the smaller slice's examples: the same finding
MAX_COMPARED = 400  # significant conjunctions grouped by overlap (the best-ranked)
MASK_CELLS = 50_000_000  # (compared findings x examples) masks kept at once
METHOD = ("slice discovery over {p} predicates of {f} fields, conjunctions up to depth {d} of at "
          "least {m} examples; two-sample z test of the win rate against the rest, "
          "Benjamini-Hochberg at q = {q} over all {t} tested; confirmed when a random half "
          "(seed {s}) and the other half agree (same sign, p < 0.05 on the held-out half)")


@dataclass
class FindingsConfig:
    depth: int = 2
    min_size: int = 30
    min_share: float = 0.01
    seed: int = 0
    q: float = 0.05
    top: int = 20
    tie_threshold: float = DEFAULT_TIE_THRESHOLD
    judges: Any = "auto"
    with_biases: bool = True
    themes_as_conditions: bool = False

    def key(self) -> tuple:
        return (self.depth, self.min_size, self.min_share, self.seed, self.q, self.top,
                self.tie_threshold, self.judges, self.with_biases,
                self.themes_as_conditions)


def find(comp: Comparison, cfg: FindingsConfig | None = None,
         mask: np.ndarray | None = None) -> dict[str, Any]:
    """The findings of ``comp`` (of the examples in ``mask`` when given), as the JSON of
    ``comparator findings``. Cached in the store's memo per configuration (and mask)."""
    cfg = cfg or FindingsConfig()
    if cfg.depth not in (1, 2, 3):
        raise ValueError(f"depth {cfg.depth}: findings search conjunctions of 1, 2 or 3 "
                         "conditions")
    key = ("findings", cfg.key(), None if mask is None else hash(np.packbits(mask).tobytes()))
    return store_for(comp).memo(key, lambda: _find(comp, cfg, mask))


def _find(comp: Comparison, cfg: FindingsConfig, mask: np.ndarray | None) -> dict[str, Any]:
    oc_all = outcomes(derive(comp, cfg.judges).score, cfg.tie_threshold)
    scored = oc_all < 3
    if mask is not None:
        scored &= mask
    n_scored = int(scored.sum())
    min_size = max(cfg.min_size, math.ceil(cfg.min_share * n_scored))
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "tested": 0, "method": "",
                           "n_scored": n_scored, "min_size": min_size, "depth": cfg.depth,
                           "seed": cfg.seed, "findings": [], "biases": []}
    if cfg.with_biases:
        out["biases"] = biases(comp, cfg.tie_threshold, cfg.judges, scored)
    preds = (candidates(comp, min_size, scored, cfg.themes_as_conditions)
             if n_scored >= 2 * min_size else [])
    if not preds:
        out["method"] = f"no field splits the {n_scored} scored examples into slices of at " \
                        f"least {min_size}"
        return out
    rows = np.flatnonzero(scored)
    oc = oc_all[rows].astype(np.int64)
    x = np.stack([p.mask[rows] for p in preds], 1)
    names = list(dict.fromkeys(p.feature for p in preds))
    feature = np.array([names.index(p.feature) for p in preds])
    half = np.zeros(len(rows), dtype=bool)
    half[np.random.default_rng(cfg.seed).permutation(len(rows))[: len(rows) // 2]] = True
    z_min = float(-_ndtri(cfg.q / 2))
    tested = lattice.search(x, feature, oc, half, cfg.depth, min_size, z_min)
    totals = [np.bincount(oc[h], minlength=3)[:3].astype(float) for h in (half, ~half)]
    s = lattice.two_sample(tested.search, totals[0])
    h = lattice.two_sample(tested.holdout, totals[1])
    full = tested.search + tested.holdout  # A / tie / B counts over all scored examples
    f = lattice.two_sample(full, totals[0] + totals[1])
    n_tested = len(tested.members) + tested.pruned
    p_adj = benjamini_hochberg(np.concatenate([f["p"], np.ones(tested.pruned)]), cfg.q)[0]
    p_adj = p_adj[: len(tested.members)]
    keep = (p_adj < cfg.q) & ~_redundant(tested.members, f["diff"], f["n"])
    order = np.flatnonzero(keep)
    order = order[np.argsort(-(np.abs(f["diff"][order]) - Z95 * f["se"][order]),
                             kind="stable")]
    order = order[:max(50, min(MAX_COMPARED, MASK_CELLS // len(rows)))]  # memory at 1M
    masks = np.stack([_mask(preds, tested.members[r], scored) for r in order]) if len(
        order) else np.zeros((0, len(scored)), dtype=bool)
    th = themes.reason_themes_of(comp)
    findings = []
    for r, same in _representatives(order, masks, np.abs(f["z"][order]), cfg.top):
        conj = [preds[i] for i in tested.members[r] if i >= 0]
        item = _finding(comp, conj, _mask(preds, tested.members[r], scored), r, s, h, f,
                        p_adj, th, full[r])
        item["overlapping"] = same
        findings.append(item)
    out["tested"] = n_tested
    out["method"] = METHOD.format(p=len(preds), f=len(names), d=cfg.depth, m=min_size,
                                  s=cfg.seed, q=cfg.q, t=f"{n_tested:,}")
    out["findings"] = findings
    return out


def _ndtri(p: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(p))


def _mask(preds: list[Predicate], members: np.ndarray, scored: np.ndarray) -> np.ndarray:
    return np.logical_and.reduce([preds[i].mask for i in members if i >= 0]) & scored


def _representatives(order: np.ndarray, masks: np.ndarray, z: np.ndarray, top: int
                     ) -> list[tuple[int, int]]:
    """One finding per group of overlapping ones: walking the ranking, a candidate not yet
    taken gathers every untaken candidate sharing at least half of the smaller one's examples
    (the same effect seen through correlated fields: words and characters, a bin and its
    neighbour, a part of it); the group is shown by its member with the strongest evidence
    (|z|) at the rank of its best, and takes what overlaps that one too. Returns (row, how
    many others it stands for)."""
    if not len(order):
        return []
    bits = np.packbits(masks, axis=1)  # popcounts of ANDed bytes: 1/8 of the memory
    size = np.bitwise_count(bits).sum(1, dtype=np.int64)
    taken = np.zeros(len(order), dtype=bool)
    out = []
    for k in range(len(order)):
        if taken[k]:
            continue
        group = _overlapping(bits, size, taken, k)
        best = group[np.argmax(z[group])]
        group = np.union1d(group, _overlapping(bits, size, taken, best))
        taken[group] = True
        out.append((int(order[best]), len(group) - 1))
        if len(out) >= top:
            break
    return out


def _overlapping(bits: np.ndarray, size: np.ndarray, taken: np.ndarray, k: int) -> np.ndarray:
    """The untaken candidates sharing at least half of the smaller one's examples with k."""
    rest = np.flatnonzero(~taken)
    inter = np.bitwise_count(bits[rest] & bits[k]).sum(1, dtype=np.int64)
    return rest[inter >= OVERLAP_SAME * np.maximum(np.minimum(size[rest], size[k]), 1)]


def _redundant(members: np.ndarray, diff: np.ndarray, size: np.ndarray) -> np.ndarray:
    """A conjunction whose |effect| is no larger than that of one of its parts (the
    conjunctions of its other predicates, all tested: a part is never smaller), or that keeps
    at least ``SAME_PART`` of a part's examples (the added condition barely narrows it: the
    part is the finding)."""
    index = {tuple(int(i) for i in m if i >= 0): r for r, m in enumerate(members)}
    out = np.zeros(len(members), dtype=bool)
    mag = np.abs(diff)
    for r, m in enumerate(members):
        parts = [i for i in m if i >= 0]
        if len(parts) < 2:
            continue
        for drop in range(len(parts)):
            sub = tuple(int(i) for k, i in enumerate(parts) if k != drop)
            q = index.get(sub)
            if q is not None and (not mag[r] > mag[q] or size[r] >= SAME_PART * size[q]):
                out[r] = True
                break
    return out


def _half(stats: dict[str, np.ndarray], r: int) -> dict[str, Any]:
    return {"n": int(stats["n"][r]), "win_rate_a": _num(stats["rate"][r]),
            "rest_win_rate_a": _num(stats["rest"][r]), "difference": _num(stats["diff"][r]),
            "p_value": _num(stats["p"][r])}


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def _finding(comp: Comparison, conj: list[Predicate], members: np.ndarray, r: int, s, h, f,
             p_adj: np.ndarray, th, counts: np.ndarray) -> dict[str, Any]:
    conds = [c for p in conj for c in p.conditions]
    hold = _half(h, r)
    confirmed = bool(hold["p_value"] is not None and hold["p_value"] < 0.05
                     and np.sign(h["diff"][r]) == np.sign(s["diff"][r]))
    lo, hi = (_num(float(x)) for x in wilson_ties(*counts))
    item = {
        "filter": " & ".join(c.expr() for c in conds),
        "filters": [c.expr() for c in conds],
        "conditions": [c.as_dict() for c in conds],
        "labels": [p.label for p in conj],
        "n": int(members.sum()),
        "win_rate_a": _num(f["rate"][r]), "win_rate_a_ci95": [lo, hi],
        "rest_win_rate_a": _num(f["rest"][r]), "difference": _num(f["diff"][r]),
        "p_value": _num(f["p"][r]), "p_adjusted": _num(p_adj[r]),
        "confirmed": confirmed, "search": _half(s, r), "holdout": hold,
        "themes": themes.lift(th, members, exclude={int(c.value) for c in conds
                                                     if c.field == "cluster"}),
    }
    item["sentence"] = finding_sentence(comp, item)
    return item
