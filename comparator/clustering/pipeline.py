"""The clustering pipeline: reasons -> embeddings -> clusters (+ 2-D map) -> labels.

``cluster_rationales`` answers "why does A win?": every reason gets a cluster, and each cluster
shows how many of its reasons favour A vs B. Reasons are clustered as properties, not letters:
what is embedded, keyworded and titled is the reason with the outputs named by role
(``rationale.roles``: "the preferred response is more concise"), so a cluster is a property and
its A / B split says which model the judge credits with it; the stored reasons keep A / B.
``cluster_prompts`` gives prompts without a category discovered ones
(``metadata.discovered_category``, and ``category`` when missing). Results are stored in the
comparison (``reasons`` per example, ``metadata.clusters``) and exported with it (native JSONL;
LLM Comparator's rationale_list / rationale_clusters).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from comparator.analysis.stats import wilson
from comparator.clustering.cluster import (
    UNCLUSTERED,
    cluster,
    distinct_titles,
    keywords,
    representative_titles,
    umap_2d,
)
from comparator.clustering.rationale import roles
from comparator.clustering.reasons import extract_reasons, llm_reasons
from comparator.engines import SamplingParams
from comparator.engines.cache import ResponseCache
from comparator.engines.embed import DEFAULT_MODEL, EmbeddingCache, embed
from comparator.engines.runner import Progress, Side, cached_call
from comparator.judge.prompts import title_prompt
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison, prompt_text


@dataclass
class ClusterConfig:
    method: str = "kmeans"  # kmeans | hdbscan
    k: int | None = None
    min_cluster_size: int = 10
    seed: int = 0
    embedding_model: str = DEFAULT_MODEL
    with_map: bool = True  # compute the 2-D UMAP picture
    tie_threshold: float = DEFAULT_TIE_THRESHOLD
    llm: Any = None  # a generation backend: it writes the reasons and the cluster titles
    llm_params: Any = None  # SamplingParams for it (default: temperature 0)


@dataclass
class ClusterRun:
    clusters: list[dict[str, Any]]
    n_items: int
    unclustered: int
    timings: dict[str, float] = field(default_factory=dict)
    computed_embeddings: int = 0


def _embed_cluster(texts: list[str], cfg: ClusterConfig, cache: EmbeddingCache | None,
                   timings: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    t = time.perf_counter()
    emb, computed = embed(texts, cfg.embedding_model, cache)
    timings["embed_s"] = time.perf_counter() - t
    t = time.perf_counter()
    labels, centroids = cluster(emb, cfg.method, cfg.k, cfg.min_cluster_size, cfg.seed)
    timings["cluster_s"] = time.perf_counter() - t
    t = time.perf_counter()
    xy = umap_2d(emb, cfg.seed) if cfg.with_map else np.full((len(texts), 2), np.nan)
    timings["map_s"] = time.perf_counter() - t
    sims = emb @ centroids.T if len(centroids) else np.zeros((len(texts), 0))
    return labels, xy, sims, emb, computed


def _describe(texts: list[str], labels: np.ndarray, favours: list[str | None] | None,
              sims: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Size, keywords and title of each cluster (and the A/B split of its reasons). With
    ``sims`` (similarity to each centre) the title is the most representative member,
    shortened, and the keyword title is kept beside it; without, the keyword title."""
    kw = keywords(texts, labels)
    titles = distinct_titles(kw)
    central = representative_titles(texts, labels, sims) if sims is not None else {}
    out = []
    for c in sorted(set(labels.tolist()) - {UNCLUSTERED}):
        members = labels == c
        row: dict[str, Any] = {"id": int(c), "size": int(members.sum()),
                               "keywords": kw.get(c, []),
                               "keyword_title": titles.get(c) or f"cluster {c}"}
        row["title"] = central.get(c) or row["keyword_title"]
        if favours is not None:
            fav = [f for f, m in zip(favours, members) if m]
            a, b = fav.count("A"), fav.count("B")
            row.update(favours_a=a, favours_b=b, neither=len(fav) - a - b,
                       share_a=a / (a + b) if a + b else None,
                       share_a_ci95=list(wilson(a / (a + b), a + b)) if a + b else None)
        out.append(row)
    return out


