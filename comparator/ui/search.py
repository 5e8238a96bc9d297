"""The Examples page's ranked search box (words + meaning), over the filtered examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from comparator.analysis.stats import derive, winners
from comparator.schema.records import Comparison
from comparator.search.ranked import Hit, field_texts, meaning_index, search
from comparator.ui import state

MAX_HITS = 50


def box() -> tuple[str, bool]:
    """The search box and the 'by meaning too' switch; returns (query, meaning)."""
    c1, c2 = st.columns([3, 1])
    query = c1.text_input("Ranked search (words and meaning)", key=state.F_RANKED,
                          placeholder="e.g. recipe with tofu — best matches first",
                          help="BM25 over prompts, responses and rationales; with 'meaning', "
                               "fused with MiniLM similarity of the prompts (reciprocal rank "
                               "fusion). The sidebar filters still apply.")
    meaning = c2.toggle("by meaning too", key=state.F_MEANING,
                        help="Embeds every prompt once (about 90 prompts/s here; cached on "
                             "disk), then each query takes milliseconds.")
    return query.strip(), meaning


def hits(comp: Comparison, mask: np.ndarray, query: str, meaning: bool) -> list[Hit]:
    if meaning and meaning_index(comp, compute=False) is None:
        with st.spinner(f"Embedding {len(comp.examples):,} prompts once…"):
            meaning_index(comp)
    return search(comp, query, mask, k=MAX_HITS, meaning=meaning)


def table(comp: Comparison, found: list[Hit], tie_threshold: float, judges) -> pd.DataFrame:
    """The ranked hits: the judge's score and winner first (as in the examples table), then
    the search's own numbers, named as such ("match score": the fused ranking score)."""
    prompts = field_texts(comp)["prompt"]
    judged = derive(comp, judges).score
    won = winners(comp, tie_threshold, judges)
    return pd.DataFrame.from_records([{
        "rank": r + 1, "#": h.index,
        "judge score": None if np.isnan(judged[h.index]) else round(float(judged[h.index]), 3),
        "winner": won[h.index], "id": comp.examples[h.index]["id"],
        "match score": round(h.score, 4),
        "BM25": None if h.bm25 is None else round(h.bm25, 2),
        "similarity": None if h.similarity is None else round(h.similarity, 3),
        "matched in": ", ".join(h.fields) or "(meaning only)",
        "prompt": " ".join(prompts[h.index].split())[:160],
    } for r, h in enumerate(found)], columns=["rank", "#", "judge score", "winner", "id",
                                              "match score", "BM25", "similarity",
                                              "matched in", "prompt"])
