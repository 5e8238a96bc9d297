"""Reference metrics: ROUGE-1/2/L F1 (``rouge-score``, Porter stemmer) and sentence BLEU and
chrF (``sacrebleu``) of each response against the example's reference answer. Multi-turn
responses and references are joined turn by turn (``response_text``). NaN without a reference."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from comparator.schema.records import Comparison
from comparator.store.table import store_for

REFERENCE_METRICS = ("rouge1", "rouge2", "rougeL", "bleu", "chrf")


def has_reference(comp: Comparison) -> bool:
    return store_for(comp).any_value("reference")


def score_pair(scorer, hyp: str, ref: str) -> dict[str, float]:
    import sacrebleu  # heavy import: only for files with references

    r = scorer.score(ref, hyp)
    return {"rouge1": r["rouge1"].fmeasure, "rouge2": r["rouge2"].fmeasure,
            "rougeL": r["rougeL"].fmeasure,
            "bleu": sacrebleu.sentence_bleu(hyp, [ref]).score,
            "chrf": sacrebleu.sentence_chrf(hyp, [ref]).score}


def reference_columns(comp: Comparison) -> dict[str, np.ndarray]:
    """``a.rouge1`` ... ``b.chrf`` for every example (NaN where there is no reference). A
    per-example loop: the libraries score one pair at a time."""
    from rouge_score import rouge_scorer  # heavy import: only for files with references

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    st = store_for(comp)
    out = {f"{s}.{m}": np.full(st.n, np.nan) for s in "ab" for m in REFERENCE_METRICS}
    refs = st.texts("reference")
    rows = np.flatnonzero(pc.greater(pc.utf8_length(refs), 0).to_numpy(zero_copy_only=False))
    take = pa.array(rows)
    texts = {s: st.texts(f"response_{s}").take(take).to_pylist() for s in "ab"}
    for k, (i, ref) in enumerate(zip(rows, refs.take(take).to_pylist(), strict=True)):
        for s in "ab":
            for m, v in score_pair(scorer, texts[s][k], ref).items():
                out[f"{s}.{m}"][i] = v
    return out
