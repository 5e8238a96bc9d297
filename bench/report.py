"""The one convention every bench/bench_*.py script follows, so ``python -m bench`` (run_all.py)
can put all figures in one table:

- it accepts ``--quick`` (a smaller run for CI and for the table; same code paths);
- besides its own human-readable table, it prints one line per headline figure::

      BENCH {"figure": "...", "ours": 1.2, "baseline": 3.4, "unit": "s", "goal": "<= 3x",
             "pass": true}

  via ``emit(...)`` below: ``ours`` and ``baseline`` are measured in the same run (baseline
  None when the figure has an absolute goal only), ``ratio`` = ours / baseline is computed by
  the table, ``goal`` is a short text, ``pass`` whether the goal is met.

A new script only needs ``from bench.report import emit`` (after putting the repo root on
sys.path, as the scripts do)
and a ``--quick`` flag; run_all discovers it by its name.
"""

from __future__ import annotations

import json
import sys


def emit(figure: str, ours: float, baseline: float | None, unit: str, goal: str,
         passed: bool) -> None:
    print("BENCH " + json.dumps({"figure": figure, "ours": ours, "baseline": baseline,
                                 "unit": unit, "goal": goal, "pass": bool(passed)}),
          flush=True)
    sys.stdout.flush()
