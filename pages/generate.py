"""Generate: paired responses from two models for a prompt set, then open them."""


import streamlit as st

from comparator.engines import generate_pairs, load_prompts
from comparator.engines.plan import generation_plan
from comparator.engines.ray_engine import engines_note, generate_pairs_ray
from comparator.formats import InputError
from comparator.ui import jobs, state, widgets

JOB = "generation_job"  # the run this session started last (the page lists every run)
BUNDLED = state.DATA_DIR / "prompts" / "mt_bench_questions.jsonl"

st.title("Generate")
st.caption("Run a prompt set through two models; replies are cached, appended as they finish "
           "and resumed if the run is interrupted. The file then opens in the other pages.")
st.caption(engines_note("generate"))

source = st.radio("Prompt set", ["Bundled MT-Bench questions (80, two turns)", "Upload"],
                  horizontal=True, key="gen_source")
prompts_path = BUNDLED
if source == "Upload":
    up = st.file_uploader("Prompts (native JSONL, MT-Bench question.jsonl, AlpacaEval JSON, "
                          "CSV with a prompt column)", type=["jsonl", "json", "csv", "tsv"],
                          key="gen_upload")
    if up is None:
        st.stop()
    prompts_path = state.saved_upload(up)
limit = st.number_input("Limit (0 = all)", 0, 1_000_000, 0, key="gen_limit")


ca, cb = st.columns(2)
forms = {}
for side, col in (("a", ca), ("b", cb)):
    col.subheader(f"Model {side.upper()}")
    forms[side] = widgets.backend_form(f"gen_{{}}_{side}", col)
concurrency = st.number_input("Concurrency (calls in flight)", 1, 512, 8, key="gen_conc",
                              help="On Ray: per worker.")
ray = jobs.engine_form("gen")
name = st.text_input("Output name", "generation", key="gen_name")
out = jobs.output(name, "generation")

try:
    items = load_prompts(prompts_path, limit or None)
    plan = generation_plan(items, (forms["a"]["params"].max_tokens,
                                   forms["b"]["params"].max_tokens),
                           (forms["a"]["params"].system, forms["b"]["params"].system))
except InputError as e:
    items, plan = [], None
    st.error(widgets.md_text(str(e)))


def launch() -> jobs.Job:
    specs = [widgets.side_spec(f, s) for s, f in forms.items()]
    if specs[0].name == specs[1].name:
        specs[0].name, specs[1].name = f"{specs[0].name} [A]", f"{specs[1].name} [B]"
    sides = [widgets.built(spec) for spec in specs]
    out.parent.mkdir(parents=True, exist_ok=True)
    opts = dict(concurrency=int(concurrency), prompts_name=str(prompts_path))
    run = (jobs.threaded(generate_pairs_ray, items, *specs, out, sides=tuple(sides), **opts,
                         **ray) if ray else
           lambda on_progress, cancel: generate_pairs(items, *sides, out, on_progress=on_progress,
                                                      cancel=cancel, **opts))
    return jobs.start("generation", out, len(items), [forms["a"]["key"], forms["b"]["key"]], run,
                      calls=plan.calls, engine=jobs.engine_name(ray))


jobs.start_button("Start", plan, JOB, launch)
jobs.panel("generation")
