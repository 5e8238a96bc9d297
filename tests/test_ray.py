"""``generate`` and ``judge`` with ``--engine ray`` on a real local Ray cluster: a head node and
a second worker node (``ray start``, one CPU each, on 127.0.0.1, in a temp dir of this module),
stopped after by killing the processes of that temp dir only (``ray stop`` would stop every Ray
of the machine, someone else's too).

- the tiny model (``hf/``, both turns of MT-Bench prompts, greedy): the same header and records
  as the local engine;
- a worker killed mid-run (Ray restarts it and runs its shard again), and the driver killed
  with ``kill -9`` then the same command again: every example exactly once, and no call that had
  been answered before the kill is made again (the fault proxy times every request);
- ``judge --engine ray`` against the real ``transformers serve`` endpoint: the local engine's
  verdicts."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, free_port, read_jsonl
from fault_proxy import FaultProxy
from test_data_safety import pairs

from comparator.engines import SamplingParams, generate_pairs, load_prompts
from comparator.engines.cache import ResponseCache
from comparator.engines.openai_backend import OpenAIBackend
from comparator.engines.ray_engine import SideSpec
from comparator.judge.prompts import PROTOCOLS
from comparator.judge.runner import JudgeConfig, judge_comparison

pytest.importorskip("ray", reason="pip install -r requirements-scale.txt")
RAY = str(Path(sys.executable).with_name("ray"))
# Ray's token authentication, with this module's own token (not ~/.ray/auth_token, which a
# local ray.init() creates and a later `ray start --head` would pick up)
ENV = {"RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "RAY_AUTH_MODE": "token",
       "RAY_AUTH_TOKEN": secrets.token_hex(32)}
# timing and batching metadata differ from run to run; everything else must be equal
MT_QUESTIONS = ROOT / "data" / "prompts" / "mt_bench_questions.jsonl"  # bundled: 80, 2 turns
VARYING = ("latency_s", "ttft_s", "tokens_per_s", "cached", "tries")


def _node(temp: Path, *args: str) -> None:
    ports = [f"--{name}={free_port()}" for name in (
        "dashboard-agent-listen-port", "dashboard-agent-grpc-port", "metrics-export-port",
        "runtime-env-agent-port", "node-manager-port", "object-manager-port")]
    r = subprocess.run([RAY, "start", *args, "--node-ip-address=127.0.0.1", "--num-cpus=1",
                        f"--temp-dir={temp}", "--object-store-memory=100000000",
                        "--disable-usage-stats", *ports], env={**os.environ, **ENV},
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr


def _ours(cluster: dict) -> list[psutil.Process]:
    """The processes of the test's cluster (raylets, GCS, agents: they name its temp dir; the
    client server: it names its GCS address) and all their children."""
    top = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.pid != os.getpid() and (str(cluster["temp"]) in cmd or (
                "ray" in cmd and f":{cluster['port']} " in cmd + " ")):
            top.append(p)
    return list({q.pid: q for p in top for q in [p, *_children(p)]}.values())


def _children(p: psutil.Process) -> list[psutil.Process]:
    try:
        return p.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.fixture(scope="module")
def cluster():
    temp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths
    port = free_port()
    cluster = {"address": f"127.0.0.1:{port}", "temp": temp, "port": port}
    try:
        _node(temp, "--head", f"--port={port}", "--include-dashboard=false",
              f"--ray-client-server-port={free_port()}")
        _node(temp, f"--address=127.0.0.1:{port}")
        yield cluster
    finally:
        procs = _ours(cluster)
        for p in procs:
            p.terminate()
        _, alive = psutil.wait_procs(procs, timeout=5)
        for p in alive:
            p.kill()
        shutil.rmtree(temp, ignore_errors=True)


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "comparator", *map(str, args)]


def _env(home: Path) -> dict:
    return {**os.environ, **ENV, "COMPARATOR_HOME": str(home)}


def _stable(ex: dict) -> dict:
    md = {k: v for k, v in ex["metadata"].items() if not k.endswith(VARYING)}
    return {**ex, "metadata": md}


def test_generate_on_ray_gives_the_local_engines_records(cluster, tiny_model, tmp_path):
    model = f"hf/{tiny_model}"
    items = load_prompts(MT_QUESTIONS, limit=4)
    assert all(len(it.turns) == 2 for it in items)
    kw = dict(batch_size=1, base_urls=None, api_key=None, timeout_s=60, max_tries=1,
              tensor_parallel_size=1, options={})
    a = SideSpec(f"{tiny_model} [A]", model, kw, SamplingParams(max_tokens=5)).side()
    b = SideSpec(f"{tiny_model} [B]", model, kw, SamplingParams(max_tokens=5, seed=1)).side()
    local = tmp_path / "local.jsonl"
    asyncio.run(generate_pairs(items, a, b, local, concurrency=1, prompts_name=str(MT_QUESTIONS),
                               cache=ResponseCache(tmp_path / "local.sqlite")))
    out = tmp_path / "ray.jsonl"
    r = subprocess.run(_cli("generate", "--prompts", MT_QUESTIONS, "--limit", 4,
                            "--model-a", model, "--model-b", model, "--params-b", "seed=1",
                            "--max-tokens", 5, "--batch-size", 1, "--engine", "ray",
                            "--ray-address", cluster["address"], "--shard-size", 1, "-o", out),
                       cwd=ROOT, env=_env(tmp_path / "home"), capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "4 done (0 from an earlier run), 0 failed, 0 cached replies, 16 calls" in r.stderr
    got, want = read_jsonl(out), read_jsonl(local)
    assert got[0] == want[0]  # the same header: models, parameters, prompt set
    assert [x["id"] for x in got[1:]] == [it.id for it in items]  # the prompt set's order
    assert [_stable(x) for x in got[1:]] == [_stable(x) for x in want[1:]]
    assert all(len(x["response_a"]) == 2 and x["response_a"][1] for x in got[1:])
    assert not out.with_name("ray.jsonl.shards").exists()  # merged, then removed


def _openai_run(cluster, tiny_server, proxy, tmp_path, n):
    """The command of a Ray run through ``proxy``: ``n`` MT-Bench prompts, one per shard."""
    return _cli("generate", "--prompts", MT_QUESTIONS, "--limit", n,
                "--model-a", f"openai/{tiny_server['model']}", "--base-url-a", proxy.url,
                "--model-b", f"openai/{tiny_server['model']}", "--base-url-b", proxy.url,
                "--params-b", "seed=1", "--max-tokens", 4, "--concurrency", 2,
                "--engine", "ray", "--ray-address", cluster["address"], "--shard-size", 1,
                "-o", tmp_path / "run.jsonl")


def _no_answered_call_again(proxy, killed_at: float) -> int:
    """Each call is made once, except those still unanswered when the kill came (their reply
    never reached the cache); the number of those made again."""
    first: dict[str, dict] = {}
    again = 0
    for q in proxy.requests:
        key = json.dumps(q["body"], sort_keys=True)
        if key in first:
            assert first[key].get("answered", killed_at) >= killed_at - 0.5, q["body"]
            again += 1
        else:
            first[key] = q
    return again


def _rows(home: Path) -> int:
    with sqlite3.connect(home / "responses.sqlite") as db:
        return db.execute("SELECT count(*) FROM responses").fetchone()[0]


def test_a_worker_killed_mid_run_is_retried_and_pays_nothing_twice(cluster, tiny_server,
                                                                     tmp_path):
    home = tmp_path / "home"
    with FaultProxy(tiny_server["url"].removesuffix("/v1"), delay_s=0.3) as proxy:
        proc = subprocess.Popen(_openai_run(cluster, tiny_server, proxy, tmp_path, 6), cwd=ROOT,
                                env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.time() + 120
        while time.time() < deadline and len(proxy.requests) < 6:
            time.sleep(0.05)
        # Ray Data's actor of the map, while it answers a shard (its title names the call)
        busy = [p for p in _ours(cluster) if re.match(
            r"ray::MapWorker\(MapBatches\(ShardWorker\)\)\.\w+", " ".join(p.cmdline() or []))]
        assert busy, "no worker was answering a shard"
        os.kill(busy[0].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    lines = read_jsonl(tmp_path / "run.jsonl")
    ids = [x["id"] for x in lines[1:]]
    assert sorted(ids) == sorted(it.id for it in load_prompts(MT_QUESTIONS, limit=6))
    assert len(ids) == len(set(ids)) and all(x["metadata"]["gen_status"] == "ok"
                                             for x in lines[1:])
    again = _no_answered_call_again(proxy, killed_at)
    assert again <= 2  # at most the killed worker's calls in flight (--concurrency 2)
    assert _rows(home) == 6 * 2 * 2 and len(proxy.requests) == 24 + again


def test_driver_kill_9_then_rerun_gives_each_example_once(cluster, tiny_server, tmp_path):
    home, out = tmp_path / "home", tmp_path / "run.jsonl"
    with FaultProxy(tiny_server["url"].removesuffix("/v1"), delay_s=0.3) as proxy:
        cmd = _openai_run(cluster, tiny_server, proxy, tmp_path, 8)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(home), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and not (out.exists() and
                                              len(out.read_text().splitlines()) >= 1 + 2):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        proc.wait()
        first = {x["id"]: x for x in read_jsonl(out)[1:]}
        assert 2 <= len(first) < 8
        r = subprocess.run(cmd, cwd=ROOT, env=_env(home), capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr
    lines = read_jsonl(out)
    ids = [x["id"] for x in lines[1:]]
    assert sorted(ids) == sorted(it.id for it in load_prompts(MT_QUESTIONS, limit=8))
    assert len(ids) == len(set(ids))  # nothing lost, nothing twice
    assert all(x == first[x["id"]] for x in lines[1:] if x["id"] in first)  # kept as written
    earlier = int(r.stderr.split(" from an earlier run")[0].rsplit("(", 1)[1])
    assert earlier >= len(first)  # the output's examples and the shards left over
    _no_answered_call_again(proxy, killed_at)
    assert _rows(home) == 8 * 2 * 2
    assert not out.with_name("run.jsonl.shards").exists()


def test_judge_on_ray_gives_the_local_engines_verdicts(cluster, tiny_server, tmp_path):
    path, comp = pairs(tmp_path, 4)
    cfg = JudgeConfig(PROTOCOLS["7level"], 2, SamplingParams(temperature=0.0, max_tokens=8))
    backend = OpenAIBackend(tiny_server["model"], base_urls=[tiny_server["url"]], api_key="x")
    asyncio.run(judge_comparison(comp, backend, cfg, tmp_path / "local.jsonl", name="tiny",
                                 concurrency=2, cache=ResponseCache(tmp_path / "l.sqlite")))
    out = tmp_path / "ray.jsonl"
    r = subprocess.run(_cli("judge", path, "--judge", f"openai/{tiny_server['model']}",
                            "--base-url", tiny_server["url"], "--repeats", 2, "--temperature", 0,
                            "--max-tokens", 8, "--name", "tiny", "--concurrency", 2,
                            "--engine", "ray", "--ray-address", cluster["address"], "-o", out),
                       cwd=ROOT, env={**_env(tmp_path / "home"), "OPENAI_API_KEY": "x"},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr

    def verdicts(p):
        return {x["id"]: [(j["rater"], j["flipped"], j.get("status", "ok"), j.get("score"),
                           j.get("label"), j.get("raw")) for j in x["judgments"]
                          if j["judge"] == "tiny"] for x in read_jsonl(p)[1:]}

    got, want = verdicts(out), verdicts(tmp_path / "local.jsonl")
    assert got == want and len(got) == 4
    assert all(len(v) == 2 for v in got.values())
    assert read_jsonl(out)[0] == read_jsonl(tmp_path / "local.jsonl")[0]


def test_without_ray_the_engine_is_one_line_naming_the_requirements_file(tmp_path):
    fake = tmp_path / "site" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    r = subprocess.run(_cli("generate", "--prompts", MT_QUESTIONS, "--limit", 1,
                            "--model-a", "openai/m", "--base-url-a", "http://127.0.0.1:9/v1",
                            "--model-b", "openai/n", "--base-url-b", "http://127.0.0.1:9/v1",
                            "--engine", "ray", "-o", tmp_path / "o.jsonl"),
                       cwd=ROOT, env={**_env(tmp_path / "home"),
                                      "PYTHONPATH": f"{fake.parent}{os.pathsep}{ROOT}"},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "error: --engine ray needs Ray: pip install -r requirements-scale.txt")
    assert not (tmp_path / "o.jsonl").exists()  # refused before anything was written


def test_generate_and_judge_pages_run_on_ray_with_their_progress(tiny_server, tmp_path,
                                                                  monkeypatch):
    """The Generate and Judge pages with the Ray engine chosen (a local Ray started for the run,
    in the server's process: the cluster of this module needs a token that Ray reads once per
    process; the CLI tests above reach it): the run is a job of the server like a local one,
    its panel says where it runs and counts done / failed / cached with the rate; its records
    are the local engine's."""
    from streamlit.testing.v1 import AppTest

    from comparator.engines import jobs

    home = tmp_path / "home"
    for k, v in {"COMPARATOR_HOME": str(home), "OPENAI_API_KEY": "x"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/generate.py").run()
    at.number_input(key="gen_limit").set_value(3)
    for s in "ab":
        at.text_input(key=f"gen_model_{s}").input(tiny_server["model"])
        at.text_area(key=f"gen_urls_{s}").input(tiny_server["url"])
        at.number_input(key=f"gen_m_{s}").set_value(4)
    at.number_input(key="gen_s_b").set_value(1)
    at.radio(key="gen_engine").set_value("Ray").run()
    at.text_input(key="gen_name").input("onray").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [job] = jobs.listing("generation")
    assert job.engine == "a local Ray"
    job.thread.join(300)
    assert job.status == "finished", job.reason
    at.run()
    shown = [p.proto.text for p in at.get("progress")]
    assert any(t.startswith("3 of 3 examples · 0 failed · 0 cached replies · ") and
               "examples/s" in t for t in shown), shown
    assert any(c.value.endswith(" · on a local Ray") for c in at.caption)
    assert any(s.value.startswith("Finished: 3 examples") for s in at.success)

    out = home / "runs" / "onray.jsonl"
    got = read_jsonl(out)
    items = load_prompts(MT_QUESTIONS, limit=3)
    kw = dict(base_urls=[tiny_server["url"]], api_key="x")
    a, b = (SideSpec(f"{tiny_server['model']} [{s}]", f"openai/{tiny_server['model']}", kw,
                     SamplingParams(max_tokens=4, seed=seed)).side() for s, seed in (("A", 0),
                                                                                     ("B", 1)))
    local = tmp_path / "local.jsonl"
    asyncio.run(generate_pairs(items, a, b, local, concurrency=2, prompts_name="x",
                               cache=ResponseCache(tmp_path / "local.sqlite")))
    want = read_jsonl(local)
    assert [x["id"] for x in got[1:]] == [it.id for it in items]
    assert [_stable(x) for x in got[1:]] == [_stable(x) for x in want[1:]]
    assert got[0]["model_a"] == want[0]["model_a"] and got[0]["model_b"] == want[0]["model_b"]

    # the pairs, judged from the Judge page on Ray: the local engine's verdicts
    next(b for b in at.button if b.label == "Judge these pairs").click().run()  # opens it
    at.switch_page("pages/judge.py").run()
    assert "3 examples" in at.caption[0].value, at.caption[0].value
    at.text_input(key="judge_model").input(tiny_server["model"])
    at.text_area(key="judge_urls").input(tiny_server["url"])
    at.number_input(key="judge_t").set_value(0.0)
    at.number_input(key="judge_m").set_value(8)
    at.number_input(key="judge_repeats").set_value(2)
    at.radio(key="judge_engine").set_value("Ray").run()
    at.text_input(key="judge_name").input("judged-on-ray").run()
    next(b for b in at.button if b.label == "Start judging").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [judging] = jobs.listing("judging")
    judging.thread.join(300)
    assert judging.status == "finished", judging.reason
    assert judging.engine == "a local Ray"
    cfg = JudgeConfig(PROTOCOLS["7level"], 2, SamplingParams(temperature=0.0, max_tokens=8))
    backend = OpenAIBackend(tiny_server["model"], base_urls=[tiny_server["url"]], api_key="x")
    from comparator.formats import load
    asyncio.run(judge_comparison(load(out).comparison, backend, cfg, tmp_path / "lj.jsonl",
                                 name=tiny_server["model"], concurrency=2,
                                 cache=ResponseCache(tmp_path / "lj.sqlite")))

    def verdicts(p):
        return {x["id"]: [(j["rater"], j["flipped"], j.get("status", "ok"), j.get("score"),
                           j.get("raw")) for j in x["judgments"]] for x in read_jsonl(p)[1:]}

    got_v = verdicts(home / "runs" / "judged-on-ray.jsonl")
    assert got_v == verdicts(tmp_path / "lj.jsonl") and len(got_v) == 3
