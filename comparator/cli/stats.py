"""``comparator stats``: win rates, intervals, slices, consistency, agreement (text or JSON)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from comparator.analysis.benchmarks import figure_lines
from comparator.analysis.result import RaterSummary, StatsResult, stats_result
from comparator.analysis.sql_stats import sql_json, sql_stats
from comparator.cli.options import (
    Input,
    ci_option,
    human_vote_option,
    input_options,
    json_option,
    judge_option,
    ratings_option,
    sql_engine_checks,
    sql_engine_options,
    tie_threshold_option,
)
from comparator.ratings.merge import merge_ratings
from comparator.schema.visible import visible


@click.command(short_help="win rates, intervals, slices, consistency, agreement")
@input_options
@click.option("--by", multiple=True, metavar="FIELD",
              help="slice by category, tags, judge, or a metadata field (repeatable)")
@tie_threshold_option()
@ci_option
@judge_option
@human_vote_option
@json_option
@ratings_option
@sql_engine_options("headline, slices by category/tags/judge and intervals")
def stats(source: Input, by: tuple[str, ...], tie_threshold: float, ci: str, judge: str | None,
          human_vote: str, as_json: bool, ratings: tuple[Path, ...], engine: str,
          spark_master: str | None, spark_remote: str | None) -> int:
    """The statistics of INPUT (a judged file in any supported format): win rate of A with
    its interval, mean score, soft and length-controlled win rates, slices, position
    consistency, judge reliability, benchmark figures and agreement with people."""
    sql_engine_checks(engine, source, spark_master, spark_remote, **{"--ratings": ratings})
    if engine != "local":
        return _sql_stats(engine, source, by, tie_threshold, ci, judge, human_vote, as_json,
                          spark_master, spark_remote)
    if ratings:
        loaded = merge_ratings(source.load(), list(ratings))
    else:
        loaded = source.load(columnar=True)
    s = stats_result(loaded, list(by), tie_threshold, ci, judge, human_vote, rated=bool(ratings))
    if as_json:
        print(json.dumps(s.to_json(), ensure_ascii=False))
    else:
        print_stats(s)
        if s.raters is not None:
            print_raters(s.raters)
    return 0


def _sql_stats(engine: str, source: Input, by: tuple[str, ...], tie_threshold: float,
               ci: str, judge: str | None, human_vote: str, as_json: bool,
               master: str | None, remote: str | None) -> int:
    """``stats --engine duckdb|spark``: the SQL engines read our Parquet layout only."""
    s = sql_stats(source.path, engine, by, tie_threshold, ci, judge, human_vote, master, remote)
    if as_json:
        print(json.dumps(sql_json(s, engine), ensure_ascii=False))
    else:
        print_stats(s)
        print(f"(engine {engine}: position consistency, length control, reliability, "
              "benchmark figures and agreement are computed by --engine local)")
    return 0


def _fmt_rate(rate: float | None, ci: list[float] | None) -> str:
    if rate is None:
        return "n/a"
    lo, hi = ci
    return f"{100 * rate:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def _pct_ci(ci: list[float] | None) -> str:
    lo, hi = ci or (math.nan, math.nan)
    return f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def print_stats(s: StatsResult) -> None:
    print(f"{visible(s.model_a)} (A) vs {visible(s.model_b)} (B) — {s.n} examples, "
          f"format {s.format}")
    if any(j.split("@")[0] == "human" for j in s.score_judges) or s.human_agreement:
        print(f"human verdict: {s.human_vote} of the annotators")
    print(f"A wins {s.a_wins}, ties {s.ties}, B wins {s.b_wins}, unscored "
          f"{s.unscored}  (tie threshold ±{s.tie_threshold})")
    print(f"win rate of A: {_fmt_rate(s.win_rate_a, s.win_rate_a_ci95)}  "
          f"(95% {s.ci_method} interval)")
    if s.scores_continuous and s.win_rate_a_soft is not None:
        print(f"soft win rate of A: {100 * s.win_rate_a_soft:.1f}% "
              f"{_pct_ci(s.win_rate_a_soft_ci95)}  (AlpacaEval's convention: mean of "
              "(score + 1.5) / 3)")
    if s.win_rate_a_lc is not None:
        print(f"length-controlled win rate of A: {100 * s.win_rate_a_lc:.1f}% "
              f"{_pct_ci(s.win_rate_a_lc_ci95)}  (AlpacaEval-style, at equal lengths)")
    if s.mean_score is not None:
        ci = s.mean_score_ci95
        extra = f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""
        print(f"mean score: {s.mean_score:+.3f}{extra}")
    if s.position_consistency is not None:
        print(f"position consistency: {100 * s.position_consistency:.1f}% of "
              f"{s.position_consistency_n} examples judged in both orders")
    for line in figure_lines(s.figures):
        print(line)
    for name, a in (s.human_agreement or {}).items():
        _print_agreement(name, a)
    if s.slices:
        values = [visible(r.value) for r in s.slices]  # one line each, widths as shown
        width = max(map(len, values))
        print(f"\n{'slice':<{width}}  {'n':>6} {'A':>5} {'tie':>5} {'B':>5}  win rate of A")
        for r, value in zip(s.slices, values):
            flag = " *" if r.significant else ("  (small n)" if r.small_n else "")
            print(f"{value:<{width}}  {r.n:>6} {r.a_wins:>5} {r.ties:>5} "
                  f"{r.b_wins:>5}  {_fmt_rate(r.win_rate_a, r.win_rate_a_ci95)}{flag}")
        print("* differs from the rest of the data (two-sample test, Benjamini–Hochberg "
              "adjusted p < 0.05 over the slices shown)")


def _print_agreement(name: str, a: dict[str, Any]) -> None:
    if a["agreement"] is None:
        return
    wt = a["agreement_without_ties"]
    print(f"{visible(name)} vs human: agreement {100 * a['agreement']:.1f}% with ties, "
          f"{'n/a' if wt is None else f'{100 * wt:.1f}%'} without, "
          f"kappa {a['cohen_kappa']:.3f} (n={a['n']})")
    if a.get("judgment_agreement") is not None:
        print(f"  per judgment (each order counted, unscored = disagree): "
              f"{100 * a['judgment_agreement']:.1f}% of {a['judgment_n']}")


def print_raters(r: RaterSummary) -> None:
    ra = r.rater_agreement
    print(f"\nrated examples: {r.n_rated} (human verdict: {r.human_verdict})")
    if ra:
        k = ra.get(ra["method"])
        print(f"raters {', '.join(map(visible, ra['raters']))}: {ra['method'].replace('_', ' ')} "
              f"{'n/a' if k is None else f'{k:.3f}'} (n={ra['n']})")
    for b in r.left_bias or []:
        if b["rate"] is not None:
            lo, hi = b["ci95"]
            print(f"{visible(b['rater'])} picks the left side {100 * b['rate']:.1f}% "
                  f"[{100 * lo:.1f}, {100 * hi:.1f}] of decided ratings (n={b['n']})")
