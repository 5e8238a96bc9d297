"""``hf/<path-or-name>``: transformers locally (CPU or GPU), batched ``generate`` with the
model's chat template. Weights load from a local folder (or a hub cache already on disk)."""

from __future__ import annotations

import threading
import time

from comparator.engines.base import BackendOptions, Batcher, GenResult, Messages, SamplingParams

_LOAD_LOCK = threading.Lock()  # transformers' lazy imports are not thread-safe
_LOADED: dict[tuple[str, str], tuple[object, object]] = {}  # one copy per (model, device)


class HFBackend:
    Options = BackendOptions  # none

    def __init__(self, model: str, *, batch_size: int = 8, device: str | None = None) -> None:
        self.spec = f"hf/{model}"
        self.model_name = model
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._tok = None
        self._batcher = Batcher(self.run_batch, batch_size)

    def _load(self) -> None:
        if self._model is not None:
            return
        with _LOAD_LOCK:
            import torch  # heavy, as transformers (seconds): when the model loads
            from transformers import AutoModelForCausalLM, AutoTokenizer

            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            hit = _LOADED.get((self.model_name, device))
            if hit is None:
                tok = AutoTokenizer.from_pretrained(self.model_name)
                tok.padding_side = "left"
                if tok.pad_token is None:
                    tok.pad_token = tok.eos_token
                dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
                model = AutoModelForCausalLM.from_pretrained(self.model_name, dtype=dtype)
                model.to(device).eval()
                hit = _LOADED[(self.model_name, device)] = (model, tok)
            self._model, self._tok = hit
            self.device = device

    def run_batch(self, batch: list[Messages], params: SamplingParams) -> list[GenResult]:
        """Generate a reply for every conversation in one padded batch (blocking)."""
        import torch  # heavy: loaded by _load by now, so this costs nothing

        self._load()
        tok, model = self._tok, self._model
        texts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True)
                 for m in batch]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            self.device)
        kwargs = dict(max_new_tokens=params.max_tokens, pad_token_id=tok.pad_token_id)
        if params.logprobs:  # the raw (unwarped) logits of each step, for mean_logprob
            kwargs.update(output_logits=True, return_dict_in_generate=True)
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
            if params.seed is not None:
                torch.manual_seed(params.seed)
        else:
            kwargs.update(do_sample=False)
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**enc, **kwargs)
        step_lp = None
        if params.logprobs:
            # log p(token) of each chosen token at each step: (batch, steps)
            step_lp = torch.stack([torch.log_softmax(x.float(), dim=-1) for x in out.logits], 1)
            out = out.sequences
            step_lp = step_lp.gather(-1, out[:, enc["input_ids"].shape[1]:, None])[..., 0]
        latency = time.perf_counter() - t0
        width = enc["input_ids"].shape[1]
        results = []
        eos = {tok.eos_token_id, *(model.generation_config.eos_token_id or [])} \
            if isinstance(model.generation_config.eos_token_id, list) else {
                tok.eos_token_id, model.generation_config.eos_token_id}
        for k in range(len(batch)):
            new = out[k, width:].tolist()
            n = len(new)
            while n and new[n - 1] == tok.pad_token_id and tok.pad_token_id not in eos:
                n -= 1
            stopped = any(t in eos for t in new[:n])
            keep = [j for j, t in enumerate(new[:n]) if t not in eos and t != tok.pad_token_id]
            ids = [new[j] for j in keep]
            results.append(GenResult(
                text=tok.decode(ids, skip_special_tokens=True),
                finish_reason="stop" if stopped else "length", latency_s=latency,
                prompt_tokens=int(enc["attention_mask"][k].sum()), completion_tokens=len(ids),
                extra={"batch_size": len(batch), "device": str(self.device)},
                mean_logprob=(float(step_lp[k, keep].mean()) if step_lp is not None and keep
                              else None)))
        return results

    async def generate(self, messages: Messages, params: SamplingParams) -> GenResult:
        return await self._batcher.submit(messages, params)

    async def aclose(self) -> None:
        return None
