"""Faults and data safety, against the real `transformers serve` of the tiny model behind the
fault-injecting proxy (tests/fault_proxy.py; a network double, the replies are the server's):

- judging while 30% of calls fail (429, 500, connection resets, stalls past the time-out,
  garbage bodies): every example ends with each judgment ok, unscored or error with its reason;
- kill -9 in the middle of judging and of clustering, then the same command again: nothing
  lost, nothing duplicated, no finished judgment paid for twice (the proxy counts requests);
  (generation's kill -9 test is tests/test_generation.py)
- two processes writing the same output at once: the second refuses with a message, the file
  stays valid;
- API keys from the environment and from .streamlit/secrets.toml never appear in any file the
  runs wrote (outputs, caches, lock files, logs, stdout/stderr)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import ROOT
from fault_proxy import FaultProxy

from comparator.engines import SamplingParams
from comparator.engines.cache import ResponseCache
from comparator.engines.openai_backend import OpenAIBackend
from comparator.formats import load, save
from comparator.judge.prompts import PROTOCOLS
from comparator.judge.runner import JudgeConfig, judge_comparison
from comparator.ui import state

MT_DEMO = next(p for p in state.demos().values() if p.name.startswith("mt_bench"))
ALPACA_DEMO = next(p for p in state.demos().values() if p.name.startswith("alpaca"))


def pairs(tmp_path, n: int, src=MT_DEMO):
    """The first ``n`` real pairs of a demo, without their judgments (a pair file to judge)."""
    comp = load(src).comparison
    ex = [{k: v for k, v in e.items() if k not in ("judgments", "reasons")}
          for e in comp.examples[:n]]
    sub = comp.subset(ex)
    sub.metadata = {}
    path = tmp_path / "pairs.jsonl"
    save(sub, path)
    return path, sub


KEY_VARS = ("OPENAI_API_KEY", "COMPARATOR_API_KEY_A", "COMPARATOR_API_KEY_B",
            "COMPARATOR_API_KEY_JUDGE")


def cli(*args, env=None, cwd=ROOT):
    """(command, environment, cwd) of a CLI run; no API key from this process's environment."""
    base = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    return [sys.executable, "-m", "comparator", *map(str, args)], {
        **base, "PYTHONPATH": str(ROOT), **(env or {})}, cwd


