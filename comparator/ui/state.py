"""Session state of the dashboard: which comparison is open, the tie threshold, the filters.

Every key lives here. Filter values are kept under ``flt_*`` keys; ``view.persist()`` (called
by app.py on every run) keeps them when a page that owns the widget is not shown, and mirrors
the view in the URL (``?slice=field:value&data=demo``) so it can be shared.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import streamlit as st

from comparator.analysis.bins import SCORE_BINS, SCORE_EDGES, bounds
from comparator.analysis.filters import Filters, apply
from comparator.analysis.patterns import PatternError
from comparator.formats import InputError, Loaded, LoadOptions
from comparator.formats.fetch import save_upload, write_stream
from comparator.schema.files import confine, server_dirs
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.settings import allowed_path, user_dir
from comparator.schema.swap import is_swapped, swap
from comparator.store.cache import open_store
from comparator.store.table import is_shared, store_for
from comparator.ui import auth
from comparator.ui.text import md_text
from comparator.ui.wording import dashboard_words

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data"

SOURCE = "source"  # ("demo", file name) | ("upload", digest) | ("path", path)
UPLOADED = "uploaded"  # {digest: Loaded}
UPLOAD_SHA256 = "upload_sha256"  # SHA-256 of the open upload's bytes (report provenance)
UPLOAD_PATH = "upload_path"  # its copy in the user data dir, for links (default options only)
TIE = "tie_threshold"
SWAP = "view_swap"  # True: A and B swapped for the whole view (comparator.schema.swap)
F_FIELD, F_VALUE, F_WINNERS = "flt_slice_field", "flt_slice_value", "flt_winners"
F_SCORE, F_SEARCH, F_REGEX = "flt_score", "flt_search", "flt_regex"
F_SCORE_OPEN = "flt_score_open"  # True: F_SCORE's upper end is excluded (a histogram bar)
F_SORT, F_PAGE, SELECTED = "flt_sort", "flt_page", "selected_example"
F_CLUSTER, F_PICKED = "flt_cluster", "flt_picked"  # reason cluster, examples picked on the map
F_JUDGE = "flt_judge"  # which judge makes the scores: ALL_JUDGES or one judge's name
F_METRICS, F_NGRAM = "flt_metrics", "flt_ngram"  # metric conditions, n-gram (Metrics page)
F_RANKED, F_MEANING = "flt_ranked", "flt_meaning"  # the Examples page's ranked search
F_SLICES = "flt_slices"  # [(field, value)]: slices ANDed with F_FIELD's (ui.conditions)
ALL_JUDGES = "(default)"
URL_ERROR = "_url_error"  # why the link's file was not opened (shown by analysis pages)
PATH_OPTIONS = "path_options"  # (format, LoadOptions) the open path was read with, if not default
FILTER_KEYS = (F_FIELD, F_VALUE, F_WINNERS, F_SCORE, F_SEARCH, F_REGEX, F_SORT, F_PAGE, F_JUDGE,
               F_CLUSTER, F_PICKED, F_RANKED, F_MEANING, F_METRICS, F_NGRAM, F_SCORE_OPEN,
               F_SLICES)


def demos() -> dict[str, Path]:
    """Bundled demo comparisons: label -> file."""
    labels = {
        "alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl":
            "AlpacaEval: gpt4_1106_preview vs claude-2.1 (805, GPT-4-turbo judge, rationales)",
        "mt_bench_phi-3_vs_phi-3-dpo.jsonl":
            "MT-Bench: phi-3 vs phi-3-dpo (75, GPT-4 judge in both orders)",
        "llmbar_gpt-4_vs_human.jsonl": "LLMBar: GPT-4 judge vs human experts (200 pairs)",
    }
    return {labels.get(p.name, p.stem): p for p in sorted(DATA_DIR.glob("*.jsonl"),
            key=lambda p: list(labels).index(p.name) if p.name in labels else 99)}


@st.cache_resource(max_entries=8, show_spinner="Loading…")
def _load_file(path: str, mtime: float, size: int, fmt: str | None = None, key: str = "",
               _options: LoadOptions | None = None) -> Loaded:
    """One read-only columnar store per file (and format and options, ``key``) for every
    session (comparator.store: validated once per file content, then memory-mapped from the
    cache)."""
    return open_store(path, fmt, _options)


def _options_key(options: LoadOptions | None) -> str:
    return "" if options is None else repr((sorted(options.mapping.items()), options.pair,
                                            str(options.questions or ""), options.model_a,
                                            options.model_b))


def _open(p: Path, fmt: str | None = None, options: LoadOptions | None = None) -> Loaded:
    if options == LoadOptions():  # the same file as without options: one cache entry (the
        options = None  # open and every rerun after it would read and hash it twice)
    s = p.stat()
    return _load_file(str(p), s.st_mtime_ns, s.st_size, fmt, _options_key(options), options)


def read_path(path: str | Path, fmt: str | None = None, options: LoadOptions | None = None
              ) -> tuple[Path, Loaded]:
    """A file inside the allowed folders, read (resolved path, comparison); changes nothing in
    the session. ValueError (an InputError naming file, line and field) or OSError says why."""
    real = allowed_path(path)
    return real, _open(real, fmt, options)


def confine_reads() -> None:
    """Every file this script run reads is checked against the allowed folders when it is read
    (``comparator.schema.files``), so a file swapped for a link to elsewhere after it was
    opened is refused on the next read: the folders of links, and the server's own (demos,
    uploads, runs, caches)."""
    confine(server_dirs())


def _oriented(open_: Callable[..., Loaded | None]) -> Callable[..., Loaded | None]:
    """The open comparison in the view's orientation ("Swap A and B", ``swap_view``): applied
    where the open comparison is produced (``current``), so every page, chart, table, report
    and download follows the swap. The session's own copy (``own_copy``) may have been made
    swapped: it says so (``is_swapped``)."""
    @functools.wraps(open_)
    def oriented(*args, **kwargs) -> Loaded | None:
        loaded = open_(*args, **kwargs)
        if loaded is None or swapped() == is_swapped(loaded.comparison):
            return loaded
        return swap_view(loaded)
    return oriented


@_oriented
def current(quiet: bool = False) -> Loaded | None:
    """The open comparison (the first demo by default); None if it cannot be loaded (an
    error says why, unless ``quiet``: for a page that asks again, e.g. through
    ``widgets.analysis_page``, so that the reason is said once)."""
    confine_reads()  # also when a page runs without app.py (Streamlit's AppTest)
    src = st.session_state.get(SOURCE)
    if st.session_state.get(URL_ERROR) and not quiet:
        st.error(f"The link's file was not opened: {md_text(st.session_state.pop(URL_ERROR))}")
    try:
        if src and src[0] == "upload":
            return st.session_state.get(UPLOADED, {}).get(src[1])
        if src and src[0] == "path":
            return _open(Path(src[1]), *st.session_state.get(PATH_OPTIONS, (None, None)))
        all_demos = demos()
        label = src[1] if src and src[0] == "demo" and src[1] in all_demos else next(
            iter(all_demos))
        return _open(all_demos[label])
    except (InputError, OSError) as e:
        if not quiet:
            st.error(f"Could not open the comparison: {md_text(dashboard_words(str(e)))}")
        return None


def source_label() -> str:
    src = st.session_state.get(SOURCE)
    if not src:
        return next(iter(demos()))
    return src[1] if src[0] != "upload" else st.session_state.get("upload_name", "upload")


def open_demo(label: str) -> None:
    st.session_state[SOURCE] = ("demo", label)
    st.query_params["data"] = demos()[label].stem
    clear_filters()


def saved_upload(up) -> Path:
    """An uploaded file on disk (the user data dir), written once per upload rather than on
    every rerun of the page."""
    tag = "".join(c for c in str(up.file_id) if c.isalnum())[:16]
    path = user_dir() / "uploads" / f"{tag}-{Path(up.name).name}"
    if not path.exists():
        write_stream(up, path)
    return path


def open_path(path: str | Path, fmt: str | None = None, options: LoadOptions | None = None
              ) -> Loaded:
    """Make a file on this machine the open comparison (e.g. a finished generation run), read
    with ``fmt`` and ``options`` if given. Read first: a file that is refused or cannot be read
    raises (``read_path``) and leaves the open comparison, its name and its filters as they
    were; the session changes only once the file has loaded."""
    real, loaded = read_path(path, fmt, options)
    st.session_state[SOURCE] = ("path", str(real))
    if fmt is None and options in (None, LoadOptions()):
        st.session_state.pop(PATH_OPTIONS, None)
    else:
        st.session_state[PATH_OPTIONS] = (fmt, options)
    st.query_params.pop("data", None)
    clear_filters()
    auth.note("open", path=str(real), sha256=getattr(loaded, "sha256", None),
              format=loaded.format)
    return loaded


def open_upload(name: str, data, fmt: str | None, options: LoadOptions) -> Loaded:
    """Make an upload the open comparison (raises InputError naming ``name``): ``data`` (a
    binary file object such as Streamlit's UploadedFile, or bytes) is streamed to
    ``$COMPARATOR_HOME/uploads`` in chunks and loaded from there, never copied whole in
    memory."""
    path, sha = save_upload(io.BytesIO(data) if isinstance(data, bytes) else data, name)
    digest = sha[:16] + (fmt or "") + repr(sorted(options.mapping.items())) + repr(options.pair)
    try:  # the columnar store: validated once per content, memory-mapped
        loaded = open_store(path, fmt, options)
    except InputError as e:  # name the upload, not the server's copy
        raise InputError(name, e.message, line=e.line, record=e.record, field=e.field) from None
    loaded.path = Path(name)
    st.session_state.setdefault(UPLOADED, {}).clear()  # keep one upload in memory
    st.session_state[UPLOADED][digest] = loaded
    st.session_state[SOURCE] = ("upload", digest)
    st.session_state["upload_name"] = name
    st.session_state[UPLOAD_SHA256] = sha
    st.session_state.pop(UPLOAD_PATH, None)
    if fmt is None and options == LoadOptions():  # the file alone reloads it: linkable
        st.session_state[UPLOAD_PATH] = str(path)
    st.query_params.pop("data", None)
    clear_filters()
    auth.note("open", upload=name, sha256=sha, format=loaded.format)
    return loaded


def own_copy(loaded: Loaded) -> Loaded:
    """This session's own copy of the open comparison, to change in place (clustering stores
    reasons and clusters in it): demos and opened files are cached for every session, so a run
    must not change what other sessions see. Copy-on-write: examples, their metadata and extra
    are copied shallowly (texts shared); an upload read into example dicts is already this
    session's own (a columnar one is read-only: copied too)."""
    src = st.session_state.get(SOURCE)
    if src and src[0] == "upload" and not is_shared(loaded.comparison) and (
            loaded is st.session_state.get(UPLOADED, {}).get(src[1])):  # (not a swapped view)
        return loaded
    comp = loaded.comparison
    examples = [{**ex, **{k: dict(ex[k]) for k in ("metadata", "extra") if k in ex}}
                for ex in comp.examples]
    copy = comp.subset(examples)
    copy.metadata = dict(comp.metadata)
    label = source_label()
    own = Loaded(copy, loaded.format, list(loaded.warnings), loaded.path)
    st.session_state.setdefault(UPLOADED, {}).clear()
    st.session_state[UPLOADED]["own"] = own
    st.session_state[SOURCE] = ("upload", "own")
    st.session_state["upload_name"] = label
    return own


