"""Ranked search over a comparison: words (BM25) and meaning (MiniLM), fused into one ranking.

- **Words**: ``bm25s`` (Lucene BM25, k1 = 1.5, b = 0.75, English stop words, lower-cased
  ``\\w\\w+`` tokens) over one document per example: its prompt, both responses and the
  rationales of its judgments.
- **Meaning**: cosine similarity between the query's all-MiniLM-L6-v2 embedding and each
  example's *prompt* embedding (the clustering embeddings and their on-disk cache,
  ``comparator.engines.embed``). Embedding prompts costs about 90 texts/s on 2 CPU cores, so
  it is opt-in (``meaning=True``) and paid once per prompt set; words work without it.
- **Fusion**: reciprocal rank fusion (RRF, k = 60) of the two rankings' top ``POOL`` candidates:
  it needs no calibration between BM25 scores and cosines.

The indices are built lazily on the first query and cached on the comparison, so later
queries (warm) only score: a sparse BM25 lookup and one matrix-vector product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from comparator.engines.embed import embed, sentence_model
from comparator.schema.records import Comparison
from comparator.store.table import store_for

RRF_K = 60
POOL = 1000  # candidates taken from each ranking before fusion
FIELDS = ("prompt", "response A", "response B", "rationale")
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s' default token pattern


@dataclass
class Hit:
    """One ranked result: the example's index, the fused score and its parts."""

    index: int
    score: float
    bm25: float | None  # None: not among the word matches
    similarity: float | None  # None: meaning not used
    fields: list[str]  # which fields hold a query word


def field_texts(comp: Comparison) -> dict[str, list[str]]:
    """Per field, one text per example, read from the store (cached: ``("search_fields",)``)."""
    st = store_for(comp)
    return st.memo(("search_fields",), lambda: {
        "prompt": st.texts("prompt").to_pylist(),
        "response A": st.texts("response_a").to_pylist(),
        "response B": st.texts("response_b").to_pylist(),
        "rationale": _rationales(st).to_pylist()})


def _rationales(st) -> pa.ChunkedArray:
    """Each example's judgment rationales joined by newlines ("" without judgments)."""
    chunks = []
    for chunk in st.column("judgments").chunks:
        texts = pc.fill_null(pc.struct_field(chunk.values, "rationale"), "")
        lists = pa.ListArray.from_arrays(chunk.offsets, texts)
        joined = pc.binary_join(lists, pa.scalar("\n", pa.large_string()))
        chunks.append(pc.fill_null(joined, ""))
    return pa.chunked_array(chunks, pa.large_string())


def _query_tokens(query: str) -> list[str]:
    import bm25s  # lazy: bm25s (numba, scipy) costs ~0.7 s to import

    return bm25s.tokenize(query, stopwords="en", return_ids=False, show_progress=False)[0]


def word_index(comp: Comparison):
    """The BM25 index over every example's texts (built once per comparison: ``("bm25",)``)."""
    def build():
        import bm25s  # lazy: bm25s (numba, scipy) costs ~0.7 s to import

        texts = field_texts(comp)
        docs = ["\n".join(parts) for parts in zip(*(texts[f] for f in FIELDS))]
        tokens = bm25s.tokenize(docs, stopwords="en", show_progress=False)
        index = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
        index.index(tokens, show_progress=False)
        return index

    return store_for(comp).memo(("bm25",), build)


def bm25_scores(comp: Comparison, query: str) -> np.ndarray:
    """BM25 score of every example for ``query`` (0 where no query word occurs)."""
    index = word_index(comp)
    vocab = index.vocab_dict
    tokens = [t for t in _query_tokens(query) if t in vocab]
    if not tokens:
        return np.zeros(len(comp.examples), dtype=np.float32)
    return np.asarray(index.get_scores(tokens), dtype=np.float32)


def meaning_index(comp: Comparison, compute: bool = True) -> np.ndarray | None:
    """Unit-length MiniLM embeddings of the prompts (rows = examples); None when not computed
    yet and ``compute`` is False."""
    st = store_for(comp)
    if not compute:
        return st.peek(("prompt_embeddings",))
    return st.memo(("prompt_embeddings",), lambda: embed(field_texts(comp)["prompt"])[0])


@lru_cache(maxsize=256)
def query_embedding(query: str) -> np.ndarray:
    """The query's unit-length MiniLM embedding. One short text runs faster on one thread than
    on several (no synchronisation), also when other work shares the cores."""
    import torch  # lazy: torch costs ~3 s to import; only the meaning search needs it

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        vec = sentence_model().encode([query], normalize_embeddings=True, convert_to_numpy=True)
    finally:
        torch.set_num_threads(threads)
    return np.asarray(vec[0], dtype=np.float32)


def similarities(comp: Comparison, query: str) -> np.ndarray:
    return meaning_index(comp) @ query_embedding(query)


def _top(scores: np.ndarray, allowed: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` best allowed scores, best first."""
    cand = np.flatnonzero(allowed)
    if len(cand) > n:
        cand = cand[np.argpartition(-scores[cand], n - 1)[:n]]
    return cand[np.argsort(-scores[cand], kind="stable")]


def matched_fields(comp: Comparison, i: int, tokens: list[str]) -> list[str]:
    texts = field_texts(comp)
    words = set(tokens)
    return [f for f in FIELDS if words & set(_TOKEN.findall(texts[f][i].lower()))]


def search(comp: Comparison, query: str, mask: np.ndarray | None = None, k: int = 50,
           meaning: bool = False) -> list[Hit]:
    """The ``k`` best examples for ``query`` among ``mask`` (all when None), best first."""
    query = query.strip()
    n = len(comp.examples)
    if not query or not n:
        return []
    allowed = np.ones(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    bm = bm25_scores(comp, query)
    word_rank = _top(bm, allowed & (bm > 0), POOL)
    rankings = [word_rank]
    sims = None
    if meaning:
        sims = similarities(comp, query)
        rankings.append(_top(sims, allowed, POOL))
    fused: dict[int, float] = {}
    for ranking in rankings:
        for r, i in enumerate(ranking.tolist()):
            fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + r + 1)
    best = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    tokens = _query_tokens(query)
    return [Hit(index=i, score=s, bm25=float(bm[i]) if bm[i] > 0 else None,
                similarity=None if sims is None else float(sims[i]),
                fields=matched_fields(comp, i, tokens)) for i, s in best]
