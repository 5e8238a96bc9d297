"""Hostile and broken input (tests/hostile/corpus.py): every case through the CLI (`stats` and
`convert`) and through the app's Data page; odd but valid encodings load like plain files; a
1 GB file is read with bounded memory, or refused up front when memory is short."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from conftest import ROOT, SHARED
from hostile.corpus import DEMO, Case, broken, readable

from comparator.formats import load

BROKEN = broken() if SHARED.is_dir() else []  # no data: these tests are skipped (conftest)
READABLE = readable() if SHARED.is_dir() else []
LIMIT_S = 10  # each command, on a broken case
MAX_LINE = 600  # characters: the message is one short line, never the file's content


def _where(case: Case, path) -> str:
    if case.line is not None:
        return f"{path}:{case.line}: "
    if case.record is not None:
        return f"{path}: record {case.record}: "
    return f"{path}: "


def _check_message(case: Case, path, text: str) -> None:
    lines = text.splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("error: " + _where(case, path)), line
    if case.field:
        assert f"field '{case.field}'" in line, line
    assert case.fragment.lower() in line.lower(), line
    assert len(line) < MAX_LINE, len(line)


def test_corpus_is_large_and_covers_every_format():
    assert len(BROKEN) >= 40
    names = " ".join(c.name for c in BROKEN)
    for fmt in ("native", "llmc", "csv", "alpaca", "mt_", "llmbar", "pandalm", "arena"):
        assert fmt in names, fmt


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: c.name)
def test_cli_refuses_with_one_located_line(case, tmp_path):
    path = case.make(tmp_path)
    env = {**os.environ, "COMPARATOR_HOME": str(tmp_path / "home")}
    cmds = {"stats": ["stats", path, *case.args],
            "convert": ["convert", path, *case.args, "-o", tmp_path / "out.jsonl"]}
    procs, started = {}, time.monotonic()
    for name, args in cmds.items():  # both at once: the machine has two cores
        procs[name] = subprocess.Popen([sys.executable, "-m", "comparator", *map(str, args)],
                                       cwd=ROOT, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=env)
    for name, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=LIMIT_S - (time.monotonic() - started) + 1)
        except subprocess.TimeoutExpired:
            for p in procs.values():
                p.kill()
            pytest.fail(f"{name} ran over {LIMIT_S} s on {case.name}")
        assert proc.returncode == 2, (name, proc.returncode, err)
        _check_message(case, path, err)
    assert time.monotonic() - started < LIMIT_S
    assert not (tmp_path / "out.jsonl").exists()


def _plain_path(case: Case, tmp_path):
    path = tmp_path / ("plain_" + case.name.replace(".tsv", ".csv"))
    path.write_bytes(case.plain)
    return path


@pytest.mark.parametrize("case", READABLE, ids=lambda c: c.name)
def test_odd_but_valid_files_load_like_the_plain_file(case, tmp_path):
    path = case.make(tmp_path)
    loaded = load(path).comparison
    if case.plain is not None:
        plain = load(_plain_path(case, tmp_path)).comparison
        assert loaded.examples == plain.examples
        assert (loaded.model_a, loaded.model_b) == (plain.model_a, plain.model_b)
    assert loaded.examples


def test_csv_cells_with_quotes_newlines_json_and_128kb_are_kept(tmp_path):
    import csv

    for case in READABLE:
        if case.name in ("long_cell.csv", "quotes_newlines_json_cells.csv"):
            path = case.make(tmp_path)
            with open(path, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            got = load(path).comparison.examples
            assert [e["prompt"] for e in got] == [r["prompt"] for r in rows]
            assert [e["response_a"] for e in got] == [r["response_a"] for r in rows]
            assert [e["response_b"] for e in got] == [r["response_b"] for r in rows]


def test_utf16_csv_gives_the_same_stats_as_utf8_through_the_cli(tmp_path):
    case = next(c for c in READABLE if c.name == "utf16_le.csv")
    outs = []
    for path in (case.make(tmp_path), _plain_path(case, tmp_path)):
        r = subprocess.run([sys.executable, "-m", "comparator", "stats", str(path), "--json"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        outs.append(orjson.loads(r.stdout))
    assert outs[0] == outs[1]
    assert outs[0]["n"] == 5


# ---- the app's Data page ---------------------------------------------------------------------

def test_app_data_page_shows_a_message_and_keeps_the_open_comparison(tmp_path):
    from streamlit.testing.v1 import AppTest

    from comparator.ui import state

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    demo = list(state.demos())[0]
    at.session_state[state.SOURCE] = ("demo", demo)
    at.switch_page("pages/data.py").run()
    n_demo = len(load(state.demos()[demo]).comparison.examples)
    uploads = [c for c in BROKEN if c.kind == "file"]
    for case in uploads:
        data = case.make(tmp_path).read_bytes()
        at.file_uploader(key="upload").set_value((case.name, data, "application/octet-stream"))
        at.run()
        assert not at.exception, (case.name, at.exception)
        load_button = next(b for b in at.button if b.label == "Load")
        if case.args:
            at.selectbox(key="upload_format").set_value(case.args[1]).run()
        load_button.click().run()
        assert not at.exception, (case.name, at.exception)
        # the page shows file text escaped for Markdown (comparator.ui.text.md_text): read it back
        errors = [re.sub(r"\\(.)", r"\1", e.value).replace("\u2060", "") for e in at.error]
        assert any(case.name in e for e in errors), (case.name, errors)
        assert all(len(e) < MAX_LINE + 40 and "\n" not in e for e in errors), errors
        assert at.session_state[state.SOURCE] == ("demo", demo), case.name
        examples = next(m.value for m in at.metric if m.label == "Examples")
        assert examples == f"{n_demo:,}", case.name
    at.file_uploader(key="upload").set_value(None).run()
    at.switch_page("pages/overview.py").run()
    assert not at.exception and not at.error


# ---- a 1 GB file ---------------------------------------------------------------------------------

GB = 1 << 30
BIG_TIME_S = 300  # stated bound for `stats` on 1 GB on CI's 2 cores (measured: README)
RSS_PER_BYTE = 3  # stated bound: peak memory at most 3x the file (+ the interpreter)


def _write_gb(path) -> int:
    """A 1 GB native JSONL: the AlpacaEval demo's real examples repeated under new ids."""
    lines = DEMO.read_bytes().split(b"\n")
    header, body = lines[0], [orjson.loads(x) for x in lines[1:] if x.strip()]
    n, size = 0, len(header) + 1
    with open(path, "wb") as f:
        f.write(header + b"\n")
        while size < GB:
            chunk = []
            for ex in body:
                ex["id"] = f"copy{n}"
                chunk.append(orjson.dumps(ex))
                n += 1
            data = b"\n".join(chunk) + b"\n"
            f.write(data)
            size += len(data)
    return n


