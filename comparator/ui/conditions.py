"""Filter expressions into the dashboard's filters: ``apply_exprs`` makes a list of expressions
(``comparator.analysis.expr``: a finding's conjunction, a report's ``--filter`` list) the view,
so a finding reopens as a view. The slice conditions beyond the sidebar's "Slice by" live under
``state.F_SLICES`` and in the link as ``?and=field:value`` (repeated; ``ui.view``)."""

from __future__ import annotations

import streamlit as st

from comparator.analysis.expr import parse
from comparator.analysis.filters import Filters, apply
from comparator.schema.records import Comparison
from comparator.schema.visible import visible
from comparator.ui import state
from comparator.ui.text import md_text


def extra_slices() -> list[tuple[str, str]]:
    """The slice conditions ANDed with the sidebar's slice (``Filters.slices``)."""
    return [(str(f), str(v)) for f, v in st.session_state.get(state.F_SLICES) or []]


def set_extra_slices(slices: list[tuple[str, str]] | None) -> None:
    st.session_state[state.F_SLICES] = [(str(f), str(v)) for f, v in slices or []]
    st.session_state[state.F_PAGE] = 1
    st.session_state.pop(state.SELECTED, None)


def clear_extra_slices() -> None:
    """The sidebar's "Clear these conditions" (the slice above them stays)."""
    set_extra_slices(None)


def slice_param(field: str, value: str) -> str:
    """One ``?and=`` value: ``field:value`` (the value may hold ':'; a field holds none)."""
    return f"{field}:{value}"


def read_slice_params(values: list[str]) -> list[tuple[str, str]]:
    return [tuple(v.split(":", 1)) for v in values if ":" in v and v.split(":", 1)[0]]


def apply_exprs(comp: Comparison, exprs: list[str]) -> Filters:
    """Replace the view's filters by exactly ``exprs`` (ANDed; the judge selection and the tie
    threshold stay): the first ``field=value`` becomes the sidebar's slice, further ones extra
    slice conditions, metric conditions (``a.words>200``, ``a-b.words>=120``,
    ``prompt.words>=35``) the metric filter, and ``cluster=``, ``winner=``, ``score``,
    ``search=`` / ``regex=``, ``ngram=``, ``index=`` theirs. Call from a widget callback (it
    moves the sidebar's widgets). A bad expression raises ValueError, one a field or metric
    this file lacks ValueError too (naming it), and the filters stay as they were."""
    f = parse(list(exprs))
    try:
        apply(comp, f, state.tie_threshold(), state.score_judges(comp))
    except KeyError as e:
        raise ValueError(f"filter {'; '.join(exprs)}: {e.args[0] if e.args else e}") from None
    judge = st.session_state.get(state.F_JUDGE)
    state.clear_filters()
    if judge is not None:
        st.session_state[state.F_JUDGE] = judge
    state.set_slice(f.slice_field, f.slice_value)
    set_extra_slices(f.slices)
    state.set_metric_filter(f.metrics, f.ngram)
    if f.cluster is not None:
        state.set_cluster(f.cluster)
    if f.selected is not None:
        state.set_picked(f.selected)
    st.session_state[state.F_WINNERS] = list(f.winners)
    st.session_state[state.F_SEARCH], st.session_state[state.F_REGEX] = f.search, f.regex
    lo = -1.5 if f.score_min is None else f.score_min
    below = f.score_below is not None and (f.score_max is None or f.score_below <= f.score_max)
    hi = f.score_below if below else 1.5 if f.score_max is None else f.score_max
    state.set_score_range(max(-1.5, lo), min(1.5, hi), below)
    return f


def sidebar_conditions(sb) -> None:
    """The extra slice conditions under the sidebar's slice, each on its own line, with a
    button that drops them: every condition shown is one applied."""
    slices = extra_slices()
    if not slices:
        return
    for field, value in slices:
        sb.caption(f"and **{md_text(visible(field))}** = {md_text(visible(value))}")
    sb.button("Clear these conditions", key="w_clear_slices", on_click=clear_extra_slices,
              help="Drop the slice conditions listed above (the slice above them stays)")
