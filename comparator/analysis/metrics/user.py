"""User metrics: a regular expression counted (``count``) or tested (``bool``) in each
response. Saved in the comparison's metadata (``user_metrics``), so native JSONL keeps them."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa

from comparator.analysis.patterns import PatternError, compile_pattern, counts
from comparator.schema.records import Comparison

KINDS = ("bool", "count")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")


class MetricError(ValueError):
    """A bad user metric: the message is one line, fit to show as is."""


def check(name: str, pattern: str, kind: str = "bool", reserved: tuple[str, ...] = ()
          ) -> dict[str, Any]:
    """A validated user-metric spec, or MetricError with a one-line message."""
    if not NAME.fullmatch(name or ""):
        raise MetricError(f"metric name {name!r}: use letters, digits and _ (not starting with "
                          "a digit), at most 41 characters")
    if name in reserved:
        raise MetricError(f"metric name {name!r} is taken by a built-in metric; choose another")
    if kind not in KINDS:
        raise MetricError(f"metric kind {kind!r}: choose bool or count")
    if not pattern:
        raise MetricError("the regular expression is empty")
    try:
        compile_pattern(pattern)
    except PatternError as e:
        raise MetricError(str(e)) from None
    return {"name": name, "pattern": pattern, "kind": kind}


def turn_counts(turns: pa.Array, pattern: str) -> np.ndarray:
    """Matches of ``pattern`` per turn (``comparator.analysis.patterns``: RE2, or look-arounds
    and back-references under a deadline; raises PatternError past it)."""
    return counts(turns, compile_pattern(pattern))


def user_specs(comp: Comparison) -> list[dict[str, Any]]:
    """The comparison's saved user metrics; one edited by hand into something invalid (bad
    pattern, kind or name) is left out rather than breaking every page."""
    out = []
    for spec in comp.metadata.get("user_metrics") or []:
        try:
            out.append(check(spec["name"], spec["pattern"], spec.get("kind", "bool")))
        except (MetricError, KeyError, TypeError):
            continue
    return out
