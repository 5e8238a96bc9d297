"""``comparator metrics FILE``: response metrics (built-in, user regexes, reference
ROUGE/BLEU/chrF, perplexity under a local reference model), printed per metric for A and B and
saved with the comparison (-o)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click

from comparator.analysis.metrics import STORED, add_user_metric, metric_columns
from comparator.analysis.metrics.summary import format_row, metric_summary
from comparator.cli.options import Input, input_options, json_option
from comparator.engines.perplexity import score
from comparator.formats import save
from comparator.schema.jsonsafe import clean
from comparator.schema.records import Comparison


@click.command(short_help="response metrics for A and B (built-ins, regexes, ROUGE/BLEU/chrF, "
               "perplexity); -o saves them with the comparison")
@input_options
@click.option("--regex", multiple=True, metavar="NAME=PATTERN",
              help="a user metric: does the response match PATTERN (Python regex)? "
                   "Repeatable; saved in the comparison's metadata")
@click.option("--count", multiple=True, metavar="NAME=PATTERN",
              help="a user metric counting PATTERN's matches per response (repeatable)")
@click.option("--perplexity", metavar="hf/MODEL",
              help="score both responses under this local model, conditioned on the prompt")
@click.option("--batch-size", type=int, default=8, show_default=True,
              help="perplexity batch size")
@click.option("--device", help="perplexity device (default: cuda if available, else cpu)")
@json_option
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="save the comparison with its metrics (.jsonl native keeps them all)")
def metrics(source: Input, regex: tuple[str, ...], count: tuple[str, ...],
            perplexity: str | None, batch_size: int, device: str | None, as_json: bool,
            output: Path | None) -> int:
    """The response metrics of INPUT (a judged file in any supported format), per metric for
    A and B; with -o, saved with the comparison."""
    comp = source.load().comparison
    for arg, kind, flag in ([(a, "bool", "--regex") for a in regex]
                            + [(a, "count", "--count") for a in count]):
        add_user_metric(comp, *_user_metric(arg, kind, flag))
    if perplexity:
        def progress(done: int, total: int) -> None:
            print(f"\rperplexity: {done}/{total} turns", end="", file=sys.stderr)

        cols = score(comp, perplexity, batch_size, device, progress=progress)
        print(file=sys.stderr)
        store(comp, cols)
        comp.metadata["perplexity_model"] = perplexity
    cols = metric_columns(comp)
    # reference metrics are saved per example so a reload does not recompute them
    store(comp, {k.replace(".", "_"): v for k, v in cols.items()
                 if k.split(".", 1)[1] in STORED and not k.endswith("perplexity")})
    rows = metric_summary(comp)
    if as_json:
        print(json.dumps(clean({"model_a": comp.model_a, "model_b": comp.model_b,
                                 "n": len(comp.examples), "metrics": rows}), ensure_ascii=False))
    else:
        print(f"{'metric':<22}{'n':>7}  A: {comp.model_a} / B: {comp.model_b}")
        for r in rows:
            print(format_row(r))
    if output:
        save(comp, output, inputs=source.files())
        print(f"wrote {len(comp.examples)} examples with their metrics to {output}",
              file=sys.stderr)
    return 0


def _user_metric(arg: str, kind: str, flag: str) -> tuple[str, str, str]:
    name, sep, pattern = arg.partition("=")
    if not sep:
        raise ValueError(f"{flag} takes NAME=PATTERN, got {arg!r}")
    return name.strip(), pattern, kind


def store(comp: Comparison, cols: dict) -> None:
    """Write ``{"a_name": array}`` into each example's metadata (NaN left out)."""
    for key, col in cols.items():
        for ex, v in zip(comp.examples, col, strict=True):
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                ex.setdefault("metadata", {})[key] = round(float(v), 6)
    comp.invalidate()  # the examples changed: derived results (metrics too) are recomputed
