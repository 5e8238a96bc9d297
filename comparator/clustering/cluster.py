"""Step 3 and 4: cluster in embedding space (KMeans or HDBSCAN, seeded), a 2-D UMAP map for
the picture, and c-TF-IDF keywords per cluster. Outliers stay visible as "unclustered" (-1).

UMAP's first fit in a process compiles numba code (70-90 s on >= 4,096 rows here), so the map
is fitted on at most MAP_FIT_MAX reasons (a seeded sample; the others are placed at the mean of
their nearest fitted neighbours), clusters are computed in embedding space and never wait for
it, and the 2-D coordinates are cached on disk by the embeddings' content.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from comparator.schema.atomic import atomic_write
from comparator.schema.settings import data_dir

UNCLUSTERED = -1
MAP_FIT_MAX = 2500  # above this, UMAP is fitted on a seeded sample and the rest placed by kNN


def cluster(emb: np.ndarray, method: str = "kmeans", k: int | None = None,
            min_cluster_size: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(labels, centroids). KMeans: ``k`` clusters (default ~sqrt(n/2), 2..40); HDBSCAN:
    clusters of at least ``min_cluster_size``, noise labelled -1."""
    n = len(emb)
    if n == 0:
        return np.zeros(0, int), np.zeros((0, emb.shape[1] if emb.ndim == 2 else 0))
    if method == "kmeans":
        from sklearn.cluster import KMeans  # lazy: sklearn costs ~3 s to import

        k = int(k or max(2, min(40, round((n / 2) ** 0.5))))
        k = max(1, min(k, n))
        km = KMeans(n_clusters=k, random_state=seed, n_init=4).fit(emb)
        labels = km.labels_.astype(int)
    elif method == "hdbscan":
        from sklearn.cluster import HDBSCAN  # lazy: sklearn costs ~3 s to import

        labels = HDBSCAN(min_cluster_size=max(2, min_cluster_size), metric="euclidean",
                         copy=True).fit_predict(emb).astype(int)
    else:
        raise ValueError(f"method must be kmeans or hdbscan, got {method!r}")
    ids = sorted(set(labels.tolist()) - {UNCLUSTERED})
    centroids = np.stack([emb[labels == c].mean(0) for c in ids]) if ids else np.zeros(
        (0, emb.shape[1]))
    # renumber 0..m-1 by size, largest first
    order = sorted(ids, key=lambda c: -(labels == c).sum())
    remap = {old: new for new, old in enumerate(order)}
    labels = np.array([remap.get(c, UNCLUSTERED) for c in labels])
    centroids = centroids[[ids.index(c) for c in order]] if ids else centroids
    norms = np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    return labels, centroids / norms


def umap_2d(emb: np.ndarray, seed: int = 0, cache_dir: Path | None = None) -> np.ndarray:
    """2-D UMAP coordinates (seeded, cosine), cached on disk by the embeddings' bytes."""
    if len(emb) < 3:
        return np.zeros((len(emb), 2), dtype=np.float32)
    key = hashlib.sha1(emb.tobytes() + str(seed).encode()).hexdigest()
    path = (cache_dir or data_dir() / "umap") / f"{key}.npy"
    if path.exists():
        return np.load(path)
    import umap  # lazy: umap (numba, pynndescent, sklearn) costs ~6 s to import

    n = len(emb)
    fit = np.arange(n)
    if n > MAP_FIT_MAX:  # UMAP's large-data path costs 70-90 s of compilation in a new process
        fit = np.sort(np.random.default_rng(seed).choice(n, MAP_FIT_MAX, replace=False))
    reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(fit) - 1), min_dist=0.1,
                        metric="cosine", random_state=seed)
    xy = np.zeros((n, 2), dtype=np.float32)
    xy[fit] = reducer.fit_transform(emb[fit])
    if len(fit) < n:  # the others sit at the mean position of their 5 nearest fitted reasons
        rest = np.setdiff1d(np.arange(n), fit)
        for s in range(0, len(rest), 2048):
            chunk = rest[s:s + 2048]
            near = np.argsort(-(emb[chunk] @ emb[fit].T), axis=1)[:, :5]
            xy[chunk] = xy[fit][near].mean(axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:  # a killed run leaves no half map for the next to load
        np.save(f, xy)
    return xy


def distinct_titles(kw: dict[int, list[str]], n: int = 3) -> dict[int, str]:
    """A short title per cluster from its keywords, skipping words that most clusters share
    (in judge rationales "detailed" is everywhere and names nothing)."""
    counts: dict[str, int] = {}
    for words in kw.values():
        for w in set(words):
            counts[w] = counts.get(w, 0) + 1
    common = {w for w, c in counts.items() if len(kw) > 2 and c > len(kw) / 2}
    return {c: ", ".join(([w for w in words if w not in common] or words)[:n])
            for c, words in kw.items()}


def shorten(text: str, limit: int = 70) -> str:
    """A reason as a title: its first sentence, cut at a word boundary with "…" past ``limit``."""
    text = " ".join(text.split()).strip(" -*•")
    first = re.split(r"(?<=[.!?;])\s", text, maxsplit=1)[0].rstrip(".;")
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0].rstrip(",:;")
    return (cut or first[:limit]) + "…"


def representative_titles(texts: list[str], labels: np.ndarray, sims: np.ndarray
                          ) -> dict[int, str]:
    """Each cluster titled by its most representative reason: the member nearest the centre
    (highest cosine similarity to it), shortened. Vectorised: one argmax per cluster."""
    out = {}
    for c in sorted(set(labels.tolist()) - {UNCLUSTERED}):
        idx = np.flatnonzero(labels == c)
        if c < sims.shape[1] and len(idx):
            out[int(c)] = shorten(texts[int(idx[np.argmax(sims[idx, c])])])
    return out


def keywords(texts: list[str], labels: np.ndarray, top: int = 8) -> dict[int, list[str]]:
    """c-TF-IDF: the words most specific to each cluster's text compared with the others."""
    from sklearn.feature_extraction.text import CountVectorizer  # lazy: sklearn, ~3 s

    ids = sorted(set(labels.tolist()) - {UNCLUSTERED})
    if not ids:
        return {}
    docs = [" ".join(t for t, lab in zip(texts, labels) if lab == c) for c in ids]
    try:
        vec = CountVectorizer(stop_words=list(STOP), ngram_range=(1, 2), min_df=1,
                              token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z-]+\b")
        tf = vec.fit_transform(docs).toarray().astype(float)
    except ValueError:  # nothing but stop words
        return {c: [] for c in ids}
    words = vec.get_feature_names_out()
    tf_norm = tf / np.maximum(tf.sum(1, keepdims=True), 1)
    avg = tf.sum() / len(ids)
    idf = np.log(1 + avg / np.maximum(tf.sum(0), 1))
    score = tf_norm * idf
    return {c: [words[w] for w in np.argsort(-score[r])[:top] if score[r, w] > 0]
            for r, c in enumerate(ids)}


# common words in judge rationales that say nothing about the theme
STOP = frozenset("""a about above after again against all also am an and any are as at be
because been before being below between both but by can could did do does doing down during
each few for from further had has have having he her here hers him his how i if in into is it
its itself just me more most my no nor not now of off on once only or other our out over own
same she should so some such than that the their them then there these they this those
through to too under until up very was we were what when where which while who whom why will
with would you your response responses model models assistant assistants answer answers
output outputs provided provides provide better while however overall also both more less
one two b's a's including include includes gave give gives given therefore thus ranked rank
ranking first second preferred""".split()) | {"a", "b"}
