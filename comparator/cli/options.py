"""Option types and decorators that several commands share: one tie threshold range, one list
of formats, the interval and human-vote choices as analysis defines them, and the judged-file
input (INPUT, --format, --questions, --pair, --map, --model-a, --model-b) as one decorator."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from comparator.analysis.human_vote import VOTES
from comparator.analysis.sql_stats import ENGINES
from comparator.analysis.stats import CI_METHODS, DEFAULT_CI
from comparator.formats import ALIASES, FORMATS, InputError, Loaded, LoadOptions, load
from comparator.formats.tabular import parse_mapping
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.store.cache import open_store

TIE_THRESHOLD = click.FloatRange(0, 1.5)  # |score| at or below it is a tie (scores in ±1.5)
FORMAT = click.Choice([*FORMATS, *sorted(ALIASES)])
MAX_NOTES = 20  # loader warnings printed, then a count


def tie_threshold_option(help: str = "scores with |score| at or below it are ties (0 to 1.5)"
                         ) -> Callable:
    return click.option("--tie-threshold", type=TIE_THRESHOLD, default=DEFAULT_TIE_THRESHOLD,
                        show_default=True, help=help)


def format_option(help: str = "the input's format: skip auto-detection") -> Callable:
    return click.option("--format", "format_", type=FORMAT, metavar="FORMAT",
                        help=f"{help} ({', '.join(FORMATS)}; aliases {', '.join(ALIASES)})")


ci_option = click.option("--ci", type=click.Choice(CI_METHODS), default=DEFAULT_CI,
                         show_default=True, help="win-rate interval (tie-aware Wilson score, "
                         "Wilson, or a bootstrap; see the statistics notes)")
human_vote_option = click.option(
    "--human-vote", type=click.Choice(VOTES), default=VOTES[0], show_default=True,
    help="several annotators' verdict: mean of their scores or majority vote (PandaLM's)")
judge_option = click.option("--judge", metavar="NAMES",
                            help="score with these judges only (comma-separated names)")
json_option = click.option("--json", "as_json", is_flag=True,
                           help="print one JSON object")


def stack(*decorators: Callable) -> Callable:
    """One decorator applying ``decorators`` (listed as they appear in ``--help``)."""
    def decorate(f: Callable) -> Callable:
        for d in reversed(decorators):
            f = d(f)
        return f
    return decorate


def seed_option(what: str) -> Callable:
    return click.option("--seed", type=int, default=0, show_default=True, help=f"{what} seed")


def model_call_options(temperature: float, max_tokens: int, per: str) -> Callable:
    """--temperature, --max-tokens, --seed, --max-tries and --timeout of a model's calls."""
    return stack(
        click.option("--temperature", type=float, default=temperature, show_default=True,
                     help="sampling temperature"),
        click.option("--max-tokens", type=int, default=max_tokens, show_default=True,
                     help=f"tokens per {per} at most"),
        seed_option("sampling"),
        click.option("--max-tries", type=int, default=5, show_default=True,
                     help="tries per API call (retries back off)"),
        click.option("--timeout", type=float, default=120.0, show_default=True,
                     help="seconds per API call"))


