"""``comparator report``: a slice report as HTML, Markdown, CSV or JSON."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from comparator.cli.options import (
    Input,
    ci_option,
    exclusive,
    human_vote_option,
    input_options,
    judge_option,
    ratings_option,
    sql_engine_checks,
    sql_engine_options,
    tie_threshold_option,
)
from comparator.reports.build import ViewSpec, build
from comparator.reports.export import FORMATS, write_report
from comparator.reports.sql_report import build_sql
from comparator.schema.swap import swap as swap_sides


@click.command(short_help="a slice report: HTML (self-contained), Markdown, CSV of the "
               "filtered examples, or JSON of every figure")
@input_options
@click.option("--by", multiple=True, metavar="FIELD",
              help="slice tables by category, tags, judge, metadata or a metric (repeatable)")
@click.option("--filter", "filters", multiple=True, metavar="EXPR",
              help="keep examples matching EXPR (repeatable, ANDed; or joined by ' & ' in "
                   "one EXPR, as a finding's filter): field=value, "
                   "winner=A|B|tie, score>=x, score<=x, search=TEXT, regex=PATTERN, "
                   "ngram=WORDS, cluster=N, index=I,J, a.words>200, a-b.words>=120 (A - B), "
                   "prompt.words>=35, prompt.turns>1")
@judge_option
@tie_threshold_option()
@ci_option
@human_vote_option
@click.option("--examples", type=int, default=10, show_default=True, metavar="N",
              help="example pairs shown: largest |score| first")
@click.option("--sample", type=int, metavar="SEED",
              help="show a random sample of the filtered examples, seeded (not with --pick)")
@click.option("--pick", metavar="ID,...", help="show these examples (by id)")
@ratings_option
@click.option("--swap", is_flag=True,
              help="swap A and B, as the dashboard's \"Swap A and B\" (B's model becomes A)")
@click.option("--findings-depth", type=click.IntRange(1, 3), default=2, show_default=True,
              metavar="D", help="the Findings section: conditions per finding at most "
                                "(as findings --depth; 3 tests many more conjunctions)")
@click.option("--no-findings", is_flag=True,
              help="leave out the Findings section (about 1 s per 100,000 examples at depth 2)")
@sql_engine_options("headline, slices by category/tags/judge and intervals (HTML, Markdown, "
                    "JSON)")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="OUT.html, OUT.md, OUT.csv or OUT.json")
def report(source: Input, by: tuple[str, ...], filters: tuple[str, ...], judge: str | None,
           tie_threshold: float, ci: str, human_vote: str, examples: int, sample: int | None,
           pick: str | None, ratings: tuple[Path, ...], swap: bool, findings_depth: int,
           no_findings: bool, engine: str, spark_master: str | None, spark_remote: str | None,
           output: Path) -> int:
    """A report of INPUT (a judged file in any supported format), filtered and sliced as
    asked: self-contained HTML, Markdown, CSV of the filtered examples, or JSON of every
    figure (the format from OUTPUT's extension)."""
    exclusive(**{"--sample": sample, "--pick": pick})
    spec = ViewSpec(filters=list(filters), by=list(by), judge=judge,
                    tie_threshold=tie_threshold, ci_method=ci, human_vote=human_vote,
                    examples=examples,
                    choice="random" if sample is not None else
                    "selected" if pick else "largest",
                    seed=sample or 0,
                    picked=[x.strip() for x in (pick or "").split(",") if x.strip()],
                    ratings=[str(p) for p in ratings], swap=swap,
                    findings=not no_findings, findings_depth=findings_depth)
    sql_engine_checks(engine, source, spark_master, spark_remote, **{
        "--filter": filters, "--sample": sample, "--pick": pick, "--ratings": ratings,
        "--swap": swap, "a .csv output (the examples)": FORMATS.get(output.suffix.lower()) ==
        "csv"})
    if engine != "local":
        made = build_sql(source.path, engine, spec, spark_master, spark_remote)
        fmt = write_report(made, output, inputs=[source.path])
        print(f"wrote a {fmt} report of {made.data['n_total']} examples (engine {engine}) to "
              f"{output}", file=sys.stderr)
        return 0
    loaded = source.load()
    if swap:
        loaded = replace(loaded, comparison=swap_sides(loaded.comparison))
    made = build(loaded, spec)
    fmt = write_report(made, output, inputs=[*source.files(), *ratings])
    d = made.data
    print(f"wrote a {fmt} report of {d['n_filtered']} of {d['n_total']} examples "
          f"({d['provenance']['filter_description']}) to {output}", file=sys.stderr)
    return 0
