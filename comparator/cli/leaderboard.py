"""``python -m comparator leaderboard FILE...``: Bradley–Terry ratings of several models."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from comparator.analysis.leaderboard import leaderboard_dict
from comparator.schema.jsonsafe import clean
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD


def add_leaderboard_parser(sub) -> None:
    p = sub.add_parser("leaderboard", help="Bradley–Terry ratings of several models "
                       "(Arena battle logs, AlpacaEval / FastChat / any judged files)")
    p.add_argument("inputs", type=Path, nargs="+", metavar="FILE",
                   help="Arena battle logs (model_a, model_b, winner) or judged files; the "
                        "models are matched by name across files")
    p.add_argument("--format", help="format of every FILE (default: detected per file)")
    p.add_argument("--tie-threshold", type=float, default=DEFAULT_TIE_THRESHOLD)
    p.add_argument("--rounds", type=int, default=1000, help="bootstrap rounds (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run_leaderboard(args: argparse.Namespace) -> int:
    if args.rounds < 0:
        raise ValueError(f"--rounds must be >= 0, got {args.rounds}")
    out = leaderboard_dict(args.inputs, args.format, args.tie_threshold, args.rounds, args.seed)
    if args.json:
        print(json.dumps(clean(out), ensure_ascii=False))
        return 0
    for note in out["notes"][:20]:
        print(f"note: {note}", file=sys.stderr)
    width = max(len(m["name"]) for m in out["models"])
    print(f"{'#':>3}  {'model':<{width}}  {'rating':>7}  {'95% CI':>15}  {'n':>7}  W / T / L")
    for k, m in enumerate(out["models"], 1):
        ci = f"[{m['ci95'][0]:.0f}, {m['ci95'][1]:.0f}]" if m["ci95"] else "n/a"
        print(f"{k:>3}  {m['name']:<{width}}  {m['rating']:>7.1f}  {ci:>15}  {m['n']:>7}  "
              f"{m['wins']} / {m['ties']} / {m['losses']}")
    print(f"{out['n_battles']} battles; Bradley–Terry, {out['scale']}; ties count half; "
          f"95% CI: {out['bootstrap_rounds']} bootstrap rounds over battles"
          + ("" if out["connected"] else "; WARNING: the models do not form one connected "
             "comparison graph, ratings across groups are not comparable")
          + ("" if out["mle_exists"] or not out["connected"] else "; WARNING: a model never "
             "lost (or never won) against the others: its rating is unbounded, shown capped"))
    return 0
