"""``python -m comparator metrics FILE``: response metrics (built-in, user regexes, reference
ROUGE/BLEU/chrF, perplexity under a local reference model), printed per metric for A and B and
saved with the comparison (-o)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from comparator.schema.jsonsafe import clean


def add_metrics_parser(sub) -> None:
    from comparator.cli.main import _add_input

    p = sub.add_parser("metrics", help="response metrics for A and B (built-ins, regexes, "
                       "ROUGE/BLEU/chrF, perplexity); -o saves them with the comparison")
    _add_input(p)
    p.add_argument("--regex", action="append", default=[], metavar="NAME=PATTERN",
                   help="a user metric: does the response match PATTERN (Python regex)? "
                        "Repeatable; saved in the comparison's metadata")
    p.add_argument("--count", action="append", default=[], metavar="NAME=PATTERN",
                   help="a user metric counting PATTERN's matches per response")
    p.add_argument("--perplexity", metavar="hf/MODEL",
                   help="score both responses under this local model, conditioned on the prompt")
    p.add_argument("--batch-size", type=int, default=8, help="perplexity batch size")
    p.add_argument("--device", help="perplexity device (default: cuda if available, else cpu)")
    p.add_argument("--json", action="store_true", help="print the per-metric figures as JSON")
    p.add_argument("-o", "--output", type=Path,
                   help="save the comparison with its metrics (.jsonl native keeps them all)")


def _user_metric(arg: str, kind: str, flag: str) -> tuple[str, str, str]:
    name, sep, pattern = arg.partition("=")
    if not sep:
        raise ValueError(f"{flag} takes NAME=PATTERN, got {arg!r}")
    return name.strip(), pattern, kind


def run_metrics(args: argparse.Namespace) -> int:
    import json

    from comparator.analysis.metrics import STORED, add_user_metric, metric_columns
    from comparator.analysis.metrics.summary import format_row, metric_summary
    from comparator.cli.main import _load
    from comparator.formats import save

    loaded = _load(args)
    comp = loaded.comparison
    for arg, kind, flag in ([(a, "bool", "--regex") for a in args.regex]
                            + [(a, "count", "--count") for a in args.count]):
        add_user_metric(comp, *_user_metric(arg, kind, flag))
    if args.perplexity:
        from comparator.engines.perplexity import score

        def progress(done: int, total: int) -> None:
            print(f"\rperplexity: {done}/{total} turns", end="", file=sys.stderr)

        cols = score(comp, args.perplexity, args.batch_size, args.device, progress=progress)
        print(file=sys.stderr)
        store(comp, cols)
        comp.metadata["perplexity_model"] = args.perplexity
    cols = metric_columns(comp)
    # reference metrics are saved per example so a reload does not recompute them
    store(comp, {k.replace(".", "_"): v for k, v in cols.items()
                 if k.split(".", 1)[1] in STORED and not k.endswith("perplexity")})
    rows = metric_summary(comp)
    if args.json:
        print(json.dumps(clean({"model_a": comp.model_a, "model_b": comp.model_b,
                                 "n": len(comp.examples), "metrics": rows}), ensure_ascii=False))
    else:
        print(f"{'metric':<22}{'n':>7}  A: {comp.model_a} / B: {comp.model_b}")
        for r in rows:
            print(format_row(r))
    if args.output:
        save(comp, args.output)
        print(f"wrote {len(comp.examples)} examples with their metrics to {args.output}",
              file=sys.stderr)
    return 0


def store(comp, cols: dict) -> None:
    """Write ``{"a_name": array}`` into each example's metadata (NaN left out)."""
    import math

    for key, col in cols.items():
        for ex, v in zip(comp.examples, col, strict=True):
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                ex.setdefault("metadata", {})[key] = round(float(v), 6)
    comp.invalidate()  # the examples changed: derived results (metrics too) are recomputed