def score_judges(comp=None):
    """The judge selection for every statistic: "auto" (model judges; humans if none) or
    the one judge picked in the sidebar."""
    name = st.session_state.get(F_JUDGE)
    if not name or name == ALL_JUDGES or (comp is not None and name not in comp.judges()):
        return "auto"
    return frozenset([name])


def tie_threshold() -> float:
    return float(st.session_state.get(TIE, DEFAULT_TIE_THRESHOLD))


def swapped() -> bool:
    """Whether the view swaps A and B (the sidebar's "Swap A and B", ``?swap=1``)."""
    return bool(st.session_state.get(SWAP))


def swap_view(loaded: Loaded) -> Loaded:
    """``loaded`` with A and B swapped (``comparator.schema.swap``), built once per comparison
    and kept in its store's memo: that of a cached file is shared by every session and never
    changed, as the file's own comparison (a session that edits takes ``own_copy``)."""
    comp = loaded.comparison
    return replace(loaded, comparison=store_for(comp).memo(("swapped",), lambda: swap(comp)))


def filters() -> Filters:
    lo, hi = st.session_state.get(F_SCORE, (-1.5, 1.5))
    below = hi < 1.5 and bool(st.session_state.get(F_SCORE_OPEN))
    return Filters(
        slice_field=st.session_state.get(F_FIELD) or None,
        slice_value=st.session_state.get(F_VALUE),
        winners=list(st.session_state.get(F_WINNERS) or []),
        score_min=None if lo <= -1.5 else lo,
        score_max=None if hi >= 1.5 or below else hi, score_below=hi if below else None,
        search=(st.session_state.get(F_SEARCH) or "").strip(),
        regex=bool(st.session_state.get(F_REGEX)),
        cluster=st.session_state.get(F_CLUSTER),
        selected=st.session_state.get(F_PICKED),
        metrics=[tuple(c) for c in st.session_state.get(F_METRICS) or []],
        ngram=st.session_state.get(F_NGRAM),
        slices=[tuple(c) for c in st.session_state.get(F_SLICES) or []],
    )


