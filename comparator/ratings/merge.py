"""``python -m comparator stats JUDGED --ratings FILE...``: the judge against people's ratings."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from comparator.formats import Loaded


def add_ratings_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ratings", nargs="+", type=Path, metavar="FILE",
                   help="ratings files of the Rate page (merged by example id and rater): "
                        "human_agreement is then against these ratings, plus rater_agreement")


def merge_ratings(loaded: Loaded, paths: list[Path]) -> Loaded:
    """``loaded`` with the ratings as its ``human`` judgments (raises InputError naming the
    file and line of a rating of another comparison or of an unknown id)."""
    from comparator.ratings.store import load_ratings, with_ratings
    from comparator.schema.errors import InputError

    for p in paths:
        if not p.is_file():
            raise InputError(p, "no such file (--ratings)")
    comp = loaded.comparison
    return Loaded(with_ratings(comp, load_ratings(paths, comp)), loaded.format,
                  loaded.warnings, loaded.path)


def rater_fields(loaded: Loaded, tie_threshold: float, vote: str = "mean") -> dict[str, Any]:
    """``rater_agreement``, ``left_bias`` and how the human verdict is made, for stats --json."""
    from comparator.analysis.human_vote import human_selector
    from comparator.analysis.people import left_bias, rated_mask, rater_agreement, verdict_text

    comp = loaded.comparison
    return {"rater_agreement": rater_agreement(comp, tie_threshold),
            "left_bias": left_bias(comp, tie_threshold),
            "human_verdict": verdict_text(human_selector(vote)),
            "n_rated": int(rated_mask(comp).sum())}


def print_raters(s: dict[str, Any]) -> None:
    ra = s.get("rater_agreement")
    print(f"\nrated examples: {s['n_rated']} (human verdict: {s['human_verdict']})")
    if ra:
        k = ra.get(ra["method"])
        print(f"raters {', '.join(ra['raters'])}: {ra['method'].replace('_', ' ')} "
              f"{'n/a' if k is None else f'{k:.3f}'} (n={ra['n']})")
    for r in s.get("left_bias") or []:
        if r["rate"] is not None:
            lo, hi = r["ci95"]
            print(f"{r['rater']} picks the left side {100 * r['rate']:.1f}% "
                  f"[{100 * lo:.1f}, {100 * hi:.1f}] of decided ratings (n={r['n']})")
