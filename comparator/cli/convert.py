"""``comparator convert``: a judged file as native JSONL, LLM Comparator JSON, CSV or Parquet
(``--swap``: with A and B swapped, as the dashboard's "Swap A and B" shows it)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from comparator.cli.options import Input, input_options, tie_threshold_option
from comparator.formats import save
from comparator.schema.atomic import atomic_path
from comparator.schema.swap import swap as swap_sides
from comparator.store.cache import write_parquet

TARGETS = ("native", "llm-comparator", "csv", "parquet")


@click.command(short_help="convert a judged file to native / LLM Comparator / CSV / Parquet")
@input_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="the converted file (its extension gives the format unless --to)")
@click.option("--to", type=click.Choice(TARGETS),
              help="output format (default: from the extension)")
@tie_threshold_option("tie threshold of the CSV winner column")
@click.option("--swap", is_flag=True,
              help="swap A and B: B's model becomes A, scores are negated (e.g. an AlpacaEval "
                   "file, which puts the baseline first)")
def convert(source: Input, output: Path, to: str | None, tie_threshold: float, swap: bool
            ) -> int:
    """Convert INPUT (a judged file in any supported format) to native JSONL (.jsonl),
    LLM Comparator JSON (.json), CSV (.csv) or Parquet (.parquet); with --swap, as the
    dashboard's "Swap A and B" shows it (swapping the output again gives INPUT back)."""
    parquet = to == "parquet" or (to is None and output.suffix == ".parquet")
    loaded = source.load(columnar=parquet)
    if swap:
        loaded = replace(loaded, comparison=swap_sides(loaded.comparison))
    if parquet:
        with atomic_path(output, inputs=source.files()) as tmp:  # all or nothing, as save
            write_parquet(loaded, tmp)
        fmt = "parquet"
    else:
        fmt = save(loaded.comparison, output, to, tie_threshold, inputs=source.files())
    print(f"wrote {len(loaded.comparison.examples)} examples to {output} ({fmt}"
          + (", A and B swapped" if swap else "") + ")",
          file=sys.stderr)
    return 0
