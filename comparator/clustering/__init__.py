"""Rationale clusters and discovered categories (embeddings + clustering + UMAP map).

``reasons`` (rationales -> short reasons), ``embed`` (cached embeddings), ``cluster``
(KMeans / HDBSCAN, UMAP, c-TF-IDF), ``pipeline`` (``cluster_rationales``, ``cluster_prompts``).
"""

from comparator.clustering.pipeline import ClusterConfig, cluster_prompts, cluster_rationales

__all__ = ["ClusterConfig", "cluster_prompts", "cluster_rationales"]
