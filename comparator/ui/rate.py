"""The Rate page: people rate pairs blind, one at a time, from the keyboard.

Nothing drawn before a rating is saved names a model, colours a side, or orders anything by
model: the sidebar filters (which name the models) are not drawn, both sides look the same, and
the left/right order is a coin seeded by rater and example id (``ratings.queue.shown_flipped``).
Keys: 1-5 rate, s skip, left / right arrows move, n focuses the note (Streamlit's button
``shortcut``; the n key is a small script, as no widget can take focus from Python).
"""

from __future__ import annotations

import time

import streamlit as st

from comparator.ratings.queue import KINDS, build_queue, shown_flipped
from comparator.ratings.store import (
    CHOICES,
    LEFT_SCORES,
    Rating,
    clean_rater,
    comparison_key,
    rating_side,
    ratings_path,
    read_ratings,
    save_rating,
)
from comparator.schema.errors import InputError
from comparator.schema.records import Comparison, prompt_text, response_text
from comparator.schema.swap import is_swapped
from comparator.ui import auth, responses, state, widgets

R_NAME, R_KIND, R_N, R_SEED, R_FIELD = "rate_rater", "rate_kind", "rate_n", "rate_seed", \
    "rate_field"
R_POS, R_SHOWN, R_NOTE, R_REVEAL, R_ERROR = "rate_pos", "rate_shown", "rate_note", \
    "rate_reveal", "rate_error"
_QP = {R_NAME: "rater", R_KIND: "queue", R_N: "n", R_SEED: "seed", R_FIELD: "by"}
NOTE_LABEL = "Note (optional; n)"

# focus the note on "n"; Enter or Esc in the note gives the keys back to the buttons. A constant
# script (no data from files); a re-created frame replaces its listener (a removed frame's
# listener would no longer run).
_KEYS_JS = """<script>
const doc = window.parent.document;
if (doc.__comparatorRateKeys) doc.removeEventListener('keydown', doc.__comparatorRateKeys, true);
doc.__comparatorRateKeys = (e) => {
  const note = doc.querySelector('input[aria-label="NOTE_LABEL"]');
  const t = e.target;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) {
    if (t === note && (e.key === 'Enter' || e.key === 'Escape')) setTimeout(() => t.blur(), 80);
    return;
  }
  if (e.key === 'n' && !e.ctrlKey && !e.metaKey && !e.altKey && note) {
    e.preventDefault(); note.focus();
  }
};
doc.addEventListener('keydown', doc.__comparatorRateKeys, true);
</script>""".replace("NOTE_LABEL", NOTE_LABEL)


def _restore() -> None:
    """Rater and queue settings from the URL, so a reload resumes (once per session)."""
    if st.session_state.get("_rate_qp"):
        return
    st.session_state["_rate_qp"] = True
    qp = st.query_params
    for key, name in _QP.items():
        if name in qp and key not in st.session_state:
            v = qp[name]
            st.session_state[key] = int(v) if key in (R_N, R_SEED) and v.isdigit() else v
    if st.session_state.get(R_KIND) not in KINDS:
        st.session_state.pop(R_KIND, None)


def _remember() -> None:
    for key, name in _QP.items():
        v = st.session_state.get(key)
        if v not in (None, ""):
            st.query_params[name] = str(v)


def _ask_rater() -> None:
    st.write("Rate pairs of responses blind: which side is better? Model names and the judge's "
             "verdict stay hidden until you save.")
    with st.form("rater_form"):
        name = st.text_input("Your name (rater)", max_chars=100)
        go = st.form_submit_button("Start rating")
    if go:
        try:
            st.session_state[R_NAME] = clean_rater(name)
        except ValueError as e:
            st.error(widgets.md_text(str(e)))
            st.stop()
        _remember()
        st.rerun()
    st.stop()