def lines_of(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_judging_with_30_percent_faults(tiny_server, tmp_path):
    _, comp = pairs(tmp_path, 6)
    # 6 of every 20 calls fail, in every way; the order is shuffled (seeded) per block
    block = ["429", "500", "reset", "stall", "garbage", "reset"] + ["ok"] * 14
    schedule = []
    for k in range(40):
        random.Random(k).shuffle(block)
        schedule += block
    with FaultProxy(tiny_server["url"].removesuffix("/v1"), schedule=lambda i: schedule[i],
                    stall_s=1.5) as proxy:
        backend = OpenAIBackend(tiny_server["model"], base_urls=[proxy.url], api_key="sk-x",
                                timeout_s=1.0, max_tries=3, backoff_s=0.02, max_backoff_s=0.1)
        cfg = JudgeConfig(PROTOCOLS["7level"], 2, SamplingParams(max_tokens=8))
        prog = asyncio.run(judge_comparison(comp, backend, cfg, tmp_path / "j.jsonl",
                                            name="tiny", concurrency=3,
                                            cache=ResponseCache(tmp_path / "c.sqlite")))
    served = [r["fault"] for r in proxy.requests]
    # the proxy served the schedule in order, at least one whole block of it (6 faults in 20)
    assert len(served) >= 20 and served == schedule[:len(served)], served
    assert {"429", "500", "reset", "garbage"} <= set(served), served
    out = lines_of(tmp_path / "j.jsonl")
    assert out[0]["kind"] == "comparator.comparison"
    assert sorted(x["id"] for x in out[1:]) == sorted(e["id"] for e in comp.examples)
    for x in out[1:]:
        mine = [j for j in x["judgments"] if j.get("judge") == "tiny"]
        assert len(mine) == 2
        for j in mine:
            assert j.get("status", "ok") in ("ok", "unscored", "error")
            if j.get("status") in ("unscored", "error"):
                assert j.get("raw"), j  # the reply or the failure, never a silent guess
            if j.get("status") == "error":
                assert "tries" in j["raw"] or "error" in j["raw"].lower(), j["raw"]
    assert prog.done + prog.failed == 6


def _kill_when(proc, cond, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline and not cond():
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_kill_9_while_judging_then_resume(tiny_server, tmp_path):
    path, comp = pairs(tmp_path, 10)
    out = tmp_path / "judged.jsonl"
    with FaultProxy(tiny_server["url"].removesuffix("/v1"), delay_s=0.2) as proxy:
        cmd, env, cwd = cli("judge", path, "--judge", f"openai/{tiny_server['model']}",
                            "--base-url", proxy.url, "--repeats", "2", "--concurrency", "2",
                            "--max-tokens", "8", "--name", "tiny", "-o", out,
                            env={"COMPARATOR_HOME": str(tmp_path / "home")})
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        _kill_when(proc, lambda: out.exists() and len(out.read_text().splitlines()) >= 1 + 3)
        first = lines_of(out)[1:]
        finished = {x["id"]: x for x in first}
        assert 3 <= len(finished) < 10
        paid = len(proxy.requests)
        r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        prompts = {x["prompt"][:200] for x in first}
        again = [q for q in proxy.requests[paid:]
                 if any(p in json.dumps(q["body"]["messages"]) for p in
                        (json.dumps(p)[1:-1] for p in prompts))]
    assert again == []  # no finished example was judged (paid) again
    after = lines_of(out)
    ids = [x["id"] for x in after[1:]]
    assert len(ids) == len(set(ids)) == 10  # nothing lost, nothing duplicated
    byid = {x["id"]: x for x in after[1:]}
    assert all(byid[i] == finished[i] for i in finished)  # kept exactly as written


def test_kill_9_while_clustering_then_rerun(tmp_path):
    from comparator.clustering import ClusterConfig, cluster_rationales
    from comparator.engines.embed import CHUNK, EmbeddingCache

    full = load(ALPACA_DEMO).comparison  # real judgments with rationales
    comp = full.subset([{k: v for k, v in e.items() if k != "reasons"}
                        for e in full.examples[:300]])
    comp.metadata = {}
    src = tmp_path / "judged.jsonl"
    save(comp, src)
    home = tmp_path / "home"
    out = tmp_path / "clusters.jsonl"
    cmd, env, cwd = cli("cluster", src, "--k", "4", "--no-map", "-o", out,
                        env={"COMPARATOR_HOME": str(home)})
    db = home / "embeddings.sqlite"

    def cached() -> int:
        try:
            with sqlite3.connect(db, timeout=1) as c:
                return c.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
        except sqlite3.Error:
            return 0

    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _kill_when(proc, lambda: cached() >= CHUNK, timeout=400)
    kept = cached()
    assert kept >= CHUNK  # the finished chunk survived the kill
    assert not out.exists() or lines_of(out)  # never a half-written output (atomic save)
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    done = load(out).comparison
    distinct = {r["text"] for ex in done.examples for r in ex.get("reasons") or []}
    assert kept < len(distinct) == cached()  # the rest computed once each, the cache whole
    # the same result as an uninterrupted run (seeded; embeddings from the same cache)
    ref = comp.subset([dict(e) for e in comp.examples])
    ref.metadata = {}
    cluster_rationales(ref, ClusterConfig(k=4, with_map=False), cache=EmbeddingCache(db))
    assert [c["size"] for c in done.metadata["clusters"]["clusters"]] == \
        [c["size"] for c in ref.metadata["clusters"]["clusters"]]


def test_two_writers_on_one_output(tiny_server, tmp_path):
    out = tmp_path / "gen.jsonl"
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"Say {i}"}) + "\n"
                               for i in range(8)))
    with FaultProxy(tiny_server["url"].removesuffix("/v1"), delay_s=0.3) as proxy:
        cmd, env, cwd = cli("generate", "--prompts", prompts, "--model-a",
                            f"openai/{tiny_server['model']}", "--base-url-a", proxy.url,
                            "--model-b", f"openai/{tiny_server['model']}", "--base-url-b",
                            proxy.url, "--params-b", "temperature=0.8", "--max-tokens", "4",
                            "--concurrency", "1", "-o", out,
                            env={"COMPARATOR_HOME": str(tmp_path / "home")})
        one = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while not (out.exists() and out.read_text()) and time.time() < deadline:
            time.sleep(0.05)
        two = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
        _, err_one = one.communicate(timeout=300)
    assert one.returncode == 0, err_one
    assert two.returncode == 2, two.stderr
    assert "another run is writing this file" in two.stderr and str(out.name) in two.stderr
    assert "Traceback" not in two.stderr
    rows = lines_of(out)
    assert rows[0]["kind"] == "comparator.comparison"
    assert sorted(x["id"] for x in rows[1:]) == [f"p{i}" for i in range(8)]


