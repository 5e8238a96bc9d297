"""People vs judge (Judge reliability page): every model judge against the ratings saved on the
Rate page, and the raters among themselves."""

from __future__ import annotations

import streamlit as st

from comparator.analysis.agreement import raters
from comparator.analysis.human_vote import VOTES, human_selector
from comparator.analysis.people import (
    left_bias,
    people_by_slice,
    people_vs_judge,
    rated_mask,
    rater_agreement,
    verdict_text,
    win_rates,
)
from comparator.ratings.store import comparison_key, ratings_dir, saved_ratings, with_ratings
from comparator.reports.charts import confusion_heatmap
from comparator.schema.errors import InputError
from comparator.schema.records import Comparison
from comparator.schema.swap import is_swapped
from comparator.ui import widgets


def _pct(x, ci=None) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x:.1f}%" + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")


def merged_with_ratings(comp: Comparison) -> Comparison | None:
    """The rated examples of the open comparison with every rater's saved ratings as ``human``
    judgments (None when there are none); cached per state of the ratings files."""
    d = ratings_dir(comparison_key(comp))
    files = sorted(d.glob("*.jsonl")) if d.is_dir() else []
    if not files:
        return None
    stamp = (comparison_key(comp), is_swapped(comp),  # (the key is the file's: both sides)
             tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    hit = st.session_state.get("_people_merged")
    if hit and hit[0] == stamp:
        return hit[1]
    try:
        merged = with_ratings(comp, saved_ratings(comp), only_rated=True)
    except InputError as e:
        st.error(f"A ratings file cannot be read: {widgets.md_text(str(e))}")
        return None
    st.session_state["_people_merged"] = (stamp, merged)
    return merged


def people_section(comp: Comparison, t: float) -> bool:
    """Draw People vs judge; False when nobody has rated this comparison yet."""
    merged = merged_with_ratings(comp)
    if merged is None:
        return False
    rated = rated_mask(merged)
    st.subheader("People vs judge")
    vote = "mean"
    if len(raters(merged)) > 1:
        vote = st.radio("People's verdict from several raters", VOTES, horizontal=True,
                        key="people_vote", format_func={"mean": "mean of their scores",
                                                        "majority": "majority vote"}.get)
    human = human_selector(vote)
    st.caption(f"n = {int(rated.sum())} examples rated (skips left out) · human verdict: "
               f"{verdict_text(human)} · all examples (filters do not apply) · intervals: 95% "
               "(Wilson for shares, asymptotic for κ)")
    for name in [j for j in merged.judges() if j != "human"]:
        a = people_vs_judge(merged, name, t, human=human)
        if not a["n"]:
            continue
        st.markdown(f"**{widgets.md_label(name)} vs people**")
        c = st.columns(4)
        c[0].metric("Agreement (example level)", _pct(a["agreement"]))
        c[0].caption(f"95% CI {_pct(a['agreement'], a['agreement_ci95'])} · n = {a['n']}")
        c[1].metric("without ties", _pct(a["agreement_without_ties"]))
        c[1].caption(f"n = {a['n_without_ties']}")
        if a.get("judgment_agreement") is not None:
            c[2].metric("Agreement (judgment level)", _pct(a["judgment_agreement"]))
            c[2].caption(f"95% CI {_pct(a['judgment_agreement'], a['judgment_agreement_ci95'])}"
                         f" · n = {a['judgment_n']} judgments")
        k, kci = a["cohen_kappa"], a["cohen_kappa_ci95"]
        c[3].metric("Cohen's κ", "n/a" if k is None else f"{k:.3f}")
        c[3].caption((f"95% CI [{kci[0]:.3f}, {kci[1]:.3f}] · " if kci else "")
                     + f"n = {a['n']}")
        cm = a["confusion"]
        left, right = st.columns(2)
        left.plotly_chart(confusion_heatmap(cm["matrix"], cm["labels"], name, "people"),
                          key=f"people_cm_{name}")
        right.caption("Each row (the judge's verdict) as shares of the people's verdicts, "
                      "95% CI, n of the row")
        right.dataframe([{"judge says": cm["labels"][i], **{
            f"people: {cm['labels'][j]}": None if cell is None else
            f"{_pct(cell['share'], cell['ci95'])} (n={cell['n']})"
            for j, cell in enumerate(row)}} for i, row in enumerate(cm["row_shares"])],
            hide_index=True)
        w = win_rates(merged, name, t, human)
        c = st.columns(2)
        for col, who, s in ((c[0], "people", w["human"]), (c[1], name, w["judge"])):
            col.metric(f"Win rate of A by {widgets.md_text(who)}", _pct(s["win_rate_a"]))
            col.caption(f"95% CI {_pct(s['win_rate_a'], s['win_rate_a_ci95'])} · same "
                        f"{w['n']} examples · A {s['a_wins']} / tie {s['ties']} / B "
                        f"{s['b_wins']}")
        fields = widgets.slice_fields(comp)
        if fields:
            field = st.selectbox("People vs judge per slice of", fields,
                                 key=f"people_field_{name}")
            st.dataframe([{"slice": r["value"], "n": r["n"],
                           "agreement": _pct(r["agreement"], r["agreement_ci95"]),
                           "without ties": _pct(r["agreement_without_ties"]),
                           "Cohen's κ": None if r["cohen_kappa"] is None
                           else round(r["cohen_kappa"], 3)}
                          for r in people_by_slice(merged, name, field, t, human)], hide_index=True)
            st.caption("Lowest agreement first: the slices where people and judge part most.")
    ra = rater_agreement(merged, t)
    if ra:
        st.markdown("**Among raters**")
        k = ra.get(ra["method"])
        label = "Cohen's κ" if ra["method"] == "cohen_kappa" else "Fleiss' κ"
        st.metric(f"{label} between {len(ra['raters'])} raters",
                  "n/a" if k is None else f"{k:.3f}")
        st.caption(f"n = {ra['n']} examples rated by " + (
            "both" if ra["method"] == "cohen_kappa" else
            f"{ra['raters_per_example']} raters (the most common count)"))
    st.markdown("**Raters' left-side bias**")
    st.dataframe([{"rater": r["rater"], "picked the left side": _pct(r["rate"], r["ci95"]),
                   "n (ratings that picked a side)": r["n"]} for r in left_bias(merged, t)],
                 hide_index=True)
    return True
