"""A view is a link: the open file and the filters mirrored in the URL's query string, read
once per session and written on every run by ``persist()`` (app.py calls it before each page).
This module sits above ``state`` (the session keys): ``state`` never imports it."""

from __future__ import annotations

import gc

import streamlit as st

from comparator.analysis.expr import parse, to_exprs
from comparator.analysis.filters import Filters
from comparator.analysis.stats import OUTCOMES
from comparator.formats import LoadOptions
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.store import jsonscan
from comparator.ui import auth
from comparator.ui.conditions import extra_slices, read_slice_params, set_extra_slices, slice_param
from comparator.ui.state import (
    ALL_JUDGES,
    F_FIELD,
    F_JUDGE,
    F_METRICS,
    F_NGRAM,
    F_REGEX,
    F_SCORE,
    F_SCORE_OPEN,
    F_SEARCH,
    F_VALUE,
    F_WINNERS,
    FILTER_KEYS,
    PATH_OPTIONS,
    SOURCE,
    SWAP,
    TIE,
    UPLOAD_PATH,
    URL_ERROR,
    confine_reads,
    demos,
    read_path,
    set_metric_filter,
    swapped,
    tie_threshold,
)
from comparator.ui.wording import dashboard_words

# A view is a link: besides ?data= / ?path= and ?slice=, the further slice conditions (?and=,
# repeated), the judge, tie threshold, winners, score range, search, metric conditions, n-gram
# and the A/B swap live in the query string (the page is the URL's path).
_QP_KEYS = ("judge", "t", "winner", "score", "q", "regex", "metric", "ngram", "swap")
_QP_READ = "_query_params_read"
_FROZEN = False


def _freeze_once() -> None:
    """Move what the server has loaded so far (Streamlit, pandas, plotly, Arrow ... and the
    open stores) out of the garbage collector's sight, once: Streamlit runs a full collection
    after every script run, which walked all of it (0.07-0.2 s of each 0.1-0.25 s rerun,
    measured in bench/bench_browser_scale.py). Later objects are collected as usual."""
    global _FROZEN
    if not _FROZEN:
        gc.collect()
        gc.freeze()
        _FROZEN = True


@st.cache_resource(show_spinner=False)
def _warm_readers() -> bool:
    """Once per server: the native and LLM Comparator readers' compiled passes, loaded in the
    background."""
    jsonscan.warm()
    return True


def persist() -> None:
    """Keep filter values across page switches (widgets drop theirs when not rendered), read
    the URL query string once per session and mirror the view into it. Every file this run
    reads is checked against the allowed folders when it is read (``schema.files``): a file
    swapped for a link to elsewhere after it was opened is refused on the next read."""
    confine_reads()
    _warm_readers()
    _freeze_once()
    for k in (*FILTER_KEYS, TIE, SWAP):
        if k in st.session_state:
            st.session_state[k] = st.session_state[k]
    if not st.session_state.get(_QP_READ):
        st.session_state[_QP_READ] = True
        read_view(st.query_params)
    write_view()


def view_query() -> dict[str, str | list[str]]:
    """The current view's filters as query parameters (defaults left out); ``and`` (the slice
    conditions beyond ``slice``) is a list: one repeated parameter per condition."""
    ss = st.session_state
    out: dict[str, str | list[str]] = {}
    if extra_slices():
        out["and"] = [slice_param(f, v) for f, v in extra_slices()]
    if ss.get(F_JUDGE) and ss[F_JUDGE] != ALL_JUDGES:
        out["judge"] = ss[F_JUDGE]
    if tie_threshold() != DEFAULT_TIE_THRESHOLD:
        out["t"] = f"{tie_threshold():g}"
    if ss.get(F_WINNERS):
        out["winner"] = "|".join(ss[F_WINNERS])
    lo, hi = ss.get(F_SCORE, (-1.5, 1.5))
    if lo > -1.5 or hi < 1.5:  # "lo,hi)": hi excluded (a histogram bar)
        out["score"] = f"{lo:g},{hi:g}" + (")" if ss.get(F_SCORE_OPEN) and hi < 1.5 else "")
    if (ss.get(F_SEARCH) or "").strip():
        out["q"] = ss[F_SEARCH].strip()
        if ss.get(F_REGEX):
            out["regex"] = "1"
    if ss.get(F_METRICS):  # filter expressions (comparator.analysis.expr), ';'-separated
        out["metric"] = ";".join(to_exprs(Filters(metrics=[tuple(c) for c in ss[F_METRICS]])))
    if ss.get(F_NGRAM):
        out["ngram"] = ss[F_NGRAM]
    if swapped():
        out["swap"] = "1"
    return out


