"""The columnar store (comparator.store) against the example dicts and an independent count.

Every real file in ../shared/data and every bundled demo is opened both ways: the examples read
back equal, and every figure (headline, slices, judges, search, reliability) is the same; the
headline counts also equal a plain count written here. The cache is keyed by content.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import ALL_JUDGED, MT_JUDGMENTS, MT_QUESTIONS, ROOT, SHARED, same_error, without_nulls

from comparator.analysis import slice_table, summary
from comparator.analysis.filters import cluster_closeness, search_mask
from comparator.analysis.reliability import reliability
from comparator.analysis.stats import default_judges, judgment_counts
from comparator.formats import LoadOptions, load
from comparator.formats.native import write_native
from comparator.store.cache import flush, open_store
from comparator.store.table import is_shared, store_for

DEMOS = sorted((ROOT / "data").glob("*.jsonl"))
FILES = list(dict.fromkeys([*ALL_JUDGED, *sorted((SHARED / "alpaca_eval").glob("*.json")),
                            *sorted((SHARED / "judgebench").glob("*.jsonl")), *DEMOS]))


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _plain_count(comp, judges, t=0.25):
    """Win/tie/loss by hand: the mean ok score of the selected judges, per example (else the
    reported score of an example without judgments, when no judge is selected)."""
    counts = {"A": 0, "tie": 0, "B": 0, "unscored": 0}
    for ex in comp.examples:
        js = ex.get("judgments") or []
        vals = [j["score"] for j in js if j.get("status", "ok") == "ok"
                and j.get("score") is not None
                and (not judges or (j.get("judge") or "unknown") in judges)]
        s = math.fsum(vals) / len(vals) if vals else (
            ex.get("reported_score") if not js and not judges else None)
        if s is None or (isinstance(s, float) and math.isnan(s)):
            counts["unscored"] += 1
        else:
            counts["A" if s > t else "B" if s < -t else "tie"] += 1
    return counts


def _fields(comp):
    out = ["judge"]
    if any(ex.get("category") for ex in comp.examples):
        out.append("category")
    if any(ex.get("tags") for ex in comp.examples):
        out.append("tags")
    keys = {k for ex in comp.examples for k, v in (ex.get("metadata") or {}).items()
            if not isinstance(v, dict)}
    return out + sorted(keys)[:4]


def _same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12, nan_ok=True)
    else:
        assert a == b


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_store_gives_the_same_examples_and_figures(path):
    _check_same(path, LoadOptions(questions=MT_QUESTIONS) if "mt_bench/" in str(path) else None)


def test_the_store_of_mt_bench_single_grades(tmp_path):
    both = tmp_path / "gpt-4_single.jsonl"  # FastChat's layout: every model's grades in one
    both.write_bytes(b"".join(p.read_bytes() for p in sorted(
        (SHARED / "mt_bench_single").glob("*.jsonl"))))
    _check_same(both, None)


def _check_same(path, opts) -> None:
    plain = load(path, options=opts).comparison
    loaded = open_store(path, options=opts)
    comp = loaded.comparison
    # the cached table, and a store over the example dicts built column by column
    assert is_shared(comp) and not is_shared(plain) and store_for(plain) is store_for(plain)
    assert without_nulls(list(comp.examples)) == without_nulls(plain.examples)
    assert (comp.model_a, comp.model_b, comp.metadata) == (plain.model_a, plain.model_b,
                                                          plain.metadata)
    assert comp.judges() == plain.judges()
    assert judgment_counts(comp) == judgment_counts(plain)
    judges = default_judges(plain)
    head = summary(comp)
    _same(head, summary(plain))
    hand = _plain_count(plain, judges)
    assert (head["a_wins"], head["ties"], head["b_wins"], head["unscored"]) == (
        hand["A"], hand["tie"], hand["B"], hand["unscored"])
    for field in _fields(plain):
        _same(slice_table(comp, field), slice_table(plain, field))
    for name in comp.judges():
        _same(summary(comp, judges=frozenset([name])), summary(plain, judges=frozenset([name])))
    _same(reliability(comp), reliability(plain))
    clusters = {r.get("cluster") for ex in plain.examples for r in ex.get("reasons") or ()}
    for c in sorted(x for x in clusters if x is not None)[:5]:
        assert np.array_equal(cluster_closeness(comp, c), cluster_closeness(plain, c)), c
    words = " ".join(str(plain.examples[len(plain.examples) // 2].get("response_a"))
                     .split()[:2]) or "the"
    for q, regex in ((words, False), ("the", False), (r"\d+\.\s", True),
                     (r"pyth\w+|0x\d|[|]{2}", True), (r"(a|b)c\||\bthe\b", True)):
        assert np.array_equal(search_mask(comp, q, regex), search_mask(plain, q, regex)), q


def test_the_cache_is_read_again_when_the_file_changes(tmp_path, home):
    src = tmp_path / "c.jsonl"
    shutil.copy(DEMOS[0], src)
    first = open_store(src)
    flush()
    again = open_store(src)
    assert len(list((home / "store").glob("*.arrow"))) == 1
    assert summary(again.comparison) == summary(first.comparison)
    comp = load(src).comparison
    comp.examples = comp.examples[:100]
    comp.model_a = "changed"
    write_native(comp, src)
    changed = open_store(src)
    flush()
    assert changed.comparison.model_a == "changed"
    assert len(changed.comparison.examples) == 100
    assert summary(changed.comparison) == summary(comp)
    assert len(list((home / "store").glob("*.arrow"))) == 2


def test_the_files_beside_a_judged_file_are_part_of_its_cache_key(tmp_path, home):
    """MT-Bench's question.jsonl shapes the table (categories, prompts): a copy of the judgments
    without it, opened first, must not give the original its table (nor the other way round)."""
    alone = tmp_path / "alone" / "model_judgment" / MT_JUDGMENTS.name
    alone.parent.mkdir(parents=True)
    shutil.copy(MT_JUDGMENTS, alone)
    without = open_store(alone)
    flush()
    original = open_store(MT_JUDGMENTS)
    flush()
    cats = {ex.get("category") for ex in original.comparison.examples}
    assert cats == {ex.get("category") for ex in load(MT_JUDGMENTS).comparison.examples}
    assert len(cats - {None}) == 8
    assert {ex.get("category") for ex in without.comparison.examples} == {None}
    assert {ex.get("category") for ex in open_store(alone).comparison.examples} == {None}
    # a question.jsonl put beside the copy later changes its key: read again, with categories
    shutil.copy(MT_QUESTIONS, alone.parent.parent / "question.jsonl")
    assert {ex.get("category") for ex in open_store(alone).comparison.examples} == cats


def test_a_broken_native_file_gets_the_located_message_of_load(tmp_path):

    lines = DEMOS[0].read_text().splitlines()
    cases = {5: ('"response_a":', '"response_x":'), 9: ('"score":', '"score":7,"_":'),
             12: ('"id":', '"id":null,"x":')}
    for line, (old, new) in cases.items():
        bad = list(lines)
        bad[line - 1] = bad[line - 1].replace(old, new, 1)
        path = tmp_path / f"bad{line}.jsonl"
        path.write_text("\n".join(bad) + "\n")
        assert f":{line}:" in same_error(path, open_store)


def test_parquet_round_trip_through_the_cli(tmp_path, home):
    out = tmp_path / "demo.parquet"
    env = {"COMPARATOR_HOME": str(home)}
    run = [sys.executable, "-m", "comparator"]
    import os

    proc = subprocess.run([*run, "convert", str(DEMOS[0]), "-o", str(out)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    import json

    a = json.loads(subprocess.run([*run, "stats", str(out), "--json", "--by", "category"],
                                  cwd=ROOT, capture_output=True, text=True, check=True,
                                  env={**os.environ, **env}).stdout)
    b = json.loads(subprocess.run([*run, "stats", str(DEMOS[0]), "--json", "--by", "category"],
                                  cwd=ROOT, capture_output=True, text=True, check=True,
                                  env={**os.environ, **env}).stdout)
    assert a.pop("format") == "parquet" and b.pop("format") == "native"
    assert a == b
    back = open_store(out).comparison
    assert [without_nulls(x) for x in back.examples] == \
        [without_nulls(x) for x in load(DEMOS[0]).comparison.examples]


def _tricky_llmc() -> dict:
    """An LLM Comparator document whose texts hold what a byte scanner could trip on."""
    texts = ['say "hi" {not json} [x]', "back\\slash\\", 'quote at end\\"', "ünïcödé ✓ 😀",
             '{"looks": ["like", "json"]}', "\\\\\\\"", "]}],{[", ""]
    examples = []
    for i in range(23):
        t = texts[i % len(texts)]
        examples.append({
            "input_text": f"prompt {i % 9} {t}", "output_text_a": t * (i % 3),
            "output_text_b": t[::-1], "tags": [f"tag{i % 4}", "[}"],
            "score": [1.5, -0.5, None, 0.0][i % 4],
            "individual_rater_scores": [
                {"score": [1.5, -0.5, None, 0.0][i % 4], "rating_label": "A>B",
                 "is_flipped": i % 2 == 0, "rationale": t, "custom_fields": {"k": i}}],
            # a type change after the first batch: the free-form column restarts as JSON
            "custom_fields": {"n": i if i < 10 else f"s{i}", "nested": {"t": t}}})
    return {"metadata": {"source_path": "x"}, "models": [{"name": "m1"}, {"name": "m2"}],
            "examples": examples, "rationale_clusters": [{"title": "[t]"}]}


@pytest.mark.parametrize("indent", [None, 2])
def test_a_huge_llm_comparator_file_is_read_a_block_at_a_time(tmp_path, monkeypatch, indent):
    import json

    from comparator.store import cache, jsonscan

    path = tmp_path / "tricky.json"
    path.write_text(json.dumps(_tricky_llmc(), indent=indent, ensure_ascii=indent is None))
    monkeypatch.setattr(jsonscan, "ROOM", 5)  # streamed in parts of 5 examples at most
    monkeypatch.setattr(cache, "load", lambda *a, **k: pytest.fail("not streamed"))
    for block in (7, 64, 4096):  # blocks that cut strings, escapes and brackets anywhere
        monkeypatch.setattr(jsonscan, "BLOCK", block)
        monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / f"home{block}"))
        got = open_store(path)
        flush()
        plain = load(path)
        assert got.format == plain.format == "llm-comparator"
        assert list(got.comparison.examples) == plain.comparison.examples
        assert got.comparison.metadata == plain.comparison.metadata
        _same(summary(got.comparison), summary(plain.comparison))
        assert (tmp_path / f"home{block}" / "store").is_dir()


def test_the_cache_keeps_to_its_size_limit(tmp_path, home, monkeypatch):
    monkeypatch.setenv("COMPARATOR_STORE_MAX_GB", str(1.5 * DEMOS[0].stat().st_size / (1 << 30)))
    for k in range(3):  # three contents, each about the size of the limit's two thirds
        src = tmp_path / f"c{k}.jsonl"
        comp = load(DEMOS[0]).comparison
        comp.model_a = f"version {k}"
        write_native(comp, src)
        open_store(src)
        flush()
    left = sorted((home / "store").glob("*.arrow"))
    assert len(left) == 1  # the newest; the older ones went first
    assert open_store(src).comparison.model_a == "version 2"


def _peak_rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) << 10 for x in f if x.startswith("VmHWM:"))


def test_the_checksum_of_an_entry_does_not_take_its_pages_into_the_process(tmp_path):
    """The checksum reads the entry through its descriptor: hashing a 160 MB body (numbers:
    every byte hashed) raises the process's peak by the read's buffer, not by the body (a
    first open hashes the entry it has just written)."""
    import pyarrow as pa
    import pyarrow.ipc as ipc
    import xxhash

    from comparator.store.verify import KIND, file_checksum

    body = tmp_path / "numbers.arrow"
    with ipc.new_file(str(body), pa.schema([("v", pa.int64())])) as w:
        w.write_table(pa.table({"v": np.arange(20_000_000, dtype=np.int64)}))
    size = body.stat().st_size
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak starts again from what the process holds now
    before = _peak_rss()
    got = file_checksum(body)
    assert _peak_rss() - before < size / 4
    # no long texts: every byte of the file is hashed, then its size
    assert got == f"{KIND}:{xxhash.xxh3_128(body.read_bytes() + b'%d' % size).hexdigest()}"