W_FIELD, W_VALUE = "w_slice_field", "w_slice_value"
NO_FIELD, ALL_VALUES = "(none)", "(all)"


def set_slice(field: str | None, value: str | None) -> None:
    """Select a slice. Call from a widget callback (or before the sidebar is drawn): it also
    moves the sidebar's slice widgets."""
    st.session_state[F_FIELD], st.session_state[F_VALUE] = field, value
    st.session_state[W_FIELD] = field or NO_FIELD
    st.session_state[W_VALUE] = ALL_VALUES if value is None else value
    st.session_state[F_PAGE] = 1
    st.session_state.pop(SELECTED, None)
    if field and value is not None:
        st.query_params["slice"] = f"{field}:{value}"
    else:
        st.query_params.pop("slice", None)


def set_score_range(lo: float, hi: float, open_above: bool = False) -> None:
    """Keep the scores in [lo, hi] (in [lo, hi) when ``open_above``: a histogram bar)."""
    st.session_state[F_SCORE] = (float(lo), float(hi))
    st.session_state[F_SCORE_OPEN] = bool(open_above) and hi < 1.5
    st.session_state[F_PAGE] = 1


def on_score_slider() -> None:
    """The sidebar's slider moved: its range includes both ends."""
    st.session_state[F_SCORE_OPEN] = False