def _queue_settings(comp: Comparison) -> None:
    """The queue widgets write through to plain session keys (R_*), which outlive a visit to
    another page (a widget's own key is dropped when its page is not shown)."""
    ss = st.session_state
    ss.setdefault(R_KIND, "sample")
    ss.setdefault(R_N, 50)
    ss.setdefault(R_SEED, 0)
    with st.expander("What to rate", expanded=False):
        c1, c2, c3, c4 = st.columns([3, 1, 1, 2])
        kinds = list(KINDS)
        c1.selectbox("Queue", kinds, format_func=KINDS.get, key="w_" + R_KIND,
                     on_change=_sync, args=(R_KIND,), **widgets._index(
                         "w_" + R_KIND, kinds, ss[R_KIND]))
        c2.number_input("N", 1, 100_000, key="w_" + R_N, on_change=_sync, args=(R_N,),
                        **widgets._default("w_" + R_N, int(ss[R_N])))
        c3.number_input("seed", 0, 2**31 - 1, key="w_" + R_SEED, on_change=_sync,
                        args=(R_SEED,), **widgets._default("w_" + R_SEED, int(ss[R_SEED])))
        if ss[R_KIND] == "stratified":
            fields = widgets.slice_fields(comp) or ["category"]
            if ss.get(R_FIELD) not in fields:
                ss[R_FIELD] = fields[0]
            c4.selectbox("Slice field", fields, key="w_" + R_FIELD, on_change=_sync,
                         args=(R_FIELD,), **widgets._index("w_" + R_FIELD, fields, ss[R_FIELD]))
        st.caption("Every rater of the same queue settings gets the same examples; each rater "
                   "sees the two sides in their own random order.")


def _sync(key: str) -> None:
    st.session_state[key] = st.session_state["w_" + key]
    _reset_pos()


def _reset_pos() -> None:
    st.session_state.pop(R_POS, None)


def _queue(comp: Comparison, loaded) -> list[int]:
    kind = st.session_state.get(R_KIND, "sample")
    key = (comparison_key(comp), kind, st.session_state.get(R_N, 50),
           st.session_state.get(R_SEED, 0), st.session_state.get(R_FIELD), state.tie_threshold())
    if kind == "filtered":
        m, _ = state.mask(loaded)
        key += (m.tobytes(),)
    cache = st.session_state.get("_rate_queue")
    if cache and cache[0] == key:
        return cache[1]
    try:
        q = build_queue(comp, kind, int(key[2]), int(key[3]), key[4],
                        m if kind == "filtered" else None, key[5]).tolist()
    except (ValueError, KeyError) as e:
        st.error(f"Cannot build this queue: {widgets.md_text(str(e))}. Pick other settings "
                 "under 'What to rate'.")
        st.stop()
    st.session_state["_rate_queue"] = (key, q)
    return q


def _mine(comp: Comparison, rater: str) -> dict[str, Rating]:
    path = ratings_path(comparison_key(comp), rater)
    if not path.exists():
        return {}
    try:
        return {i: r for (i, _), r in read_ratings(path, comparison_key(comp),
                                                    swapped=is_swapped(comp)).items()}
    except InputError as e:
        st.error(f"Your ratings file cannot be read: {widgets.md_text(str(e))}. Move it away "
                 "to start afresh.")
        st.stop()


def _save(comp: Comparison, rater: str, ex_id: str, flipped: bool, choice: int | None,
          n: int) -> None:
    shown = st.session_state.get(R_SHOWN)
    secs = time.time() - shown[1] if shown and shown[0] == ex_id else None
    score = None if choice is None else rating_side(choice, flipped)
    try:
        save_rating(comp, rater, ex_id, score, flipped, st.session_state.get(R_NOTE), secs)
    except OSError as e:
        st.session_state[R_ERROR] = f"Not saved: {e.strerror or e}. Check the disk, then retry."
        return
    st.session_state[R_POS] = min(n, st.session_state.get(R_POS, 0) + 1)
    st.session_state[R_NOTE] = ""
    st.session_state[R_REVEAL] = False


def _move(step: int, n: int, ids: list[str], mine: dict[str, Rating]) -> None:
    pos = max(0, min(n, st.session_state.get(R_POS, 0) + step))
    st.session_state[R_POS] = pos
    saved = mine.get(ids[pos]) if pos < n else None
    st.session_state[R_NOTE] = (saved.note or "") if saved else ""
    st.session_state[R_REVEAL] = False


def _label(r: Rating) -> str:
    if r.skipped:
        return "skipped"
    left = -r.score if r.flipped else r.score
    return CHOICES[LEFT_SCORES.index(left)]


def _show_pair(ex, flipped: bool) -> None:
    a, b = ex["response_a"], ex["response_b"]
    left, right = (b, a) if flipped else (a, b)
    responses.style()
    if ex.get("messages"):
        users = [m["content"] for m in ex["messages"] if m["role"] == "user"]
        turns = [(q, left[t] if isinstance(left, list) and t < len(left) else "",
                  right[t] if isinstance(right, list) and t < len(right) else "")
                 for t, q in enumerate(users)]
    else:
        turns = [(prompt_text(ex), response_text(left), response_text(right))]
    for t, (q, lt, rt) in enumerate(turns):
        st.markdown(f"**User{f', turn {t + 1}' if len(turns) > 1 else ''}**")
        responses.show(st, q)
        c1, c2 = st.columns(2)
        cl = c1.container(border=True, key=f"rate_left_{t}")
        cr = c2.container(border=True, key=f"rate_right_{t}")
        cl.markdown("**Left**")
        responses.show(cl, lt)
        cr.markdown("**Right**")
        responses.show(cr, rt)


