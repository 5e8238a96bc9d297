"""Each response's length in characters is counted once, as the store's table is built, by every
reader (Arrow's, the line reader, the LLM Comparator stream, the importers), and the statistics
read it there instead of the texts; a length the store did not count itself is never used."""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ALL_JUDGED, LLMC_TINY, ROOT, SHARED, run_cli

from comparator.analysis.length_control import lc_win_rate
from comparator.formats import LoadOptions, load
from comparator.schema.records import response_text
from comparator.store import native, schema, verify
from comparator.store.cache import open_store, write_parquet
from comparator.store.table import Store, store_for

MT_QUESTIONS = SHARED / "mt_bench" / "question.jsonl"
ALPACA_COT = SHARED / "alpaca_eval" / ("claude-2.1_vs_gpt4_1106_preview.cot_gpt4_turbo_fn"
                                       ".annotations.json")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _options(path):
    return LoadOptions(questions=MT_QUESTIONS) if "mt_bench/" in str(path) else None


def counted_as_python_counts(loaded, plain) -> None:
    """The table's lengths are the characters Python counts in each response of the file
    read by the importer (turns joined as the store joins them)."""
    table = store_for(loaded.comparison).table
    for side in "ab":
        want = [len(response_text(ex.get(f"response_{side}"))) for ex in plain.examples]
        got = table.column(f"response_{side}_chars").to_pylist()
        assert got == want, side


@pytest.mark.parametrize("path", [*ALL_JUDGED, *sorted((ROOT / "data").glob("*.jsonl"))],
                         ids=lambda p: p.name)
def test_every_reader_counts_the_characters_of_each_response(path):
    loaded = open_store(path, options=_options(path))
    assert loaded.reader  # the native demos by Arrow, LLM Comparator's by its stream, ...
    counted_as_python_counts(loaded, load(path, options=_options(path)).comparison)


def test_native_blocks_read_by_arrow_and_by_the_line_reader_count_the_same(tmp_path,
                                                                           monkeypatch):
    out = tmp_path / "converted.jsonl"
    assert run_cli("convert", ALPACA_COT, "-o", out).returncode == 0
    head, *rows = out.read_bytes().splitlines()
    lines = [head]
    for k in range(3):
        for r in rows:
            ex = orjson.loads(r)
            ex["id"] = f"{ex['id']}~{k}"
            lines.append(orjson.dumps(ex))
    ex = orjson.loads(lines[len(lines) // 2])
    ex["judgments"][0]["flipped"] = 1  # pydantic takes 1 for true; Arrow's reader does not
    ex["response_a"] = "naïve — 日本語 😀\n\tend"  # 2-, 3- and 4-byte characters
    lines[len(lines) // 2] = orjson.dumps(ex)
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    monkeypatch.setattr(native, "BLOCK", 1 << 20)
    loaded = open_store(path)
    assert "blocks by lines" in loaded.reader and loaded.reader.startswith("arrow, 1 of")
    counted_as_python_counts(loaded, load(path).comparison)


def test_the_statistics_read_the_counts_not_the_texts(monkeypatch):
    plain = load(ALPACA_COT).comparison
    want = lc_win_rate(plain, rounds=50)
    comp = open_store(ALPACA_COT).comparison
    assert store_for(comp).peek(("length_difference",)) is None

    def no_texts(self, name):
        raise AssertionError(f"read the texts of {name}")

    monkeypatch.setattr(Store, "texts", no_texts)
    got = lc_win_rate(comp, rounds=50)
    assert got == pytest.approx(want, rel=1e-12)
    assert want["win_rate_a_lc"] is not None


def test_lengths_written_in_a_parquet_file_are_not_trusted(tmp_path):
    good = tmp_path / "good.parquet"
    write_parquet(open_store(ALPACA_COT), good)
    assert not {n for n, _ in schema.CHARS} & set(pq.read_schema(good).names)
    table = pq.read_table(good)
    n = table.num_rows
    forged = table.append_column("response_a_chars", pa.array(np.arange(n) * 1000)) \
        .append_column("response_b_chars", pa.array(np.zeros(n, np.int64)))
    bad = tmp_path / "forged.parquet"
    pq.write_table(forged.replace_schema_metadata(table.schema.metadata), bad)
    want = lc_win_rate(load(ALPACA_COT).comparison, rounds=0)
    for path in (good, bad):
        assert lc_win_rate(open_store(path).comparison, rounds=0) == pytest.approx(want)


def test_a_cache_body_without_counts_or_with_a_negative_one_is_in_doubt():
    table = store_for(open_store(LLMC_TINY).comparison).table
    verify.check(table)  # the store's own table passes
    with pytest.raises(verify.Doubt, match="columns"):
        verify.check(table.drop_columns(["response_a_chars", "response_b_chars"]))
    i = table.schema.get_field_index("response_b_chars")
    values = table.column(i).to_numpy().copy()
    values[0] = -1
    with pytest.raises(verify.Doubt, match="response_b_chars"):
        verify.check(table.set_column(i, "response_b_chars", pa.array(values)))


def test_a_multi_turn_response_is_stored_once_and_read_joined(tmp_path):
    """MT-Bench single grades (two turns each, FastChat's layout) converted and read by Arrow's
    reader: each response's turns are stored, its text is not stored again beside them, and
    search, metrics and lengths read the turns joined as ``response_text`` joins them."""
    src = tmp_path / "gpt-4_single.jsonl"
    src.write_bytes(b"".join(p.read_bytes() for p in sorted(
        (SHARED / "mt_bench_single").glob("*.jsonl"))))
    out = tmp_path / "converted.jsonl"
    assert run_cli("convert", src, "-o", out).returncode == 0
    loaded, plain = open_store(out), load(out).comparison
    assert loaded.reader == "arrow"
    st = store_for(loaded.comparison)
    for side in "ab":
        given = [ex[f"response_{side}"] for ex in plain.examples]
        turns = [isinstance(v, list) for v in given]  # the second turn's grades: both turns
        assert 0 < sum(turns) < len(turns)
        stored = st.table.column(f"response_{side}").to_pylist()
        assert [v is None for v in stored] == turns  # the turns alone, not their text again
        want = [response_text(v) for v in given]
        assert st.texts(f"response_{side}").to_pylist() == want
        assert st.chars(side).tolist() == [len(t) for t in want]
        assert all("\n\n---\n\n" in t for t, multi in zip(want, turns) if multi)
