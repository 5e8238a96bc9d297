"""``python -m comparator``: convert and summarise judged side-by-side files.

    python -m comparator convert IN [--format F] [--questions Q] -o OUT
                                 [--to native|llm-comparator|csv|parquet]
    python -m comparator stats IN [--format F] [--questions Q] [--by FIELD]
                               [--tie-threshold T] [--json]
    python -m comparator open FILE [--port P] [--host H]   (the dashboard on FILE)

Exit codes: 0 ok, 2 bad input or usage (one line on stderr naming file, line and field).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from comparator.analysis.result import stats_dict
from comparator.cli.cluster import add_cluster_parser, run_cluster
from comparator.cli.generate import add_generate_parser, run_generate
from comparator.cli.judge import add_judge_parser, run_judge
from comparator.cli.leaderboard import add_leaderboard_parser, run_leaderboard
from comparator.cli.metrics import add_metrics_parser, run_metrics
from comparator.cli.report import add_report_parser, run_report
from comparator.formats import FORMATS, InputError, Loaded, LoadOptions, load, save
from comparator.formats.tabular import parse_mapping
from comparator.ratings.merge import add_ratings_option, merge_ratings, print_raters, rater_fields
from comparator.schema.jsonsafe import clean
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.settings import settings


def _add_input(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, help="a judged file (any supported format)")
    p.add_argument("--format", choices=sorted(FORMATS), help="skip auto-detection")
    p.add_argument("--questions", type=Path,
                   help="MT-Bench question.jsonl (categories, prompts, references)")
    p.add_argument("--pair", help="MODEL_A,MODEL_B: keep and orient one pair of a multi-pair file")
    p.add_argument("--map", action="append", metavar="NAME=COLUMN",
                   help="column mapping for tables, e.g. prompt=question,response_a=ans1")
    p.add_argument("--model-a", help="name of model A when the file does not say")
    p.add_argument("--model-b", help="name of model B when the file does not say")


def _options(args: argparse.Namespace) -> LoadOptions:
    pair = None
    if args.pair:
        parts = [x.strip() for x in args.pair.split(",")]
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"--pair takes MODEL_A,MODEL_B, got {args.pair!r}")
        pair = (parts[0], parts[1])
    if args.questions and not args.questions.exists():
        raise InputError(args.questions, "no such file (--questions)")
    return LoadOptions(questions=args.questions, pair=pair, mapping=parse_mapping(args.map),
                       model_a=args.model_a, model_b=args.model_b)


def _load(args: argparse.Namespace, columnar: bool = False) -> Loaded:
    """The input file; ``columnar``: as a memory-mapped store (comparator.store), validated once
    per file content and cached."""
    if columnar:
        from comparator.store.cache import open_store

        loaded = open_store(args.input, args.format, _options(args))
    else:
        loaded = load(args.input, args.format, _options(args))
    for w in loaded.warnings[:20]:
        print(f"note: {w}", file=sys.stderr)
    if len(loaded.warnings) > 20:
        print(f"note: ... and {len(loaded.warnings) - 20} more", file=sys.stderr)
    return loaded


def _fmt_rate(r: dict) -> str:
    if r["win_rate_a"] is None:
        return "n/a"
    lo, hi = r["win_rate_a_ci95"]
    return f"{100 * r['win_rate_a']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def print_stats(s: dict[str, Any]) -> None:
    print(f"{s['model_a']} (A) vs {s['model_b']} (B) — {s['n']} examples, format {s['format']}")
    if any(j.split("@")[0] == "human" for j in s["score_judges"]) or s["human_agreement"]:
        print(f"human verdict: {s['human_vote']} of the annotators")
    print(f"A wins {s['a_wins']}, ties {s['ties']}, B wins {s['b_wins']}, unscored "
          f"{s['unscored']}  (tie threshold ±{s['tie_threshold']})")
    print(f"win rate of A: {_fmt_rate(s)}  (95% {s['ci_method']} interval)")
    if s.get("scores_continuous") and s.get("win_rate_a_soft") is not None:
        lo, hi = s["win_rate_a_soft_ci95"] or (math.nan, math.nan)
        print(f"soft win rate of A: {100 * s['win_rate_a_soft']:.1f}% [{100 * lo:.1f}, "
              f"{100 * hi:.1f}]  (AlpacaEval's convention: mean of (score + 1.5) / 3)")
    if s.get("win_rate_a_lc") is not None:
        lo, hi = s["win_rate_a_lc_ci95"] or (math.nan, math.nan)
        print(f"length-controlled win rate of A: {100 * s['win_rate_a_lc']:.1f}% "
              f"[{100 * lo:.1f}, {100 * hi:.1f}]  (AlpacaEval-style, at equal lengths)")
    if s.get("mean_score") is not None:
        ci = s.get("mean_score_ci95")
        extra = f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""
        print(f"mean score: {s['mean_score']:+.3f}{extra}")
    if s["position_consistency"] is not None:
        print(f"position consistency: {100 * s['position_consistency']:.1f}% of "
              f"{s['position_consistency_n']} examples judged in both orders")
    from comparator.analysis.benchmarks import figure_lines

    for line in figure_lines(s):
        print(line)
    for name, a in (s.get("human_agreement") or {}).items():
        if a["agreement"] is not None:
            wt = a["agreement_without_ties"]
            print(f"{name} vs human: agreement {100 * a['agreement']:.1f}% with ties, "
                  f"{'n/a' if wt is None else f'{100 * wt:.1f}%'} without, "
                  f"kappa {a['cohen_kappa']:.3f} (n={a['n']})")
            if a.get("judgment_agreement") is not None:
                print(f"  per judgment (each order counted, unscored = disagree): "
                      f"{100 * a['judgment_agreement']:.1f}% of {a['judgment_n']}")
    if s["slices"]:
        width = max(len(str(r["value"])) for r in s["slices"])
        print(f"\n{'slice':<{width}}  {'n':>6} {'A':>5} {'tie':>5} {'B':>5}  win rate of A")
        for r in s["slices"]:
            flag = " *" if r["significant"] else ("  (small n)" if r["small_n"] else "")
            print(f"{r['value']:<{width}}  {r['n']:>6} {r['a_wins']:>5} {r['ties']:>5} "
                  f"{r['b_wins']:>5}  {_fmt_rate(r)}{flag}")
        print("* differs from the rest of the data (two-sample test, Benjamini–Hochberg "
              "adjusted p < 0.05 over the slices shown)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m comparator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="convert a judged file to native / LLM Comparator / CSV")
    _add_input(conv)
    conv.add_argument("-o", "--output", type=Path, required=True)
    conv.add_argument("--to", choices=["native", "llm-comparator", "csv", "parquet"],
                      help="output format (default: from the extension)")
    conv.add_argument("--tie-threshold", type=float, default=DEFAULT_TIE_THRESHOLD,
                      help="for the CSV winner column")
    st = sub.add_parser("stats", help="win rates, intervals, slices, consistency, agreement")
    _add_input(st)
    st.add_argument("--by", action="append", default=[], metavar="FIELD",
                    help="slice by category, tags, judge, or a metadata field (repeatable)")
    st.add_argument("--tie-threshold", type=float, default=DEFAULT_TIE_THRESHOLD)
    st.add_argument("--ci", choices=["wilson-ties", "wilson", "bootstrap"], default="wilson-ties",
                    help="win-rate interval (default: tie-aware Wilson score; see README)")
    st.add_argument("--judge", help="score with these judges only (comma-separated names)")
    st.add_argument("--human-vote", choices=["mean", "majority"], default="mean",
                    help="several annotators' verdict: mean of their scores (default) or "
                         "majority vote (PandaLM's convention)")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    add_ratings_option(st)
    add_generate_parser(sub)
    add_judge_parser(sub)
    add_cluster_parser(sub)
    add_metrics_parser(sub)
    add_report_parser(sub, _add_input)
    add_leaderboard_parser(sub)
    from comparator.cli.serve import add_open_parser

    add_open_parser(sub)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.command == "generate":
        return run_generate(args)
    if args.command == "judge":
        return run_judge(args)
    if args.command == "cluster":
        return run_cluster(args)
    if args.command == "metrics":
        return run_metrics(args)
    if args.command == "leaderboard":
        return run_leaderboard(args)
    if args.command == "open":
        from comparator.cli.serve import run_open

        return run_open(args)
    if not 0 <= args.tie_threshold <= 1.5:
        raise ValueError(f"--tie-threshold must be in [0, 1.5], got {args.tie_threshold}")
    to_parquet = args.command == "convert" and (
        args.to == "parquet" or (args.to is None and args.output.suffix == ".parquet"))
    loaded = _load(args, columnar=to_parquet or (args.command == "stats" and not args.ratings))
    if args.command == "report":
        return run_report(args, loaded)
    if to_parquet:
        from comparator.store.cache import write_parquet

        write_parquet(loaded, args.output)
        print(f"wrote {len(loaded.comparison.examples)} examples to {args.output} (parquet)",
              file=sys.stderr)
        return 0
    if args.command == "convert":
        fmt = save(loaded.comparison, args.output, args.to, args.tie_threshold)
        print(f"wrote {len(loaded.comparison.examples)} examples to {args.output} ({fmt})",
              file=sys.stderr)
        return 0
    if args.ratings:
        loaded = merge_ratings(loaded, args.ratings)
    s = stats_dict(loaded, args.by, args.tie_threshold, args.ci, args.judge, args.human_vote)
    if args.ratings:
        s.update(clean(rater_fields(loaded, args.tie_threshold, args.human_vote)))
    if args.json:
        print(json.dumps(s, ensure_ascii=False))
    else:
        print_stats(s)
        if args.ratings:
            print_raters(s)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
    except (ValueError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {msg}", file=sys.stderr)
    except OSError as e:
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
    except Exception as e:  # a bug, not bad input: still one line unless asked
        if settings().debug:
            raise
        print(f"internal error: {type(e).__name__}: {e} (set COMPARATOR_DEBUG=1 for the "
              "traceback, and please report it)", file=sys.stderr)
        return 1
    return 2
