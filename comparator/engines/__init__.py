"""Generation: paired responses from two models (OpenAI-compatible API, transformers, vLLM).

``make_backend("openai/gpt-4o-mini")`` picks a backend; ``generate_pairs`` runs a prompt set
through both sides with concurrency, retries, a response cache and resume.
"""

from comparator.engines.base import GenResult, SamplingParams
from comparator.engines.promptsets import PromptItem, load_prompts
from comparator.engines.registry import make_backend, parse_spec
from comparator.engines.runner import Progress, Side, generate_pairs

__all__ = ["GenResult", "Progress", "PromptItem", "SamplingParams", "Side", "generate_pairs",
           "load_prompts", "make_backend", "parse_spec"]
