"""The size of a judging run before it starts (see comparator/engines/plan.py): every example is
judged ``repeats`` times, half of them with A and B swapped, each judgment one call whose prompt
is the protocol's messages for that order; a reply with no clear verdict is asked once more."""

from __future__ import annotations

from comparator.engines.plan import Plan, tokens_of
from comparator.judge.prompts import render
from comparator.judge.runner import JudgeConfig, pair_for
from comparator.schema.records import Comparison


def judge_plan(comp: Comparison, cfg: JudgeConfig) -> Plan:
    """Calls (examples × repeats, in both orders) and tokens of ``judge_comparison(comp, ...,
    cfg)``; ValueError for a protocol that cannot be rendered (e.g. custom without rubric)."""
    swapped = cfg.repeats // 2  # repeat k is shown swapped when k is odd
    orders = ((False, cfg.repeats - swapped), (True, swapped))
    prompt = 0
    n = 0
    for ex in comp.examples:
        n += 1
        for flipped, times in orders:
            if times:
                chars = sum(len(m["content"]) for m in
                            render(cfg.template_id, pair_for(ex, flipped), cfg.rubric))
                prompt += times * tokens_of(chars)
    calls = n * cfg.repeats
    return Plan(n, calls, prompt, calls * cfg.params.max_tokens,
                f"{n:,} examples × {cfg.repeats} repeats, {cfg.repeats - swapped} with A first "
                f"and {swapped} with B first", extra_calls=calls)
