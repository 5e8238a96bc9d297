"""Judge: run an LLM judge over the open comparison (both orders, repeats), then open it."""


import streamlit as st

from comparator.engines.ray_engine import engines_note
from comparator.judge.plan import judge_plan
from comparator.judge.prompts import PROTOCOLS, TEMPLATES
from comparator.judge.runner import JudgeConfig, judge_comparison, judge_comparison_ray
from comparator.ui import jobs, state, widgets

JOB = "judge_job"  # the run this session started last (the page lists every run)


@st.cache_data(max_entries=16, show_spinner=False)
def _plan(key: tuple, _target, _cfg: JudgeConfig):
    """Calls and tokens of judging ``_target`` (every prompt rendered: cached by ``key``)."""
    return judge_plan(_target, _cfg)


st.title("Judge")
loaded = state.current()
if loaded is None:
    jobs.panel("judging")
    st.stop()
comp = loaded.comparison
st.caption(f"Judging the open comparison: {widgets.md_text(comp.model_a)} (A) vs "
           f"{widgets.md_text(comp.model_b)} (B), {len(comp.examples):,} examples "
           f"({widgets.md_text(state.source_label())}). Each pair is judged `repeats` times, "
           "half with A and B swapped; verdicts are turned back to the file's A/B.")
st.caption(engines_note("judge"))

c1, c2 = st.columns(2)
c1.subheader("Judge model")
form = widgets.backend_form("judge_{}", c1, sampling=False)
c2.subheader("Protocol")
protocol = c2.selectbox("Protocol", list(PROTOCOLS), key="judge_protocol",
                        format_func=lambda p: TEMPLATES[PROTOCOLS[p]].description)
rubric = c2.text_area("Your rubric", key="judge_rubric", height=120,
                      placeholder="e.g. Prefer answers that cite sources…") \
    if protocol == "custom" else None
repeats = c2.number_input("Repeats per pair (half swapped)", 1, 32, 6, key="judge_repeats")
limit = c2.number_input("Limit (0 = all examples)", 0, 10_000_000, 0, key="judge_limit")
concurrency = c2.number_input("Concurrency (calls in flight)", 1, 512, 8, key="judge_conc",
                              help="On Ray: per worker.")
ray = jobs.engine_form("judge", c2)
name = c2.text_input("Output name", "judged", key="judge_name")
out = jobs.output(name, "judged", c2)

cfg = JudgeConfig(PROTOCOLS[protocol], int(repeats), form["params"], rubric or None)
target = comp.subset(comp.examples[: int(limit)]) if limit else comp
try:
    plan = _plan((state.source_label(), id(comp), len(target.examples), comp.model_a,
                  comp.model_b, repr(cfg)), target, cfg)
except ValueError as e:
    plan = None
    st.warning(widgets.md_text(str(e)))


def launch() -> jobs.Job:
    spec = widgets.side_spec(form, "judge")
    opts = dict(name=form["model"], concurrency=int(concurrency))
    if ray:
        run = jobs.threaded(judge_comparison_ray, target, spec.spec, spec.kwargs, cfg, out,
                            **opts, **ray)
    else:
        backend = widgets.built(spec).backend
        run = lambda on_progress, cancel: judge_comparison(  # noqa: E731
            target, backend, cfg, out, on_progress=on_progress, cancel=cancel, **opts)
    return jobs.start("judging", out, len(target.examples), [form["key"]], run,
                      calls=plan.calls, engine=jobs.engine_name(ray))


jobs.start_button("Start judging", plan, JOB, launch)
jobs.panel("judging")
