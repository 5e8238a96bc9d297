"""Overview: headline win rate, findings, score histogram, win rate by slice (clicks filter)."""

from functools import partial

import numpy as np
import streamlit as st

from comparator.analysis import slice_table, summary
from comparator.analysis.filters import apply
from comparator.analysis.length_control import lc_win_rate
from comparator.analysis.stats import derive
from comparator.reports.charts import score_histogram, slice_bars
from comparator.ui import state, widgets
from comparator.ui.benchmarks import benchmark_panel
from comparator.ui.findings_panel import overview_panel

loaded = state.current(quiet=True)  # analysis_page says why when nothing opens
page = widgets.analysis_page(f"{loaded.comparison.model_a} vs {loaded.comparison.model_b}"
                             if loaded else "Overview")
comp, mask, t, judges = page.comp, page.mask, page.t, page.judges
filtered = not mask.all()
st.caption(widgets.md_text(f"{state.source_label()} · from {comp.source_format or loaded.format}"
                           " · " + ("all examples" if not filtered else
                                    f"filtered: {state.filters().describe()}")))
s = summary(comp, t, judges, mask=mask if filtered else None)
whole = summary(comp, t, judges) if filtered else s
c1, c2, c3, c4 = st.columns(4)
if s["win_rate_a"] is None:
    c1.metric("Win rate of A", "n/a")
else:
    lo, hi = s["win_rate_a_ci95"]
    c1.metric("Win rate of A", f"{100 * s['win_rate_a']:.1f}%",
              help="(A + ties/2) / (A + B + ties); 95% tie-aware Wilson score interval "
                   "(see the README, “The numbers”)")
    c1.caption(f"95% CI [{100 * lo:.1f}, {100 * hi:.1f}]"
               + (" · significant" if s["significant"] else " · not significant"))
if s.get("scores_continuous") and s.get("win_rate_a_soft") is not None:
    c1.caption(f"Soft win rate {100 * s['win_rate_a_soft']:.1f}% (AlpacaEval's convention: "
               "mean of (score + 1.5)/3, no threshold)")
if s["win_rate_a"] is not None and c1.toggle("Length-controlled", key="ov_lc",
                                              help="AlpacaEval-style: logistic model of the "
                                              "outcome on tanh(standardised length difference),"
                                              " predicted at equal lengths (see the README)"):
    lc = lc_win_rate(comp, t, judges, mask=mask if filtered else None)
    if lc["win_rate_a_lc"] is None:
        c1.caption("Length-controlled: n/a (too few examples or equal lengths)")
    else:
        lo, hi = lc["win_rate_a_lc_ci95"]
        c1.caption(f"Length-controlled {100 * lc['win_rate_a_lc']:.1f}% "
                   f"[{100 * lo:.1f}, {100 * hi:.1f}]")
c2.metric("A / tie / B", f"{s['a_wins']} / {s['ties']} / {s['b_wins']}",
          help=f"tie when |score| ≤ {t}; unscored examples are never ties")
c2.caption(f"{s['unscored']} unscored of {s['n']}")
c3.metric("Mean score", "n/a" if s["mean_score"] is None else f"{s['mean_score']:+.3f}",
          help="+1.5 A much better … −1.5 B much better")
if s.get("mean_score_ci95"):
    c3.caption(f"95% CI [{s['mean_score_ci95'][0]:+.3f}, {s['mean_score_ci95'][1]:+.3f}]")
pc = whole["position_consistency"]
c4.metric("Position consistency", "n/a" if pc is None else f"{100 * pc:.1f}%",
          help="share of examples whose verdicts agree when the order is swapped")
if pc is not None:
    c4.caption(f"{whole['position_consistency_n']} examples judged in both orders")

if s["win_rate_a"] is not None and pc is not None:
    lo, hi = s["win_rate_a_ci95"]
    st.info(f"A wins {100 * s['win_rate_a']:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]; the judge "
            f"agrees with itself across orders on {100 * pc:.0f}% of "
            f"{whole['position_consistency_n']} examples judged both ways.")

findings_slot = st.container()  # filled last: the rest of the page does not wait for it
benchmark_panel(comp, t)

st.subheader("Score distribution")
d = derive(comp, judges)
st.plotly_chart(score_histogram(d.score[mask], t, model_a=comp.model_a, model_b=comp.model_b),
                on_select=partial(state.on_bin_click, "hist"), selection_mode="points",
                key="hist")
st.caption("Click a bar to keep only the examples with scores in that bin.")

st.subheader("Win rate by slice")
fields = widgets.slice_fields(comp)
if not fields:
    st.info("This file has no category, tags or metadata to slice by.")
else:
    field = st.selectbox("Slice field", fields, key="overview_field",
                         index=fields.index(st.session_state.get(state.F_FIELD))
                         if st.session_state.get(state.F_FIELD) in fields else 0)
    base = state.filters()
    base.slice_field = base.slice_value = None
    try:
        others = apply(comp, base, t, judges)
    except Exception:  # bad regex: already reported above
        others = np.ones(len(comp.examples), bool)
    rows = slice_table(comp, field, t, judges, mask=None if others.all() else others)
    st.plotly_chart(slice_bars(rows, f"by {field} — click a bar to filter"),
                    on_select=partial(state.on_bar_click, f"bars_{field}", field),
                    selection_mode="points", key=f"bars_{field}")
    st.dataframe(widgets.counts_table(rows), hide_index=True)
    st.caption("★: the slice's win rate differs from the rest of the data (two-sample test, "
               "Benjamini–Hochberg adjusted p < 0.05 over these slices). ⚠: fewer than 10 "
               "scored examples.")
if filtered:
    st.page_link("pages/examples.py", label=f"Show the {int(mask.sum()):,} filtered examples →",
                 icon=":material/table_rows:")
overview_panel(findings_slot, comp, t, judges)
