"""LLM Comparator JSON documents on the fast path (issue 25): ``convert``'s LLM Comparator output
of real files is streamed into the store in one read that also hashes it (the reader is
recorded and logged) and reads back as the importer reads it; an element of ``examples`` that
is not an object is named as the importer names it, never skipped."""

from __future__ import annotations

import json
import random
import threading

import pytest
from conftest import LLMC_TINY, MT_JUDGMENTS, MT_QUESTIONS, SHARED, run_cli, same_error
from test_fast_path import examples_of, opened_in_one_read, same_as_importer

from comparator.analysis import columnar
from comparator.analysis.length_control import lc_win_rate
from comparator.analysis.result import stats_result
from comparator.formats import load
from comparator.formats.common import dedupe_ids, text_id
from comparator.schema.digest import file_sha256
from comparator.store import cache, jsonscan, llmc
from comparator.store.cache import open_store
from comparator.store.ids import Renumber
from comparator.store.table import Store, store_for

SOURCES = [LLMC_TINY, MT_JUDGMENTS, SHARED / "alpaca_eval" /
           "claude-2.1_vs_gpt4_1106_preview.cot_gpt4_turbo_fn.annotations.json"]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_a_converted_document_is_streamed_and_hashed_in_one_read(src, tmp_path, monkeypatch,
                                                                  caplog):
    out = tmp_path / "converted.json"
    extra = ["--questions", MT_QUESTIONS] if src == MT_JUDGMENTS else []
    r = run_cli("convert", src, *extra, "-o", out)
    assert r.returncode == 0, r.stderr
    loaded = opened_in_one_read(out, "llm-comparator stream", monkeypatch, caplog)
    plain = load(out)
    assert loaded.format == plain.format == "llm-comparator"
    same_as_importer(loaded, plain)
    assert loaded.comparison.metadata == plain.comparison.metadata
    again = open_store(out)  # a cache hit: hashed, then mapped
    assert again.cached and examples_of(again) == examples_of(plain)
    copy = tmp_path / "copy of it.json"  # the same bytes elsewhere: hashed, not parsed
    copy.write_bytes(out.read_bytes())
    monkeypatch.setattr(cache, "stream_llmc", lambda *a: pytest.fail("parsed again"))
    assert open_store(copy).cached



@pytest.mark.parametrize("block", [4096, 1 << 20])
def test_repeated_prompts_across_blocks_get_the_importers_ids(tmp_path, monkeypatch, caplog,
                                                               block):
    """A prompt met again, in the same block or a later one, is suffixed ``~2``, ``~3``… in
    file order, as the importer's ``dedupe_ids`` does (the stream keeps the ids seen as
    integers, not strings)."""
    doc = json.loads(LLMC_TINY.read_text())
    ex = doc["examples"]
    doc["examples"] = ex + ex[::-1] + ex[:3] + [ex[0]] * 4  # each prompt 2 to 7 times
    out = tmp_path / "repeats.json"
    out.write_text(json.dumps(doc))
    monkeypatch.setattr(jsonscan, "BLOCK", block)
    loaded = opened_in_one_read(out, "llm-comparator stream", monkeypatch, caplog)
    plain = load(out)
    same_as_importer(loaded, plain)
    ids = [e["id"] for e in examples_of(loaded)]
    assert len(set(ids)) == len(ids) and ids[len(ex)] == ids[len(ex) - 1] + "~2"
    assert ids[-1] == ids[0] + "~7"


