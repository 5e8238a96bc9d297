"""Reference metrics: ROUGE-1/2/L F1 (``rouge-score``, Porter stemmer) and sentence BLEU and
chrF (``sacrebleu``) of each response against the example's reference answer. Multi-turn
responses and references are joined turn by turn (``response_text``). NaN without a reference."""

from __future__ import annotations

import numpy as np

from comparator.schema.records import Comparison, response_text

REFERENCE_METRICS = ("rouge1", "rouge2", "rougeL", "bleu", "chrf")


def has_reference(comp: Comparison) -> bool:
    from comparator.store.table import store_of

    st = store_of(comp)
    if st is not None:
        return st.any_value("reference")
    return any(ex.get("reference") for ex in comp.examples)


def score_pair(scorer, hyp: str, ref: str) -> dict[str, float]:
    import sacrebleu

    r = scorer.score(ref, hyp)
    return {"rouge1": r["rouge1"].fmeasure, "rouge2": r["rouge2"].fmeasure,
            "rougeL": r["rougeL"].fmeasure,
            "bleu": sacrebleu.sentence_bleu(hyp, [ref]).score,
            "chrf": sacrebleu.sentence_chrf(hyp, [ref]).score}


def reference_columns(comp: Comparison) -> dict[str, np.ndarray]:
    """``a.rouge1`` ... ``b.chrf`` for every example (NaN where there is no reference). A
    per-example loop: the libraries score one pair at a time."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    n = len(comp.examples)
    out = {f"{s}.{m}": np.full(n, np.nan) for s in "ab" for m in REFERENCE_METRICS}
    for i, ex in enumerate(comp.examples):
        ref = response_text(ex.get("reference"))
        if not ref:
            continue
        for s in "ab":
            for m, v in score_pair(scorer, response_text(ex[f"response_{s}"]), ref).items():
                out[f"{s}.{m}"][i] = v
    return out
