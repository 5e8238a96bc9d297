"""Reusable dashboard pieces. Text from files is always shown as text: every user string goes
through ``md_text`` (comparator/ui/text.py: Markdown punctuation escaped, so nothing is
interpreted, let alone run); no ``unsafe_allow_html`` anywhere."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from comparator.analysis.metrics import metric_fields
from comparator.analysis.stats import OUTCOMES, derive, slice_values, winners
from comparator.clustering.rationale import oriented_label, oriented_rationale
from comparator.engines import SamplingParams, Side
from comparator.engines.ct2_backend import COMPUTE_TYPES
from comparator.engines.ray_engine import SideSpec
from comparator.engines.registry import PROVIDERS
from comparator.engines.secrets import api_key, base_urls
from comparator.formats import Loaded
from comparator.formats.tabular import CANONICAL
from comparator.schema.records import Comparison, prompt_text, response_text
from comparator.schema.redact import public_url
from comparator.schema.visible import visible
from comparator.store.table import store_for
from comparator.ui import conditions, responses, state
from comparator.ui.text import md_label, md_text


def slice_fields(comp: Comparison) -> list[str]:
    """Fields worth slicing by: category, tags, judge (if several), low-cardinality metadata,
    then the response metrics (a.words, b.has_list, ...)."""
    store = store_for(comp)

    def build() -> list[str]:
        fields = [f for f in ("category", "tags") if store.any_value(f)]
        if len(comp.judges()) > 1:
            fields.append("judge")
        meta: dict[str, set] = {}
        for ex in comp.examples[:5000]:
            for k, v in (ex.get("metadata") or {}).items():
                vals = v if isinstance(v, list) else [v]
                meta.setdefault(k, set()).update(str(x) for x in vals if not isinstance(x, dict))
        return fields + [k for k, vals in meta.items() if 1 < len(vals) <= 50]

    # metric fields are not cached: user metrics come and go
    return store.memo(("slice_fields",), build) + metric_fields(comp)


def sidebar(loaded: Loaded) -> None:
    """The shared filters, in the sidebar of every analysis page."""
    comp = loaded.comparison
    sb = st.sidebar
    sb.caption(f"**{md_label(comp.model_a)}** (A) vs **{md_label(comp.model_b)}** (B) · "
               f"{len(comp.examples):,} examples")
    sb.checkbox("Swap A and B", key=state.SWAP, **_default(state.SWAP, False),
                help="Read the whole view from B's side: B's model becomes A, every score is "
                     "negated (e.g. AlpacaEval files put the baseline first). Kept in the link; "
                     "`comparator convert FILE -o OUT --swap` writes the swapped file.")
    fields = slice_fields(comp)
    options = [state.NO_FIELD, *fields]
    cur = st.session_state.get(state.F_FIELD)
    if cur and cur not in options:
        options.append(cur)
    sb.selectbox("Slice by", options, key=state.W_FIELD, on_change=state.on_field_change,
                 **_index(state.W_FIELD, options, cur or state.NO_FIELD))
    if cur:
        try:
            names = slice_values(comp, cur)[2]
        except KeyError:
            names = []
        vals = [state.ALL_VALUES, *names]
        cur_v = st.session_state.get(state.F_VALUE)
        sb.selectbox("Slice value", vals, key=state.W_VALUE, on_change=state.on_value_change,
                     format_func=visible,  # look-alike values (a zero-width space) apart
                     **_index(state.W_VALUE, vals, cur_v if cur_v in vals else state.ALL_VALUES))
    conditions.sidebar_conditions(sb)  # further slice conditions (a finding's), ANDed
    names = comp.judges()
    if len([n for n in names if n != "human"]) > 1 or ("human" in names and len(names) > 1):
        opts = [state.ALL_JUDGES, *names]
        sb.selectbox("Scores from judge", opts, key=state.F_JUDGE, format_func=visible,
                     help="(default): every model judge (human labels only when there is no "
                          "model judge); or one judge, e.g. human", **_index(
                              state.F_JUDGE, opts, st.session_state.get(state.F_JUDGE)))
    sb.multiselect("Winner", list(OUTCOMES), key=state.F_WINNERS)
    sb.slider("Score range", -1.5, 1.5, step=0.05, key=state.F_SCORE,
              on_change=state.on_score_slider, **_default(state.F_SCORE, (-1.5, 1.5)))
    sb.text_input("Search prompt and responses", key=state.F_SEARCH,
                  placeholder="text, or a regular expression")
    sb.checkbox("regular expression", key=state.F_REGEX)
    sb.slider("Tie threshold t (|score| ≤ t is a tie)", 0.0, 1.5, step=0.05, key=state.TIE,
              **_default(state.TIE, state.tie_threshold()))
    sb.button("Clear filters", on_click=state.clear_filters)


@dataclass
class Page:
    """What every analysis page starts from."""

    loaded: Loaded
    comp: Comparison
    mask: np.ndarray  # the examples passing the shared filters
    error: str | None  # e.g. a bad regular expression, shown as a warning
    t: float  # tie threshold
    judges: object  # "auto" or a frozenset of judge names (state.score_judges)


def analysis_page(title: str) -> Page:
    """Open comparison, sidebar filters, filtered mask; stops the page if nothing is open."""
    loaded = state.current()
    if loaded is None:
        st.stop()
    sidebar(loaded)
    mask, error = state.mask(loaded)
    shown_caption(loaded, mask)
    st.title(md_text(title))
    if error:
        st.warning(md_text(error))
    return Page(loaded, loaded.comparison, mask, error, state.tie_threshold(),
                state.score_judges(loaded.comparison))


def shown_caption(loaded: Loaded, mask: np.ndarray) -> None:
    st.sidebar.caption(f"{int(mask.sum()):,} of {len(loaded.comparison.examples):,} examples · "
                       f"{md_text(state.filters().describe())}")


def _index(key: str, options: list, value) -> dict:
    """``index=`` only for a widget whose key is not in the session yet."""
    if key in st.session_state and st.session_state[key] in options:
        return {}
    st.session_state.pop(key, None)
    return {"index": options.index(value) if value in options else 0}


def _default(key: str, value) -> dict:
    """``value=`` only for a widget whose key is not in the session yet (Streamlit warns
    when both are given)."""
    return {} if key in st.session_state else {"value": value}


def column_mapping(columns: list[str], guess: dict[str, str], key: str = "map"
                   ) -> dict[str, str]:
    """A form row per canonical column (widget keys ``{key}_{name}``); returns {canonical:
    column} for the chosen ones."""
    st.caption("Map your columns (prompt, response_a and response_b are required; a score on "
               "the +1.5 … −1.5 scale or a label such as A / B / tie gives the judgment).")
    out = {}
    cols = st.columns(4)
    for k, name in enumerate(CANONICAL):
        opts = ["—", *columns]
        index = opts.index(guess[name]) if guess.get(name) in opts else 0
        pick = cols[k % 4].selectbox(name, opts, key=f"{key}_{name}", index=index)
        if pick != "—":
            out[name] = pick
    return out


def _response_columns(a: str, b: str, model_a: str, model_b: str) -> None:
    ca, cb = st.columns(2)
    ca.markdown(f"**A · {md_label(model_a)}**")
    cb.markdown(f"**B · {md_label(model_b)}**")
    responses.pair(ca, cb, a, b)


def verdict(comp: Comparison, i: int, tie_threshold: float, judges="auto"
            ) -> tuple[str, float | None]:
    """Example ``i``'s winner and score under the judge selection, by the analysis rule (the
    examples table's figures)."""
    score = float(derive(comp, judges).score[i])
    return str(winners(comp, tie_threshold, judges)[i]), None if np.isnan(score) else score