def set_cluster(cluster: int | None) -> None:
    """Filter to the examples with a reason in ``cluster``, closest first."""
    st.session_state[F_CLUSTER] = cluster
    st.session_state[F_PAGE] = 1
    if cluster is not None:
        st.session_state[F_SORT] = "closeness to the reason cluster"


def set_picked(indices: list[int] | None) -> None:
    st.session_state[F_PICKED] = indices
    st.session_state[F_PAGE] = 1


def set_metric_filter(conditions: list[tuple[str, str, float]] | None,
                      ngram: str | None = None) -> None:
    """Filter on response metrics (``[("a.words", ">=", 200), ...]``) and/or an n-gram."""
    st.session_state[F_METRICS] = list(conditions or [])
    st.session_state[F_NGRAM] = ngram
    st.session_state[F_PAGE] = 1


def clear_filters() -> None:
    for k in (*FILTER_KEYS, SELECTED, W_FIELD, W_VALUE):
        st.session_state.pop(k, None)
    # a sidebar widget whose key is only dropped keeps its old value in the browser and sends
    # it back with the next click (a cleared score range came back): set their defaults
    st.session_state.update({F_SCORE: (-1.5, 1.5), F_WINNERS: [], F_SEARCH: "",
                             F_REGEX: False, W_FIELD: NO_FIELD, W_VALUE: ALL_VALUES})
    st.query_params.pop("slice", None)


