"""The fast path holds for real files: every file ``convert`` writes from every real format is read
by Arrow's reader alone (the reader is recorded and logged), in one read that also hashes it;
the line reader only names a problem, from the block where Arrow found it."""

from __future__ import annotations

import json
import logging
import os
import shutil

import orjson
import pyarrow as pa
import pytest
from conftest import ALL_JUDGED, ROOT, SHARED, run_cli, same_error, without_nulls

from comparator.formats import load
from comparator.schema.digest import file_sha256
from comparator.schema.errors import InputError
from comparator.store import cache, native, schema
from comparator.store.cache import open_store
from comparator.store.table import store_for

AH = ROOT / "tests" / "data" / "arena_hard"
AH_JUDGED = "data/arena-hard-v0.1/model_judgment/gpt-4-1106-preview/gpt-4-0613.jsonl"
REAL = list(dict.fromkeys([
    *ALL_JUDGED, *sorted((SHARED / "alpaca_eval").glob("*.json")),
    *sorted((SHARED / "judgebench").glob("*.jsonl")),
    AH / "v0.1-question_id" / AH_JUDGED, AH / "v2.0-uid" / AH_JUDGED,
    AH / "gpt-4-0613.v2.0-games.jsonl", "mt_bench_single"]))


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _source(path, tmp_path):
    if path == "mt_bench_single":  # FastChat's layout: both models' grades in one file
        path = tmp_path / "gpt-4_single.jsonl"
        path.write_bytes(b"".join(p.read_bytes() for p in sorted(
            (SHARED / "mt_bench_single").glob("*.jsonl"))))
    return path


def _converted(path, tmp_path):
    src = _source(path, tmp_path)
    out = tmp_path / "converted.jsonl"
    extra = ["--questions", SHARED / "mt_bench" / "question.jsonl"] \
        if "mt_bench/model_judgment" in str(src) else []
    r = run_cli("convert", src, *extra, "-o", out)
    assert r.returncode == 0, r.stderr
    return out


def examples_of(loaded):
    return [without_nulls(ex) for ex in loaded.comparison.examples]


def same_columns(loaded, plain):
    """Every column of the store's table as the importer's examples make it: also those the
    examples are not rebuilt from (a multi-turn response's joined text, which search and the
    metrics read, and its length)."""
    fast, want = store_for(loaded.comparison).table, store_for(plain.comparison).table
    assert fast.column_names == want.column_names
    for name in fast.column_names:  # free-form objects: a struct or JSON text as written or
        if name not in (*schema.FREE, "judgment_extra"):  # made, the same dicts (the examples)
            assert fast.column(name).equals(want.column(name)), name


def same_as_importer(loaded, plain):
    assert examples_of(loaded) == examples_of(plain)
    same_columns(loaded, plain)


def opened_in_one_read(out, reader, monkeypatch, caplog):
    """``open_store(out)`` of a file not opened before, with no separate hash allowed: read by
    ``reader`` (recorded and logged), the bytes parsed being the bytes hashed."""
    monkeypatch.setattr(cache, "file_sha256", lambda p: pytest.fail("hashed apart"))
    with caplog.at_level(logging.INFO, logger="comparator.store"):
        loaded = open_store(out)
    assert loaded.reader == reader and not loaded.cached
    assert f"read {out}: {reader}" in caplog.text
    assert loaded.sha256 == file_sha256(out)  # the bytes parsed are the bytes hashed
    monkeypatch.setattr(cache, "file_sha256", file_sha256)
    return loaded


@pytest.mark.parametrize("path", REAL, ids=lambda p: getattr(p, "name", p))
def test_every_convert_output_is_read_by_arrow_alone_in_one_read(path, tmp_path, monkeypatch,
                                                                   caplog):
    out = _converted(path, tmp_path)
    loaded = opened_in_one_read(out, "arrow", monkeypatch, caplog)
    plain = load(out)
    same_as_importer(loaded, plain)
    again = open_store(out)  # a cache hit: hashed, then mapped
    assert again.cached and again.reader == "arrow"
    assert examples_of(again) == examples_of(loaded)
    copy = tmp_path / "copy of it.jsonl"  # the same bytes elsewhere: hashed, not parsed
    copy.write_bytes(out.read_bytes())
    monkeypatch.setattr(cache, "read_native_arrow", lambda *a: pytest.fail("parsed again"))
    assert open_store(copy).cached


