"""The size of a run before it starts: how many model calls it makes and an upper bound of the
tokens they cost, so that a page can show it and ask for confirmation above ``CONFIRM_CALLS``.

Tokens are estimated, not counted with a tokenizer: a prompt is its characters / 4 (rounded
up), a reply at most its ``max_tokens``. The figures are for the whole run as configured:
replies already in the response cache and examples already in the output (a resumed run) cost
nothing and are not subtracted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from comparator.engines.promptsets import PromptItem

CONFIRM_CALLS = 1000  # a run with more calls than this starts only once the user confirms


def tokens_of(chars: int) -> int:
    """The estimate of the tokens of ``chars`` characters of text (characters / 4)."""
    return -(-chars // 4)


@dataclass(frozen=True)
class Plan:
    examples: int
    calls: int
    prompt_tokens: int  # characters / 4 of every call's prompt
    reply_tokens: int  # calls x max_tokens: the most the replies can be
    shape: str  # how the calls come about, e.g. "805 examples × 6 repeats (3 in each order)"
    extra_calls: int = 0  # calls that may come on top (judge: a reply with no verdict is re-asked)

    @property
    def tokens(self) -> int:
        """Upper bound of the tokens of the whole run (prompts + longest replies)."""
        return self.prompt_tokens + self.reply_tokens

    @property
    def needs_confirm(self) -> bool:
        return self.calls > CONFIRM_CALLS

    def describe(self) -> str:
        more = (f"; up to {self.extra_calls:,} more calls (and their tokens) if replies need "
                "asking again" if self.extra_calls else "")
        return (f"{self.calls:,} calls ({self.shape}), at most about {self.tokens:,} tokens: "
                f"{self.prompt_tokens:,} prompt tokens (characters / 4) + up to "
                f"{self.reply_tokens:,} reply tokens (calls × max tokens){more}. An upper "
                "bound: cached replies and examples already in the output cost nothing.")


def generation_plan(items: Iterable[PromptItem], max_tokens: tuple[int, int],
                    systems: tuple[str | None, str | None] = (None, None)) -> Plan:
    """Both models answer every turn of every item; turn k's prompt carries the earlier turns
    and the earlier replies (at most ``max_tokens`` each)."""
    n = calls = prompt = reply = 0
    turns_seen: set[int] = set()
    for it in items:
        n += 1
        turns_seen.add(len(it.turns))
        for m, system in zip(max_tokens, systems, strict=True):
            sys_chars = len(system or it.system or "")
            for k in range(len(it.turns)):
                calls += 1
                prompt += tokens_of(sys_chars + sum(len(t) for t in it.turns[: k + 1])) + k * m
                reply += m
    turns = (f"{next(iter(turns_seen))} turns" if len(turns_seen) == 1
             else f"{min(turns_seen, default=0)}–{max(turns_seen, default=0)} turns")
    return Plan(n, calls, prompt, reply, f"{n:,} examples × {turns} × 2 models")
