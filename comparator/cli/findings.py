"""``comparator findings``: where A's win rate differs from the rest and why (slice discovery
with a held-out half and Benjamini-Hochberg; the rationale themes of each finding; judge
biases), as sentences or JSON."""

from __future__ import annotations

import json

import click

from comparator.analysis import expr
from comparator.analysis.filters import apply
from comparator.analysis.result import judge_selection
from comparator.cli.options import (
    Input,
    human_vote_option,
    input_options,
    json_option,
    judge_option,
    tie_threshold_option,
)
from comparator.findings import FindingsConfig, find
from comparator.schema.jsonsafe import clean
from comparator.schema.visible import visible


@click.command(short_help="where and why A wins: slices found and tested on their own")
@input_options
@click.option("--depth", type=click.IntRange(1, 3), default=2, show_default=True,
              help="conditions per finding at most (3 tests many more conjunctions)")
@click.option("--min-size", type=click.IntRange(2), default=30, show_default=True,
              metavar="N", help="examples a finding holds at least (and 1% of the scored)")
@click.option("--seed", type=int, default=0, show_default=True,
              help="the random split into a search half and a held-out half")
@click.option("--top", type=click.IntRange(1), default=20, show_default=True,
              help="findings listed at most")
@click.option("--filter", "filters", multiple=True, metavar="EXPR",
              help="search within the examples matching EXPR (repeatable, ANDed; as report's)")
@click.option("--themes-as-conditions", is_flag=True,
              help="also slice by rationale clusters (circular: a reason follows its verdict)")
@judge_option
@tie_threshold_option()
@human_vote_option
@json_option
def findings(source: Input, depth: int, min_size: int, seed: int, top: int,
             filters: tuple[str, ...], themes_as_conditions: bool, judge: str | None,
             tie_threshold: float, human_vote: str, as_json: bool) -> int:
    """The findings of INPUT (a judged file in any supported format): the slices (conjunctions
    of up to --depth conditions on categories, metadata, metrics of A and B and their
    differences, prompt length) where A's win rate differs from the rest, tested on a random
    half and confirmed on the other, Benjamini-Hochberg-adjusted over every conjunction
    tested; the rationale themes over-represented in each; and the judge's length, position
    and self-preference biases. Each finding's ``filter`` reopens it: ``report --filter``,
    the dashboard's link or sidebar."""
    comp = source.load(columnar=True).comparison
    judges = judge_selection(comp, judge, human_vote)
    mask = apply(comp, expr.parse(list(filters)), tie_threshold, judges) if filters else None
    cfg = FindingsConfig(depth=depth, min_size=min_size, seed=seed, top=top,
                         tie_threshold=tie_threshold, judges=judges,
                         themes_as_conditions=themes_as_conditions)
    result = find(comp, cfg, mask)
    if as_json:
        print(json.dumps(clean(result), ensure_ascii=False))
        return 0
    print(f"{visible(comp.model_a)} (A) vs {visible(comp.model_b)} (B): "
          f"{result['n_scored']:,} scored examples")
    print(f"method: {result['method']}")
    found = result["findings"]
    print(f"\n{len(found)} finding(s) with adjusted p < {cfg.q}:" if found else
          f"\nno slice differs from the rest after correction ({result['tested']:,} tested)")
    for k, f in enumerate(found, 1):
        print(f"{k}. {visible(f['sentence'])}\n   filter: {visible(f['filter'])}")
    if result["biases"]:
        print("\njudge biases:")
        for b in result["biases"]:
            print(f"- {visible(b['sentence'])}")
    return 0