def _lines(tmp_path, copies=3):
    """The real AlpacaEval annotations (nested judgment extras) converted, repeated with unique
    ids: a few blocks of the reader's once its block is made small."""
    out = _converted(SHARED / "alpaca_eval" / "claude-2.1_vs_gpt4_1106_preview"
                     ".cot_gpt4_turbo_fn.annotations.json", tmp_path)
    head, *rows = out.read_bytes().splitlines()
    lines = [head]
    for k in range(copies):
        for r in rows:
            ex = orjson.loads(r)
            ex["id"] = f"{ex['id']}~{k}"
            lines.append(orjson.dumps(ex))
    return lines


def _write(tmp_path, lines, name="x.jsonl"):
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_one_bad_line_in_the_middle_is_named_from_its_block(tmp_path, monkeypatch):
    monkeypatch.setattr(native, "BLOCK", 1 << 20)  # ~10 blocks: the same code, smaller blocks
    lines = _lines(tmp_path)
    middle = len(lines) // 2
    cases = {
        "judgments[0].score": lambda ex: ex["judgments"][0].update(score=2.5),
        "judgments[0].extra": lambda ex: ex["judgments"][0].update(extra=[1]),
        "response_a": lambda ex: ex.pop("response_a"),
        "id": lambda ex: ex.update(id=orjson.loads(lines[7])["id"]),
    }
    for k, (field, edit) in enumerate(cases.items()):
        bad = list(lines)
        ex = orjson.loads(bad[middle])
        edit(ex)
        bad[middle] = orjson.dumps(ex)
        message = same_error(_write(tmp_path, bad, f"bad{k}.jsonl"), open_store)
        assert f":{middle + 1}: field '{field}'" in message
    broken = list(lines)
    broken[middle] = broken[middle][:-40]  # a line cut short
    with pytest.raises(InputError, match=rf":{middle + 1}: not valid JSON"):
        open_store(_write(tmp_path, broken, "cut.jsonl"))
    for k, (old, new) in enumerate([(b'"extra":{', b'"extra":{"\xff":1,'),  # not UTF-8
                                    (b'"extra":{', b'"extra":{"a":tru,')]):  # not JSON
        bad = list(lines)
        assert old in bad[middle]
        bad[middle] = bad[middle].replace(old, new, 1)  # inside a cut-out judgment extra
        assert f":{middle + 1}:" in same_error(_write(tmp_path, bad, f"raw{k}.jsonl"),
                                                open_store)


