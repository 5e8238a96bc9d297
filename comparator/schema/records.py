"""The persisted records: a comparison of two models over N examples.

Records are typed and validated by pydantic. Examples and judgments are ``TypedDict``s
(validated by a pydantic ``TypeAdapter``) rather than ``BaseModel``s: opening 100k examples must
cost no more than ~3x a bare JSON parse, and model instances cost 2-3x more than typed dicts.
Optional keys are simply absent; read them with the helpers below (``prompt_text`` ...). An
example's score and winner have one rule, in ``comparator.analysis.stats`` (vectorised).
The native file carries ``schema_version`` so an older file is upgraded on read
(``comparator.formats.native``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    TypeAdapter,
    with_config,
)
from typing_extensions import TypedDict

from comparator.schema.labels import SCORE_MAX, SCORE_MIN

SCHEMA_VERSION = 3

# The numbers of every record, at the root: a JSON number, never ``true`` (read as 1 by a lax
# float) nor a numeric string; a real must be finite (a 400-digit integer is beyond a float's
# range, as 1e999 is); an index fits the store's 32-bit column (comparator.store.schema)
Real = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Index = Annotated[int, Strict(), Field(ge=-(1 << 31), le=(1 << 31) - 1)]
Integer = Annotated[int, Strict()]  # an id or turn number read by an importer
Score = Annotated[Real, Field(ge=SCORE_MIN, le=SCORE_MAX)]
Status = Literal["ok", "unscored", "error"]
Text = str | list[str]  # one string, or one per turn for multi-turn

_CLOSED = ConfigDict(extra="forbid")


@with_config(_CLOSED)
class Judgment(TypedDict):
    """One verdict on one example, always in the file's A/B orientation.

    ``score`` is on the canonical scale (+1.5 A much better ... -1.5 B much better) and is present
    exactly when ``status`` is ``"ok"`` (the default). ``flipped``: the judge saw B first (the
    score is already turned back). ``raw``: the judge's reply, kept when it could not be scored.
    ``rater``: which of several annotators or repeats, when the file says.
    """

    score: NotRequired[Score | None]
    label: NotRequired[str | None]
    flipped: NotRequired[bool | None]
    rationale: NotRequired[str | None]
    judge: NotRequired[str | None]
    rater: NotRequired[str | None]
    template_id: NotRequired[str | None]
    status: NotRequired[Status]
    raw: NotRequired[str | None]
    extra: NotRequired[dict[str, Any]]


@with_config(_CLOSED)
class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@with_config(_CLOSED)
class Reason(TypedDict):
    """A short reason from a rationale (comparator.clustering), in the file's orientation."""

    text: str
    favours: NotRequired[Literal["A", "B"] | None]
    judgment: NotRequired[Index | None]  # index into the example's judgments
    cluster: NotRequired[Index]  # -1 = unclustered
    x: NotRequired[Real | None]  # 2-D map (UMAP)
    y: NotRequired[Real | None]
    similarities: NotRequired[list[Real]]  # cosine similarity to each cluster's centre


@with_config(_CLOSED)
class Example(TypedDict):
    """One prompt, both responses, and the judgments of the pair.

    Single-turn: ``prompt`` is the text and responses are strings. Multi-turn: ``messages`` holds
    the user (and system) messages and each response is a list, one reply per user turn.
    ``reported_score``: an aggregate the source gave without individual judgments (LLM
    Comparator's ``score``); it counts only when the example has no judgments at all.
    ``extra``: format-specific fields kept so an export back to that format loses nothing.
    """

    id: str
    prompt: NotRequired[str | None]
    messages: NotRequired[list[Message] | None]
    response_a: Text
    response_b: Text
    reference: NotRequired[Text | None]
    category: NotRequired[str | None]
    tags: NotRequired[list[str]]
    metadata: NotRequired[dict[str, Any]]
    judgments: NotRequired[list[Judgment]]
    reported_score: NotRequired[Score | None]
    reasons: NotRequired[list[Reason]]
    extra: NotRequired[dict[str, Any]]


EXAMPLE = TypeAdapter(Example)


class Comparison(BaseModel):
    """Two named models compared over N examples."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    model_a: str
    model_b: str
    examples: list[Example]
    source_format: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    # this comparison's cache: its judges and the columnar store built over its example dicts
    # (``comparator.store.table.store_for``), which holds every derived result
    _cache: dict[str, Any] = PrivateAttr(default_factory=dict)
    # read from B's side (``comparator.schema.swap``): the file's ratings apply with their
    # sides turned over (``comparator.ratings.store``)
    _swapped: bool = PrivateAttr(default=False)

    def invalidate(self) -> None:
        """After an in-place edit of the examples (clusters, stored metrics): the one place
        that drops derived results (the store over the dicts is rebuilt when next read)."""
        self._cache.clear()

    def subset(self, examples: list[Example]) -> Comparison:
        """The same comparison over other (already validated) examples, with its own caches."""
        fields = {k: getattr(self, k) for k in ("schema_version", "model_a", "model_b",
                                                "source_format", "metadata")}
        out = Comparison.model_construct(examples=examples, **fields)
        out._swapped = self._swapped
        return out

    def judges(self) -> list[str]:
        """Every judge named in the file, in first-seen order (cached)."""
        hit = self._cache.get("judges")
        if hit is None and hasattr(self.examples, "store"):  # columnar (comparator.store)
            hit = self._cache["judges"] = self.examples.store.judges()
        if hit is None:
            seen: dict[str, None] = {}
            for ex in self.examples:
                for j in ex.get("judgments", ()):
                    seen.setdefault(judge_key(j), None)
            hit = self._cache["judges"] = list(seen)
        return list(hit)


def judge_key(j: Judgment) -> str:
    """How a judgment's source is named in selections (``"human"`` for people)."""
    return j.get("judge") or "unknown"


def is_ok(j: Judgment) -> bool:
    return j.get("status", "ok") == "ok" and j.get("score") is not None


def example_score(ex: Example) -> float | None:
    """One example's score over all its judges, for the format writers only (they sit below the
    analysis): the rule itself is ``comparator.analysis.columnar`` (vectorised, with judge
    selections); tests/test_stats.py checks this equals it, judges=None, on every real file."""
    js = ex.get("judgments") or []
    vals = [j["score"] for j in js if is_ok(j)]
    if vals:
        return math.fsum(vals) / len(vals)
    return None if js else ex.get("reported_score")


def prompt_text(ex: Example) -> str:
    """The prompt as one string (the user turns joined, for multi-turn)."""
    if ex.get("prompt") is not None:
        return ex["prompt"]
    return "\n\n".join(m["content"] for m in ex.get("messages") or [] if m["role"] == "user")


TURN_SEP = "\n\n---\n\n"  # between the turns of a multi-turn response shown as one text


def response_text(value: Text | None) -> str:
    """A response as one string (turns separated by a rule, for multi-turn)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return TURN_SEP.join(value)
