"""The search over conjunctions of predicates, SliceLine-style (Sagadeeva & Boehm, SIGMOD
2021): the counts of every pair are the product of the 0/1 membership matrix with itself,
weighted by each outcome (A / tie / B), computed on bit-packed columns (a popcount of ANDed
64-bit words: 1/64 of the memory of a float matrix, exact, single-threaded, so a busy
machine's BLAS threads cannot stall it); depth 3 extends the pairs that survive pruning by size
(a child is never larger than its parent) and by an upper bound on the test statistic any
subset of the parent can reach (the most extreme outcomes the parent holds, at every
admissible size).

Everything here is numpy over arrays; ``comparator.findings.build`` turns the result into
findings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comparator.analysis import significance

VALUE = np.array([1.0, 0.5, 0.0])  # outcome code 0 = A, 1 = tie, 2 = B
BLOCK = 512  # depth-3 parents per matrix product


@dataclass
class Tested:
    """The tested conjunctions: ``members`` (k, depth) predicate indices (-1 = unused), and
    the outcome counts (k, 3) of each in the two halves."""

    members: np.ndarray
    search: np.ndarray
    holdout: np.ndarray
    pruned: int  # conjunctions counted as tested without a count (bound below significance)


def pack(cols: np.ndarray) -> np.ndarray:
    """(n, P) booleans -> (P, W) uint64 words of bits, one row per column."""
    b = np.packbits(np.ascontiguousarray(np.asarray(cols, dtype=bool).T), axis=1)
    pad = (-b.shape[1]) % 8
    if pad:
        b = np.pad(b, ((0, 0), (0, pad)))
    return np.ascontiguousarray(b).view(np.uint64)


def _pop(words: np.ndarray) -> np.ndarray:
    return np.bitwise_count(words).sum(-1, dtype=np.int64)


def _counts(bits: np.ndarray, outcome: np.ndarray, left: np.ndarray | None = None
            ) -> np.ndarray:
    """(L, P, 3) outcome counts of every pair (row of ``left`` or of ``bits``, row of
    ``bits``): popcounts of ANDed bit columns (exact, single-threaded, no BLAS)."""
    left = bits if left is None else left
    out = np.empty((len(left), len(bits), 3))
    for k in range(3):
        bk = bits & outcome[k]
        for r in range(len(left)):
            out[r, :, k] = _pop(left[r] & bk)
    return out


def z_bound(counts: np.ndarray, total: np.ndarray, min_size: float) -> np.ndarray:
    """An upper bound on |z| of the two-sample test for any subset (of at least ``min_size``
    examples) of each parent with ``counts`` (k, 3): the subset of size s made of the parent's
    s highest (or lowest) outcomes has the largest (smallest) mean; |S_s - s mu| / sqrt(s) is,
    on each run of equal outcomes, (c + d s) / sqrt(s), maximal at an end or at s = c / d. The
    rest's mean is taken as the overall mean, with the factor sqrt(n / (n - s)) at its
    largest (s = the parent's size)."""
    n = total.sum()
    mu = total @ VALUE / n
    var = total @ VALUE**2 / n - mu * mu
    if not var > 0:
        return np.zeros(len(counts))
    size = counts.sum(1)
    best = np.zeros(len(counts))
    for order in ((0, 1, 2), (2, 1, 0)):
        start = np.zeros(len(counts))
        acc = np.zeros(len(counts))  # S_start - start * mu
        for k in order:
            run = counts[:, k]
            d = VALUE[k] - mu
            c = acc - d * start  # S_s - s mu = c + d s on this run
            lo = np.maximum(start, min_size)
            hi = start + run
            ok = hi >= lo
            cands = [lo, hi]
            with np.errstate(divide="ignore", invalid="ignore"):
                cands.append(np.clip(np.where(d != 0, c / d, lo), lo, hi))
            for s in cands:
                with np.errstate(divide="ignore", invalid="ignore"):
                    f = np.abs(c + d * s) / np.sqrt(s)
                best = np.where(ok & (s > 0), np.maximum(best, np.nan_to_num(f)), best)
            acc = acc + d * run
            start = hi
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.sqrt(n / np.maximum(n - size, 1))
    return best * factor / np.sqrt(var)


def search(x: np.ndarray, feature: np.ndarray, oc: np.ndarray, half: np.ndarray, depth: int,
           min_size: int, z_min: float) -> Tested:
    """Every conjunction of up to ``depth`` predicates of distinct features with at least
    ``min_size`` examples (both halves together). ``x``: (n, P) boolean membership of the
    scored examples (packed into bit columns here); ``oc``: their outcome codes; ``half``:
    True for the search half. Parents whose ``z_bound`` (all examples) is below ``z_min`` are
    not extended: their children are counted in ``pruned``."""
    total = np.bincount(oc, minlength=3)[:3].astype(float)
    halves = [(pack(x[h]), pack(np.stack([oc[h] == k for k in range(3)], 1)))
              for h in (half, ~half)]
    p = x.shape[1]
    members = [np.arange(p)[:, None]]
    search_c, hold_c = ([np.stack([_pop(b & o[k]) for k in range(3)], 1).astype(float)]
                        for b, o in halves)
    pruned = 0
    if depth >= 2 and p > 1:
        c2s, c2h = (_counts(b, o) for b, o in halves)
        i, j = np.triu_indices(p, 1)
        ok = (feature[i] != feature[j]) & (c2s[i, j].sum(1) + c2h[i, j].sum(1) >= min_size)
        i, j = i[ok], j[ok]
        members.append(np.stack([i, j], 1))
        search_c.append(c2s[i, j])
        hold_c.append(c2h[i, j])
        if depth >= 3 and len(i):
            grow = z_bound(c2s[i, j] + c2h[i, j], total, 1) >= z_min
            pruned = _children(feature, i[~grow], j[~grow])
            m3, s3, h3 = _depth3(halves, feature, i[grow], j[grow], min_size)
            members.append(m3)
            search_c.append(s3)
            hold_c.append(h3)
    width = max(m.shape[1] for m in members)
    padded = [np.pad(m, ((0, 0), (0, width - m.shape[1])), constant_values=-1) for m in members]
    return Tested(np.concatenate(padded), np.concatenate(search_c), np.concatenate(hold_c),
                  pruned)


def _children(feature: np.ndarray, pi: np.ndarray, pj: np.ndarray) -> int:
    """How many children (i, j, k), k > j, of distinct features the pairs have (at most)."""
    p = len(feature)
    same_after = {f: np.flatnonzero(feature == f) for f in np.unique(feature)}
    total = 0
    for i, j in zip(pi.tolist(), pj.tolist()):
        later = p - 1 - j
        for f in {feature[i], feature[j]}:
            idx = same_after[f]
            later -= len(idx) - np.searchsorted(idx, j, side="right")
        total += max(later, 0)
    return total


def _depth3(halves, feature, pi, pj, min_size):
    """Children (i, j, k), k > j, of the pairs (pi, pj), counted in blocks of parents."""
    p = len(feature)
    (bs, os_), (bh, oh) = halves
    mem, sc, hc = [], [], []
    for lo in range(0, len(pi), BLOCK):
        bi, bj = pi[lo:lo + BLOCK], pj[lo:lo + BLOCK]
        cs = _counts(bs, os_, bs[bi] & bs[bj])
        ch = _counts(bh, oh, bh[bi] & bh[bj])
        r, k = np.nonzero((np.arange(p)[None, :] > bj[:, None])
                          & (feature[None, :] != feature[bi][:, None])
                          & (feature[None, :] != feature[bj][:, None]))
        size = cs[r, k].sum(1) + ch[r, k].sum(1)
        ok = size >= min_size
        r, k = r[ok], k[ok]
        mem.append(np.stack([bi[r], bj[r], k], 1))
        sc.append(cs[r, k])
        hc.append(ch[r, k])
    if not mem:
        return np.zeros((0, 3), np.int64), np.zeros((0, 3)), np.zeros((0, 3))
    return np.concatenate(mem), np.concatenate(sc), np.concatenate(hc)


def two_sample(counts: np.ndarray, total: np.ndarray) -> dict[str, np.ndarray]:
    """``analysis.significance.two_sample`` of each row of ``counts`` against the rest of
    ``total``, an untestable one (empty side, constant outcome) as p = 1, z = 0: it is
    counted in the correction and never found."""
    out = significance.two_sample(counts, total)
    out["p"] = np.where(out["testable"], out["p"], 1.0)
    out["z"] = np.where(out["testable"], out["z"], 0.0)
    return out