def test_a_duplicate_id_is_named_as_the_importer_names_it(tmp_path, monkeypatch):
    """Ids are checked on columns at the end of the file; as in the importer, a line that is
    not a valid example is named before any duplicate, wherever it is, and of two duplicates
    the first in file order."""
    monkeypatch.setattr(native, "BLOCK", 1 << 20)
    lines = _lines(tmp_path)
    n = len(lines)
    dup = lambda i, of: orjson.dumps({**orjson.loads(lines[i]),  # noqa: E731
                                      "id": orjson.loads(lines[of])["id"]})
    cut = lambda i: lines[i][:-40]  # noqa: E731 - a line cut short
    cases = [("dup, then a broken block", {n // 3: dup(n // 3, 5), 2 * n // 3: cut(2 * n // 3)},
              2 * n // 3),
             ("broken, then a dup", {n // 3: cut(n // 3), 2 * n // 3: dup(2 * n // 3, 5)},
              n // 3),
             ("dup within a block", {n // 2 + 1: dup(n // 2 + 1, n // 2)}, n // 2 + 1),
             ("two dups: the first", {n - 2: dup(n - 2, 3), n // 4: dup(n // 4, 6)}, n // 4)]
    for k, (what, edits, index) in enumerate(cases):  # lines[i] is line i + 1
        bad = list(lines)
        for i, v in edits.items():
            bad[i] = v
        message = same_error(_write(tmp_path, bad, f"dup{k}.jsonl"), open_store)
        assert f":{index + 1}:" in message, (what, message)


def test_a_block_arrow_cannot_prove_valid_is_read_by_lines_and_the_rest_by_arrow(
        tmp_path, monkeypatch):
    monkeypatch.setattr(native, "BLOCK", 1 << 20)
    lines = _lines(tmp_path)
    ex = orjson.loads(lines[len(lines) // 2])
    ex["judgments"][0]["flipped"] = 1  # pydantic takes 1 for true; Arrow's reader does not
    lines[len(lines) // 2] = orjson.dumps(ex)
    path = _write(tmp_path, lines)
    loaded = open_store(path)
    blocks = int(loaded.reader.split(" of ")[1].split()[0])
    assert loaded.reader == f"arrow, 1 of {blocks} blocks by lines" and blocks >= 5
    same_as_importer(loaded, load(path))


def test_fields_only_some_blocks_have_and_escaped_keys_read_as_the_importer(tmp_path,
                                                                           monkeypatch):
    """Arrow is asked per block only for the fields its lines have (the scan notes the keys):
    fields that only the last block's lines have are kept there and null elsewhere, and a
    key the scan cannot see (written with escapes) is never lost: its block goes to the line
    reader."""
    monkeypatch.setattr(native, "BLOCK", 1 << 20)
    lines = _lines(tmp_path)
    for k in range(len(lines) - 40, len(lines)):
        ex = orjson.loads(lines[k])
        ex.update(tags=["late", str(k)], category="c", reported_score=0.5)
        ex["judgments"][0].update(template_id="t1", rater="r")
        lines[k] = orjson.dumps(ex)
    path = _write(tmp_path, lines)
    loaded = open_store(path)
    assert loaded.reader == "arrow"
    got = examples_of(loaded)
    same_as_importer(loaded, load(path))
    assert got[-1]["tags"][0] == "late" and got[-1]["judgments"][0]["rater"] == "r"
    assert "tags" not in got[0] and "rater" not in got[0]["judgments"][0]
    middle = len(lines) // 2
    for k, (key, escaped) in enumerate([(b'"tags":', b'"t\\u0061gs":'),
                                        (b'"rater":', b'"r\\u0061ter":')]):
        bad = list(lines)
        ex = orjson.loads(bad[middle])
        ex["tags"] = ["escaped"]
        ex["judgments"][0]["rater"] = "escaped"
        bad[middle] = orjson.dumps(ex).replace(key, escaped)
        path = _write(tmp_path, bad, f"escaped{k}.jsonl")
        loaded = open_store(path)
        assert loaded.reader.startswith("arrow, 1 of "), loaded.reader
        got = examples_of(loaded)
        same_as_importer(loaded, load(path))
        assert got[middle - 1]["tags"] == ["escaped"]
        assert got[middle - 1]["judgments"][0]["rater"] == "escaped"


def test_metadata_a_later_block_does_not_fit_starts_again_as_text(tmp_path, monkeypatch):
    monkeypatch.setattr(native, "BLOCK", 1 << 20)
    lines = _lines(tmp_path)
    for k in range(1, len(lines)):
        ex = orjson.loads(lines[k])
        ex["metadata"] = {"turn": "two" if k == len(lines) - 5 else k}
        lines[k] = orjson.dumps(ex)
    path = _write(tmp_path, lines)
    got = native.read_native_arrow(path, tmp_path / "out.arrow")
    assert got is not None and got[1].passes == 2 and got[1].reader == "arrow"
    loaded = open_store(path)
    same_as_importer(loaded, load(path))
    assert loaded.comparison.examples[-5]["metadata"] == {"turn": "two"}


def test_texts_that_look_like_keys_and_escapes_stay_as_written(tmp_path):
    """Quotes, backslashes and our own key names inside texts (the scan must not take them for
    structure); multi-turn responses beside single ones; extras with nested objects."""
    tricky = ['say \\"extra\\":{\\"a\\":1} and {"x": [1, 2]}', "a\\\\", '\\\\"', "\\\\\\\"",
              '"response_a": ["t1"]', "judgments\": [{\"extra\": {}}]", "emoji 🎉 ünïcode"]
    head = {"kind": "comparator.comparison", "schema_version": 3, "model_a": "a",
            "model_b": "b"}
    lines = [orjson.dumps(head)]
    for i, t in enumerate(tricky * 3):
        ex = {"id": f"e{i}", "prompt": t, "response_a": t if i % 2 else [t, t + "!"],
              "response_b": t, "extra": {"k": {"extra": t}},
              **({"messages": [{"role": "user", "content": t}, {"content": t + "?",
                                                                 "role": "assistant"}],
                  "reference": [t]} if i % 3 else {}),
              "judgments": [{"score": 0.5, "extra": {"raw": t, "n": [1, {"m": None}]}},
                            {"status": "unscored", "raw": t}] + [  # more keys than lines x 8
                  {"score": -1.0, "judge": f"j{k}", "extra": {"k": k}} for k in range(12)]}
        lines.append(orjson.dumps(ex))
    path = _write(tmp_path, lines)
    loaded = open_store(path)
    assert loaded.reader == "arrow"
    same_as_importer(loaded, load(path))


@pytest.mark.parametrize("extra,reader", [
    (b'{"deep":' + b'[' * 70 + b'1' + b']' * 70 + b'}', "lines"),  # deeper than the scan goes
    (b'{"s":"} ] { [ \\" \\\\","n":[{"m":{}}],"e":[]}', "arrow"),  # brackets in strings
    *((bad, None) for bad in (b'{"a":[1}]}', b'{"a":{"b":1]}}', b'{"a":"unclosed}',
                              b'{"a":1,}')),  # not JSON
    (b'{"a":\n1}', None),  # a free-form object over two lines
], ids=["deep", "strings", "mismatch", "mismatch2", "unclosed", "comma", "newline"])
def test_a_free_form_object_is_stepped_over_and_checked_as_the_importer_checks_it(
        tmp_path, extra, reader):
    """The scan steps over an example's or a judgment's ``extra`` without copying it; what it
    holds is still read (by Arrow when the scan can place it), or refused, exactly as the
    importer does."""
    lines = _lines(tmp_path, copies=1)[:12]
    for key in (b'"extra":', b'"judgments":[{"extra":'):
        bad = list(lines)
        ex = orjson.loads(bad[6])
        ex.pop("extra", None)
        ex["judgments"] = [{"score": 1.0}]
        raw = orjson.dumps(ex)
        if key == b'"extra":':
            bad[6] = raw[:-1] + b',"extra":' + extra + b'}'
        else:
            bad[6] = raw.replace(b'"judgments":[{', key + extra + b',')
        path = _write(tmp_path, bad, "free.jsonl")
        if reader is None:
            same_error(path, open_store)
            continue
        loaded = open_store(path)
        assert loaded.reader == reader
        same_as_importer(loaded, load(path))


def test_a_turn_or_a_message_arrow_would_misread_is_named_by_the_line_reader(tmp_path):
    """The turns and the messages' contents are decoded by the scan: what it cannot place (a
    turn that is not a string, a content that is a number, a message without one) is read
    by the line reader, which names it as the importer does."""
    lines = _lines(tmp_path, copies=1)[:12]
    ex = orjson.loads(lines[6])
    cases = [{"response_a": ["one", 2]}, {"response_b": ["one", None]},
             {"reference": [["nested"]]},
             {"messages": [{"role": "user", "content": 3}]},
             {"messages": [{"role": "user"}]}, {"messages": ["not an object"]}]
    for k, change in enumerate(cases):
        bad = list(lines)
        bad[6] = orjson.dumps({**ex, **change})
        same_error(_write(tmp_path, bad, f"bad{k}.jsonl"), open_store)


def test_without_the_compiled_scan_the_lines_read_the_same(tmp_path, monkeypatch):
    """Where numba cannot run, every block goes to the line reader: slower, the same table."""
    from comparator.store import blockscan

    monkeypatch.setattr(blockscan, "_WALK", False)
    monkeypatch.setattr(native, "BLOCK", 1 << 20)
    path = _write(tmp_path, _lines(tmp_path, copies=1))
    loaded = open_store(path)
    assert loaded.reader == "lines"
    same_as_importer(loaded, load(path))


def test_damaged_bytes_anywhere_read_as_the_importer_reads_them(tmp_path):
    """A byte deleted, inserted (one of the characters of JSON's structure) or changed at a
    random place of a real file: the store opens it exactly as ``load`` does, or refuses it
    with the same message (seeded, 60 files)."""
    import random

    lines = _lines(tmp_path, copies=1)[:25]
    data = b"\n".join(lines) + b"\n"
    start = len(lines[0]) + 1  # the header stays whole
    rng = random.Random(7)
    for k in range(60):
        at = rng.randrange(start, len(data))
        kind = k % 3
        piece = bytes([rng.choice(b'{}[]",:\\ 0n\n\xfft\x01e.-')])
        bad = data[:at] + (b"" if kind == 0 else piece) + data[at + (kind != 1):]
        path = tmp_path / f"damaged{k}.jsonl"
        path.write_bytes(bad)
        try:
            plain = examples_of(load(path))
        except InputError:
            same_error(path, open_store)
            continue
        assert examples_of(open_store(path)) == plain, k
    spread = data.replace(b'"prompt":', b'"prompt":\n', 1)  # valid JSON, but not JSON lines
    path = tmp_path / "spread.jsonl"
    path.write_bytes(spread)
    assert ":2: not valid JSON" in same_error(path, open_store)
    at = data.index(b'"response_a":"', start) + 20  # not UTF-8 inside a text Arrow reads
    path.write_bytes(data[:at] + b"\xff" + data[at:])
    assert ":2:" in same_error(path, open_store)


def test_whitespace_between_tokens_crlf_and_blank_lines_read_as_the_importer(tmp_path):
    """The scan leaves whitespace out of Arrow's copy: spaced tokens, CRLF endings, blank and
    blank-looking lines read as the importer reads them, by Arrow's reader."""
    head, *rows = _lines(tmp_path, copies=1)
    spaced = []
    for k, r in enumerate(rows[:40]):
        seps = (" ,  ", " :\t ") if k % 2 else (", ", ": ")
        spaced.append(b" \t" + json.dumps(orjson.loads(r), separators=seps).encode() + b"  ")
    path = tmp_path / "spaced.jsonl"
    path.write_bytes(head + b"\r\n" + b"\r\n".join(spaced[:20]) + b"\r\n\r\n  \t \n" +
                     b"\n".join(spaced[20:]) + b"\n \n")
    loaded = open_store(path)
    assert loaded.reader == "arrow"
    same_as_importer(loaded, load(path))


def test_the_same_file_unchanged_is_not_hashed_again_and_any_change_is(tmp_path, monkeypatch):
    """A cache hit of the very file hashed before, unchanged since (same inode, size, times),
    takes its SHA-256 from the hint; written to (even with its size, first MiB and mtime kept),
    replaced, or copied, it is hashed again and never served stale."""
    from comparator.store import seen
    lines = _lines(tmp_path, copies=1)
    path = _write(tmp_path, lines)
    first = open_store(path)
    cache.flush()
    assert not first.cached
    hashed = []
    monkeypatch.setattr(cache, "file_sha256", lambda p: hashed.append(p) or file_sha256(p))
    again = open_store(path)  # written a moment ago: hashed, as git's racy rule wants
    assert again.cached and hashed == [path]
    monkeypatch.setattr(seen, "SETTLE_NS", 0)  # as if written long before it was hashed
    open_store(path)  # hashed once more: the hint now holds the file's state
    hashed.clear()
    hit = open_store(path)
    assert hit.cached and hit.sha256 == first.sha256 and hashed == []
    # a letter of the last response B changed: size, first MiB and modification time kept
    stat = path.stat()
    at = lines[-1].index(b'"response_b":"') + 14
    at += next(k for k, c in enumerate(lines[-1][at:]) if chr(c).isalpha())
    lines[-1] = lines[-1][:at] + (b"q" if lines[-1][at:at + 1] != b"q" else b"z") + \
        lines[-1][at + 1:]
    _write(tmp_path, lines)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    changed = open_store(path)
    assert hashed == [path] and changed.sha256 == file_sha256(path) != first.sha256
    same_as_importer(changed, load(path))
    copy = tmp_path / "copy.jsonl"  # the same bytes elsewhere: hashed, then a cache hit
    shutil.copy2(path, copy)
    hashed.clear()
    assert open_store(copy).cached and hashed == [copy]


def test_metadata_kept_as_text_gives_the_keys_and_values_of_every_example(tmp_path):
    """Metadata the reader keeps as JSON text (its types vary): each distinct text is parsed
    once, and the keys (in the file's order) and values are those of every example."""
    from comparator.analysis.columnar import metadata_keys, metadata_values
    from comparator.store.table import store_for
    lines = _lines(tmp_path, copies=1)
    metas = [None, {"b": 1}, {"b": "x", "a": [1]}, {}, {"c": None, "b": 1}]
    for k in range(1, len(lines)):
        ex = orjson.loads(lines[k])
        if metas[k % 5] is None:
            ex.pop("metadata", None)
        else:
            ex["metadata"] = metas[k % 5]
        lines[k] = orjson.dumps(ex)
    loaded = open_store(_write(tmp_path, lines))
    st = store_for(loaded.comparison)
    assert not pa.types.is_struct(st.column("metadata").type)
    rows = [ex.get("metadata") or {} for ex in load(tmp_path / "x.jsonl").comparison.examples]
    assert metadata_keys(st) == ["b", "a", "c"]
    for key in ("a", "b"):
        assert metadata_values(st, key) == [m.get(key) for m in rows]
    assert metadata_values(st, "c") is None  # present, but null wherever it is
    assert metadata_values(st, "absent") is None


def test_the_scan_decodes_every_string_as_json_does():
    """The decoder stores plain bytes a word at a time: strings of every length and start
    within a word, escapes of every kind at every place, non-ASCII text, are decoded as
    orjson decodes them (seeded, 3,000 strings in one block; each slot's texts back to back)."""
    import random

    import numpy as np

    from comparator.store import blockscan

    rng = random.Random(11)
    pieces = ["a", "é", "🎉", "\n", "\t", '"', "\\", "/", "\u2028", "\x01", "\ud7ff", "😀", "q" * 9]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))
             for _ in range(3000)]
    lines = []
    for i, t in enumerate(texts):
        raw = orjson.dumps(t)
        if i % 3 == 0:  # escapes orjson does not write
            raw = raw.replace(b"/", b"\\/").replace("é".encode(), b"\\u00e9").replace(
                "😀".encode(), b"\\ud83d\\ude00")
        pad = b" " * (i % 8)  # every start within a word
        lines.append(b'{"id":"e%d",%s"prompt":%s,"response_a":[%s,"x"]}' % (i, pad, raw, raw))
    data = b"\n".join(lines) + b"\n"
    small = blockscan.scan(data, ("extra",))  # more lines than its first guess of room
    scratch = blockscan.Scratch.sized(1 << 20)  # room enough, reused: nothing returned
    blk = blockscan.scan(data, ("extra",), scratch)  # points into it
    blockscan.scan(b"\n".join(reversed(lines)) + b"\n", ("extra",), scratch)
    for b in (small, blk):
        for slot, want in (("prompt", texts),
                           ("turns_of_a", [x for t in texts for x in (t, "x")])):
            cuts = b.texts[slot]
            got = [bytes(cuts.data[x:y]).decode() for x, y in zip(cuts.offsets[:-1],
                                                                  cuts.offsets[1:])]
            assert got == want, slot
            assert list(cuts.at) == list(np.arange(len(want)))
        assert list(b.line_of_row) == list(range(len(texts)))
