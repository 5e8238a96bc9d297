"""``openai/<model>``: any OpenAI-compatible chat-completions server through the official client.

Several base URLs for one model spread the load round-robin; a URL that fails is rested for a
few seconds while the others serve (failover). 429, 5xx, time-outs, dropped connections and
unreadable bodies are retried with exponential backoff and full jitter; after the last try the
item is recorded as an error with the reason. Replies are streamed to measure the time to the
first token. API keys are never written anywhere; errors are redacted.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time

import openai
import orjson
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

try:  # the openai client's HTTP library (httpx, or its httpx2 fork in newer releases)
    import httpx2 as _httpx
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx as _httpx

from comparator.engines.base import (
    BackendOptions,
    GenResult,
    Messages,
    SamplingParams,
)
from comparator.schema.redact import public_url, redact, remember, url_secrets

DEFAULT_URL = "https://api.openai.com/v1"
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
REST_S = 5.0
BODY_BYTES = 16 * 1024  # of an error body read (a hostile server may send gigabytes)
HINTS = {401: " (check the API key)", 404: " (check the model name and base URL)"}


class _Failed(Exception):
    """One failed try: the reason (redacted), whether it is worth another try, and the
    server's Retry-After in seconds."""

    def __init__(self, reason: str, retry: bool, after: float | None, status: int | None):
        super().__init__(reason)
        self.reason, self.retry, self.after, self.status = reason, retry, after, status


def _worth_retrying(e: BaseException) -> bool:
    return isinstance(e, _Failed) and e.retry


async def _sse_data(resp):
    """The ``data:`` payloads of a server-sent-event stream, as bytes."""
    buf = b""
    async for piece in resp.aiter_bytes():
        buf += piece
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                yield line[5:].strip()
    if buf.startswith(b"data:"):
        yield buf[5:].strip()


async def _error_body(e: Exception) -> str:
    """The server's own words for an HTTP error (a streamed request leaves them unread), at
    most ``BODY_BYTES`` of them, unredacted: only ever recorded through ``redact``."""
    resp = getattr(e, "response", None)
    if resp is None:
        return ""
    try:
        try:
            body = resp.content  # read already (by the client, for its message)
        except _httpx.ResponseNotRead:
            body = b""
            async for piece in resp.aiter_bytes():
                body += piece
                if len(body) >= BODY_BYTES:
                    break
        return " ".join(body[:BODY_BYTES].decode("utf-8", "replace").split())
    except Exception:
        return ""


