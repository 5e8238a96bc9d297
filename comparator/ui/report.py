"""The Report page's pieces: the current view as a ViewSpec, a preview, downloads, the link
and the command line that reproduce it."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from comparator.analysis.expr import to_exprs
from comparator.analysis.stats import CI_METHODS
from comparator.formats import Loaded
from comparator.ratings.store import comparison_key, ratings_dir
from comparator.reports.build import Report, ViewSpec, build, file_sha256
from comparator.reports.export import render
from comparator.reports.findings import FINDINGS, finding_rows, findings_intro
from comparator.reports.html import charts
from comparator.reports.tables import (
    BENCHMARK,
    PEOPLE,
    RELIABILITY,
    benchmark_rows,
    cluster_rows,
    fmt_ci,
    fmt_pct,
    people_rows,
    reliability_rows,
    slice_rows,
)
from comparator.schema import audit
from comparator.ui import auth, state, widgets

CHOICES = {"largest |score| first": "largest", "a random sample (seeded)": "random",
           "the examples selected on the Examples page or the map": "selected"}
MIME = {"html": "text/html", "md": "text/markdown", "csv": "text/csv",
        "json": "application/json"}
LABELS = {"html": "HTML (self-contained)", "md": "Markdown", "csv": "CSV (filtered examples)",
          "json": "JSON (every figure)"}


@st.cache_data(max_entries=16, show_spinner=False)
def _sha256(path: str, mtime: float) -> str:
    return file_sha256(Path(path))


def sha256_of(loaded: Loaded) -> str | None:
    src = st.session_state.get(state.SOURCE)
    if src and src[0] == "upload":
        return st.session_state.get(state.UPLOAD_SHA256)
    p = loaded.path
    return _sha256(str(p), p.stat().st_mtime) if p is not None and p.is_file() else None


def picked_ids(loaded: Loaded) -> list[str]:
    """Ids of the examples selected on the Examples page (the open row) or on the map."""
    idx = list(st.session_state.get(state.F_PICKED) or [])
    sel = st.session_state.get(state.SELECTED)
    if sel is not None:
        idx.insert(0, sel)
    exs = loaded.comparison.examples
    return list(dict.fromkeys(exs[i]["id"] for i in idx if 0 <= i < len(exs)))


def controls(loaded: Loaded) -> ViewSpec:
    comp = loaded.comparison
    fields = widgets.slice_fields(comp)
    cur = st.session_state.get(state.F_FIELD)
    c1, c2, c3, c4 = st.columns([3, 1, 3, 1])
    if "rep_by" not in st.session_state:
        st.session_state["rep_by"] = [cur] if cur in fields else fields[:1]
    by = c1.multiselect("Slice tables by", fields, key="rep_by")
    n = c2.number_input("Example pairs", 0, 500, 10, key="rep_n")
    choice = CHOICES[c3.radio("Which examples", list(CHOICES), key="rep_choice")]
    seed = int(c4.number_input("Seed", 0, 2**31 - 1, 0, key="rep_seed",
                               disabled=choice != "random"))
    ci = c4.selectbox("Interval", CI_METHODS, key="rep_ci",
                      help="wilson-ties: tie-aware Wilson score (the dashboard's); wilson: "
                           "ties as half a win; bootstrap: percentile, seeded")
    judge = st.session_state.get(state.F_JUDGE)
    spec = ViewSpec(filters=to_exprs(state.filters()), by=by,
                    judge=None if state.score_judges(comp) == "auto" else judge,
                    tie_threshold=state.tie_threshold(), ci_method=ci, examples=int(n),
                    choice=choice, seed=seed,
                    human_vote=st.session_state.get("human_vote") or "mean",
                    swap=state.swapped())
    f1, f2 = st.columns([3, 1])
    spec.findings = f1.checkbox("Findings section (slices found and tested among the view's "
                                "examples)", value=True, key="rep_findings")
    spec.findings_depth = int(f2.selectbox("Findings depth", (1, 2, 3), index=1,
                                           key="rep_findings_depth",
                                           disabled=not spec.findings,
                                           help="conditions per finding at most"))
    files = ratings_files(comp)
    if files and st.checkbox(f"People vs judge from the {len(files)} raters' ratings (Rate "
                             "page)", value=True, key="rep_people"):
        spec.ratings = [str(f) for f in files]
    if choice == "selected":
        spec.picked = picked_ids(loaded)
        if not spec.picked:
            st.info("No example is selected: open one on the Examples page (or pick points "
                    "on the Clusters map).")
    return spec


def ratings_files(comp) -> list[Path]:
    """The Rate page's ratings files of this comparison (one per rater)."""
    d = ratings_dir(comparison_key(comp))
    return sorted(d.glob("*.jsonl")) if d.is_dir() else []