class GreedyOption(click.Option):
    """An option that takes every value up to the next option (``--ratings A B C``), as
    argparse's ``nargs="+"``; repeating the option adds more."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name)  # click's parser has no public hook for this
            if opt is None:
                continue
            process = opt.process

            def greedy(value: Any, state: Any, process: Callable = process) -> None:
                process(value, state)
                while state.rargs and not state.rargs[0].startswith("-"):
                    process(state.rargs.pop(0), state)

            opt.process = greedy


ratings_option = click.option(
    "--ratings", cls=GreedyOption, multiple=True, type=click.Path(path_type=Path),
    metavar="FILE...", help="ratings files of the Rate page (merged by example id and rater): "
    "human_agreement is then against these ratings, plus rater_agreement")


@dataclass
class Input:
    """A judged file and how to read it (the shared input options)."""

    path: Path
    format: str | None
    questions: Path | None
    pair: str | None
    mapping: tuple[str, ...]
    model_a: str | None
    model_b: str | None

    def options(self) -> LoadOptions:
        pair = None
        if self.pair:
            parts = [x.strip() for x in self.pair.split(",")]
            if len(parts) != 2 or not all(parts):
                raise ValueError(f"--pair takes MODEL_A,MODEL_B, got {self.pair!r}")
            pair = (parts[0], parts[1])
        if self.questions and not self.questions.exists():
            raise InputError(self.questions, "no such file (--questions)")
        return LoadOptions(questions=self.questions, pair=pair,
                           mapping=parse_mapping(list(self.mapping)),
                           model_a=self.model_a, model_b=self.model_b)

    def files(self) -> list[Path | None]:
        """The files the user named to read (an output may not replace one of them)."""
        return [self.path, self.questions]

    def load(self, columnar: bool = False) -> Loaded:
        """The file, its warnings printed as notes; ``columnar``: as a memory-mapped store
        (comparator.store), validated once per file content and cached."""
        read = open_store if columnar else load
        loaded = read(self.path, self.format, self.options())
        for w in loaded.warnings[:MAX_NOTES]:
            print(f"note: {w}", file=sys.stderr)
        if len(loaded.warnings) > MAX_NOTES:
            print(f"note: ... and {len(loaded.warnings) - MAX_NOTES} more", file=sys.stderr)
        return loaded


def input_options(f: Callable) -> Callable:
    """INPUT and the options that say how to read it, passed to ``f`` as ``source: Input``."""

    @functools.wraps(f)
    def wrapper(*args: Any, input: Path, format_: str | None, questions: Path | None,
                pair: str | None, mapping: tuple[str, ...], model_a: str | None,
                model_b: str | None, **kwargs: Any) -> Any:
        source = Input(input, format_, questions, pair, mapping, model_a, model_b)
        return f(*args, source=source, **kwargs)

    return stack(
        click.argument("input", type=click.Path(path_type=Path)),
        format_option(),
        click.option("--questions", type=click.Path(path_type=Path),
                     help="MT-Bench question.jsonl (categories, prompts, references)"),
        click.option("--pair", metavar="MODEL_A,MODEL_B",
                     help="keep and orient one pair of a multi-pair file"),
        click.option("--map", "mapping", multiple=True, metavar="NAME=COLUMN",
                     help="column mapping for tables, e.g. prompt=question,response_a=ans1 "
                          "(repeatable)"),
        click.option("--model-a", help="name of model A when the file does not say"),
        click.option("--model-b", help="name of model B when the file does not say"),
    )(wrapper)

def exclusive(**given: Any) -> None:
    """Refuse two of these options together (a usage error, exit 2)."""
    used = [name for name, value in given.items() if value not in (None, False, ())]
    if len(used) > 1:
        raise click.UsageError(f"{' and '.join(used)} cannot be used together: choose one")


def sql_engine_options(what: str) -> Callable:
    """``--engine local|duckdb|spark`` (what the SQL engines compute: ``what``), and where
    Spark runs: ``--spark-master`` or ``--spark-remote``."""
    return stack(
        click.option("--engine", type=click.Choice(["local", *ENGINES]), default="local",
                     show_default=True, help="local: in this process, any format; duckdb or "
                     "spark: the SQL over Parquet (INPUT a file, a folder of shards or a glob), "
                     f"{what} only (docs: scale-out)"),
        click.option("--spark-master", metavar="URL", help="--engine spark on this master "
                     "(default local[2]; e.g. spark://HOST:7077)"),
        click.option("--spark-remote", metavar="URL", help="--engine spark through Spark "
                     "Connect (sc://HOST:15002; local[N] starts a Connect server here)"))


def sql_engine_checks(engine: str, source: Input, master: str | None, remote: str | None,
                      **local_only: Any) -> None:
    """Usage errors of ``--engine duckdb|spark``: Spark's options without it, and the options
    that need the examples in memory (``local_only``: name -> value, besides the reading
    options, which the Parquet layout makes moot)."""
    exclusive(**{"--spark-master": master, "--spark-remote": remote})
    if engine != "spark" and (master or remote):
        raise click.UsageError("--spark-master and --spark-remote go with --engine spark")
    if engine == "local":
        return
    given = {"--format": source.format, "--questions": source.questions, "--pair": source.pair,
             "--map": source.mapping, "--model-a": source.model_a, "--model-b": source.model_b,
             **local_only}
    used = [name for name, value in given.items() if value not in (None, (), False)]
    if used:
        raise click.UsageError(f"{', '.join(used)}: read in process only; use --engine local "
                               "(or convert --to parquet first)")