class OpenAIBackend:
    Options = BackendOptions  # none

    def __init__(self, model: str, *, base_urls: list[str] | None = None,
                 api_key: str | None = None,
                 timeout_s: float = 120.0, max_tries: int = 5, backoff_s: float = 0.5,
                 max_backoff_s: float = 20.0) -> None:
        self.spec = f"openai/{model}"
        self.model = model
        urls = base_urls or [os.environ.get("OPENAI_BASE_URL") or DEFAULT_URL]
        self._key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        # what no recorded error may show, in any form: the key and the URLs' user info
        self._secrets = [k for k in (api_key, os.environ.get("OPENAI_API_KEY")) if k] \
            + url_secrets(urls)
        remember(*self._secrets)
        self._raw_urls, self._timeout = urls, timeout_s
        self._clients: list = []
        self._loop = None
        self.urls = [public_url(u) for u in urls]
        self._rest_until = [0.0] * len(urls)
        self._rr = itertools.cycle(range(len(urls)))
        self.max_tries = max(1, max_tries)
        self.max_backoff_s = max_backoff_s
        self._jitter = wait_random_exponential(multiplier=backoff_s, max=max_backoff_s)

    @property
    def clients(self) -> list:
        """One client per base URL, made for the running event loop (an httpx client cannot
        outlive its loop, and a backend may serve several ``asyncio.run`` calls)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._clients = [openai.AsyncOpenAI(base_url=u, api_key=self._key, max_retries=0,
                                                timeout=self._timeout) for u in self._raw_urls]
            self._loop = loop
        return self._clients

    def _pick(self) -> int:
        now = time.monotonic()
        for _ in range(len(self._raw_urls)):
            i = next(self._rr)
            if self._rest_until[i] <= now:
                return i
        return min(range(len(self._raw_urls)), key=lambda k: self._rest_until[k])

    def _retryable(self, e: Exception) -> tuple[bool, float | None]:
        if isinstance(e, openai.APIStatusError):
            after = None
            try:
                after = float(e.response.headers.get("retry-after", ""))
            except (TypeError, ValueError):
                pass
            return e.status_code in RETRY_STATUS, after
        if isinstance(e, (openai.APITimeoutError, openai.APIConnectionError,
                          openai.APIResponseValidationError, asyncio.TimeoutError, ValueError)):
            return True, None
        return isinstance(e, openai.APIError), None

    async def _once(self, i: int, messages: Messages, params: SamplingParams) -> GenResult:
        body = {"model": self.model, "messages": messages, "temperature": params.temperature,
                "top_p": params.top_p, "max_tokens": params.max_tokens, "stream": True,
                "stream_options": {"include_usage": True}}
        if params.seed is not None:
            body["seed"] = params.seed
        if params.logprobs:
            body["logprobs"] = True
        lp_sum, lp_n = 0.0, 0
        t0 = time.perf_counter()
        ttft = None
        parts: list[str] = []
        finish = None
        usage: dict = {}
        # The official client sends the request (base URL, auth, headers, errors -> typed
        # exceptions); the SSE stream is read here as bytes and parsed with orjson. The typed
        # path (request transform + a pydantic object per chunk) cost ~2 ms of CPU per call,
        # which capped a 2-core client at a third of the ideal throughput at concurrency 64.
        resp = await self.clients[i].post("/chat/completions", body=body,
                                          cast_to=_httpx.Response, stream=True, stream_cls=None)
        try:
            async for data in _sse_data(resp):
                if data == b"[DONE]":  # read on to the end: the connection is then reused
                    continue
                chunk = orjson.loads(data)  # a garbage body raises (and is retried)
                if chunk.get("error"):
                    raise ValueError(f"error in stream: {chunk['error']}")
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or ():
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        if ttft is None:
                            ttft = time.perf_counter() - t0
                        parts.append(delta)
                    for tok in (choice.get("logprobs") or {}).get("content") or ():
                        if isinstance(tok.get("logprob"), (int, float)):
                            lp_sum, lp_n = lp_sum + tok["logprob"], lp_n + 1
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
        finally:
            await resp.aclose()
        if finish is None:
            raise ValueError("the stream ended without a finish reason (truncated reply)")
        return GenResult(
            text="".join(parts), finish_reason=finish, latency_s=time.perf_counter() - t0,
            ttft_s=ttft, prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"), extra={"base_url": self.urls[i]},
            mean_logprob=lp_sum / lp_n if lp_n else None)

    def _wait(self, state) -> float:
        """Full jitter, uniform(0, min(max_backoff_s, backoff_s * 2^(try-1))), but never less
        than the server's Retry-After (capped at max_backoff_s)."""
        delay = self._jitter(state)
        after = state.outcome.exception().after
        return delay if after is None else max(delay, min(after, self.max_backoff_s))

    async def _try(self, messages: Messages, params: SamplingParams) -> GenResult:
        """One try on the next base URL; any failure becomes ``_Failed`` (classified, its
        URL rested when worth retrying)."""
        i = self._pick()
        try:
            return await self._once(i, messages, params)
        except Exception as e:
            retry, after = self._retryable(e)
            status = getattr(e, "status_code", None)
            detail = await _error_body(e)
            reason = redact(f"{type(e).__name__}{f' {status}' if status else ''}: {e}"
                            f"{f' — {detail}' if detail else ''}", self._secrets, limit=500)
            if retry:
                self._rest_until[i] = time.monotonic() + REST_S
            raise _Failed(reason, retry, after, status) from e

    async def generate(self, messages: Messages, params: SamplingParams) -> GenResult:
        """A reply, or the failure recorded as data: at once when not worth retrying (401 ...),
        else after ``max_tries`` tries."""
        retrying = AsyncRetrying(stop=stop_after_attempt(self.max_tries), wait=self._wait,
                                 retry=retry_if_exception(_worth_retrying), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    res = await self._try(messages, params)
                    res.tries = attempt.retry_state.attempt_number
            return res
        except _Failed as f:
            if f.retry:
                return GenResult(status="error", tries=self.max_tries,
                                 error=f"gave up after {self.max_tries} tries: {f.reason}")
            return GenResult(status="error", error=f.reason + HINTS.get(f.status, ""),
                             tries=attempt.retry_state.attempt_number)

    async def aclose(self) -> None:
        if self._loop is asyncio.get_running_loop():
            for c in self._clients:
                await c.close()
        self._clients, self._loop = [], None
