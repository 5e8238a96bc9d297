"""The ct2/ backend (CTranslate2) on the tiny Llama built offline: MT-Bench's two turns, greedy
output equal to transformers' own greedy decoding (computed here, independently), reruns, the
conversion cache, clear errors for a missing path or an unsupported architecture, and kill -9
then resume. The tiny model's replies are gibberish: the tests check the plumbing and that the
two engines compute the same tokens, not quality."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import MT_QUESTIONS, ROOT, read_jsonl, run_cli

from comparator.engines import SamplingParams, Side, generate_pairs, load_prompts
from comparator.engines import ct2_backend as ct2
from comparator.engines.cache import ResponseCache
from comparator.formats import load


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    ct2._LOADED.clear()  # every test starts from disk, as a new process would
    return tmp_path / "home"


def _greedy_by_transformers(model_dir, turns: list[str], max_new: int) -> list[str]:
    """Both turns answered by transformers' generate, one conversation at a time, no padding:
    the independent reference for ct2's float32 greedy output."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    msgs, replies = [], []
    for turn in turns:
        msgs.append({"role": "user", "content": turn})
        text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        ids = tok(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            out = model.generate(ids, max_new_tokens=max_new, do_sample=False)
        new = [t for t in out[0, ids.shape[1]:].tolist() if t != tok.eos_token_id]
        replies.append(tok.decode(new, skip_special_tokens=True))
        msgs.append({"role": "assistant", "content": replies[-1]})
    return replies


def _run(items, a, b, out, cache):
    return asyncio.run(generate_pairs(items, a, b, out, concurrency=8,
                                      cache=ResponseCache(cache)))


def test_ct2_mt_bench_two_turns_match_transformers_and_rerun_identical(tiny_model, tmp_path,
                                                                       home):
    items = load_prompts(MT_QUESTIONS, limit=3)
    greedy = SamplingParams(max_tokens=24, logprobs=True)
    sampled = SamplingParams(max_tokens=24, temperature=0.8, top_p=0.9, seed=7)

    def sides():
        return (Side("ct2-f32", ct2.Ct2Backend(str(tiny_model), compute_type="float32"), greedy),
                Side("ct2-int8", ct2.Ct2Backend(str(tiny_model), batch_size=4), sampled))

    before = ct2.conversions
    prog = _run(items, *sides(), tmp_path / "one.jsonl", tmp_path / "c1.sqlite")
    assert (prog.done, prog.failed) == (3, 0)
    assert ct2.conversions == before + 2  # float32 and int8, once each
    converted = sorted((home / "ct2").iterdir())
    assert [d.name.split("-")[1] for d in converted] == ["float32", "int8"]
    stamps = {d: (d / "model.bin").stat().st_mtime_ns for d in converted}

    comp = load(tmp_path / "one.jsonl").comparison
    header = json.loads((tmp_path / "one.jsonl").read_text().splitlines()[0])
    gen = header["metadata"]["generation"]
    assert (gen["a"]["compute_type"], gen["b"]["compute_type"]) == ("float32", "int8")
    questions = {str(q["question_id"]): q for q in read_jsonl(MT_QUESTIONS)}
    for ex in comp.examples:
        q = questions[ex["id"]]
        assert [m["content"] for m in ex["messages"]] == q["turns"]
        assert len(ex["response_a"]) == len(ex["response_b"]) == 2
        assert ex["response_a"] == _greedy_by_transformers(tiny_model, q["turns"], 24)
        meta = ex["metadata"]
        assert 0 < meta["a_completion_tokens"] <= 2 * 24
        assert meta["a_tokens_per_s"] > 0 and meta["a_prompt_tokens"] > 0
        assert meta["a_mean_logprob"] < 0 and "b_mean_logprob" not in meta  # b did not ask

    # a second run (new cache, new output, models reloaded from disk): no conversion, and the
    # greedy side says exactly the same
    ct2._LOADED.clear()
    prog = _run(items, *sides(), tmp_path / "two.jsonl", tmp_path / "c2.sqlite")
    assert (prog.done, prog.failed, prog.cache_hits) == (3, 0, 0)
    assert ct2.conversions == before + 2
    assert {d: (d / "model.bin").stat().st_mtime_ns for d in converted} == stamps
    again = load(tmp_path / "two.jsonl").comparison
    assert [e["response_a"] for e in again.examples] == [e["response_a"] for e in comp.examples]


def test_ct2_batches_samples_with_seed_and_reports_logprobs(tiny_model, home):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    backend = ct2.Ct2Backend(str(tiny_model), compute_type="float32", batch_size=4)
    msgs = [[{"role": "user", "content": f"Question number {i}?"}] for i in range(6)]

    def go(params):
        async def run():
            return await asyncio.gather(*(backend.generate(m, params) for m in msgs))
        return asyncio.run(run())

    res = go(SamplingParams(max_tokens=6, logprobs=True))
    assert all(r.status == "ok" for r in res)
    assert max(r.extra["batch_size"] for r in res) == 4  # batched, not one by one
    assert all(r.completion_tokens <= 6 for r in res)
    # the mean log-probability of each greedy reply, from transformers' own generate scores
    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    for m, r in zip(msgs, res, strict=True):
        ids = tok(tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True),
                  return_tensors="pt", add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            out = model.generate(ids, max_new_tokens=6, do_sample=False, output_scores=True,
                                 return_dict_in_generate=True)
        new = out.sequences[0, ids.shape[1]:].tolist()
        lps = [torch.log_softmax(sc[0].float(), -1)[t].item() for sc, t in zip(
            out.scores, new, strict=True) if t != tok.eos_token_id]
        assert r.completion_tokens == len(lps)
        assert r.mean_logprob == pytest.approx(sum(lps) / len(lps), abs=1e-3)
    # CTranslate2 seeds a model's sampler once, at its first sampled batch: a freshly loaded
    # model (a new process) with the same seed and batches says the same
    runs = {}
    for name, seed in (("s1", 11), ("s2", 11), ("s3", 12)):
        ct2._LOADED.clear()
        runs[name] = go(SamplingParams(max_tokens=8, temperature=1.0, seed=seed))
    s1, s2, s3 = runs["s1"], runs["s2"], runs["s3"]
    assert [r.text for r in s1] == [r.text for r in s2]
    assert [r.text for r in s1] != [r.text for r in s3]
    assert all(r.mean_logprob is None for r in s1)


def test_a_ctranslate2_directory_is_used_as_it_is(tiny_model, tmp_path, home):
    from ctranslate2.converters import TransformersConverter

    own = tmp_path / "own-ct2"  # converted by the user, with the tokenizer files
    TransformersConverter(str(tiny_model), copy_files=[
        "tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
        "generation_config.json"]).convert(
        str(own), quantization="int8")
    before = ct2.conversions
    msgs = [[{"role": "user", "content": f"Tell me about item {i}."}] for i in range(3)]
    params = SamplingParams(max_tokens=12)
    mine = ct2.Ct2Backend(str(own)).run_batch(msgs, params)
    assert ct2.conversions == before and not (home / "ct2").exists()
    ours = ct2.Ct2Backend(str(tiny_model)).run_batch(msgs, params)  # converted here, int8 too
    assert [r.text for r in mine] == [r.text for r in ours]
    bare = next((home / "ct2").iterdir())  # a CTranslate2 model without tokenizer files
    r = run_cli("generate", "--prompts", MT_QUESTIONS, "--limit", "1", "--model-a",
                f"ct2/{bare}", "--model-b", "openai/x", "-o", tmp_path / "o.jsonl")
    assert r.returncode == 2 and "without its tokenizer" in r.stderr


def test_missing_path_and_unsupported_architecture_are_one_clear_line(tmp_path, home):
    from transformers import GPTNeoConfig

    base = ["generate", "--prompts", MT_QUESTIONS, "--limit", "1", "--model-b", "openai/x",
            "-o", tmp_path / "o.jsonl"]
    r = run_cli(*base, "--model-a", f"ct2/{tmp_path / 'nowhere'}")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert str(tmp_path / "nowhere") in r.stderr and "no such model directory" in r.stderr
    # a real config of an architecture CTranslate2 cannot convert (config only, no weights:
    # the converter refuses on the configuration before it reads any weight)
    neo = tmp_path / "gpt-neo"
    GPTNeoConfig(num_layers=2, hidden_size=32, num_heads=2,
                 attention_types=[[["global"], 2]]).save_pretrained(neo)
    r = run_cli(*base, "--model-a", f"ct2/{neo}")
    assert r.returncode == 2
    lines = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "GPTNeoConfig is not supported by CTranslate2" in lines[0]
    assert str(neo) in lines[0] and "hf/" in lines[0]
    assert not (home / "ct2").exists() or not any((home / "ct2").iterdir())
    import ctranslate2

    unusable = sorted(set(ct2.COMPUTE_TYPES) - ctranslate2.get_supported_compute_types("cpu"))
    for compute in [*unusable[:1], "int3"]:  # one this CPU lacks (if any), one that is no type
        r = run_cli(*base, "--model-a", f"ct2/{neo}", "--params-a", f"compute_type={compute}")
        assert r.returncode == 2 and f"compute_type '{compute}': choose one of" in r.stderr
    r = run_cli(*base, "--model-a", "hf/x", "--params-a", "compute_type=int8")
    assert r.returncode == 2 and "options of ct2/ models only" in r.stderr


def test_kill_9_then_rerun_generates_only_what_is_missing(tiny_model, tmp_path, home):
    out = tmp_path / "run.jsonl"
    env = {**os.environ, "COMPARATOR_HOME": str(home)}
    cmd = [sys.executable, "-m", "comparator", "generate", "--prompts", str(MT_QUESTIONS),
           "--limit", "24", "--model-a", f"ct2/{tiny_model}", "--model-b", f"ct2/{tiny_model}",
           "--params-a", "compute_type=float32", "--params-b", "temperature=0.9",
           "--max-tokens", "400", "--batch-size", "1", "--concurrency", "1", "-o", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 1 + 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # the lines the killed run finished (a last line cut by the kill has no newline)
    first = [json.loads(x) for x in out.read_text().split("\n")[1:-1]]
    first = [x for x in first if x["metadata"]["gen_status"] == "ok"]
    n = len(first)
    assert 3 <= n < 24
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "converting" not in r.stderr  # both conversions were cached by the first run
    lines = out.read_text().split("\n")  # not splitlines(): replies may hold U+2028, U+0085
    assert lines[-1] == ""
    ids = [json.loads(x)["id"] for x in lines[1:-1]]
    assert len(ids) == len(set(ids)) == 24
    after = {json.loads(x)["id"]: json.loads(x) for x in lines[1:-1]}
    assert all(after[x["id"]] == x for x in first)  # finished work kept as it was
    assert f"{n} from an earlier run" in r.stderr
    calls = int(r.stderr.split(" calls ->")[0].rsplit(" ", 1)[1])
    assert calls <= 2 * 2 * (24 - n)  # only the missing examples' turns were generated


def test_generate_page_offers_ct2_and_runs_it(tiny_model, home):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/generate.py").run()
    at.number_input(key="gen_limit").set_value(2)
    for s in ("a", "b"):
        at.selectbox(key=f"gen_provider_{s}").set_value("ct2").run()
        at.text_input(key=f"gen_model_{s}").input(str(tiny_model))
        at.number_input(key=f"gen_m_{s}").set_value(4)
    at.selectbox(key="gen_ct2_compute_a").set_value("float32")
    at.number_input(key="gen_t_b").set_value(0.7)
    at.text_input(key="gen_name").input("ct2-page")
    at.run()
    assert not at.exception
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job = at.session_state["generation_job"]
    job.thread.join(120)
    assert job.finished and job.error is None and job.progress.done == 2
    header = json.loads(job.out.read_text().split("\n")[0])["metadata"]["generation"]
    assert (header["a"]["spec"], header["a"]["compute_type"]) == (f"ct2/{tiny_model}", "float32")
    assert header["b"]["compute_type"] == "int8"  # the default on a CPU
    assert sorted(d.name.split("-")[1] for d in (home / "ct2").iterdir()) == ["float32", "int8"]
