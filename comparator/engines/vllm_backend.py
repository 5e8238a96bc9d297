"""``vllm/<model>``: vLLM's offline ``LLM`` engine for batch generation on a GPU host.

vLLM is installed from requirements-gpu.txt and imported only here, when this backend is used.
Elsewhere, reach a ``vllm serve`` server with ``openai/<model> --base-url http://host:8000/v1``.
"""

from __future__ import annotations

import time

from comparator.engines.base import BackendOptions, Batcher, GenResult, Messages, SamplingParams


class VLLMBackend:
    Options = BackendOptions  # none

    def __init__(self, model: str, *, tensor_parallel_size: int = 1, batch_size: int = 256) -> None:
        self.spec = f"vllm/{model}"
        self.model_name = model
        self.tp = tensor_parallel_size
        self._llm = None
        self._batcher = Batcher(self.run_batch, batch_size, wait_s=0.05)

    def _load(self):
        if self._llm is None:
            try:
                from vllm import LLM  # optional (GPU hosts only) and heavy
            except ImportError as e:
                raise RuntimeError("vllm/ models need vLLM on a GPU host: pip install -r "
                                   "requirements-gpu.txt (or use openai/ with a vllm serve "
                                   "server)") from e
            self._llm = LLM(model=self.model_name, tensor_parallel_size=self.tp)
        return self._llm

    def run_batch(self, batch: list[Messages], params: SamplingParams) -> list[GenResult]:
        from vllm import SamplingParams as VSP  # optional: see _load

        llm = self._load()
        sp = VSP(temperature=params.temperature, top_p=params.top_p,
                 max_tokens=params.max_tokens, seed=params.seed,
                 logprobs=0 if params.logprobs else None)  # 0: the sampled token's only
        t0 = time.perf_counter()
        outs = llm.chat(batch, sp, use_tqdm=False)
        latency = time.perf_counter() - t0
        results = []
        for o in outs:
            c = o.outputs[0]
            results.append(GenResult(
                text=c.text, finish_reason=c.finish_reason, latency_s=latency,
                prompt_tokens=len(o.prompt_token_ids or []), completion_tokens=len(c.token_ids),
                extra={"batch_size": len(batch)},
                mean_logprob=(c.cumulative_logprob / len(c.token_ids) if params.logprobs and
                              c.token_ids and c.cumulative_logprob is not None else None)))
        return results

    async def generate(self, messages: Messages, params: SamplingParams) -> GenResult:
        return await self._batcher.submit(messages, params)

    async def aclose(self) -> None:
        return None
