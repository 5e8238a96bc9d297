"""Generate: paired responses from two models for a prompt set, then open them."""

from pathlib import Path

import streamlit as st

from comparator.generation import SamplingParams, Side, load_prompts, make_backend
from comparator.generation.base import public_url
from comparator.generation.secrets import api_key, base_urls
from comparator.io import InputError
from comparator.paths import data_dir
from comparator.ui import jobs, state, widgets

JOB = "generation_job"
BUNDLED = state.DATA_DIR / "prompts" / "mt_bench_questions.jsonl"

st.title("Generate")
st.caption("Run a prompt set through two models; replies are cached, appended as they finish "
           "and resumed if the run is interrupted. The file then opens in the other pages.")

source = st.radio("Prompt set", ["Bundled MT-Bench questions (80, two turns)", "Upload"],
                  horizontal=True, key="gen_source")
prompts_path = BUNDLED
if source == "Upload":
    up = st.file_uploader("Prompts (native JSONL, MT-Bench question.jsonl, AlpacaEval JSON, "
                          "CSV with a prompt column)", type=["jsonl", "json", "csv", "tsv"],
                          key="gen_upload")
    if up is None:
        st.stop()
    prompts_path = data_dir() / "uploads" / Path(up.name).name
    prompts_path.parent.mkdir(exist_ok=True)
    prompts_path.write_bytes(up.getvalue())
limit = st.number_input("Limit (0 = all)", 0, 1_000_000, 0, key="gen_limit")


def side_form(side: str, col) -> dict:
    col.subheader(f"Model {side.upper()}")
    provider = col.selectbox("Backend", ["openai", "hf", "vllm"], key=f"gen_provider_{side}",
                             help="openai: any OpenAI-compatible server (OpenAI, vllm serve, "
                                  "Ollama…); hf: transformers here; vllm: offline engine (GPU)")
    model = col.text_input("Model", key=f"gen_model_{side}",
                           placeholder="gpt-4o-mini, or a local path for hf/")
    urls = col.text_area("Base URLs (one per line; several = round-robin with failover)",
                         key=f"gen_urls_{side}", height=68) if provider == "openai" else ""
    key = col.text_input("API key (kept in memory only)", type="password",
                         key=f"gen_key_{side}") if provider == "openai" else ""
    c1, c2, c3 = col.columns(3)
    params = SamplingParams(
        temperature=c1.number_input("temperature", 0.0, 2.0, 0.0, 0.1, key=f"gen_t_{side}"),
        top_p=c2.number_input("top_p", 0.0, 1.0, 1.0, 0.05, key=f"gen_p_{side}"),
        max_tokens=int(c3.number_input("max tokens", 1, 32768, 512, key=f"gen_m_{side}")),
        seed=int(c1.number_input("seed", 0, 2**31 - 1, 0, key=f"gen_s_{side}")),
        system=col.text_input("System prompt (optional)", key=f"gen_sys_{side}") or None)
    return {"provider": provider, "model": model.strip(), "params": params, "key": key or None,
            "urls": [u.strip() for u in urls.splitlines() if u.strip()]}


ca, cb = st.columns(2)
forms = {"a": side_form("a", ca), "b": side_form("b", cb)}
concurrency = st.number_input("Concurrency (calls in flight)", 1, 512, 8, key="gen_conc")
name = st.text_input("Output name", "generation", key="gen_name")
out = data_dir() / "runs" / f"{Path(name).stem or 'generation'}.jsonl"
st.caption(f"Output: {widgets.md_text(str(out))} (rerunning with the same name resumes)")

job: jobs.Job | None = st.session_state.get(JOB)
if st.button("Start", type="primary", disabled=bool(job and job.running)):
    try:
        items = load_prompts(prompts_path, limit or None)
        sides = []
        for s, f in forms.items():
            if not f["model"]:
                raise ValueError(f"give a model for side {s.upper()}")
            urls = base_urls(s, f["urls"] or None)
            backend = make_backend(f"{f['provider']}/{f['model']}", base_urls=urls,
                                   api_key=api_key(s, f["key"]))
            info = {"base_urls": [public_url(u) for u in urls]} if urls else {}
            sides.append(Side(f["model"], backend, f["params"], info))
        if sides[0].name == sides[1].name:
            sides[0].name, sides[1].name = f"{sides[0].name} [A]", f"{sides[1].name} [B]"
        out.parent.mkdir(parents=True, exist_ok=True)
        st.session_state[JOB] = jobs.start_generation(
            items, sides[0], sides[1], out, int(concurrency), str(prompts_path),
            [forms["a"]["key"], forms["b"]["key"]])
        st.rerun()
    except (InputError, ValueError) as e:
        st.error(str(e))


@st.fragment(run_every=1.0)
def progress_panel() -> None:
    job = st.session_state.get(JOB)
    if job is None:
        return
    p = job.progress
    done = (p.done + p.failed) if p else 0
    st.progress(done / max(1, job.total), text=f"{done} of {job.total} · "
                f"{p.failed if p else 0} failed · {p.cache_hits if p else 0} cached replies")
    if job.running:
        if st.button("Cancel"):
            job.cancel.set()
        return
    if job.error:
        st.error(f"The run stopped: {job.error}. Finished examples are kept in the file; "
                 "start again to resume.")
    elif job.cancel.is_set():
        st.warning("Cancelled. Finished examples are kept; start again to resume.")
    else:
        st.success(f"Finished: {p.done} ok, {p.failed} failed.")
    if st.button("Open in the dashboard"):
        state.open_path(job.out)
        st.switch_page("pages/overview.py")


progress_panel()
