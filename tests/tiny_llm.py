"""A real (tiny, randomly initialised) Llama built offline for tests: 2 layers, 64 dims, a BPE
tokenizer trained here on a few sentences, and a chat template. Its replies are gibberish; what
the tests check is the plumbing (server, client, batching, cache, resume), never the quality."""

from __future__ import annotations

from pathlib import Path

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Model A answered the question clearly and briefly.",
    "Model B gave a longer answer with more details and examples.",
    "Write a short poem about the sea and the moon.",
    "What is the capital of France? Paris is the capital of France.",
    "Explain recursion to a child in two sentences.",
    "Assistant A is better. Assistant B is better. It is a tie.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000.",
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_llama(folder: Path, seed: int = 0, *, hidden: int = 64, intermediate: int = 128,
                     layers: int = 2, heads: int = 4, kv_heads: int = 2,
                     init_range: float = 0.2) -> Path:
    """The tiny model by default; bigger sizes (same tokenizer) for benchmarks."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<unk>", "<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>"]
    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator(SENTENCES * 4, trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>", bos_token="<s>",
                                  eos_token="</s>", pad_token="<pad>")
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(folder)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=hidden, intermediate_size=intermediate,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
        max_position_embeddings=32768,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id, tie_word_embeddings=False, initializer_range=init_range)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    # random weights love to repeat a special token, which decodes to "": keep replies visible
    model.generation_config.suppress_tokens = tok.convert_tokens_to_ids(
        [t for t in specials if t != "</s>"])
    model.save_pretrained(folder)
    return folder
