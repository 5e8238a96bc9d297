"""Shared fixtures: the real public data beside the repo, and a CLI runner; each session's own
``COMPARATOR_HOME``; the tiers (markers) and the data skip, from tests/tiers.py (see README.md)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from tiers import markers

ROOT = Path(__file__).resolve().parents[1]
# The real public data: ../shared/data, or the folder $COMPARATOR_TEST_DATA names. When it is
# missing, the tests that read it are skipped (pytest_collection_modifyitems), the rest run.
SHARED = Path(os.environ.get("COMPARATOR_TEST_DATA") or ROOT.parent / "shared" / "data")

# Each session's own COMPARATOR_HOME (caches, runs, uploads), set before anything reads it so
# that the CLI and the servers the tests start inherit it; never the user's ~/.cache/comparator.
# COMPARATOR_TEST_HOME names a folder to use (and keep) instead. The user's other COMPARATOR_*
# settings (memory caps, allowed folders, keys) are dropped too: no test may depend on them.
for _name in [k for k in os.environ if k.startswith("COMPARATOR_")]:
    if not _name.startswith("COMPARATOR_TEST_"):
        del os.environ[_name]
OWN_HOME = None if os.environ.get("COMPARATOR_TEST_HOME") else tempfile.mkdtemp(
    prefix="comparator-tests-")
os.environ["COMPARATOR_HOME"] = os.environ.get("COMPARATOR_TEST_HOME") or OWN_HOME

MT_JUDGMENTS = SHARED / "mt_bench/model_judgment/gpt-4_pair_phi-3_vs_phi-3-dpo.jsonl"
MT_QUESTIONS = SHARED / "mt_bench/question.jsonl"
ALPACA_COT = (SHARED / "alpaca_eval/claude-2.1_vs_gpt4_1106_preview"
              ".cot_gpt4_turbo_fn.annotations.json")
ALPACA_WEIGHTED = (SHARED / "alpaca_eval/gpt-3.5-turbo-1106_verbose_vs_gpt4_1106_preview"
                   ".weighted_gpt4_turbo.annotations.json")
LLMBAR = SHARED / "llmbar_mtbench_human/dataset.json"
LLMBAR_GPT4 = SHARED / "llmbar_mtbench_human/gpt-4_vanilla_both_orders.result.json"
PANDALM = SHARED / "pandalm/testset-v1.json"
LLMC_TINY = SHARED / "llm_comparator/example_tiny.json"

ALL_JUDGED = [MT_JUDGMENTS, ALPACA_COT, ALPACA_WEIGHTED, LLMBAR, LLMBAR_GPT4, PANDALM, LLMC_TINY]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny random Llama with its tokenizer, built offline (see tiny_llm.py)."""
    from tiny_llm import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama") / "model")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(cmd: list[str], health_url: str, log: Path, env: dict | None = None):
    """Start a real server process, wait until ``health_url`` answers, stop it afterwards."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited: " + log.read_text()[-2000:])
            try:
                urllib.request.urlopen(health_url, timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(f"{cmd[0]} did not start: "
                                       + log.read_text()[-2000:]) from None
                time.sleep(0.5)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def app_server(home: Path, env: dict | None = None):
    """`streamlit run app.py` on 127.0.0.1 with its own COMPARATOR_HOME (and ``env``); its URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
           str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
    url = f"http://127.0.0.1:{port}"
    with running(cmd, url + "/_stcore/health", home / "st.log",
                 {"COMPARATOR_HOME": str(home), **(env or {})}):
        yield url


@pytest.fixture(scope="session")
def tiny_server(tiny_model):
    """`transformers serve` of the tiny model on 127.0.0.1: a real OpenAI-compatible server."""
    exe = shutil.which("transformers")
    assert exe, "the `transformers` CLI is missing: pip install 'transformers[serving]'"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [exe, "serve", str(tiny_model), "--host", "127.0.0.1", "--port", str(port)]
    with running(cmd, url + "/health", tiny_model.parent / "serve.log", {"HF_HUB_OFFLINE": "1"}):
        yield {"url": url + "/v1", "model": str(tiny_model)}


@pytest.fixture()
def browser():
    """Debian's Chromium through Playwright (launch arguments as in test_browser.py)."""
    from playwright.sync_api import sync_playwright
    from test_browser import ARGS, CHROMIUM

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def pytest_report_header(config) -> list[str]:
    data = "" if SHARED.is_dir() else " (missing: the tests that read it are skipped)"
    return [f"comparator test data: {SHARED}{data}",
            f"COMPARATOR_HOME: {os.environ['COMPARATOR_HOME']}"]


MISSING = (f"needs the real test data: {SHARED} is missing (put the data there or set "
           "COMPARATOR_TEST_DATA to its folder)")


def pytest_collection_modifyitems(config, items):
    """Tier markers (browser, slow, cli, data) from tests/tiers.py; skip what needs absent data."""
    for item in items:
        for mark in sorted(markers(item)):
            item.add_marker(mark)
            if mark == "data" and not SHARED.is_dir():
                item.add_marker(pytest.mark.skip(reason=MISSING), append=False)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """A test module that reads the absent data as it is imported is skipped, not an error."""
    report = yield
    if report.failed and isinstance(collector, pytest.Module) and not SHARED.is_dir():
        report.outcome = "skipped"
        report.longrepr = (str(collector.path), None, f"{MISSING}; {collector.path.name} reads "
                           "it on import")
    return report


def pytest_unconfigure(config):
    if OWN_HOME:
        shutil.rmtree(OWN_HOME, ignore_errors=True)


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def winner(score: float | None, t: float = 0.25) -> str:
    """Independent re-statement of the winner rule for the tests."""
    if score is None:
        return "unscored"
    return "A" if score > t else "B" if score < -t else "tie"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "comparator", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=120)


def without_nulls(v):
    """An explicit null reads back from the store as the key left out (documented in
    comparator.store): the example dicts compared without them."""
    if isinstance(v, dict):
        return {k: without_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [without_nulls(x) for x in v]
    return v


def same_error(path, opener):
    """The InputError of ``opener(path)`` (the store) is the importer's (``load``) to the
    letter; its message."""
    from comparator.formats import load
    from comparator.schema.errors import InputError

    with pytest.raises(InputError) as stored:
        opener(path)
    with pytest.raises(InputError) as plain:
        load(path)
    assert str(stored.value) == str(plain.value)
    return str(plain.value)