def on_field_change() -> None:
    field = st.session_state.get(W_FIELD)
    set_slice(None if field in (None, NO_FIELD) else field, None)


def on_value_change() -> None:
    value = st.session_state.get(W_VALUE)
    set_slice(st.session_state.get(F_FIELD), None if value in (None, ALL_VALUES) else value)


def _points(chart_key: str) -> list[dict]:
    """The selected points of a plotly chart's selection event (empty when none)."""
    try:
        return list(st.session_state.get(chart_key)["selection"]["points"])
    except (KeyError, TypeError):
        return []


def _first_customdata(chart_key: str):
    points = _points(chart_key)
    value = points[0].get("customdata") if points else None
    if isinstance(value, dict) and value and all(str(k).isdigit() for k in value):
        # a row of a typed-array customdata (plotly sends numpy arrays that way) comes back
        # from the browser as {"0": x, "1": y}: its values in order, never its keys
        return [value[k] for k in sorted(value, key=int)]
    return list(value) if isinstance(value, (list, tuple, np.ndarray)) else value


def on_bar_click(chart_key: str, field: str) -> None:
    value = _first_customdata(chart_key)
    if value is not None:
        set_slice(field, str(value))


def on_bin_click(chart_key: str) -> None:
    """Keep the examples of the clicked bar of the score histogram: the bar's index names it
    (a value sent back by the browser does not: a row of numbers arrives as {"0": lo, ...}),
    its bounds come from the rule that counted it (``analysis.bins``), narrowed by the score
    range already set (the histogram shows the filtered examples)."""
    points = _points(chart_key)
    i = points[0].get("point_index") if points else None
    if not isinstance(i, int) or not 0 <= i < SCORE_BINS:
        return
    lo, hi = bounds(SCORE_EDGES, i)
    f = filters()
    lo = max(-1.5 if lo is None else lo, -1.5 if f.score_min is None else f.score_min)
    ends = [(1.5, False)]  # (upper end, excluded): the lowest wins, excluded on a tie
    for end, excluded in ((hi, True), (f.score_max, False), (f.score_below, True)):
        if end is not None:
            ends.append((end, excluded))
    hi, open_above = min(ends, key=lambda e: (e[0], not e[1]))
    set_score_range(lo, hi, open_above)


def on_map_select(chart_key: str) -> None:
    idx = sorted({int(p["customdata"]) for p in _points(chart_key)
                  if p.get("customdata") is not None})
    set_picked(idx or None)


def mask(loaded: Loaded) -> tuple[np.ndarray, str | None]:
    """The filtered examples and an error message (bad regex), never an exception."""
    f = filters()
    judges = score_judges(loaded.comparison)
    try:
        return apply(loaded.comparison, f, tie_threshold(), judges), None
    except PatternError as e:  # invalid, or stopped at its deadline: the rest still applies
        f.search = ""
        return apply(loaded.comparison, f, tie_threshold(), judges), str(e)
    except KeyError:  # a slice field or metric this file lacks (e.g. a shared URL): drop it
        set_slice(None, None)
        set_metric_filter(None)
        st.session_state.pop(F_SLICES, None)
        f.slice_field = f.slice_value = f.ngram = None
        f.metrics, f.slices = [], []
        return mask(loaded) if f.search else (
            apply(loaded.comparison, f, tie_threshold(), judges), None)