def side_by_side(comp: Comparison, i: int, tie_threshold: float, judges="auto") -> None:
    """One example: the prompt, both responses (words not shared highlighted), every turn of a
    multi-turn conversation, and every judgment with its rationale. The header's winner and
    score are those of the judge selection (``verdict``)."""
    ex = comp.examples[i]
    winner, score = verdict(comp, i, tie_threshold, judges)
    st.markdown(f"#### Example `{md_text(ex['id'])}` · winner **{winner}**"
                + ("" if score is None else f" · score {score:+.2f}"))
    meta = {"category": ex.get("category"), "tags": ", ".join(ex.get("tags") or []) or None,
            **(ex.get("metadata") or {})}
    st.caption(" · ".join(f"{md_text(str(k))}: {md_text(str(v))}" for k, v in meta.items()
                          if v not in (None, "")))
    responses.control()
    turns_a, turns_b = ex["response_a"], ex["response_b"]
    if ex.get("messages"):
        users = [m["content"] for m in ex["messages"] if m["role"] == "user"]
        for t, q in enumerate(users):
            st.markdown(f"**User, turn {t + 1}**")
            responses.show(st, q)
            ra = turns_a[t] if isinstance(turns_a, list) and t < len(turns_a) else ""
            rb = turns_b[t] if isinstance(turns_b, list) and t < len(turns_b) else ""
            _response_columns(ra, rb, comp.model_a, comp.model_b)
    else:
        st.markdown("**Prompt**")
        responses.show(st, prompt_text(ex))
        _response_columns(response_text(turns_a), response_text(turns_b), comp.model_a,
                          comp.model_b)
    if ex.get("reference"):
        with st.expander("Reference answer"):
            responses.show(st, response_text(ex["reference"]))
    judgments = ex.get("judgments") or []
    st.markdown(f"**Judgments ({len(judgments)})** — scores in A's orientation "
                "(+1.5 A much better … −1.5 B much better)")
    if not judgments:
        st.caption("No individual judgments in the file.")
    for k, j in enumerate(judgments):
        status = j.get("status", "ok")
        head = (f"{k + 1}. {md_text(str(j.get('judge') or 'judge'))}"
                + (f" ({md_text(str(j['rater']))})" if j.get("rater") else "")
                + (f" · score {j['score']:+.2f}" if status == "ok" else f" · {md_text(status)}")
                + (f" · label {md_text(str(oriented_label(j)))}" if j.get("label") else "")
                + (" · order swapped (B shown first)" if j.get("flipped") else
                   " · order A, B" if j.get("flipped") is False else ""))
        with st.expander(head, expanded=len(judgments) <= 2):
            refs = (j.get("extra") or {}).get("referenced_models")
            if isinstance(refs, dict):  # AlpacaEval names the outputs by letters
                side = {"output_1": "A", "output_2": "B"}
                st.caption("Shown as A / B; the judge wrote " + ", ".join(
                    f"{md_text(k)} for {side.get(v, md_text(str(v)))}" for k, v in refs.items()))
            elif j.get("flipped") and j.get("rationale"):
                st.caption("Written about the order shown (B first); shown here in A / B.")
            text = oriented_rationale(j) or j.get("raw") or ""
            responses.show(st, text, "(no rationale)")