def _path_options(qp) -> tuple[str | None, LoadOptions | None]:
    """The format and model pair a link's ``?path=`` file is read with (``&format=``,
    ``&pair=A,B``: what the Data page's options were, so the link opens the same view)."""
    pair = [x.strip() for x in qp.get("pair", "").split(",")]
    return (qp.get("format") or None,
            LoadOptions(pair=(pair[0], pair[1])) if len(pair) == 2 and all(pair) else None)


def read_view(qp) -> None:
    """The file and filters of a shared link (bad values are ignored)."""
    ss = st.session_state
    if "data" in qp:
        for label, p in demos().items():
            if p.stem == qp["data"]:
                ss[SOURCE] = ("demo", label)
    if "slice" in qp and ":" in qp["slice"]:
        ss[F_FIELD], ss[F_VALUE] = qp["slice"].split(":", 1)
    if "and" in qp:  # st.query_params: every repeated value; a view_query dict: its list
        values = qp.get_all("and") if hasattr(qp, "get_all") else qp["and"]
        set_extra_slices(read_slice_params([values] if isinstance(values, str) else values))
    if "path" in qp:  # a file on this server: only from the allowed folders, read first
        try:  # a file that cannot be read leaves the default open (and says why)
            fmt, options = _path_options(qp)
            real, loaded = read_path(qp["path"], fmt, options)
            ss[SOURCE] = ("path", str(real))
            if fmt or options:
                ss[PATH_OPTIONS] = (fmt, options)
            auth.note("open", path=str(real), sha256=getattr(loaded, "sha256", None),
                      format=loaded.format, link=True)
        except (ValueError, OSError) as e:
            ss[URL_ERROR] = dashboard_words(str(e))
            auth.note("refused", path=str(qp["path"]), reason=str(e), link=True)
    if qp.get("judge"):
        ss[F_JUDGE] = qp["judge"]
    if qp.get("swap") == "1":  # A and B swapped for the whole view
        ss[SWAP] = True
    try:
        if "t" in qp:
            ss[TIE] = min(1.5, max(0.0, float(qp["t"])))
        if "score" in qp:
            lo, hi = (float(x) for x in qp["score"].removesuffix(")").split(","))
            ss[F_SCORE] = (max(-1.5, lo), min(1.5, hi))
            ss[F_SCORE_OPEN] = qp["score"].endswith(")") and hi < 1.5
    except ValueError:
        pass
    if qp.get("winner"):
        ss[F_WINNERS] = [w for w in qp["winner"].split("|") if w in OUTCOMES]
    if qp.get("q"):
        ss[F_SEARCH], ss[F_REGEX] = qp["q"], qp.get("regex") == "1"
    if qp.get("metric") or qp.get("ngram"):
        try:
            metrics = parse([x for x in qp.get("metric", "").split(";") if x]).metrics
        except ValueError:
            metrics = []
        set_metric_filter(metrics, qp.get("ngram") or None)


def write_view() -> None:
    """Mirror the view into the URL (called on every run)."""
    src = st.session_state.get(SOURCE)
    want = view_query()
    if src and src[0] == "path":
        want["path"] = src[1]
        fmt, options = st.session_state.get(PATH_OPTIONS, (None, None))
        if fmt:
            want["format"] = fmt
        if options is not None and options.pair:
            want["pair"] = ",".join(options.pair)
    elif src and src[0] == "upload" and st.session_state.get(UPLOAD_PATH):
        want["path"] = st.session_state[UPLOAD_PATH]
    elif src and src[0] == "demo" and src[1] in demos():
        want["data"] = demos()[src[1]].stem
    field, value = st.session_state.get(F_FIELD), st.session_state.get(F_VALUE)
    if field and value is not None:
        want["slice"] = f"{field}:{value}"
    for k in ("path", "format", "pair", "data", "slice", "and", *_QP_KEYS):
        if isinstance(want.get(k), list):
            if st.query_params.get_all(k) != want[k]:
                st.query_params[k] = want[k]
        elif k in want and st.query_params.get(k) != want[k]:
            st.query_params[k] = want[k]
        elif k not in want and k in st.query_params:
            del st.query_params[k]
