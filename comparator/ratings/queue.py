"""What to rate: queues of example indices (seeded, so every rater and every reload of the same
settings gets the same queue), and the per-rater left/right order."""

from __future__ import annotations

import hashlib

import numpy as np

from comparator.analysis.stats import default_judges, derive, outcomes, slice_values
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison

KINDS = {
    "sample": "a seeded random sample of N",
    "stratified": "N per slice of a field (stratified)",
    "disagreements": "where the judge's two orders or its judges disagree",
    "filtered": "the examples of the current filters (Examples page)",
}


def random_sample(comp: Comparison, n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(len(comp.examples))[:max(0, n)]


def stratified(comp: Comparison, field: str, n_per: int, seed: int = 0) -> np.ndarray:
    """Up to ``n_per`` examples of every value of ``field`` (seeded), in a seeded shuffled order;
    an example in several slices (tags) counts once."""
    rng = np.random.default_rng(seed)
    idx, code, names = slice_values(comp, field)
    picked = [rng.permutation(idx[code == c])[:max(0, n_per)] for c in range(len(names))]
    pool = np.unique(np.concatenate(picked)) if picked else np.zeros(0, np.int64)
    return rng.permutation(pool)


def disagreements(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                  seed: int = 0) -> np.ndarray:
    """Examples whose model judges' verdicts differ: the two orders (shown vs swapped) of the
    judges, or two model judges with each other (seeded shuffle)."""
    judges = default_judges(comp)
    names = [j for j in comp.judges() if j != "human"] if judges is not None else comp.judges()
    d = derive(comp, judges)
    both = ~np.isnan(d.score_unflipped) & ~np.isnan(d.score_flipped)
    hit = both & (outcomes(d.score_unflipped, tie_threshold)
                  != outcomes(d.score_flipped, tie_threshold))
    if len(names) > 1:
        codes = np.stack([outcomes(derive(comp, frozenset([n])).score, tie_threshold)
                          for n in names])
        scored = codes != 3
        lo = np.where(scored, codes, 9).min(0)
        hi = np.where(scored, codes, -1).max(0)
        hit |= (scored.sum(0) >= 2) & (lo != hi)
    return np.random.default_rng(seed).permutation(np.flatnonzero(hit))


def build_queue(comp: Comparison, kind: str, n: int = 50, seed: int = 0, field: str | None = None,
                mask: np.ndarray | None = None,
                tie_threshold: float = DEFAULT_TIE_THRESHOLD) -> np.ndarray:
    """Example indices to rate, in order."""
    if kind == "sample":
        return random_sample(comp, n, seed)
    if kind == "stratified":
        if not field:
            raise ValueError("pick a field to stratify by")
        return stratified(comp, field, n, seed)
    if kind == "disagreements":
        return disagreements(comp, tie_threshold, seed)
    if kind == "filtered":
        return np.flatnonzero(mask) if mask is not None else np.arange(len(comp.examples))
    raise ValueError(f"queue kind must be one of {', '.join(KINDS)}, got {kind!r}")


def shown_flipped(rater: str, example_id: str) -> bool:
    """Whether B is shown on the left for this rater and example: a fair coin seeded by the
    rater and the id (the same on every reload; recorded in the rating as ``flipped``)."""
    h = hashlib.sha256(f"{rater}\x00{example_id}".encode()).digest()
    return bool(h[0] & 1)