@pytest.mark.parametrize("difficulty", [False, True])
def test_the_stream_records_every_metadata_key_and_the_statistics_trust_it(
        tmp_path, monkeypatch, difficulty):
    """The keys of every example's ``custom_fields``, first seen first, are kept with the
    cache entry (a cache hit has them too): the fields offered are the whole file's, and the
    statistics know that no example has ``instruction_difficulty`` without reading the
    metadata column. With the key, the length control uses it, as on the importer's read."""
    doc = json.loads(LLMC_TINY.read_text())
    doc["examples"] = [{**e, "input_text": f"{e['input_text']} [{i}]", "custom_fields": {
        **e["custom_fields"], **({"instruction_difficulty": i % 7 / 2} if difficulty else {})}}
        for i, e in enumerate(doc["examples"] * 8)]
    doc["examples"][-1]["custom_fields"]["only_in_the_last"] = True
    out = tmp_path / "keys.json"
    out.write_text(json.dumps(doc))
    monkeypatch.setattr(jsonscan, "BLOCK", 4096)  # several batches
    loaded, plain = open_store(out), load(out)
    assert loaded.reader == "llm-comparator stream"
    st = store_for(loaded.comparison)
    read = columnar.metadata_keys(Store(st.table))  # the column itself, parsed
    assert st.metadata_keys == read == columnar.metadata_keys(store_for(plain.comparison))
    assert read[-1] == "only_in_the_last" and ("instruction_difficulty" in read) == difficulty
    hit = open_store(out)
    assert hit.cached and store_for(hit.comparison).metadata_keys == read
    lc = lc_win_rate(plain.comparison, rounds=20)
    assert lc["win_rate_a_lc"] is not None
    if not difficulty:
        monkeypatch.setattr(columnar, "_json_distinct",
                            lambda st: pytest.fail("read the metadata column"))
    assert lc_win_rate(loaded.comparison, rounds=20) == pytest.approx(lc, rel=1e-12)
    assert stats_result(loaded, [], 0.25, "wilson", None).win_rate_a_lc == pytest.approx(
        stats_result(plain, [], 0.25, "wilson", None).win_rate_a_lc, rel=1e-12)


def test_renumber_is_dedupe_ids_batch_by_batch():
    """The stream's ``Renumber`` over batches of any size is ``dedupe_ids`` over the whole."""
    rng = random.Random(0)
    for _ in range(200):
        pool = [text_id(str(rng.random())) for _ in range(rng.randint(1, 40))]
        ids = [rng.choice(pool) for _ in range(rng.randint(0, 200))]
        renumber, out, i = Renumber(), [], 0
        while i < len(ids):
            size = rng.randint(1, 30)
            out += renumber(ids[i:i + size])
            i += size
        assert out == dedupe_ids(ids)


def _body(items: list[str], bad: str, where: int) -> str:
    """The examples array's inside with ``bad`` at ``where``: an element, or a stray or a
    missing comma."""
    if bad == "stray comma":
        return ",".join([*items[:where], "", *items[where:]])
    if bad == "missing comma":
        k = min(max(where, 1), len(items) - 1)
        return ",".join(items[:k]) + " " + ",".join(items[k:])
    return ",\n".join([*items[:where], bad, *items[where:]])


@pytest.mark.parametrize("block", [7, 64, 1 << 20])
@pytest.mark.parametrize("bad", ["1", "null", '"text"', "true", "[]", "stray comma",
                                 "missing comma"])
@pytest.mark.parametrize("where", [0, 2, 4])
def test_an_element_that_is_not_an_example_is_named_not_skipped(tmp_path, monkeypatch, block,
                                                                bad, where):
    monkeypatch.setattr(jsonscan, "BLOCK", block)  # the element and its commas cut anywhere
    doc = json.loads(LLMC_TINY.read_text())
    items = [json.dumps(e, indent=1) for e in doc.pop("examples")[:4]]
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc)[:-1] + ', "examples": [ ' + _body(items, bad, where) + " ]}")
    message = same_error(path, open_store)  # what load() says, to the letter
    assert message.startswith(f"{path}:"), message  # the file, and where in it


def test_the_scan_thread_hands_over_every_element_and_stops_with_its_reader(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setattr(jsonscan, "BLOCK", 64)
    doc = json.loads(LLMC_TINY.read_text())
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc, indent=1))
    scan = jsonscan.ArrayScan(path, "examples", llmc.TEXTS)
    got = [e for part in jsonscan.parts(scan) for e in _whole(part)]
    assert got == doc["examples"]  # all, in order, their texts decoded apart
    assert scan.sha256 == file_sha256(path)  # the whole file hashed
    monkeypatch.setattr(jsonscan, "ROOM", 1)  # a part per element
    scan = jsonscan.ArrayScan(path, "examples", llmc.TEXTS)
    parts = jsonscan.parts(scan)
    assert _whole(next(parts)) == doc["examples"][:1]
    parts.close()  # the reader stops after one: so does the thread, before the end
    assert scan.sha256 is None
    assert not [t for t in threading.enumerate() if t.name == "array-scan"]
    path.write_text(json.dumps(doc)[:-2])  # cut short: the thread's error, in the caller
    with pytest.raises(ValueError, match="no complete 'examples' array"):
        list(jsonscan.parts(jsonscan.ArrayScan(path, "examples", llmc.TEXTS)))