def counts_table(rows: list[dict]) -> pd.DataFrame:
    def pct(x):
        return None if x is None else round(100 * x, 1)

    return pd.DataFrame([{
        "slice": r["value"], "n": r["n"], "A": r["a_wins"], "tie": r["ties"], "B": r["b_wins"],
        "unscored": r["unscored"], "win rate A %": pct(r["win_rate_a"]),
        "95% CI": None if r["win_rate_a_ci95"] is None else
        f"[{pct(r['win_rate_a_ci95'][0])}, {pct(r['win_rate_a_ci95'][1])}]",
        "mean score": None if r["mean_score"] is None else round(r["mean_score"], 3),
        "p adj. vs rest": None if r.get("p_adjusted") is None else round(r["p_adjusted"], 4),
        "significant": "★" if r["significant"] else "",
        "small n": "⚠" if r["small_n"] else "",
    } for r in rows])


def backend_form(key: str, col, sampling: bool = True) -> dict:
    """Backend, model, base URLs, key and sampling parameters; ``key`` is a pattern with {}
    for each widget's own name (e.g. ``"gen_{}_a"``)."""
    provider = col.selectbox("Backend", list(PROVIDERS),
                             key=key.format("provider"),
                             help="openai: any OpenAI-compatible server (OpenAI, vllm serve, "
                                  "Ollama…); hf: transformers here; vllm: offline engine (GPU); "
                                  "ct2: CTranslate2 here (int8, fast on a CPU)")
    model = col.text_input("Model", key=key.format("model"),
                           placeholder="gpt-4o-mini, or a local path for hf/ and ct2/")
    options = ct2_options(key, col) if provider == "ct2" else None
    urls = col.text_area("Base URLs (one per line; several = round-robin with failover)",
                         key=key.format("urls"), height=68) if provider == "openai" else ""
    api = col.text_input("API key (kept in memory only)", type="password",
                         key=key.format("key")) if provider == "openai" else ""
    c1, c2, c3 = col.columns(3)
    params = SamplingParams(
        temperature=c1.number_input("temperature", 0.0, 2.0, 0.0 if sampling else 0.7, 0.1,
                                    key=key.format("t")),
        top_p=c2.number_input("top_p", 0.0, 1.0, 1.0, 0.05, key=key.format("p")),
        max_tokens=int(c3.number_input("max tokens", 1, 32768, 512 if sampling else 1024,
                                       key=key.format("m"))),
        seed=int(c1.number_input("seed", 0, 2**31 - 1, 0, key=key.format("s"))),
        system=(col.text_input("System prompt (optional)", key=key.format("sys")) or None)
        if sampling else None)
    return {"provider": provider, "model": model.strip(), "params": params, "key": api or None,
            "urls": [u.strip() for u in urls.splitlines() if u.strip()], "options": options}


def ct2_options(key: str, col) -> dict:
    """CTranslate2's quantization and threads (a transformers model is converted once)."""
    c1, c2 = col.columns(2)
    compute = c1.selectbox("compute type", ["default (int8 on CPU)", *COMPUTE_TYPES],
                           key=key.format("ct2_compute"))
    threads = c2.number_input("threads (0 = auto)", 0, 256, 0, key=key.format("ct2_threads"))
    return {"compute_type": None if compute.startswith("default") else compute,
            "intra_threads": int(threads)}


def side_spec(form: dict, side: str) -> SideSpec:
    """The model of a ``backend_form`` as a spec every engine builds the same backend from
    (a Ray worker too); raises ValueError."""
    if not form["model"]:
        raise ValueError(f"give a model ({side})")
    urls = base_urls(side, form["urls"] or None)
    return SideSpec(form["model"], f"{form['provider']}/{form['model']}",
                    dict(base_urls=urls, api_key=api_key(side, form["key"]),
                         options=form.get("options")), form["params"],
                    {"base_urls": [public_url(u) for u in urls]} if urls else {})


def built(spec: SideSpec) -> Side:
    """The model of ``spec``, built here (a spinner while ct2/ converts a model, once)."""
    with st.spinner("Preparing the model (a transformers model is converted to CTranslate2 "
                    "once)…") if spec.spec.startswith("ct2/") else nullcontext():
        return spec.side()


def backend_of(form: dict, side: str):
    """(backend, info for the file header) from a ``backend_form``; raises ValueError."""
    spec = side_spec(form, side)
    return built(spec).backend, spec.info
