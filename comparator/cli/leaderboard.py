"""``comparator leaderboard FILE...``: Bradley–Terry ratings of several models."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from comparator.analysis.leaderboard import leaderboard_dict
from comparator.cli.options import format_option, json_option, seed_option, tie_threshold_option
from comparator.schema.jsonsafe import clean
from comparator.schema.visible import visible


@click.command(short_help="Bradley–Terry ratings of several models (Arena battle logs, "
               "AlpacaEval / FastChat / any judged files)")
@click.argument("inputs", type=click.Path(path_type=Path), nargs=-1, required=True,
                metavar="FILE...")
@format_option("format of every FILE (default: detected per file)")
@tie_threshold_option()
@click.option("--rounds", type=click.IntRange(min=0), default=1000, show_default=True,
              help="bootstrap rounds of the 95% intervals")
@seed_option("bootstrap")
@json_option
def leaderboard(inputs: tuple[Path, ...], format_: str | None, tie_threshold: float,
                rounds: int, seed: int, as_json: bool) -> int:
    """Rate the models of every FILE (Arena battle logs with model_a, model_b, winner, or
    judged files; the models are matched by name across files) with Bradley–Terry."""
    out = leaderboard_dict(list(inputs), format_, tie_threshold, rounds, seed)
    if as_json:
        print(json.dumps(clean(out), ensure_ascii=False))
        return 0
    for note in out["notes"][:20]:
        print(f"note: {note}", file=sys.stderr)
    names = [visible(m["name"]) for m in out["models"]]  # one line each, widths as shown
    width = max(map(len, names))
    print(f"{'#':>3}  {'model':<{width}}  {'rating':>7}  {'95% CI':>15}  {'n':>7}  W / T / L")
    for k, (m, name) in enumerate(zip(out["models"], names), 1):
        ci = f"[{m['ci95'][0]:.0f}, {m['ci95'][1]:.0f}]" if m["ci95"] else "n/a"
        print(f"{k:>3}  {name:<{width}}  {m['rating']:>7.1f}  {ci:>15}  {m['n']:>7}  "
              f"{m['wins']} / {m['ties']} / {m['losses']}")
    print(f"{out['n_battles']} battles; Bradley–Terry, {out['scale']}; ties count half; "
          f"95% CI: {out['bootstrap_rounds']} bootstrap rounds over battles"
          + ("" if out["connected"] else "; WARNING: the models do not form one connected "
             "comparison graph, ratings across groups are not comparable")
          + ("" if out["mle_exists"] or not out["connected"] else "; WARNING: a model never "
             "lost (or never won) against the others: its rating is unbounded, shown capped"))
    return 0
