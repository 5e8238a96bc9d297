"""Issue 20, classes 2 and 3, tried as an attacker would: a file's content naming files outside
its folder, linked siblings, named pipes wherever a path is read, a file swapped for a link
between two reads of the dashboard, cache bodies overwritten on disk (scores, offsets), the
MT-Bench copy without its question.jsonl, and a build killed half-way."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from conftest import ROOT, SHARED
from hostile.trees import SECRET, TREES, mt_tree

from bench.bench_real_shapes import scale_native
from comparator.formats import load
from comparator.formats.common import read_file
from comparator.schema.errors import InputError
from comparator.schema.files import confined, server_dirs
from comparator.schema.settings import allowed_path
from comparator.store import cache
from comparator.store.cache import open_store
from comparator.store.verify import file_checksum

DEMO = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"  # native, 75 examples
OTHER = ROOT / "data" / "llmbar_gpt-4_vs_human.jsonl"


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("COMPARATOR_HOME", str(h))
    return h


# -- class 2: the content of a file decides which other files are read ------------------------

@pytest.mark.parametrize("tree", TREES, ids=lambda t: t.name)
def test_cli_refuses_a_hostile_tree_naming_the_file_never_its_content(tree, tmp_path):
    judged = tree.make(tmp_path)
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "comparator", "stats", str(judged)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env={**os.environ, "COMPARATOR_HOME": str(tmp_path / "home")})
    assert time.monotonic() - start < 30, "a named pipe must not block"
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert tree.names in lines[0] and tree.fragment in lines[0].lower(), lines[0]
    assert SECRET not in out.stderr + out.stdout


@pytest.mark.parametrize("tree", [t for t in TREES if "fifo" not in t.name],
                         ids=lambda t: t.name)
def test_store_open_refuses_a_hostile_tree(tree, tmp_path, home):
    judged = tree.make(tmp_path)
    with pytest.raises(InputError) as e:
        open_store(judged)
    assert tree.names in str(e.value) and SECRET not in str(e.value)
    with pytest.raises(InputError) as e:  # and load() the same way
        load(judged)
    assert SECRET not in str(e.value)


def test_the_intact_tree_still_joins_its_siblings(tmp_path, home):
    judged = mt_tree(tmp_path)
    comp = open_store(judged).comparison
    assert all(ex.get("category") for ex in comp.examples)
    assert comp.examples[0]["response_a"] == load(SHARED / "mt_bench/model_judgment" /
                                                  judged.name).comparison.examples[0]["response_a"]


def _fifo_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "comparator", *args], capture_output=True,
                         text=True, cwd=ROOT, timeout=60,
                         env={**os.environ, "COMPARATOR_HOME": str(tmp_path / "home")})
    assert time.monotonic() - start < 30, "a named pipe must not block"
    return out


def test_a_named_pipe_as_main_file_questions_or_ratings_fails_fast(tmp_path):
    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)
    judged = mt_tree(tmp_path)
    for args in (["stats", str(pipe)], ["stats", str(judged), "--questions", str(pipe)],
                 ["stats", str(DEMO), "--ratings", str(pipe)],
                 ["report", str(DEMO), "--ratings", str(pipe), "-o",
                  str(tmp_path / "r.html")]):
        out = _fifo_cli(tmp_path, *args)
        assert out.returncode == 2, (args, out.stderr)
        assert str(pipe) in out.stderr and "named pipe" in out.stderr, (args, out.stderr)


def test_a_named_pipe_is_refused_by_every_reader(tmp_path, home):
    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)
    from comparator.engines.promptsets import load_prompts
    from comparator.ratings.store import read_ratings
    from comparator.schema.digest import file_sha256
    from comparator.store.native import read_native_arrow

    for read in (open_store, read_file, file_sha256, load_prompts, read_ratings,
                 lambda p: read_native_arrow(p, tmp_path / "out.arrow")):
        with pytest.raises(InputError, match="named pipe"):
            read(pipe)


def test_a_file_swapped_for_a_link_outside_is_refused_on_the_next_read(tmp_path, home,
                                                                       monkeypatch):
    allowed, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    allowed.mkdir()
    elsewhere.mkdir()
    path = allowed / "shared.jsonl"
    shutil.copy(DEMO, path)
    secret = elsewhere / "secret.jsonl"
    shutil.copy(OTHER, secret)
    monkeypatch.setenv("COMPARATOR_DATA_DIRS", str(allowed))
    with confined(server_dirs()):  # as the dashboard reads: the link checked, then opened
        first = open_store(allowed_path(path))
    assert first.comparison.model_a == load(DEMO).comparison.model_a
    path.unlink()
    path.symlink_to(secret)  # after it was opened
    with confined(server_dirs()):
        for read in (open_store, read_file):
            with pytest.raises(InputError, match="not in a folder this server may open"):
                read(path)
    assert open_store(path).comparison.model_a == load(OTHER).comparison.model_a  # the CLI


def test_the_dashboard_refuses_the_swapped_file_with_a_message(tmp_path, home, monkeypatch):
    from streamlit.testing.v1 import AppTest

    allowed, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    allowed.mkdir()
    elsewhere.mkdir()
    path = allowed / "shared.jsonl"
    shutil.copy(DEMO, path)
    shutil.copy(OTHER, elsewhere / "secret.jsonl")
    monkeypatch.setenv("COMPARATOR_DATA_DIRS", str(allowed))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["path"] = str(path)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    path.unlink()
    path.symlink_to(elsewhere / "secret.jsonl")
    at.run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error).replace("\\", "")
    assert "not in a folder this server may open" in errors, errors


# -- class 3: the cache ----------------------------------------------------------------------

FIGURES = """
import json, sys
from comparator.analysis import summary
from comparator.store.cache import flush, open_store
loaded = open_store(sys.argv[1])
flush()
s = summary(loaded.comparison)
print(json.dumps({"cached": loaded.cached, "n": len(loaded.comparison.examples),
                  "a_wins": s["a_wins"], "b_wins": s["b_wins"], "ties": s["ties"],
                  "response_a": [ex["response_a"] for ex in loaded.comparison.examples]}))
