"""Reading mode of the Examples page (as LLM Comparator shows examples): one row per example
with the prompt, both full responses side by side (the words they share highlighted) and a
score badge with the rater count; a multi-turn conversation is aligned turn by turn. Names
go through ``md_label``, prompts and responses through ``responses`` (Markdown or raw, safe
HTML, shared runs highlighted)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from comparator.analysis.stats import OUTCOMES, derive, outcomes
from comparator.schema.records import Comparison, prompt_text, response_text
from comparator.ui import responses
from comparator.ui.text import md_label, md_text

BADGE = {"A": ("blue", "A is better"), "B": ("orange", "B is better"), "tie": ("gray", "tie"),
         "unscored": ("gray", "unscored")}
MAX_CHARS = 6000  # longer responses are cut in the reading view (the full text: select the row)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + " …"


def _turns(ex: dict) -> list[tuple[str, str, str]]:
    """(user turn, A's reply, B's reply) per turn; one row for a single-turn example."""
    a, b = ex["response_a"], ex["response_b"]
    users = [m["content"] for m in ex.get("messages") or [] if m.get("role") == "user"]
    if len(users) > 1 and isinstance(a, list) and isinstance(b, list):
        return [(q, a[k] if k < len(a) else "", b[k] if k < len(b) else "")
                for k, q in enumerate(users)]
    return [(prompt_text(ex), response_text(a), response_text(b))]


def reading_view(comp: Comparison, rows: np.ndarray, tie_threshold: float, judges) -> None:
    """The examples ``rows`` (indices), one bordered row each."""
    d = derive(comp, judges)
    oc = outcomes(d.score, tie_threshold)
    responses.control()
    head = st.columns([3, 4, 4, 1.3])
    head[0].markdown("**Prompt**")
    head[1].markdown(f"**Response from A** · {md_label(comp.model_a)}")
    head[2].markdown(f"**Response from B** · {md_label(comp.model_b)}")
    head[3].markdown("**Score**")
    for i in map(int, rows):
        ex = comp.examples[i]
        box = st.container(border=True)
        turns = _turns(ex)
        for k, (q, ra, rb) in enumerate(turns):
            c = box.columns([3, 4, 4, 1.3])
            if len(turns) > 1:
                c[0].markdown(f"**Turn {k + 1}**")
            responses.show(c[0], _cut(q))
            responses.pair(c[1], c[2], _cut(ra), _cut(rb), shared=True)
            if k:
                continue
            color, label = BADGE[OUTCOMES[oc[i]]]
            score = "" if np.isnan(d.score[i]) else f"**{d.score[i]:+.2f}**  \n"
            n = int(d.n_ok[i])
            c[3].markdown(f"{score}:{color}-badge[{label}]  \n"
                          f"{n} rater{'s' if n != 1 else ''}"
                          + (f" · {int(d.n_unscored[i])} unscored" if d.n_unscored[i] else ""))
        tags = [ex.get("category"), *(ex.get("tags") or [])]
        box.caption(f"#{i} · id {md_text(str(ex['id']))}"
                    + "".join(f" · {md_text(str(x))}" for x in tags if x))
