"""The one small interface every generation backend implements (``Backend``, its options,
``SamplingParams``, ``GenResult``) and what the backends share (conversation, redaction, the
batcher of local engines). ``registry.py`` picks a backend from a ``"provider/model"`` string.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from comparator.schema.redact import redact


@dataclass(frozen=True)
class SamplingParams:
    """Per-model sampling parameters (part of the cache key)."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int | None = 0
    system: str | None = None
    logprobs: bool = False  # ask the backend for token log-probabilities (mean_logprob)

    def key(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.logprobs:  # the cache key of existing parameters stays unchanged
            del out["logprobs"]
        return out


@dataclass
class GenResult:
    """One reply, or a failure recorded as data (status + reason)."""

    text: str = ""
    status: str = "ok"  # ok | error
    error: str | None = None
    finish_reason: str | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tries: int = 1
    cached: bool = False
    mean_logprob: float | None = None  # mean token log-probability of the reply under its model
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float | None:
        if not self.completion_tokens or not self.latency_s:
            return None
        gen_time = self.latency_s - (self.ttft_s or 0.0)
        return self.completion_tokens / gen_time if gen_time > 0 else None


Messages = list[dict[str, str]]


class BackendOptions(BaseModel):
    """The options a backend takes besides the common arguments of ``make_backend`` (e.g.
    ``--params-a compute_type=float32``); a backend with options subclasses this. None by
    default: an option a backend does not declare is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Backend(Protocol):
    """Generate one chat reply. Implementations may batch concurrent calls internally.

    A backend class declares ``Options`` (a ``BackendOptions``); ``make_backend`` validates
    the options against it and passes them, with the common arguments its ``__init__`` names
    (``base_urls``, ``batch_size``, ``device`` ...), as keyword arguments."""

    Options: ClassVar[type[BackendOptions]]
    spec: str

    async def generate(self, messages: Messages, params: SamplingParams) -> GenResult: ...

    async def aclose(self) -> None: ...


def conversation(system: str | None, turns: list[str], replies: list[str]) -> Messages:
    """Chat messages for the next turn: the user turns interleaved with the model's own
    earlier replies."""
    msgs: Messages = [{"role": "system", "content": system}] if system else []
    for k, user in enumerate(turns):
        msgs.append({"role": "user", "content": user})
        if k < len(replies):
            msgs.append({"role": "assistant", "content": replies[k]})
    return msgs


class Batcher:
    """Collects concurrent ``generate`` calls into batches for a local engine whose
    ``run_batch(list[Messages], params) -> list[GenResult]`` is blocking (run in a thread)."""

    def __init__(self, run_batch, batch_size: int, wait_s: float = 0.02) -> None:
        self.run_batch = run_batch
        self.batch_size = max(1, batch_size)
        self.wait_s = wait_s
        self._pending: list[tuple[Messages, SamplingParams, asyncio.Future]] = []
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    async def submit(self, messages: Messages, params: SamplingParams) -> GenResult:
        fut = asyncio.get_running_loop().create_future()
        self._pending.append((messages, params, fut))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        async with self._lock:
            while self._pending:
                await asyncio.sleep(self.wait_s)
                params = self._pending[0][1]
                batch = [p for p in self._pending if p[1] == params][: self.batch_size]
                for p in batch:
                    self._pending.remove(p)
                try:
                    results = await asyncio.to_thread(
                        self.run_batch, [m for m, _, _ in batch], params)
                except Exception as e:  # the whole batch failed: every item records why
                    results = [GenResult(status="error", error=redact(
                        f"{type(e).__name__}: {e}", limit=1000))
                               for _ in batch]
                for (_, _, fut), res in zip(batch, results, strict=True):
                    if not fut.done():
                        fut.set_result(res)