@pytest.fixture(scope="module")
def gb_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "one_gb.jsonl"
    n = _write_gb(path)
    yield path, n
    path.unlink()


# A small launcher measures the child: a child forked from pytest itself would count pytest's
# own pages (hundreds of MB once Streamlit is imported) in its peak RSS.
_LAUNCH = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[2:]); "
           "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN)"
           ".ru_maxrss)); sys.exit(r.returncode)")


def _peak_rss(args, env=None) -> tuple[subprocess.CompletedProcess, float, int]:
    """(the finished command, seconds, peak RSS in bytes) of `python -m comparator ARGS`."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".rss") as rss_file:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", _LAUNCH, rss_file.name, sys.executable,
                               "-m", "comparator", *map(str, args)], cwd=ROOT,
                              capture_output=True, text=True, timeout=BIG_TIME_S + 60,
                              env={**os.environ, **(env or {})})
        seconds = time.monotonic() - started
        return done, seconds, int(Path(rss_file.name).read_text()) * 1024


def test_one_gb_file_loads_with_bounded_memory_in_stated_time(gb_file, tmp_path):
    path, n = gb_file
    size = path.stat().st_size
    assert size >= GB
    # a new data dir: the columnar cache (keyed by content) must not answer for the reading
    done, seconds, rss = _peak_rss(["stats", path, "--json"], {"COMPARATOR_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-500:]
    assert orjson.loads(done.stdout)["n"] == n
    print(f"1 GB stats: {seconds:.0f} s, peak RSS {rss / GB:.2f} GB ({rss / size:.1f}x the file)")
    assert seconds < BIG_TIME_S
    assert rss < RSS_PER_BYTE * size + 300 * (1 << 20)


def test_one_gb_file_refused_up_front_when_memory_is_short(gb_file, tmp_path):
    """``convert`` holds the whole comparison in memory: refused before reading. ``stats``
    streams the file into the columnar store: it runs within the same budget."""
    path, n = gb_file
    env = {"COMPARATOR_MAX_MEMORY": "1G", "COMPARATOR_HOME": str(tmp_path)}
    done, seconds, rss = _peak_rss(["stats", path, "--json"], env)
    assert done.returncode == 0, done.stderr[-500:]
    assert orjson.loads(done.stdout)["n"] == n
    print(f"1 GB stats, streamed: {seconds:.0f} s, peak RSS {rss / GB:.2f} GB")
    assert rss < 1.5 * path.stat().st_size
    done, seconds, rss = _peak_rss(["convert", path, "-o", tmp_path / "out.csv"], env)
    assert done.returncode == 2
    line, = done.stderr.splitlines()
    assert line.startswith(f"error: {path}: ") and "memory" in line and "split" in line
    assert seconds < LIMIT_S
    assert rss < 300 * (1 << 20)  # nothing of the file was read


def test_one_gb_of_binary_garbage_is_refused_from_its_first_bytes(tmp_path):
    path = tmp_path / "garbage.jsonl"
    with open(path, "wb") as f:
        block = b"\x00" + os.urandom((1 << 20) - 1)
        for _ in range(1024):
            f.write(block)
    done, seconds, rss = _peak_rss(["stats", path])
    assert done.returncode == 2
    line, = done.stderr.splitlines()
    assert line.startswith(f"error: {path}:") and "NUL" in line
    assert seconds < LIMIT_S
    assert rss < 300 * (1 << 20)


def test_value_too_deep_to_write_is_named_on_export_and_leaves_no_file(tmp_path):
    """orjson reads any depth but writes at most 254 levels: a 300-deep custom field of a real
    LLM Comparator file loads (stats works), and `convert` names the example it sits in."""
    from hostile.corpus import LLMC

    doc = orjson.loads(LLMC.read_bytes())
    doc["examples"][2]["custom_fields"] = {"x": "DEEP"}
    path = tmp_path / "deep_custom_field.json"
    path.write_text(orjson.dumps(doc).decode().replace('"DEEP"', "[" * 300 + "]" * 300))
    stats = subprocess.run([sys.executable, "-m", "comparator", "stats", str(path)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert stats.returncode == 0, stats.stderr
    want_id = load(path).comparison.examples[2]["id"]
    for out in ("out.jsonl", "out.json", "out.csv"):
        r = subprocess.run([sys.executable, "-m", "comparator", "convert", str(path), "-o",
                            str(tmp_path / out)], cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 2
        line, = r.stderr.splitlines()
        assert line.startswith(f"error: {tmp_path / out}: ") and repr(want_id) in line
        assert not (tmp_path / out).exists() and not (tmp_path / (out + ".tmp")).exists()