"""


def _figures(path: Path, home: Path) -> dict:
    """The figures of ``path`` from a fresh process: a crash (a segfault) fails here."""
    out = subprocess.run([sys.executable, "-c", FIGURES, str(path)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "COMPARATOR_HOME": str(home)})
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    return json.loads(out.stdout)


def _entry(home: Path) -> tuple[Path, pa.Table, pa.Buffer]:
    (arrow,) = (home / "store").glob("*.arrow")
    buf = pa.py_buffer(arrow.read_bytes())
    return arrow, ipc.open_file(pa.BufferReader(buf)).read_all(), buf


def _overwrite(arrow: Path, at: int, data: bytes) -> None:
    with open(arrow, "r+b") as f:
        f.seek(at)
        f.write(data)


def _scores_at(table: pa.Table, buf: pa.Buffer) -> int:
    chunk = table.column("judgments").chunk(0)
    return chunk.values.field("score").buffers()[1].address - buf.address


def _offsets_at(table: pa.Table, buf: pa.Buffer) -> int:
    return table.column("response_a").chunk(0).buffers()[1].address - buf.address


@pytest.mark.parametrize("damage", ["scores", "offsets"])
@pytest.mark.parametrize("header", ["kept", "rewritten to match"])
def test_a_damaged_cache_body_is_detected_and_rebuilt(damage, header, tmp_path, home):
    src = tmp_path / "demo.jsonl"
    shutil.copy(DEMO, src)
    want = _figures(src, home)
    assert not want["cached"] and open_store(src).cached
    arrow, table, buf = _entry(home)
    if damage == "scores":  # +42 in every score of the first examples
        _overwrite(arrow, _scores_at(table, buf), pa.array([42.0] * 16).buffers()[1].to_pybytes())
    else:  # an offset far past the end of its texts
        _overwrite(arrow, _offsets_at(table, buf) + 8 * 3, (1 << 40).to_bytes(8, "little"))
    if header == "rewritten to match":  # whoever wrote the body also fixed its checksum
        meta = arrow.with_suffix(".json")
        info = orjson.loads(meta.read_bytes())
        info["checksum"] = file_checksum(arrow)
        meta.write_bytes(orjson.dumps(info))
    got = _figures(src, home)
    assert not got["cached"], "a damaged entry must be built again"
    assert got == {**want, "cached": False}
    again = open_store(src)  # and the rebuilt entry is sound
    assert again.cached and [ex["response_a"] for ex in again.comparison.examples] == \
        want["response_a"]


def test_an_entry_without_a_checksum_is_rebuilt(tmp_path, home):
    src = tmp_path / "demo.jsonl"
    shutil.copy(DEMO, src)
    open_store(src)
    (meta,) = (home / "store").glob("*.json")
    info = orjson.loads(meta.read_bytes())
    del info["checksum"]
    meta.write_bytes(orjson.dumps(info))
    assert not open_store(src).cached
    assert open_store(src).cached


def _categories(loaded) -> list:
    return [ex.get("category") for ex in loaded.comparison.examples]


def test_mt_bench_copy_without_question_jsonl_never_shares_the_original_entry(tmp_path, home):
    judged = mt_tree(tmp_path)
    alone = tmp_path / "alone" / judged.name
    alone.parent.mkdir()
    shutil.copy(judged, alone)
    want_alone, want_tree = _categories(load(alone)), _categories(load(judged))
    assert not any(want_alone) and all(want_tree)
    for _ in range(2):  # each order, twice: a cache hit must never cross over
        assert _categories(open_store(alone)) == want_alone
        assert _categories(open_store(judged)) == want_tree
        cache.flush()
    (judged.parents[1] / "question.jsonl").unlink()  # the original loses its questions
    assert _categories(open_store(judged)) == want_alone


def test_the_importer_parses_the_bytes_it_hashed(tmp_path, home, monkeypatch):
    """A file replaced between the hash and the parse: refused, never cached under the first
    file's hash."""
    src = tmp_path / "judged.json"  # read by an importer (not streamed): MT-Bench, then PandaLM
    other = SHARED / "pandalm/testset-v1.json"
    shutil.copy(SHARED / "mt_bench/model_judgment/gpt-4_pair_phi-3_vs_phi-3-dpo.jsonl", src)
    real = cache.file_sha256

    def hash_then_swap(path, *a, **k):
        digest = real(path, *a, **k)
        if Path(path) == src:
            shutil.copy(other, src)  # replaced right after it was hashed
        return digest
    monkeypatch.setattr(cache, "file_sha256", hash_then_swap)
    with pytest.raises(InputError, match="changed while it was being read"):
        open_store(src)
    monkeypatch.setattr(cache, "file_sha256", real)
    assert open_store(src).comparison.model_a == load(other).comparison.model_a


