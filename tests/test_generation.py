"""Generation against a real OpenAI-compatible server (`transformers serve` of a tiny model
built offline), the transformers backend on the same model, injected faults, and kill -9 then
resume. The tiny model's replies are gibberish: the tests check the protocol, not the quality."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ALPACA_COT, MT_QUESTIONS, ROOT, read_json, read_jsonl
from fault_proxy import FaultProxy

from comparator.engines import SamplingParams, Side, generate_pairs, load_prompts
from comparator.engines.cache import ResponseCache
from comparator.engines.openai_backend import OpenAIBackend
from comparator.formats import load

FAST = dict(backoff_s=0.02, max_backoff_s=0.1)


def _openai(server, urls, **kw):
    return OpenAIBackend(server["model"], base_urls=urls, api_key="sk-test-SECRETKEY123", **kw)


def _alpaca_prompts(tmp_path, n):
    rows = [{"instruction": r["instruction"], "dataset": r["dataset"]}
            for r in read_json(ALPACA_COT)[:n]]
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps(rows))
    return path


def _run(items, a, b, out, cache_path, concurrency=4):
    return asyncio.run(generate_pairs(items, a, b, out, concurrency=concurrency,
                                      cache=ResponseCache(cache_path)))


def test_openai_backend_mt_bench_two_turns(tiny_server, tmp_path):
    items = load_prompts(MT_QUESTIONS, limit=4)
    assert all(len(it.turns) == 2 for it in items)
    with FaultProxy(tiny_server["url"].removesuffix("/v1")) as proxy:
        a = Side("tiny-greedy", _openai(tiny_server, [proxy.url]), SamplingParams(max_tokens=6))
        b = Side("tiny-sampled", _openai(tiny_server, [proxy.url]),
                 SamplingParams(max_tokens=6, temperature=0.9, seed=3))
        prog = _run(items, a, b, tmp_path / "out.jsonl", tmp_path / "c.sqlite")
    assert (prog.done, prog.failed) == (4, 0)
    comp = load(tmp_path / "out.jsonl").comparison
    questions = {str(q["question_id"]): q for q in read_jsonl(MT_QUESTIONS)}
    assert len(proxy.requests) == 4 * 2 * 2
    for ex in comp.examples:
        q = questions[ex["id"]]
        assert [m["content"] for m in ex["messages"]] == q["turns"]
        assert ex["category"] == q["category"]
        assert len(ex["response_a"]) == len(ex["response_b"]) == 2
        md = ex["metadata"]
        assert md["gen_status"] == "ok" and md["a_completion_tokens"] > 0
        assert md["a_latency_s"] > 0 and md["a_finish_reason"] in ("length", "stop")
        # turn 2 was asked after the model's OWN turn-1 answer
        for side, temp in (("response_a", 0.0), ("response_b", 0.9)):
            second = [r["body"]["messages"] for r in proxy.requests
                      if r["body"]["temperature"] == temp and len(r["body"]["messages"]) == 3
                      and r["body"]["messages"][0]["content"] == q["turns"][0]]
            assert len(second) == 1
            assert second[0][1] == {"role": "assistant", "content": ex[side][0]}
            assert second[0][2]["content"] == q["turns"][1]
    header = (tmp_path / "out.jsonl").read_text().splitlines()[0]
    assert "SECRETKEY123" not in (tmp_path / "out.jsonl").read_text()
    assert json.loads(header)["metadata"]["generation"]["b"]["params"]["temperature"] == 0.9


def test_hf_backend_batches_on_the_same_model(tiny_model, tmp_path):
    from comparator.engines.hf_backend import HFBackend

    backend = HFBackend(str(tiny_model), batch_size=4)
    msgs = [[{"role": "user", "content": f"Question number {i}?"}] for i in range(6)]

    async def go():
        return await asyncio.gather(*(backend.generate(m, SamplingParams(max_tokens=5))
                                      for m in msgs))

    results = asyncio.run(go())
    assert all(r.status == "ok" and r.completion_tokens for r in results)
    assert max(r.extra["batch_size"] for r in results) == 4  # batched, not one by one
    items = load_prompts(_alpaca_prompts(tmp_path, 5))
    a = Side("tiny", HFBackend(str(tiny_model), batch_size=4), SamplingParams(max_tokens=5))
    b = Side("tiny-t", HFBackend(str(tiny_model), batch_size=4),
             SamplingParams(max_tokens=5, temperature=0.7))
    prog = _run(items, a, b, tmp_path / "hf.jsonl", tmp_path / "c.sqlite", concurrency=4)
    assert (prog.done, prog.failed) == (5, 0)
    comp = load(tmp_path / "hf.jsonl").comparison
    assert [ex["category"] for ex in comp.examples] == [r["dataset"] for r in read_json(
        ALPACA_COT)[:5]]


def test_faults_every_item_completed_or_recorded_failed(tiny_server, tmp_path):
    pattern = ["429", "ok", "500", "garbage", "ok", "stall", "truncated", "ok", "ok"]
    items = load_prompts(_alpaca_prompts(tmp_path, 10))
    with FaultProxy(tiny_server["url"].removesuffix("/v1"),
                    schedule=lambda i: pattern[i % len(pattern)] if i < 60 else "ok",
                    stall_s=1.5) as proxy:
        a = Side("a", _openai(tiny_server, [proxy.url], timeout_s=1.0, max_tries=4, **FAST),
                 SamplingParams(max_tokens=4))
        b = Side("b", _openai(tiny_server, [proxy.url], timeout_s=1.0, max_tries=4, **FAST),
                 SamplingParams(max_tokens=4, temperature=0.5))
        prog = _run(items, a, b, tmp_path / "out.jsonl", tmp_path / "c.sqlite")
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()[1:]]
    assert sorted(x["id"] for x in lines) == sorted(it.id for it in items)  # each exactly once
    assert prog.done + prog.failed == 10
    faults = {r["fault"] for r in proxy.requests}
    assert {"429", "500", "garbage", "stall", "truncated"} <= faults
    for x in lines:
        md = x["metadata"]
        assert md["gen_status"] in ("ok", "error")
        if md["gen_status"] == "error":
            assert "gave up after 4 tries" in (md.get("a_error") or md.get("b_error"))
    assert sum(x["metadata"].get("a_tries", 1) for x in lines) > 10  # retries happened


def test_dead_url_fails_over_and_hopeless_server_is_recorded(tiny_server, tmp_path):
    items = load_prompts(_alpaca_prompts(tmp_path, 4))
    dead = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
    with FaultProxy(tiny_server["url"].removesuffix("/v1"),
                    schedule=lambda i: "ok") as good, \
         FaultProxy(tiny_server["url"].removesuffix("/v1"),
                    schedule=lambda i: "500") as broken:
        a = Side("a", _openai(tiny_server, [dead, good.url], max_tries=4, **FAST),
                 SamplingParams(max_tokens=4))
        b = Side("b", _openai(tiny_server, [broken.url], max_tries=3, **FAST),
                 SamplingParams(max_tokens=4, temperature=0.3))
        prog = _run(items, a, b, tmp_path / "out.jsonl", tmp_path / "c.sqlite")
    assert prog.failed == 4 and len(broken.requests) == 4 * 3
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()[1:]]
    for x in lines:
        assert x["response_a"] and "a_error" not in x["metadata"]  # A failed over to good
        assert "gave up after 3 tries" in x["metadata"]["b_error"]
        assert "SECRETKEY123" not in json.dumps(x)
    # a rerun retries only what failed: A's replies come from the cache
    before = len(good.requests)
    with FaultProxy(tiny_server["url"].removesuffix("/v1")) as fixed:
        a = Side("a", _openai(tiny_server, [dead, good.url], **FAST), SamplingParams(max_tokens=4))
        b = Side("b", _openai(tiny_server, [fixed.url], **FAST),
                 SamplingParams(max_tokens=4, temperature=0.3))
        prog = _run(items, a, b, tmp_path / "out.jsonl", tmp_path / "c.sqlite")
    assert (prog.done, prog.failed, prog.cache_hits) == (4, 0, 4)
    assert len(good.requests) == before and len(fixed.requests) == 4
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 1 + 4


def test_kill_9_then_resume_loses_nothing_and_pays_nothing_twice(tiny_server, tmp_path):
    prompts = _alpaca_prompts(tmp_path, 16)
    out = tmp_path / "run.jsonl"
    env = {**os.environ, "COMPARATOR_HOME": str(tmp_path / "home")}
    with FaultProxy(tiny_server["url"].removesuffix("/v1"), delay_s=0.25) as proxy:
        cmd = [sys.executable, "-m", "comparator", "generate", "--prompts", str(prompts),
               "--model-a", f"openai/{tiny_server['model']}", "--base-url-a", proxy.url,
               "--model-b", f"openai/{tiny_server['model']}", "--base-url-b", proxy.url,
               "--params-b", "temperature=0.8", "--max-tokens", "4", "--concurrency", "2",
               "-o", str(out)]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        deadline = time.time() + 120
        while time.time() < deadline:
            if out.exists() and len(out.read_text().splitlines()) >= 1 + 4:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        first = [json.loads(x) for x in out.read_text().splitlines()[1:] if x.strip()]
        finished = {x["id"] for x in first}
        assert 4 <= len(finished) < 16
        paid = len(proxy.requests)
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["kind"] == "comparator.comparison"
    ids = [json.loads(x)["id"] for x in lines[1:]]
    assert len(ids) == len(set(ids)) == 16  # nothing lost, nothing duplicated
    done_prompts = {x["prompt"] for x in first}
    again = [q for q in proxy.requests[paid:]
             if q["body"]["messages"][-1]["content"] in done_prompts]
    assert again == []  # no finished item was paid for twice
    assert len(proxy.requests) - paid <= 2 * (16 - len(finished))
    assert f"{len(finished)} from an earlier run" in r.stderr
    before = {x["id"]: x for x in first}
    after = {json.loads(x)["id"]: json.loads(x) for x in lines[1:]}
    assert all(after[i] == before[i] for i in before)  # finished work kept as it was


def test_output_of_another_run_is_refused(tiny_server, tmp_path):
    items = load_prompts(_alpaca_prompts(tmp_path, 1))
    a = Side("a", _openai(tiny_server, [tiny_server["url"]]), SamplingParams(max_tokens=3))
    b = Side("b", _openai(tiny_server, [tiny_server["url"]]), SamplingParams(max_tokens=3))
    _run(items, a, b, tmp_path / "o.jsonl", tmp_path / "c.sqlite")
    c = Side("c", _openai(tiny_server, [tiny_server["url"]]), SamplingParams(max_tokens=3))
    from comparator.formats import InputError

    with pytest.raises(InputError, match="model_a"):
        _run(items, c, b, tmp_path / "o.jsonl", tmp_path / "c.sqlite")


def test_generate_page_runs_and_opens_the_result(tiny_server, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from comparator.ui import state

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/generate.py").run()
    assert not at.exception
    at.number_input(key="gen_limit").set_value(3)
    for s, temp in (("a", 0.0), ("b", 0.7)):
        at.text_input(key=f"gen_model_{s}").input(tiny_server["model"])
        at.text_area(key=f"gen_urls_{s}").input(tiny_server["url"])
        at.number_input(key=f"gen_t_{s}").set_value(temp)
        at.number_input(key=f"gen_m_{s}").set_value(4)
    at.text_input(key="gen_name").input("page-run")
    at.run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job = at.session_state["generation_job"]
    job.thread.join(120)
    at.run()
    assert job.finished and job.error is None and job.progress.done == 3
    assert any("Finished: 3 examples." in s.value for s in at.success)
    next(b for b in at.button if b.label == "Open in the dashboard").click().run()
    assert at.session_state[state.SOURCE] == ("path", str(job.out))
    at.switch_page("pages/examples.py").run()
    assert not at.exception and len(at.dataframe[0].value) == 3
    questions = read_jsonl(MT_QUESTIONS)[:3]
    assert set(at.dataframe[0].value["category"]) == {q["category"] for q in questions}


def test_backends_load_lazily_and_declare_their_options():
    code = ("import sys; import comparator.engines as e; before = set(sys.modules); "
            "b = e.make_backend('hf/some-model', batch_size=3); "
            "print(b.batch_size, sorted(m for m in set(sys.modules) - before "
            "if m.startswith(('comparator.engines.', 'torch', 'transformers', 'ctranslate2', "
            "'openai', 'vllm'))), sorted(m for m in before if m.endswith('_backend')))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    # only the chosen backend's module, nothing heavy (the model loads on first use)
    assert r.stdout.split() == ["3", "['comparator.engines.hf_backend']", "[]"]
    from comparator.engines import make_backend
    from comparator.engines.registry import check_options

    with pytest.raises(ValueError, match=r"PROVIDER one of openai, hf, vllm, ct2 \(e.g. openai/"):
        make_backend("gpt-4o")
    with pytest.raises(ValueError, match="compute_type: options of ct2/ models only, not hf/"):
        make_backend("hf/x", options={"compute_type": "int8"})
    with pytest.raises(ValueError, match=r"^temp: not an option of openai/ models \(they take "
                       r"no options\)$"):
        make_backend("openai/x", options={"temp": "1"})
    with pytest.raises(ValueError, match=r"^ct2/ option top_k='many': Input should be a valid"):
        check_options("ct2", {"top_k": "many"})
    with pytest.raises(ValueError, match=r"^ct2/ option intra_threads=-1: Input should be great"):
        check_options("ct2", {"intra_threads": -1})
    assert check_options("ct2", {"top_k": "40", "compute_type": None}) == {
        "top_k": 40, "compute_type": None}


def test_cache_files_of_earlier_runs_are_still_hits(tmp_path):
    """The three caches read files written before they shared one helper (same tables, same
    keys: the hashes below are what the code before the helper computed)."""
    import sqlite3

    import numpy as np
    import orjson

    from comparator.engines.cache import cache_key
    from comparator.engines.embed import EmbeddingCache
    from comparator.engines.perplexity import ScoreCache

    keys = (cache_key("openai/m", SamplingParams(), [{"role": "user", "content": "hi"}]),
            EmbeddingCache.key("local/all-MiniLM-L6-v2", "hi"),
            ScoreCache.key("hf/x", "ctx", "reply"))
    assert keys == ("225407d049722baa1b007a3f032b04187da1b5df4a602f9be7315ceac07bd1b0",
                    "97b489c22ff378e445213cb804f02ded25a84007",
                    "a3e78bd077377e64d6e5398b860331515e9031d05a674813ad83f99e8651b001")
    old = {"responses": ("(key TEXT PRIMARY KEY, spec TEXT, result BLOB, created REAL)",
                         (keys[0], "openai/m", orjson.dumps({"text": "hello", "tries": 2}), 1.0)),
           "emb": ("(key TEXT PRIMARY KEY, vec BLOB)",
                   (keys[1], np.arange(3, dtype=np.float32).tobytes())),
           "scores": ("(key TEXT PRIMARY KEY, total REAL, n INTEGER)", (keys[2], -3.5, 7))}
    for table, (ddl, row) in old.items():
        with sqlite3.connect(tmp_path / f"{table}.sqlite") as db:
            db.execute(f"CREATE TABLE {table} {ddl}")
            db.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
    res = ResponseCache(tmp_path / "responses.sqlite").get(keys[0])
    assert (res.text, res.tries, res.cached) == ("hello", 2, True)
    vec = EmbeddingCache(tmp_path / "emb.sqlite").get_many([keys[1], "absent"])
    assert list(vec) == [keys[1]] and vec[keys[1]].tolist() == [0.0, 1.0, 2.0]
    assert ScoreCache(tmp_path / "scores.sqlite").get(keys[2]) == (-3.5, 7)


def test_two_processes_write_one_cache_at_once(tmp_path):
    db = tmp_path / "fresh" / "perplexity.sqlite"  # neither the folder nor the file exists yet
    code = ("import sys, time; from comparator.engines.perplexity import ScoreCache; "
            "c = ScoreCache(sys.argv[1]); w = sys.argv[2]; "
            "time.sleep(max(0.0, float(sys.argv[3]) - time.time())); "
            "[c.put_many([(f'{w}-{t}-{k}', float(k), k) for k in range(20)]) "
            "for t in range(300)]")
    start = str(time.time() + 4)  # both open the cache, then write at the same moment
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), w, start], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for w in "xy"]
    assert [p.wait(timeout=120) for p in procs] == [0, 0], [p.stderr.read() for p in procs]
    from comparator.engines.perplexity import ScoreCache

    rows = ScoreCache(db).get_many([f"{w}-{t}-{k}" for w in "xy" for t in range(300)
                                    for k in range(20)])
    assert len(rows) == 12000 and rows["y-299-19"] == (19.0, 19)


def test_processes_opening_a_new_cache_at_the_same_moment_all_open_it(tmp_path):
    """Switching a new file to WAL takes a lock SQLite does not wait for ("database is
    locked" at once, whatever the timeout): four processes opening one new cache at the same
    moment must all open it (6 rounds; before the fix, about half of them lost one)."""
    code = ("import sys, time; from comparator.engines.perplexity import ScoreCache; "
            "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); "
            "ScoreCache(sys.argv[1]).put_many([(sys.argv[3], 1.0, 1)])")
    for r in range(6):
        db = tmp_path / f"round{r}" / "perplexity.sqlite"
        start = str(time.time() + 3)  # (a process started late under load opens at once)
        procs = [subprocess.Popen([sys.executable, "-c", code, str(db), start, f"k{k}"],
                                  cwd=ROOT, stderr=subprocess.PIPE, text=True)
                 for k in range(4)]
        assert [p.wait(timeout=120) for p in procs] == [0] * 4, [p.stderr.read() for p in procs]


def test_retry_policy_tries_classification_and_retry_after():
    """The retry loop alone, its transport replaced by a FAKE ``_once`` that raises the real
    openai exceptions in a given order (the fault-proxy tests above drive a real server)."""
    import openai

    from comparator.engines.base import GenResult
    from comparator.engines.openai_backend import _httpx

    def status(code, after=None):
        resp = _httpx.Response(code, request=_httpx.Request("POST", "http://x/v1"),
                               headers={"retry-after": str(after)} if after else {})
        return openai.APIStatusError("boom", response=resp, body=None)

    def run(faults, **kw):
        backend = OpenAIBackend("m", base_urls=["http://x/v1", "http://y/v1"], api_key="sk-x",
                                **kw)
        urls = []

        async def fake_once(i, messages, params):
            urls.append(i)
            if faults[len(urls) - 1] is None:
                return GenResult(text="ok")
            raise faults[len(urls) - 1]

        backend._once = fake_once
        t = time.perf_counter()
        res = asyncio.run(backend.generate([], SamplingParams()))
        return res.status, res.tries, res.error, urls, time.perf_counter() - t

    ok = run([status(429), status(503), None], **FAST)
    assert ok[:4] == ("ok", 3, None, [0, 1, 0])  # retried, round-robin over the other URL
    assert run([status(500), status(401)], **FAST)[:4] == (
        "error", 2, "APIStatusError 401: boom (check the API key)", [0, 1])  # at once
    gave_up = run([ValueError("garbage")] * 3, max_tries=3, **FAST)
    assert gave_up[:3] == ("error", 3, "gave up after 3 tries: ValueError: garbage")
    assert run([KeyError("bug")], **FAST)[:3] == ("error", 1, "KeyError: 'bug'")  # not retried
    # Retry-After is honoured, capped at max_backoff_s
    assert 0.3 <= run([status(429, after=0.3), None], backoff_s=0.01, max_backoff_s=1)[4] < 0.9
    assert 0.2 <= run([status(429, after=30), None], backoff_s=0.01, max_backoff_s=0.2)[4] < 0.8
