"""``python -m comparator report``: a slice report as HTML, Markdown, CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_report_parser(sub, add_input) -> None:
    from comparator.analysis.human_vote import VOTES
    from comparator.analysis.stats import CI_METHODS, DEFAULT_CI
    from comparator.schema.labels import DEFAULT_TIE_THRESHOLD

    p = sub.add_parser("report", help="a slice report: HTML (self-contained), Markdown, CSV of "
                                      "the filtered examples, or JSON of every figure")
    add_input(p)
    p.add_argument("--by", action="append", default=[], metavar="FIELD",
                   help="slice tables by category, tags, judge, metadata or a metric "
                        "(repeatable)")
    p.add_argument("--filter", action="append", default=[], metavar="EXPR",
                   help="keep examples matching EXPR (repeatable, ANDed): field=value, "
                        "winner=A|B|tie, score>=x, score<=x, search=TEXT, regex=PATTERN, "
                        "ngram=WORDS, cluster=N, index=I,J, a.words>200")
    p.add_argument("--judge", help="score with these judges only (comma-separated names)")
    p.add_argument("--tie-threshold", type=float, default=DEFAULT_TIE_THRESHOLD)
    p.add_argument("--ci", choices=CI_METHODS, default=DEFAULT_CI,
                   help="win-rate interval (as stats; default: tie-aware Wilson score)")
    p.add_argument("--human-vote", choices=VOTES, default="mean",
                   help="several annotators' verdict (as stats)")
    p.add_argument("--examples", type=int, default=10, metavar="N",
                   help="example pairs shown (default 10): largest |score| first")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--sample", type=int, metavar="SEED",
                   help="show a random sample of the filtered examples, seeded")
    g.add_argument("--pick", metavar="ID,...", help="show these examples (by id)")
    from comparator.ratings.merge import add_ratings_option

    add_ratings_option(p)
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="OUT.html, OUT.md, OUT.csv or OUT.json")


def run_report(args: argparse.Namespace, loaded) -> int:
    from comparator.reports.build import ViewSpec, build
    from comparator.reports.export import write_report

    spec = ViewSpec(filters=args.filter, by=args.by, judge=args.judge,
                    tie_threshold=args.tie_threshold, ci_method=args.ci,
                    human_vote=args.human_vote,
                    examples=args.examples,
                    choice="random" if args.sample is not None else
                    "selected" if args.pick else "largest",
                    seed=args.sample or 0,
                    picked=[x.strip() for x in (args.pick or "").split(",") if x.strip()],
                    ratings=[str(p) for p in args.ratings or ()])
    report = build(loaded, spec)
    fmt = write_report(report, args.output)
    d = report.data
    print(f"wrote a {fmt} report of {d['n_filtered']} of {d['n_total']} examples "
          f"({d['provenance']['filter_description']}) to {args.output}", file=sys.stderr)
    return 0