def test_a_sibling_changed_between_the_key_and_the_parse_is_refused(tmp_path, home,
                                                                    monkeypatch):
    judged = mt_tree(tmp_path)
    questions = judged.parents[1] / "question.jsonl"
    real = cache.file_sha256

    def hash_then_change(path, *a, **k):
        digest = real(path, *a, **k)
        if Path(path) == questions:  # keyed by these bytes, then changed before the parse
            rows = questions.read_bytes().splitlines()
            questions.write_bytes(b"\n".join(rows[:-1]) + b"\n")
        return digest
    monkeypatch.setattr(cache, "file_sha256", hash_then_change)
    with pytest.raises(InputError, match="changed while it was being read") as e:
        open_store(judged)
    assert "question.jsonl" in str(e.value)
    monkeypatch.setattr(cache, "file_sha256", real)
    assert _categories(open_store(judged)) == _categories(load(judged))


def test_a_killed_build_leaves_no_temporary_file_behind(tmp_path, home):
    big = tmp_path / "big.jsonl"
    scale_native(ROOT / "data" / "alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl", 12_000, big)
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from comparator.store.cache "
                             "import open_store; open_store(sys.argv[1])", str(big)],
                            cwd=ROOT, env={**os.environ, "COMPARATOR_HOME": str(home)})
    store = home / "store"
    deadline = time.monotonic() + 60
    while not list(store.glob("*.tmp")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stale = list(store.glob("*.tmp"))
    assert stale and all(f".{proc.pid}-" in p.name for p in stale), stale
    live = store / f"x.arrow.{os.getpid()}-1.tmp"  # a build of a live process: kept
    live.write_bytes(b"")
    open_store(DEMO)
    assert not any(p.exists() for p in stale)
    assert live.exists()
