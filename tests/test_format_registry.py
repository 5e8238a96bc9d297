"""The format registry: names, aliases, exports and detection order derive from the formats'
own modules, and a format added in one module is detected, loaded and listed."""

from __future__ import annotations

import pytest
from conftest import ALPACA_COT, LLMBAR, LLMC_TINY, MT_JUDGMENTS, PANDALM

import comparator.formats as formats
from comparator.formats import ALIASES, EXPORTS, FORMATS, InputError, export_format, load
from comparator.formats.common import Source, finish
from comparator.formats.detect import detect_format
from comparator.formats.registry import REGISTRY, Format, Signature, by_keys, register


def test_names_aliases_and_exports():
    assert list(FORMATS) == ["native", "table", "llm-comparator", "mt-bench", "arena",
                             "alpaca-eval", "llmbar", "pandalm", "arena-hard", "mt-bench-single",
                             "judgebench"]
    assert ALIASES == {"csv": "table", "jsonl": "table", "llmc": "llm-comparator",
                       "fastchat": "mt-bench", "alpacaeval": "alpaca-eval",
                       "alpaca_eval": "alpaca-eval", "mt_bench": "mt-bench",
                       "arena_hard": "arena-hard", "mt-bench-single-grade": "mt-bench-single"}
    assert EXPORTS == {"native": ".jsonl", "llm-comparator": ".json", "csv": ".csv"}
    assert [export_format("x", to) for to in ("llmc", "jsonl", "table")] == [
        "llm-comparator", "native", "csv"]
    assert [f.name for f in by_keys()] == [
        "mt-bench", "arena-hard", "judgebench", "mt-bench-single", "arena", "alpaca-eval",
        "llmbar", "pandalm", "native", "table"]


@pytest.mark.parametrize("path,name", [(MT_JUDGMENTS, "mt-bench"), (ALPACA_COT, "alpaca-eval"),
                                       (LLMBAR, "llmbar"), (PANDALM, "pandalm"),
                                       (LLMC_TINY, "llm-comparator")])
def test_real_files_detected_by_their_module(path, name):
    assert detect_format(Source(path)) == name
    assert REGISTRY[name].read.__module__ == f"comparator.formats.{name.replace('-', '_')}"


def test_register_refuses_a_taken_name_or_alias():
    with pytest.raises(ValueError, match=r"\['csv'\] are already taken"):
        register(Format("other", "x", REGISTRY["table"].read, aliases=("csv",)))
    assert "other" not in REGISTRY


def _read_fake(src, opts):  # a FAKE format, for this test only
    examples = [{"id": str(r["qid"]), "prompt": r["q"], "response_a": r["a"], "response_b": r["b"],
                 "judgments": [{"score": float(r["verdict"])}]} for _, r in src.jsonl]
    return finish(src.path, examples, model_a="x", model_b="y", source_format="fake"), []


def test_a_new_format_is_one_registration(tmp_path, monkeypatch):
    fake = Format("fake", "a FAKE format for this test", _read_fake, aliases=("fk",), order=55,
                  misfit=Signature(("qid", "verdict")))
    monkeypatch.setitem(REGISTRY, "fake", fake)
    monkeypatch.setitem(formats.FORMATS, "fake", fake.read)
    monkeypatch.setitem(formats.ALIASES, "fk", "fake")
    path = tmp_path / "f.jsonl"
    path.write_text('{"qid": 1, "q": "Q", "a": "A", "b": "B", "verdict": 1}\n'
                    '{"qid": 2, "q": "Q2", "a": "A", "b": "B", "verdict": -1}\n')
    loaded = load(path)
    assert (loaded.format, len(loaded.comparison.examples)) == ("fake", 2)
    assert load(path, format="fk").format == "fake"
    other = tmp_path / "g.jsonl"
    other.write_text('{"nothing": 1}\n{"nothing": 2}\n')
    with pytest.raises(InputError) as e:
        load(other)
    tried = str(e.value).split("Tried as: ")[1]
    assert tried.index("arena (") < tried.index("fake (no qid, verdict)") < \
        tried.index("alpaca-eval (")
