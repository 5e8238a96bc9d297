"""The n-gram panel: 1- to 4-grams used more by A than by B (and the reverse), ranked by the
weighted log-odds z-score with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008,
"Fightin' Words", section 3.5): the prior is the pooled A+B corpus frequency scaled to
``prior_weight`` pseudo-tokens. No maintained library computes it; counting is scikit-learn's
sparse ``CountVectorizer``.

For speed on 100k examples the counts come from at most ``max_examples`` examples (a seeded
sample) and the vocabulary is capped to the ``max_features`` most frequent n-grams.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from comparator.analysis.metrics import _turns, cached
from comparator.schema.records import Comparison
from comparator.store.table import store_for

TOKEN = r"(?u)\b\w+\b"  # every word, one letter included, so an n-gram is contiguous text
WORDCHAR = r"[\p{L}\p{N}_]"
MAX_EXAMPLES = 1000
MAX_FEATURES = 50000


def log_odds_z(y_a: np.ndarray, y_b: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """z-score of the log-odds ratio of each word between corpora A and B with Dirichlet prior
    ``prior`` (alpha_w); positive = used more by A (Monroe et al. 2008, eq. 16 and 18-22)."""
    y_a = y_a.astype(np.float64)
    y_b = y_b.astype(np.float64)
    a0 = prior.sum()
    n_a, n_b = y_a.sum(), y_b.sum()
    delta = (np.log((y_a + prior) / (n_a + a0 - y_a - prior))
             - np.log((y_b + prior) / (n_b + a0 - y_b - prior)))
    var = 1.0 / (y_a + prior) + 1.0 / (y_b + prior)
    return delta / np.sqrt(var)


def ngram_table(comp: Comparison, mask: np.ndarray | None = None, ngram_range=(1, 4),
                prior_weight: float = 1000.0, max_examples: int = MAX_EXAMPLES,
                max_features: int = MAX_FEATURES, min_count: int = 3, seed: int = 0
                ) -> pd.DataFrame:
    """One row per n-gram: ``ngram``, ``n`` (words), ``count_a``, ``count_b`` (occurrences),
    ``examples_a``, ``examples_b`` (responses containing it), ``z`` (> 0: more A). Sorted by z.
    """
    from sklearn.feature_extraction.text import CountVectorizer  # heavy import: when asked

    st = store_for(comp)
    rows = np.flatnonzero(np.ones(st.n, bool) if mask is None else mask)
    if len(rows) > max_examples:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_examples, replace=False))
    docs_a, docs_b = (st.texts(f"response_{s}").take(pa.array(rows)).to_pylist() for s in "ab")
    cols = ["ngram", "n", "count_a", "count_b", "examples_a", "examples_b", "z"]
    vec = CountVectorizer(token_pattern=TOKEN, ngram_range=ngram_range, lowercase=True,
                          max_features=max_features, dtype=np.int32)
    try:
        x = vec.fit_transform(docs_a + docs_b)
    except ValueError:  # empty vocabulary (no words at all)
        return pd.DataFrame(columns=cols)
    xa, xb = x[: len(docs_a)], x[len(docs_a):]
    y_a = np.asarray(xa.sum(axis=0)).ravel()
    y_b = np.asarray(xb.sum(axis=0)).ravel()
    pooled = y_a + y_b
    prior = prior_weight * pooled / pooled.sum()
    z = log_odds_z(y_a, y_b, prior)
    names = vec.get_feature_names_out()
    df = pd.DataFrame({"ngram": names, "n": np.char.count(names.astype(str), " ") + 1,
                       "count_a": y_a, "count_b": y_b,
                       "examples_a": xa.getnnz(axis=0),
                       "examples_b": xb.getnnz(axis=0), "z": z})
    df = df[pooled >= min_count]
    return df.sort_values("z", ascending=False, kind="stable").reset_index(drop=True)


def ngram_pattern(ngram: str) -> str:
    """An RE2 pattern matching ``ngram`` as contiguous words (any non-word text between them),
    case-insensitively, as CountVectorizer tokenises."""
    words = re.findall(r"\w+", ngram)
    if not words:
        raise ValueError(f"n-gram {ngram!r} has no words")
    sep = "(?:[^\\p{L}\\p{N}_])"
    body = f"{sep}+".join(re.escape(w) for w in words)
    return f"(?i)(?:^|{sep}){body}(?:$|{sep})"


def cached_ngram_table(comp: Comparison, mask: np.ndarray | None = None, **kw) -> pd.DataFrame:
    """``ngram_table`` cached on ``comp`` per mask and options."""
    digest = None if mask is None else hashlib.sha1(np.packbits(mask).tobytes()).hexdigest()
    return cached(comp, ("ngram_table", digest, tuple(sorted(kw.items()))),
                  lambda: ngram_table(comp, mask, **kw))


def ngram_mask(comp: Comparison, ngram: str) -> np.ndarray:
    """Examples whose response A or B contains ``ngram``."""
    def compute() -> np.ndarray:
        pattern = ngram_pattern(ngram)
        n = len(comp.examples)
        hit = np.zeros(n, dtype=bool)
        for s in "ab":
            turns, owner, _ = _turns(comp, s)
            found = pc.match_substring_regex(turns, pattern).to_numpy(zero_copy_only=False)
            hit |= np.bincount(owner, weights=found, minlength=n) > 0
        return hit

    return cached(comp, ("ngram", ngram.lower()), compute)
