"""The registry that picks a generation backend from a ``"provider/model"`` string.

    openai/<model>   any OpenAI-compatible chat-completions server (OpenAI, vllm serve, Ollama…)
    hf/<path|name>   transformers, locally (CPU or GPU), batched generate with the chat template
    vllm/<model>     vLLM's offline engine on a GPU host (requirements-gpu.txt)
    ct2/<path|name>  CTranslate2 locally (int8 on CPU), a transformers model converted once

A provider names its backend as ``"module:Class"``, imported only when that provider is chosen:
nothing of a backend (nor the heavy library behind it) is imported before. A new backend is a
module with a class implementing ``base.Backend`` and one line here.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from pydantic import ValidationError

from comparator.engines.base import Backend

PROVIDERS: dict[str, str] = {
    "openai": "comparator.engines.openai_backend:OpenAIBackend",
    "hf": "comparator.engines.hf_backend:HFBackend",
    "vllm": "comparator.engines.vllm_backend:VLLMBackend",
    "ct2": "comparator.engines.ct2_backend:Ct2Backend",
}


def parse_spec(spec: str) -> tuple[str, str]:
    """``(provider, model)`` of ``"provider/model"``; ValueError naming the known providers."""
    provider, sep, model = spec.partition("/")
    if not sep or provider not in PROVIDERS or not model:
        raise ValueError(f"model spec {spec!r} must be PROVIDER/MODEL with PROVIDER one of "
                         f"{', '.join(PROVIDERS)} (e.g. openai/gpt-4o-mini, hf/./my-model)")
    return provider, model


def backend_class(provider: str) -> type[Backend]:
    """The backend class of a known provider, its module imported now."""
    module, _, name = PROVIDERS[provider].partition(":")
    return getattr(importlib.import_module(module), name)


def options_of(provider: str) -> tuple[str, ...]:
    """The names of the options a provider's backend declares (``--params-a KEY=VALUE``)."""
    return tuple(backend_class(provider).Options.model_fields)


def check_options(provider: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` validated (and converted: ``"4"`` -> 4) by the provider's backend; ValueError
    in one line naming the option and what it takes."""
    try:
        return backend_class(provider).Options(**options).model_dump(exclude_unset=True)
    except ValidationError as e:
        err = e.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        if err["type"] != "extra_forbidden":
            raise ValueError(f"{provider}/ option {name}={err['input']!r}: {err['msg']}") from None
        unknown = [k for k in options if k not in options_of(provider)]
        owners = [p for p in PROVIDERS if p != provider and set(unknown) <= set(options_of(p))]
        if owners:
            raise ValueError(f"{', '.join(unknown)}: options of "
                             f"{' and '.join(p + '/' for p in owners)} models only, not "
                             f"{provider}/") from None
        takes = ", ".join(options_of(provider)) or "no options"
        raise ValueError(f"{', '.join(unknown)}: not an option of {provider}/ models (they take "
                         f"{takes})") from None


def make_backend(spec: str, *, base_urls: list[str] | None = None, api_key: str | None = None,
                 timeout_s: float = 120.0, max_tries: int = 5, batch_size: int = 8,
                 tensor_parallel_size: int = 1, device: str | None = None,
                 options: dict[str, Any] | None = None) -> Backend:
    """The backend for ``spec``, given the common arguments its class takes (by name) and its
    own validated ``options``."""
    provider, model = parse_spec(spec)
    opts = check_options(provider, options or {})
    common = dict(base_urls=base_urls, api_key=api_key, timeout_s=timeout_s, max_tries=max_tries,
                  batch_size=batch_size, tensor_parallel_size=tensor_parallel_size, device=device)
    cls = backend_class(provider)
    takes = inspect.signature(cls).parameters
    return cls(model, **{k: v for k, v in common.items() if k in takes}, **opts)