def _reveal(comp: Comparison, i: int, r: Rating) -> None:
    names = (comp.model_b, comp.model_a) if r.flipped else (comp.model_a, comp.model_b)
    st.markdown(f"Left was **{widgets.md_text(names[0])}**, right was "
                f"**{widgets.md_text(names[1])}**. Your rating: **{_label(r)}**.")
    widgets.side_by_side(comp, i, state.tie_threshold(), state.score_judges(comp))


def rate_page() -> None:
    _restore()
    loaded = state.current()
    if loaded is None:
        st.stop()
    comp = loaded.comparison
    st.title("Rate")
    rater = auth.who() or st.session_state.get(R_NAME)  # signed in: who, never a typed name
    if not rater:
        _ask_rater()
    _queue_settings(comp)
    _remember()
    queue = _queue(comp, loaded)
    ids = [comp.examples[i]["id"] for i in queue]
    mine = _mine(comp, rater)
    n = len(queue)
    if not n:
        st.info("This queue is empty: pick other settings under 'What to rate'.")
        st.stop()
    done = sum(i in mine for i in ids)
    if R_POS not in st.session_state:  # resume at the first example not rated yet
        st.session_state[R_POS] = next((k for k, i in enumerate(ids) if i not in mine), n)
    pos = min(st.session_state[R_POS], n)
    c1, c2 = st.columns([4, 1])
    c1.progress(done / n, text=f"{done} of {n} rated · rater {widgets.md_text(rater)}")
    if auth.who() is None and c2.button("Change rater"):
        for k in (R_NAME, R_POS, R_NOTE):
            st.session_state.pop(k, None)
        st.query_params.pop("rater", None)
        st.rerun()
    if err := st.session_state.pop(R_ERROR, None):
        st.error(err)
    nav = st.columns(2)
    nav[0].button("← back", shortcut="Left", disabled=pos == 0, on_click=_move,
                  args=(-1, n, ids, mine), key="rate_back")
    nav[1].button("forward →", shortcut="Right", disabled=pos >= n, on_click=_move,
                  args=(1, n, ids, mine), key="rate_fwd")
    if pos >= n:
        st.success(f"Done: {done} of {n} rated. Go back (←) to change a rating, or see "
                   "People vs judge on the Judge reliability page.")
    else:
        _rate_one(comp, rater, queue[pos], n, mine)
    path = ratings_path(comparison_key(comp), rater)
    if path.exists():
        st.download_button("Download ratings", path.read_bytes(), file_name=path.name,
                           mime="application/x-ndjson")
    st.iframe(_KEYS_JS, height=1)  # our constant script, no user data


def _rate_one(comp: Comparison, rater: str, i: int, n: int, mine: dict[str, Rating]) -> None:
    ex = comp.examples[i]
    flipped = shown_flipped(rater, ex["id"])
    shown = st.session_state.get(R_SHOWN)
    if not shown or shown[0] != ex["id"]:
        st.session_state[R_SHOWN] = (ex["id"], time.time())
    pos = st.session_state[R_POS]
    saved = mine.get(ex["id"])
    st.caption(f"Example {pos + 1} of {n} · id {widgets.md_text(ex['id'])}"
               + (f" · saved: {_label(saved)} (press a key to change it)" if saved else ""))
    _show_pair(ex, flipped)
    st.text_input(NOTE_LABEL, key=R_NOTE, max_chars=None)
    cols = st.columns(6)
    for k, label in enumerate(CHOICES):
        cols[k].button(label, key=f"rate_c{k}", shortcut=str(k + 1), width="stretch",
                       type="primary" if saved and not saved.skipped and _label(saved) == label
                       else "secondary",
                       on_click=_save, args=(comp, rater, ex["id"], flipped, k, n))
    cols[5].button("skip", key="rate_skip", shortcut="S", width="stretch",
                   on_click=_save, args=(comp, rater, ex["id"], flipped, None, n))
    if saved:
        if st.button("Reveal the models and the judge's verdict", key="rate_reveal_btn"):
            st.session_state[R_REVEAL] = True
        if st.session_state.get(R_REVEAL):
            _reveal(comp, i, saved)
