"""Findings in the dashboard (issue 22): the Overview's panel of the top five and the Findings
page with all of them. Both show ``comparator.findings.find`` of the whole comparison under the
view's judge selection and tie threshold (not of the filtered examples: a finding is a slice of
the comparison, and clicking one must not change the list); ``find`` caches its result in the
store's memo, so a view computes it once. "Show these examples" makes a finding's filter the
view (``conditions.apply_exprs``): the sidebar then counts the finding's ``n`` examples."""

from __future__ import annotations

import json
import shlex
import time
from typing import Any

import pandas as pd
import streamlit as st

from comparator.findings import FindingsConfig, find
from comparator.findings.sentences import p_text, pct, points
from comparator.schema.jsonsafe import clean
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD
from comparator.schema.records import Comparison
from comparator.ui.conditions import apply_exprs
from comparator.ui.text import md_text

OVERVIEW_TOP = 5
_ERROR = "findings_error"  # a finding's filter this file could not apply (shown once)


def config(t: float, judges: Any, depth: int = 2, min_size: int = 30, seed: int = 0,
           top: int = 20) -> FindingsConfig:
    """The configuration of ``comparator findings`` with these options (its defaults: the
    Overview's panel and the Findings page's first view share one cached result)."""
    return FindingsConfig(depth=depth, min_size=min_size, seed=seed, top=top,
                          tie_threshold=t, judges=judges)


def headline(f: dict[str, Any]) -> str:
    """The key figures of a finding on one line: "−33 points (60% vs 93%) · n = 149 ·
    p_adj < 0.001 · ✓ confirmed" (no text from the file)."""
    return (f"{points(f['difference']).replace('-', '−')} ({pct(f['win_rate_a'])} vs "
            f"{pct(f['rest_win_rate_a'])}) · n = {f['n']:,} · p_adj {p_text(f['p_adjusted'])}"
            f" · {'✓ confirmed' if f['confirmed'] else 'not confirmed'}")


def _show_examples(comp: Comparison, exprs: list[str]) -> None:
    """The button's callback: the finding's conditions become the view's filters."""
    st.session_state.pop(_ERROR, None)
    try:
        apply_exprs(comp, exprs)
    except ValueError as e:
        st.session_state[_ERROR] = str(e.args[0] if e.args else e)


def _error() -> None:
    msg = st.session_state.pop(_ERROR, None)
    if msg:
        st.error("This finding's filter cannot be applied: " + md_text(msg))


def finding(comp: Comparison, f: dict[str, Any], k: int, key: str) -> None:
    """Finding number ``k``: its figures in bold, its sentence, and "Show these examples"."""
    st.markdown(f"**{k}\\. {md_text(headline(f))}**  \n{md_text(f['sentence'])}")
    st.button("Show these examples", key=f"{key}_{k}", on_click=_show_examples,
              args=(comp, list(f["filters"])), icon=":material/filter_alt:",
              help="Filter the view to " + md_text(f["filter"]))


def _compute(comp: Comparison, cfg: FindingsConfig) -> dict[str, Any] | None:
    try:
        return find(comp, cfg)
    except ValueError as e:  # e.g. a depth out of range; nothing the page can go on with
        st.error("Findings cannot be computed: " + md_text(str(e.args[0] if e.args else e)))
        return None


def _none_found(result: dict[str, Any]) -> None:
    st.info(f"No slice differs from the rest after correction ({result['tested']:,} tested)."
            + ("" if result["tested"] else " " + md_text(result["method"]) + "."))


def _scope(result: dict[str, Any]) -> str:
    return (f"Found on the whole comparison ({result['n_scored']:,} scored examples) under the "
            "view's judge selection and tie threshold, not on the filtered examples: "
            f"{result['tested']:,} conjunctions tested, Benjamini–Hochberg adjusted; "
            "✓ confirmed: the effect holds on a held-out random half.")


def biases(result: dict[str, Any]) -> None:
    for b in result["biases"]:
        st.markdown("- " + md_text(b["sentence"]))
    if not result["biases"]:
        st.caption("No length, position or self-preference effect to report.")


def overview_panel(slot, comp: Comparison, t: float, judges: Any) -> None:
    """Fill ``slot`` (a container reserved near the top of the Overview, filled at the end of
    its script so that the rest of the page renders first) with the top findings."""
    with slot.container(border=True):
        st.subheader("Findings")
        with st.spinner("Looking for slices where A's win rate differs from the rest…"):
            result = _compute(comp, config(t, judges))
        if result is None:
            return
        _error()
        found = result["findings"]
        if not found:
            _none_found(result)
        for k, f in enumerate(found[:OVERVIEW_TOP], 1):
            finding(comp, f, k, "ov_finding")
        st.caption(_scope(result))
        with st.expander(f"Judge biases ({len(result['biases'])}) and method"):
            biases(result)
            st.caption("Method: " + md_text(result["method"]) + ".")
        st.page_link("pages/findings.py", icon=":material/lightbulb:",
                     label=(f"All {len(found)} findings" if len(found) > OVERVIEW_TOP else
                            "The Findings page") + ": depth, size and seed controls →")