def _whole(part: jsonscan.Part) -> list[dict]:
    """The part's elements with their texts put back."""
    docs = json.loads(bytes(part.skeleton))
    for name, col in zip(llmc.TEXTS, part.texts):
        for d, t in zip(docs, col.to_pylist()):
            assert d[name] == ""  # what the parser read instead
            d[name] = t
    return docs


def _read_by_the_importer(path):
    """``open_store(path)`` declined the stream: it holds what ``load`` holds, or fails with
    ``load``'s message to the letter."""
    try:
        plain = load(path)
    except Exception:  # noqa: BLE001 - then the store fails to the letter as load() does
        same_error(path, open_store)
        return
    loaded = open_store(path)
    assert loaded.reader != "llm-comparator stream"
    assert examples_of(loaded) == examples_of(plain)


@pytest.mark.parametrize("tail", ['"examples": [E3]', '"examples": []', '"examples": 5'])
def test_a_second_examples_key_wins_as_in_the_importer(tmp_path, tail):
    """JSON parsers keep a repeated key's last value: the stream must not read the first."""
    doc = json.loads(LLMC_TINY.read_text())
    ex = doc.pop("examples")
    body = json.dumps(doc)[:-1]
    path = tmp_path / "twice.json"
    path.write_text(f'{body}, "examples": [{json.dumps(ex[0])}, {json.dumps(ex[1])}], '
                    + tail.replace("E3", json.dumps(ex[2])) + "}")
    _read_by_the_importer(path)


def test_a_key_that_only_ends_with_the_name_is_not_the_array(tmp_path):
    doc = json.loads(LLMC_TINY.read_text())
    ex = doc.pop("examples")
    path = tmp_path / "decoy.json"
    path.write_text(json.dumps(doc)[:-1] + ', "not \\"examples": [' + json.dumps(ex[0]) +
                    '], "examples": [' + ", ".join(map(json.dumps, ex[1:])) + "]}")
    loaded = open_store(path)
    assert loaded.reader == "llm-comparator stream"
    same_as_importer(loaded, load(path))
    assert len(loaded.comparison.examples) == len(ex) - 1


@pytest.mark.parametrize("change", [
    '"input_text": "first", "input_text": "second"',  # the key twice: a parser keeps the last
    '"input_\\u0074ext": "escaped key"',  # the name written with an escape
    '"input_text": "seen", "input_\\u0074ext": "kept"',  # then again, with an escape
    '"input_text": "seen", "input_\\u0074ext": 0',
    '"input_text": 12',  # not a string
    '"input_text": {"nested": "object"}',
    '"output_text_a": "bad escape \\q"',
    '"output_text_b": "control \x01 char"',
])
@pytest.mark.parametrize("block", [16, 1 << 20])
def test_a_text_the_scan_cannot_decode_reads_as_the_importer(tmp_path, monkeypatch, change,
                                                             block):
    """The scan decodes an example's three texts itself: whatever it cannot take sends the
    file to the importer, which keeps the same values or names the same problem."""
    monkeypatch.setattr(jsonscan, "BLOCK", block)
    doc = json.loads(LLMC_TINY.read_text())
    items = [json.dumps(e) for e in doc.pop("examples")[:4]]
    key = change.split('"')[1].replace("\\u0074", "t")
    e = json.loads(items[2])
    e.pop(key)
    items[2] = json.dumps(e)[:-1] + ", " + change + "}"
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc)[:-1] + ', "examples": [' + ", ".join(items) + "]}")
    _read_by_the_importer(path)


def test_a_text_that_is_not_utf8_is_named_as_the_importer_names_it(tmp_path):
    doc = json.loads(LLMC_TINY.read_text())
    path = tmp_path / "latin1.json"
    raw = json.dumps(doc, ensure_ascii=False).encode()
    at = raw.index(b'"output_text_a": "') + len(b'"output_text_a": "')
    path.write_bytes(raw[:at] + b"caf\xe9 " + raw[at:])
    same_error(path, open_store)