KEY_ENV = "sk-env-4f1c9e0b7d2a6358KEY"
KEY_FILE = "sk-file-91d0c7e2a4b3f586KEY"


@pytest.mark.parametrize("where", ["env", "secrets.toml"])
def test_api_keys_never_written(tiny_server, tmp_path, where):
    work = tmp_path / "work"
    (work / ".streamlit").mkdir(parents=True)
    key = KEY_ENV if where == "env" else KEY_FILE
    extra = {"COMPARATOR_HOME": str(work / "home")}
    if where == "env":
        extra.update(COMPARATOR_API_KEY_A=key, COMPARATOR_API_KEY_B=key,
                     COMPARATOR_API_KEY_JUDGE=key)
    else:
        (work / ".streamlit" / "secrets.toml").write_text(
            f'api_key_a = "{key}"\napi_key_b = "{key}"\napi_key_judge = "{key}"\n')
    prompts = work / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"Count to {i}"}) + "\n"
                               for i in range(4)))
    # faults on some calls, so errors (and their messages) are written too
    with FaultProxy(tiny_server["url"].removesuffix("/v1"),
                    schedule=lambda i: ("500", "ok", "429", "ok", "reset", "ok")[i % 6]
                    if i < 12 else "ok") as proxy:
        runs = [cli("generate", "--prompts", prompts, "--model-a",
                    f"openai/{tiny_server['model']}", "--base-url-a", proxy.url, "--model-b",
                    f"openai/{tiny_server['model']}", "--base-url-b", proxy.url,
                    "--max-tokens", "4", "--max-tries", "2", "-o", work / "gen.jsonl",
                    env=extra, cwd=work),
                cli("judge", work / "gen.jsonl", "--judge", f"openai/{tiny_server['model']}",
                    "--base-url", proxy.url, "--repeats", "2", "--max-tokens", "8",
                    "--max-tries", "2", "-o", work / "judged.jsonl", env=extra, cwd=work),
                cli("stats", work / "judged.jsonl", "--json", env=extra, cwd=work),
                cli("convert", work / "judged.jsonl", "-o", work / "judged.json",
                    env=extra, cwd=work),
                cli("convert", work / "judged.jsonl", "-o", work / "judged.csv", "--to", "csv",
                    env=extra, cwd=work)]
        logs = []
        for cmd, env, cwd in runs:
            r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                               timeout=300)
            logs.append(r.stdout + r.stderr)
            assert r.returncode in (0, 3), r.stderr
    assert any(q["auth"] == f"Bearer {key}" for q in proxy.requests)  # the key was used
    (work / "logs.txt").write_text("\n".join(logs))
    written = [p for p in work.rglob("*") if p.is_file() and p.name != "secrets.toml"]
    assert len(written) >= 6
    leaked = [str(p) for p in written if key.encode() in p.read_bytes()
              or key[-12:].encode() in p.read_bytes()]
    assert leaked == []