def table(found: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per finding (a dataframe shows cells as text: no escaping needed)."""
    def pct(x):
        return None if x is None else round(100 * x, 1)

    rows = []
    for k, f in enumerate(found, 1):
        lo, hi = f["win_rate_a_ci95"]
        hold = f["holdout"]
        rows.append({
            "#": k, "finding": f["sentence"], "filter": f["filter"], "n": f["n"],
            "win rate A %": pct(f["win_rate_a"]),
            "95% CI": "n/a" if lo is None else f"[{100 * lo:.0f}, {100 * hi:.0f}]",
            "rest %": pct(f["rest_win_rate_a"]), "difference (points)": pct(f["difference"]),
            "p adjusted": f["p_adjusted"], "confirmed": f["confirmed"],
            "held-out n": hold["n"], "held-out difference": pct(hold["difference"]),
            "held-out p": hold["p_value"],
            "themes": "; ".join(f"{th['title']} ({th['lift']:.1f}×, favours {th['favours']})"
                                for th in f["themes"]),
        })
    return pd.DataFrame(rows)


def _controls() -> tuple[int, int, int, int]:
    c1, c2, c3, c4 = st.columns(4)
    depth = c1.selectbox("Conditions per finding at most", [1, 2, 3], index=1,
                         key="findings_depth",
                         help="Depth 3 tests many more conjunctions (and needs larger effects "
                              "to survive the correction)")
    min_size = c2.number_input("Minimum size", min_value=2, value=30, step=10,
                               key="findings_min_size",
                               help="examples a finding holds at least (and 1% of the scored)")
    seed = c3.number_input("Seed", value=0, step=1, key="findings_seed",
                           help="the random split into a search half and a held-out half")
    top = c4.number_input("Findings listed at most", min_value=1, value=20, step=10,
                          key="findings_top")
    return int(depth), int(min_size), int(seed), int(top)


def command(input_name: str, fmt: str | None, cfg: FindingsConfig) -> str:
    """The ``comparator findings`` command line whose ``--json`` is the page's download."""
    args = ["python", "-m", "comparator", "findings", input_name]
    if fmt:
        args += ["--format", fmt]
    args += ["--depth", str(cfg.depth), "--min-size", str(cfg.min_size), "--seed",
             str(cfg.seed), "--top", str(cfg.top)]
    if cfg.judges != "auto":
        args += ["--judge", ",".join(sorted(cfg.judges))]
    if cfg.tie_threshold != DEFAULT_TIE_THRESHOLD:
        args += ["--tie-threshold", repr(cfg.tie_threshold)]
    return shlex.join([*args, "--json"])


def findings_page(page, input_name: str, swapped: bool) -> None:
    """The Findings page: controls, progress, the table, a button per finding, the judge's
    biases and the JSON of ``comparator findings --json``."""
    comp = page.comp
    depth, min_size, seed, top = _controls()
    cfg = config(page.t, page.judges, depth, min_size, seed, top)
    with st.status("Searching slices…", expanded=False) as status:
        start = time.perf_counter()
        result = _compute(comp, cfg)
        if result is None:
            status.update(label="Findings cannot be computed", state="error")
            return
        took = time.perf_counter() - start
        status.update(label=f"{result['tested']:,} conjunctions tested, "
                            f"{len(result['findings'])} finding(s)"
                            + (f" in {took:.1f} s" if took >= 0.05 else " (cached)"),
                      state="complete")
    st.caption(_scope(result))
    _error()
    if not page.mask.all():
        st.page_link("pages/examples.py", label=f"Show the {int(page.mask.sum()):,} filtered "
                     "examples →", icon=":material/table_rows:")
    found = result["findings"]
    if not found:
        _none_found(result)
    else:
        st.dataframe(table(found), hide_index=True, column_config={
            "finding": st.column_config.TextColumn(width="large"),
            "p adjusted": st.column_config.NumberColumn(format="%.2g"),
            "held-out p": st.column_config.NumberColumn(format="%.2g")})
        st.subheader(f"{len(found)} finding{'s' if len(found) != 1 else ''}")
        for k, f in enumerate(found, 1):
            finding(comp, f, k, "page_finding")
    st.subheader("Judge biases")
    biases(result)
    with st.expander("Method"):
        st.markdown(md_text(result["method"]) + ".")
    st.download_button("Download the findings (JSON)",
                       json.dumps(clean(result), ensure_ascii=False),
                       file_name="findings.json", mime="application/json",
                       icon=":material/download:")
    if not swapped:
        st.caption("The same JSON from the command line:")
        st.code(command(input_name, page.loaded.format, cfg), language="bash")