def cluster_rationales(comp: Comparison, cfg: ClusterConfig | None = None,
                       cache: EmbeddingCache | None = None) -> ClusterRun:
    """Split, embed and cluster the rationales; store the reasons and clusters in ``comp``."""
    cfg = cfg or ClusterConfig()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    dropped: list[str] = []  # sentences that only state a verdict: counted, not clustered
    if cfg.llm is not None:
        reasons = asyncio.run(llm_reasons(comp, cfg.llm, _llm_params(cfg), tie_threshold=
                                          cfg.tie_threshold, dropped=dropped))
    else:
        reasons = extract_reasons(comp, cfg.tie_threshold, dropped)
    timings["reasons_s"] = time.perf_counter() - t
    texts = [roles(r["text"], r["favours"]) for r in reasons]  # properties, not letters
    for ex in comp.examples:
        ex.pop("reasons", None)
    if not texts:
        comp.metadata["clusters"] = {"what": "rationales", "clusters": [], "unclustered": 0,
                                     "boilerplate": len(dropped)}
        return ClusterRun([], 0, 0, timings)
    labels, xy, sims, _, computed = _embed_cluster(texts, cfg, cache, timings)
    for r, lab, (x, y), s in zip(reasons, labels, xy, sims):
        ex = comp.examples[r["example"]]
        ex.setdefault("reasons", []).append({
            "text": r["text"], "favours": r["favours"], "judgment": r["judgment"],
            "cluster": int(lab), "x": None if np.isnan(x) else round(float(x), 4),
            "y": None if np.isnan(y) else round(float(y), 4),
            "similarities": [round(float(v), 4) for v in s]})
    clusters = _describe(texts, labels, [r["favours"] for r in reasons], sims)
    if cfg.llm is not None:
        t = time.perf_counter()
        asyncio.run(_llm_titles(clusters, texts, labels, sims, cfg))
        timings["titles_s"] = time.perf_counter() - t
    unclustered = int((labels == UNCLUSTERED).sum())
    comp.metadata["clusters"] = {
        "what": "rationales", "method": cfg.method, "k": cfg.k,
        "min_cluster_size": cfg.min_cluster_size, "seed": cfg.seed,
        "embedding_model": cfg.embedding_model, "tie_threshold": cfg.tie_threshold,
        "reasons_by": cfg.llm.spec if cfg.llm is not None else "offline splitter",
        "clusters": clusters, "unclustered": unclustered, "reasons": len(texts),
        "boilerplate": len(dropped)}
    comp.invalidate()
    return ClusterRun(clusters, len(texts), unclustered, timings, computed)


def _llm_params(cfg: ClusterConfig):
    return cfg.llm_params or SamplingParams(temperature=0.0, max_tokens=400)


async def _llm_titles(clusters: list[dict], texts: list[str], labels: np.ndarray,
                      sims: np.ndarray, cfg: ClusterConfig) -> None:
    """LLM-written titles (prompt ``title-v2``) from each cluster's most central reasons; the
    keyword title stays when the reply is empty."""
    side = Side("titler", cfg.llm, _llm_params(cfg))
    sem = asyncio.Semaphore(8)
    cache = ResponseCache()

    async def one(c: dict) -> None:
        idx = np.flatnonzero(labels == c["id"])
        central = idx[np.argsort(-sims[idx, c["id"]])][:12]
        res = await cached_call(side, title_prompt([texts[i] for i in central], c["keywords"]),
                                cache, sem, Progress(total=0))
        title = " ".join((res.text or "").strip().strip('"').split())[:80]
        if res.status == "ok" and title:
            c["title"] = title

    try:
        await asyncio.gather(*(one(c) for c in clusters))
    finally:
        cache.close()
        await cfg.llm.aclose()


def cluster_prompts(comp: Comparison, cfg: ClusterConfig | None = None,
                    cache: EmbeddingCache | None = None, set_category: bool | None = None
                    ) -> ClusterRun:
    """Discovered categories: prompts clustered by meaning, each example labelled with its
    cluster's keywords (``metadata.discovered_category``; also ``category`` when the file has
    none, or when ``set_category``)."""
    cfg = cfg or ClusterConfig()
    timings: dict[str, float] = {}
    texts = [prompt_text(ex)[:2000] for ex in comp.examples]
    if not texts:
        return ClusterRun([], 0, 0, timings)
    labels, xy, _, _, computed = _embed_cluster(texts, cfg, cache, timings)
    clusters = _describe(texts, labels, None)
    title = {c["id"]: c["title"] for c in clusters}
    if set_category is None:
        set_category = not any(ex.get("category") for ex in comp.examples)
    for ex, lab, (x, y) in zip(comp.examples, labels, xy):
        name = title.get(int(lab), "unclustered")
        ex.setdefault("metadata", {})["discovered_category"] = name
        ex.setdefault("extra", {})["prompt_map"] = {
            "cluster": int(lab), "x": None if np.isnan(x) else round(float(x), 4),
            "y": None if np.isnan(y) else round(float(y), 4)}
        if set_category:
            ex["category"] = name
    unclustered = int((labels == UNCLUSTERED).sum())
    comp.metadata["prompt_clusters"] = {
        "what": "prompts", "method": cfg.method, "k": cfg.k, "seed": cfg.seed,
        "min_cluster_size": cfg.min_cluster_size, "embedding_model": cfg.embedding_model,
        "clusters": clusters, "unclustered": unclustered, "category_set": set_category}
    comp.invalidate()
    return ClusterRun(clusters, len(texts), unclustered, timings, computed)
