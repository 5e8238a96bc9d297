"""Judge reliability: position consistency and agreement with human labels."""

import streamlit as st

from comparator.analysis import agreement, summary
from comparator.analysis.agreement import agreement_by_slice, pairwise_table, raters
from comparator.analysis.benchmarks import judgebench_accuracy
from comparator.analysis.human_vote import VOTES, fleiss, human_selector
from comparator.analysis.reliability import reliability
from comparator.reports.charts import confusion_heatmap
from comparator.ui import widgets
from comparator.ui.people import people_section

page = widgets.analysis_page("Judge reliability")
comp, t, judges = page.comp, page.t, page.judges
m = None if page.mask.all() else page.mask
s = summary(comp, t, judges)
shown = False
if s["position_consistency"] is not None:
    shown = True
    st.subheader("Position consistency")
    st.metric("Verdicts that survive swapping A and B",
              f"{100 * s['position_consistency']:.1f}%",
              help="share of examples judged in both orders whose two verdicts agree")
    st.caption(f"over {s['position_consistency_n']} examples judged in both orders (all "
               "examples; filters do not apply)")

rel = reliability(comp, t, judges)
cols = st.columns(4)
labels = {"first_position_preference": ("Prefers the response shown first",
                                        "of verdicts that picked a side; 50% = no position bias"),
          "length_preference": ("Prefers the longer response",
                                "of examples with a winner and different lengths; 50% = none"),
          "self_agreement": ("Agrees with itself", "mean share of agreeing judgment pairs per "
                                                   "example (repeats and both orders)"),
          "tie_rate": ("Calls a tie", "share of judgments that are ties")}
for col, (key, (title, help_text)) in zip(cols, labels.items()):
    r = rel[key]
    if r["rate"] is None:
        col.metric(title, "n/a", help=help_text)
        continue
    shown = True
    col.metric(title, f"{100 * r['rate']:.1f}%", help=help_text)
    ci = r.get("ci95")
    col.caption((f"95% CI [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}] · " if ci else "")
                + f"n = {r['n']}")

names = comp.judges()
models = [j for j in names if j != "human"]
annotators = raters(comp)
vote = "mean"
if len(annotators) > 1:
    vote = st.radio("Human verdict from several annotators", VOTES, horizontal=True,
                    key="human_vote", format_func=lambda v: {
                        "mean": "mean of their scores",
                        "majority": "majority vote (PandaLM's convention)"}[v])
human = human_selector(vote)
if "human" in names and models:
    shown = True
    st.subheader("Agreement with human labels")
    for name in models:
        a = agreement(comp, name, human, t, mask=m)
        if not a["n"]:
            continue
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(f"{widgets.md_text(name)} vs human, with ties", f"{100 * a['agreement']:.1f}%",
                  help="example level: the judge's verdict (mean of its judgments) vs the human")
        c2.metric("without ties", "n/a" if a["agreement_without_ties"] is None
                  else f"{100 * a['agreement_without_ties']:.1f}%")
        c3.metric("Cohen's κ", "n/a" if a["cohen_kappa"] is None else f"{a['cohen_kappa']:.3f}")
        c4.metric("per judgment", "n/a" if a["judgment_agreement"] is None
                  else f"{100 * a['judgment_agreement']:.1f}%",
                  help="judgment level (LLMBar's accuracy, correct_average): every judgment, "
                       "each order counted separately, vs the human verdict; an unscored "
                       "judgment counts as a disagreement")
        st.caption(f"{a['n']} examples scored by both; {a['n_without_ties']} where neither says "
                   f"tie; {a['judgment_n']} judgments. Rows: the judge; columns: the human "
                   "label.")
        cm = a["confusion"]
        st.plotly_chart(confusion_heatmap(cm["matrix"], cm["labels"], name, "human"),
                        key=f"cm_{name}")
        fields = widgets.slice_fields(comp)
        if fields:
            field = st.selectbox("Agreement per slice of", fields, key=f"agree_field_{name}")
            rows = agreement_by_slice(comp, name, human, field, t)
            if field == "judge":
                st.caption("Per judge: each judge's own verdicts against the human's.")
            st.dataframe([{"slice": r["value"], "n": r["n"],
                           "agreement %": round(100 * r["agreement"], 1),
                           "without ties %": None if r["agreement_without_ties"] is None
                           else round(100 * r["agreement_without_ties"], 1),
                           "Cohen's κ": None if r["cohen_kappa"] is None
                           else round(r["cohen_kappa"], 3)} for r in rows], hide_index=True)

accuracy = judgebench_accuracy(comp, t)
if accuracy:
    shown = True
    st.subheader("Accuracy against the gold label (JudgeBench)")
    for name, a in accuracy.items():
        st.metric(f"{name}: correct verdicts", "n/a" if a["accuracy"] is None
                  else f"{100 * a['accuracy']:.2f}%",
                  help="as JudgeBench's utils/metrics.py: over all pairs; a tie between the "
                       "two orders or an unscored pair counts as wrong")
        st.dataframe([{"group": g, "n": r["n"], "correct": r["correct"],
                       "accuracy %": None if r["accuracy"] is None
                       else round(100 * r["accuracy"], 2)} for g, r in a["groups"].items()],
                     hide_index=True)
        st.caption(f"{a['n']} pairs with a gold label, {a['unscored']} unscored by the judge "
                   "(all examples; filters do not apply)")

if len(annotators) > 1:
    shown = True
    st.subheader("Agreement between annotators")
    st.dataframe(pairwise_table(comp, annotators + [human], t, m), hide_index=True)
    fk = fleiss(comp, "human", t)
    st.caption(f"`{human}` is the human verdict used above and for agreement: the "
               f"{'majority vote' if vote == 'majority' else 'mean'} of the annotators."
               + ("" if fk["fleiss_kappa"] is None else
                  f" Fleiss' κ {fk['fleiss_kappa']:.3f} over {fk['fleiss_n']} examples with "
                  f"{fk['raters_per_example']} annotators."))

shown = people_section(comp, t) or shown

if not shown:
    st.info("Nothing to measure here: reliability needs judgments in both orders (position "
            "consistency) or human labels beside a model judge (agreement). Try the MT-Bench or "
            "LLMBar demo on the Data page.")
