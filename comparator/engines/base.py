"""The one small interface every generation backend implements, and the registry that picks a
backend from a ``"provider/model"`` string. Heavy libraries are imported inside the backends.

    openai/<model>   any OpenAI-compatible chat-completions server (OpenAI, vllm serve, Ollama…)
    hf/<path|name>   transformers, locally (CPU or GPU), batched generate with the chat template
    vllm/<model>     vLLM's offline engine on a GPU host (requirements-gpu.txt)
    ct2/<path|name>  CTranslate2 locally (int8 on CPU), a transformers model converted once
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

PROVIDERS = ("openai", "hf", "vllm", "ct2")


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


class Backend(Protocol):
    """Generate one chat reply. Implementations may batch concurrent calls internally."""

    spec: str

    async def generate(self, messages: Messages, params: SamplingParams) -> GenResult: ...

    async def aclose(self) -> None: ...


def parse_spec(spec: str) -> tuple[str, str]:
    provider, sep, model = spec.partition("/")
    if not sep or provider not in PROVIDERS or not model:
        raise ValueError(f"model spec {spec!r} must be PROVIDER/MODEL with PROVIDER one of "
                         f"{', '.join(PROVIDERS)} (e.g. openai/gpt-4o-mini, hf/./my-model)")
    return provider, model


def make_backend(spec: str, *, base_urls: list[str] | None = None, api_key: str | None = None,
                 timeout_s: float = 120.0, max_tries: int = 5, batch_size: int = 8,
                 tensor_parallel_size: int = 1, device: str | None = None,
                 options: dict[str, Any] | None = None) -> Backend:
    provider, model = parse_spec(spec)
    if options and provider != "ct2":
        raise ValueError(f"{', '.join(options)}: options of ct2/ models only, not {provider}/")
    if provider == "openai":
        from comparator.engines.openai_backend import OpenAIBackend

        return OpenAIBackend(model, base_urls=base_urls, api_key=api_key, timeout_s=timeout_s,
                             max_tries=max_tries)
    if provider == "hf":
        from comparator.engines.hf_backend import HFBackend

        return HFBackend(model, batch_size=batch_size, device=device)
    if provider == "ct2":
        from comparator.engines.ct2_backend import Ct2Backend

        return Ct2Backend(model, batch_size=batch_size, device=device, **(options or {}))
    from comparator.engines.vllm_backend import VLLMBackend

    return VLLMBackend(model, tensor_parallel_size=tensor_parallel_size, batch_size=batch_size)


def conversation(system: str | None, turns: list[str], replies: list[str]) -> Messages:
    """Chat messages for the next turn: the user turns interleaved with the model's own
    earlier replies."""
    msgs: Messages = [{"role": "system", "content": system}] if system else []
    for k, user in enumerate(turns):
        msgs.append({"role": "user", "content": user})
        if k < len(replies):
            msgs.append({"role": "assistant", "content": replies[k]})
    return msgs


_URL_CREDENTIALS = re.compile(r"(//)[^/@\s]+@")


def public_url(url: str) -> str:
    """A base URL without any user:password@ part, safe to record."""
    return _URL_CREDENTIALS.sub(r"\1", url)


def redact(text: str, secrets: list[str | None]) -> str:
    """``text`` with every secret (API keys) replaced, for errors and logs."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return _URL_CREDENTIALS.sub(r"\1***@", text)


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
                    results = [GenResult(status="error", error=f"{type(e).__name__}: {e}")
                               for _ in batch]
                for (_, _, fut), res in zip(batch, results, strict=True):
                    if not fut.done():
                        fut.set_result(res)