def input_name(loaded: Loaded) -> str:
    src = st.session_state.get(state.SOURCE)
    if src and src[0] == "upload":
        return st.session_state.get("upload_name", "upload")
    p = loaded.path
    try:
        return os.path.relpath(p) if p is not None else "FILE"
    except ValueError:
        return str(p)


def make(loaded: Loaded, spec: ViewSpec) -> Report:
    return build(loaded, spec, sha256=sha256_of(loaded), made_by=auth.who())


def view_link(page: str = "report") -> str:
    q = {k: v for k, v in st.query_params.to_dict().items()}
    base = (st.context.url or "").split("?")[0]
    if base and not base.rstrip("/").endswith(page):
        base = base.rsplit("/", 1)[0] + "/" + page
    return base + ("?" + urlencode(q) if q else "")


def preview(report: Report) -> None:
    d, s = report.data, report.stats
    c1, c2, c3 = st.columns(3)
    c1.metric("Win rate of A", fmt_pct(s.win_rate_a))
    c1.caption(f"95% {s.ci_method} CI {fmt_ci(s.win_rate_a_ci95)}")
    c2.metric("A / tie / B", f"{s.a_wins} / {s.ties} / {s.b_wins}")
    c2.caption(f"{s.unscored} unscored of {s.n}")
    c3.metric("Mean score", "n/a" if s.mean_score is None else f"{s.mean_score:+.3f}")
    if bench := benchmark_rows(d["stats"]):
        st.markdown("**Benchmark figures**")
        st.dataframe(pd.DataFrame(bench, columns=BENCHMARK), hide_index=True)
    if d.get("findings"):
        _findings_preview(d)
    figs = charts(report)
    st.plotly_chart(figs.pop("score_histogram"), key="rep_hist")
    st.markdown("**Judge reliability**")
    st.dataframe(pd.DataFrame(reliability_rows(d["stats"]), columns=RELIABILITY), hide_index=True)
    for field in report.spec.by:
        st.markdown(f"**Slices by {widgets.md_text(field)}**")
        if f"slices_{field}" in figs:
            st.plotly_chart(figs[f"slices_{field}"], key=f"rep_bars_{field}")
        header, rows = slice_rows(d["stats"], field)
        st.dataframe(pd.DataFrame(rows, columns=header), hide_index=True)
    if d.get("people"):
        st.markdown("**People vs judge (ratings)**")
        st.dataframe(pd.DataFrame(people_rows(d["people"]), columns=PEOPLE), hide_index=True)
    if d["clusters"]:
        st.markdown("**Rationale clusters**")
        header, rows = cluster_rows(d["clusters"])
        st.dataframe(pd.DataFrame(rows, columns=header), hide_index=True)
    if d["examples"]:
        st.caption(f"{len(d['examples'])} example pairs in the report: "
                   + ", ".join(widgets.md_text(str(x["id"])) for x in d["examples"][:20])
                   + (" …" if len(d["examples"]) > 20 else ""))


def _findings_preview(d: dict) -> None:
    """The report's Findings section: how they were found, the sentences, the figures."""
    f = d["findings"]
    st.markdown("**Findings**")
    st.caption(widgets.md_text(findings_intro(d)))
    for k, x in enumerate(f["findings"], 1):
        st.markdown(f"{k}\\. " + widgets.md_label(x["sentence"]))
    if f["findings"]:
        st.dataframe(pd.DataFrame(finding_rows(f), columns=FINDINGS), hide_index=True)
    for b in f["biases"]:
        st.markdown("- " + widgets.md_label(b["sentence"]))


def _export(report: Report, fmt: str, user: str | None, log: bool) -> bytes | str:
    """The report as ``fmt``, made when the button is clicked; the audit log says who exported
    which report (the file's SHA-256, the filters) on a team server."""
    out = render(report, fmt)
    if log:
        p = report.data["provenance"]
        audit.record("export", user, format=fmt, input=p["input"], sha256=p["sha256"],
                     filters=p["filters"])
    return out


def downloads(report: Report, stem: str) -> None:
    cols = st.columns(len(MIME))
    log, user = auth.auditing(), auth.who()  # the data is made later, outside this run
    for col, fmt in zip(cols, MIME):
        col.download_button(LABELS[fmt], partial(_export, report, fmt, user, log),
                            file_name=f"{stem}.{fmt}", mime=MIME[fmt], key=f"rep_dl_{fmt}",
                            on_click="ignore", icon=":material/download:")
