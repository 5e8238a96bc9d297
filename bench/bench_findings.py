"""Findings (slice discovery) at scale: ``comparator.findings.find`` over N examples, depth 2,
beside ``sliceline`` (PyPI, SliceLine of Sagadeeva & Boehm, SIGMOD 2021) and a plain pandas
groupby over the same conjunctions, all on the same data in the same run. Target: all findings
<= 5 s at 100k on a 2-core machine.

The texts are the real AlpacaEval pairs of ../shared/data (tests/findings_data.py repeats the
3,220 pairs of the four annotation files to N); the verdicts are drawn by a seeded generator:
A's win rate 0.45, plus 0.15 where A's answer has more words than B's (a length preference, as
AlpacaEval's judges have), and 0.30 in one planted depth-2 slice of the candidate predicates
(about 3% of the examples), so each method has something real to find.

Rows: ``find()`` on a fresh comparison (metrics, candidates, search, BH, held-out half, biases:
what the user waits for); ``find()`` again with another seed (metric columns cached: the
search and the test); the candidate predicates and ``lattice.search`` alone; sliceline's
``Slicefinder`` over the same predicates (one categorical column per field, value = the
field's predicate, 0 = none of them; errors = 1 - A's score, k = 20, max_l = 2, min_sup =
the same minimum size); pandas ``groupby`` of every pair of predicates of distinct fields
(win-rate counts of each boolean group; timed on a subset of pairs and extrapolated when
``--pair-budget`` seconds run out, which the table says). Also checked, not timed: sliceline's
slice sizes and error sums against ours, how many of its top slices the findings report, and
the pandas counts against the lattice's.

    python bench/bench_findings.py [--n 100000] [--quick] [--pair-budget 15]

``--quick``: 20k examples; the goal is scaled linearly (1 s at 20k; conservative: fixed costs
are not scaled down). The machine's load average is printed: on a shared machine it matters.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tests"))  # tests/findings_data.py: the real texts

from findings_data import draw, real_examples, simulated  # noqa: E402

from bench import bench_io  # noqa: E402
from bench.report import emit  # noqa: E402
from comparator.analysis import expr  # noqa: E402
from comparator.analysis.filters import apply  # noqa: E402
from comparator.analysis.metrics.slicing import column  # noqa: E402
from comparator.analysis.significance import benjamini_hochberg  # noqa: E402
from comparator.findings import FindingsConfig, find, lattice  # noqa: E402
from comparator.findings.candidates import candidates  # noqa: E402

SHARED = Path(os.environ.get("COMPARATOR_TEST_DATA") or bench_io.SHARED)  # as tests/conftest.py
VALUE = np.array([1.0, 0.5, 0.0])  # outcome code 0 = A, 1 = tie, 2 = B: A's score
K, MAX_L = 20, 2
ALPHAS = (0.6, 0.99)  # its default; and one that lets a 3% slice score above 0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def data(n: int, seed: int = 0):
    """(comparison of n examples, planted mask, planted description): the verdicts depend on
    the length difference and on a planted depth-2 slice, both read on one copy of the real
    pairs (the n examples repeat them)."""
    m = len(real_examples(SHARED))
    base = simulated(SHARED, m, np.zeros(m, dtype=np.int64))
    preds = candidates(base, 100, np.ones(m, dtype=bool))
    rng = np.random.default_rng(seed)
    pairs = [(i, j) for i in range(len(preds)) for j in range(i + 1, len(preds))
             if preds[i].feature != preds[j].feature
             and 0.025 * m <= int((preds[i].mask & preds[j].mask).sum()) <= 0.04 * m]
    i, j = pairs[rng.integers(len(pairs))]
    planted_base = preds[i].mask & preds[j].mask
    longer = np.asarray(column(base, "a-b.words")) > 0
    p_a = np.where(planted_base, 0.30, 0.45 + 0.15 * longer)
    idx = np.arange(n) % m
    comp = simulated(SHARED, n, draw(rng, p_a[idx]))
    return comp, planted_base[idx], f"{preds[i].label} & {preds[j].label}"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def sliceline_run(codes: np.ndarray, errors: np.ndarray, min_size: int, alpha: float):
    from sliceline.slicefinder import Slicefinder

    sf = Slicefinder(alpha=alpha, k=K, max_l=MAX_L, min_sup=min_size, verbose=False)
    sf.fit(codes, errors)
    return sf


def pandas_pairs(x: np.ndarray, feature: np.ndarray, value: np.ndarray, budget: float):
    """The naive way: for each pair of predicates of distinct fields, a groupby of the two
    boolean columns (count and mean of A's score per group). Returns (seconds measured, pairs
    done, pairs in all, {(i, j): (count, mean) of the True/True group})."""
    import pandas as pd

    df = pd.DataFrame({f"p{k}": x[:, k] for k in range(x.shape[1])})
    df["value"] = value
    i, j = np.triu_indices(x.shape[1], 1)
    keep = feature[i] != feature[j]
    i, j = i[keep], j[keep]
    got = {}
    t = time.perf_counter()
    done = 0
    for a, b in zip(i.tolist(), j.tolist()):
        g = df.groupby([f"p{a}", f"p{b}"])["value"].agg(["count", "mean"])
        if (True, True) in g.index:
            got[(a, b)] = (int(g.loc[(True, True), "count"]), float(g.loc[(True, True), "mean"]))
        done += 1
        if time.perf_counter() - t > budget:
            break
    return time.perf_counter() - t, done, len(i), got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="20k examples")
    ap.add_argument("--pair-budget", type=float, default=15.0,
                    help="seconds of pandas groupby before extrapolating to all pairs")
    args = ap.parse_args()
    if args.quick:
        args.n = 20_000
    load0 = os.getloadavg()
    t_warm_find, _ = timed(lambda: find(data(1000)[0], FindingsConfig(depth=2, seed=0)))
    t_warm_sl, _ = timed(lambda: sliceline_run(
        np.random.default_rng(0).integers(0, 3, (500, 4)), np.random.default_rng(0).random(500),
        10, ALPHAS[0]))
    comp, planted, planted_label = data(args.n)
    mem: dict[str, float] = {}

    t_first, res = timed(lambda: find(comp, FindingsConfig(depth=2, seed=0)))
    mem["find"] = peak_mb()
    t_again, res1 = _best([timed(lambda s=s: find(comp, FindingsConfig(depth=2, seed=s)))
                           for s in (1, 2)])
    min_size = res["min_size"]
    scored = np.ones(len(comp.examples), dtype=bool)
    t_cand, preds = timed(lambda: candidates(comp, min_size, scored))
    oc = np.array([{1.0: 0, 0.0: 1, -1.0: 2}[ex["judgments"][0]["score"]]
                   for ex in comp.examples], dtype=np.int64)
    x = np.stack([p.mask for p in preds], 1).astype(np.float32)
    names = list(dict.fromkeys(p.feature for p in preds))
    feature = np.array([names.index(p.feature) for p in preds])
    half = np.zeros(len(oc), dtype=bool)
    half[np.random.default_rng(0).permutation(len(oc))[: len(oc) // 2]] = True
    t_lat, tested = _best([timed(lambda: lattice.search(x, feature, oc, half, 2, min_size,
                                                         3.0)) for _ in range(2)])
    n_pairs = int(((tested.members >= 0).sum(1) == 2).sum())
    full = lattice.two_sample(tested.search + tested.holdout,
                              np.bincount(oc, minlength=3)[:3].astype(float))
    p_adj = dict(zip((tuple(int(i) for i in m if i >= 0) for m in tested.members),
                     benjamini_hochberg(full["p"])[0]))

    # sliceline: one categorical column per field, value k + 1 = the field's k-th predicate
    codes = np.zeros((len(oc), len(names)), dtype=np.int64)
    overlapping = 0
    for k, p in enumerate(preds):
        col = codes[:, feature[k]]
        overlapping += int((p.mask & (col > 0)).sum())
        col[p.mask] = k + 1
    errors = 1.0 - VALUE[oc]
    sl = {a: timed(lambda a=a: sliceline_run(codes, errors, min_size, a)) for a in ALPHAS}
    mem["sliceline"] = peak_mb()
    t_pd, done, all_pairs, pd_counts = pandas_pairs(x.astype(bool), feature, VALUE[oc],
                                                    args.pair_budget)
    mem["pandas"] = peak_mb()
    t_pd_all = t_pd * all_pairs / max(done, 1)

    # checks (not timed): sliceline's statistics vs exact counts, overlap with the findings
    finding_masks = [apply(comp, expr.parse(f["filters"])) for f in res["findings"]]
    worse = [m for f, m in zip(res["findings"], finding_masks) if f["difference"] < 0]
    planted_ours = next((r + 1 for r, fm in enumerate(finding_masks)
                         if _jaccard(fm, planted) >= 0.7), None)
    both = {k: c for k, (c, _) in pd_counts.items() if _lattice_count(tested, *k) is not None}
    pd_match = sum(_lattice_count(tested, a, b) == c for (a, b), c in both.items())
    load1 = os.getloadavg()

    rows = [
        ("find(), first call, fresh comparison", t_first,
         f"{res['tested']:,} conjunctions tested, p-values, BH, held-out half, biases, "
         "metrics computed inside"),
        ("find(), again (other seed; metrics cached)", t_again,
         f"the same, {len(res1['findings'])} findings (best of seeds 1, 2)"),
        ("  of which: candidate predicates", t_cand,
         f"{len(preds)} predicates of {len(names)} fields (bins, values)"),
        ("  of which: lattice.search", t_lat,
         f"counts of {len(preds)} predicates + {n_pairs:,} pairs, both halves (best of 2)"),
    ]
    for a, (t, sf) in sl.items():
        rows.append((f"sliceline 0.3.0 (k={K}, max_l={MAX_L}, alpha {a})", t,
                     f"top {len(sf.top_slices_)} by its error score, one direction, no test"))
    rows.append(("pandas groupby per pair" + ("" if done == all_pairs else " (extrapolated)"),
                 t_pd_all, f"count + mean of {all_pairs:,} pairs"
                 + ("" if done == all_pairs else f" ({done:,} timed: {t_pd:.1f} s)")
                 + ", no test"))
    print(f"{args.n:,} examples (real AlpacaEval texts, simulated verdicts); depth 2; minimum "
          f"size {min_size}; {len(preds)} predicates of {len(names)} fields; "
          f"{res['tested']:,} conjunctions tested; {len(res['findings'])} findings")
    print(f"load average at start {load0[0]:.2f} / end {load1[0]:.2f} (1 min) on "
          f"{os.cpu_count()} CPU cores, BLAS threads {_blas_threads()}; peak RSS: find "
          f"{mem['find']:.0f} MB, + sliceline {mem['sliceline']:.0f} MB, + pandas "
          f"{mem['pandas']:.0f} MB")
    print(f"process warm-up, once, not in the table: find() on 1,000 examples {t_warm_find:.1f} s "
          f"(imports), sliceline on 500 {t_warm_sl:.1f} s (numba compilation)")
    print(f"first call - again = {t_first - t_again:.1f} s: metric columns, prompt columns and "
          "other first-time caches (bench_metrics.py times the metrics alone)")
    print(f"{'method':<46}{'seconds':>9}{'x 1st':>7}{'x again':>9}  computes")
    for name, t, what in rows:
        print(f"{name:<46}{t:>9.2f}{t / t_first:>7.2f}{t / t_again:>9.1f}  {what}")
    confirmed = planted_ours and res["findings"][planted_ours - 1]["confirmed"]
    print(f"planted slice ({planted_label}, {int(planted.sum()):,} examples): findings rank "
          f"{planted_ours or 'not found'}" + (", confirmed on the held-out half" if confirmed
                                              else ""))
    for a, (_t, sf) in sl.items():
        print(f"sliceline alpha {a}: " + _sliceline_check(sf, codes, errors, finding_masks,
                                                          worse, planted, p_adj))
    print(f"pandas: {pd_match} of {len(both)} pair counts (of at least the minimum size) equal "
          f"the lattice's; {overlapping} predicate overlaps within a field (lost to sliceline's "
          "one value per field)")
    goal_s = 5 * args.n / 100_000
    size = f"{args.n:,}" + (" (quick)" if args.quick else "")
    goal = f"<= {goal_s:g} s" + ("" if args.n == 100_000 else " (5 s at 100k, scaled)")
    t_sl = sl[ALPHAS[-1]][0]
    emit(f"findings, depth 2, {size} examples, first call (vs sliceline)", t_first, t_sl, "s",
         goal, t_first <= goal_s)
    emit(f"findings, depth 2, {size} examples, metrics cached (vs pandas groupby)", t_again,
         t_pd_all, "s", goal, t_again <= goal_s)


def _blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info  # scikit-learn's dependency
    except ImportError:
        return "?"
    return ",".join(str(i["num_threads"]) for i in threadpool_info()
                    if i.get("user_api") == "blas") or "?"


def _best(runs: list[tuple[float, object]]) -> tuple[float, object]:
    """The fastest of repeated runs (timeit's convention: the others met more contention)."""
    return min(runs, key=lambda r: r[0])


def _sliceline_check(sf, codes, errors, finding_masks, worse, planted, p_adj) -> str:
    """Its slices' sizes and error sums against exact counts, the overlap with ours, and how
    many pass our test (BH over all our tested conjunctions, as ``find``)."""
    exact, none_value, in_findings, masks, significant = 0, 0, 0, [], 0
    for s, stat in zip(sf.top_slices_, sf.top_slices_statistics_):
        used = [(c, v) for c, v in enumerate(s) if v is not None]
        m = np.logical_and.reduce([codes[:, c] == v for c, v in used])
        masks.append(m)
        exact += (int(m.sum()) == stat["slice_size"]
                  and abs(errors[m].sum() - stat["sum_slice_error"]) < 1e-6)
        none_value += any(v == 0 for _, v in used)
        significant += p_adj.get(tuple(sorted(v - 1 for _, v in used)), 1.0) < 0.05
        in_findings += any(_jaccard(m, fm) >= 0.7 for fm in finding_masks)
    n = len(masks)
    worse_in = sum(any(_jaccard(fm, m) >= 0.7 for m in masks) for fm in worse)
    planted_at = next((r + 1 for r, m in enumerate(masks) if _jaccard(m, planted) >= 0.7), None)
    return (f"{n} slices; {exact} of {n} with size and error sum equal to exact counts; "
            f"{significant} of the {n - none_value} made of our predicates have BH-adjusted "
            "p < 0.05 (our test over all our conjunctions); "
            f"{in_findings} of {n} are findings (Jaccard >= 0.7); {none_value} use a field's "
            f"'none of its predicates' value; {worse_in} of the {len(worse)} findings where A "
            f"does worse are among them; planted slice rank {planted_at or 'none'}")


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _lattice_count(tested, a: int, b: int) -> int | None:
    hit = np.flatnonzero((tested.members[:, 0] == a) & (tested.members[:, 1] == b))
    if not len(hit):
        return None
    r = hit[0]
    return int(tested.search[r].sum() + tested.holdout[r].sum())


if __name__ == "__main__":
    main()
