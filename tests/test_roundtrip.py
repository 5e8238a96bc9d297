"""Exports and re-imports lose nothing; older native files are upgraded on read."""

from __future__ import annotations

import csv
import json

import orjson
import pytest
from conftest import ALL_JUDGED, LLMBAR, LLMC_TINY, MT_JUDGMENTS, PANDALM, read_json

from comparator.analysis import summary
from comparator.analysis.stats import winners
from comparator.formats import LoadOptions, load, save
from comparator.formats.native import read_native
from comparator.schema.records import SCHEMA_VERSION, example_score


@pytest.mark.parametrize("path", ALL_JUDGED, ids=lambda p: p.name)
def test_native_round_trip_is_lossless(path, tmp_path):
    comp = load(path).comparison
    out = tmp_path / "c.jsonl"
    save(comp, out)
    back = load(out)
    assert back.format == "native"
    assert back.comparison.examples == comp.examples
    assert (back.comparison.model_a, back.comparison.model_b) == (comp.model_a, comp.model_b)
    assert back.comparison.metadata == comp.metadata


def test_llm_comparator_round_trip_equal(tmp_path):
    comp = load(LLMC_TINY).comparison
    save(comp, tmp_path / "out.json")
    assert read_json(tmp_path / "out.json") == read_json(LLMC_TINY)
    # and through our native format too
    save(comp, tmp_path / "n.jsonl")
    save(load(tmp_path / "n.jsonl").comparison, tmp_path / "again.json")
    assert read_json(tmp_path / "again.json") == read_json(LLMC_TINY)


def test_llm_comparator_all_field_types_round_trip(tmp_path):
    """A file using every custom field type of LLM Comparator's schema, as its types.ts
    documents them, with multimodal chunks, rationale lists and clusters."""
    from comparator.formats.llm_comparator import FIELD_TYPES

    fields = {
        "number": 3.5, "string": "id-1", "category": "news", "text": "long text",
        "url": "https://example.org", "image_path": "img/a.png", "image_byte": "aGVsbG8=",
        "per_model_boolean": [True, False], "per_model_number": [10, 12.5],
        "per_model_category": ["formal", "casual"], "per_model_text": ["x", "y"],
        "per_rating_string": "r", "per_rating_per_model_category": ["ok", "bad"], "base": "b",
    }
    assert set(fields) == set(FIELD_TYPES)
    doc = {
        "metadata": {"source_path": "t", "custom_fields_schema": [
            {"name": k, "type": k} for k in fields]},
        "models": [{"name": "m1"}, {"name": "m2"}],
        "examples": [{
            "input_text": [{"data": "What is in the image?", "type": "text"},
                           {"data": "aGVsbG8=", "type": "image_byte"}],
            "tags": ["vision"], "output_text_a": "a cat", "output_text_b": "a dog",
            "score": 0.25,
            "individual_rater_scores": [
                {"score": 0.5, "rating_label": "A is slightly better", "is_flipped": False,
                 "rationale": "cat", "custom_fields": {"per_rating_string": "r1"}},
                {"score": None, "rating_label": None, "is_flipped": True, "rationale": None}],
            "rationale_list": [{"rationale": "A names the animal", "similarities": [0.9, 0.1]}],
            "custom_fields": fields,
        }],
        "rationale_clusters": [{"id": 0, "title": "accuracy"}, {"id": 1, "title": "style"}],
    }
    src = tmp_path / "all.json"
    src.write_text(json.dumps(doc))
    comp = load(src).comparison
    ex = comp.examples[0]
    assert ex["prompt"] == "What is in the image?"
    assert [j.get("status", "ok") for j in ex["judgments"]] == ["ok", "unscored"]
    assert example_score(ex) == 0.5  # the unscored rating never counts as a tie
    save(comp, tmp_path / "n.jsonl")
    save(load(tmp_path / "n.jsonl").comparison, tmp_path / "out.json")
    assert read_json(tmp_path / "out.json") == doc


@pytest.mark.parametrize("path", [MT_JUDGMENTS, PANDALM], ids=lambda p: p.name)
def test_export_to_llm_comparator_from_other_formats(path, tmp_path):
    comp = load(path).comparison
    save(comp, tmp_path / "out.json")
    doc = read_json(tmp_path / "out.json")
    assert [m["name"] for m in doc["models"]] == [comp.model_a, comp.model_b]
    assert len(doc["examples"]) == len(comp.examples)
    for ex, e in zip(comp.examples, doc["examples"], strict=True):
        assert e["score"] == pytest.approx(example_score(ex)) if example_score(ex) is not None \
            else e["score"] is None
        assert len(e["individual_rater_scores"]) == len(ex["judgments"])
    types = {f["name"]: f["type"] for f in doc["metadata"]["custom_fields_schema"]}
    assert types.get("category") == "category"
    # and LLM Comparator's file is read back with the same scores
    back = load(tmp_path / "out.json").comparison
    assert list(winners(back, judges=None)) == list(winners(comp, judges=None))


def test_csv_export_one_row_per_example(tmp_path):
    comp = load(MT_JUDGMENTS).comparison
    save(comp, tmp_path / "flat.csv")
    with open(tmp_path / "flat.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(comp.examples)
    assert [r["winner"] for r in rows] == list(winners(comp, judges=None))
    assert rows[0]["meta:question_id"] == "81"
    back = load(tmp_path / "flat.csv").comparison
    assert (back.model_a, back.model_b) == (comp.model_a, comp.model_b)
    s1, s2 = summary(comp), summary(back)
    for k in ("a_wins", "b_wins", "ties", "unscored", "win_rate_a"):
        assert s1[k] == s2[k]
    assert back.examples[0]["metadata"]["question_id"] == 81


def test_table_with_column_mapping(tmp_path):
    """A CSV with its own column names, read through --map, against the LLMBar labels."""
    raw = read_json(LLMBAR)
    path = tmp_path / "mine.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["q", "first", "second", "who_won", "batch"])
        for r in raw:
            w.writerow([r["input"], r["output_1"], r["output_2"],
                        "A" if r["label"] == 1 else "B", "llmbar"])
    mapping = {"prompt": "q", "response_a": "first", "response_b": "second", "label": "who_won"}
    comp = load(path, options=LoadOptions(mapping=mapping)).comparison
    assert len(comp.examples) == len({(r["input"], r["output_1"], r["output_2"]) for r in raw})
    stats = summary(comp)
    assert (stats["a_wins"], stats["b_wins"]) == (sum(r["label"] == 1 for r in raw),
                                                  sum(r["label"] == 2 for r in raw))
    assert comp.examples[0]["metadata"] == {"batch": "llmbar"}


def test_native_schema_v1_is_upgraded(tmp_path):
    path = tmp_path / "old.jsonl"
    lines = [
        {"kind": "comparator.comparison", "schema_version": 1, "models": ["m1", "m2"]},
        {"id": "1", "prompt": "p", "response_a": "a", "response_b": "b",
         "judgments": [{"winner": "A", "judge": "j"}, {"winner": None, "judge": "j"}]},
        {"id": "2", "prompt": "p2", "response_a": "a", "response_b": "b",
         "judgments": [{"winner": "tie"}]},
    ]
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines))
    comp = read_native(path)
    assert (comp.model_a, comp.model_b, comp.schema_version) == ("m1", "m2", SCHEMA_VERSION)
    j = comp.examples[0]["judgments"]
    assert j[0]["score"] == 1.0 and j[1]["status"] == "unscored"
    assert winners(comp, judges=None)[1] == "tie"


def test_native_sidecar_header(tmp_path):
    body = tmp_path / "pairs.jsonl"
    body.write_text(json.dumps({"id": "x", "prompt": "p", "response_a": "a",
                                "response_b": "b"}) + "\n")
    (tmp_path / "pairs.meta.json").write_text(json.dumps(
        {"kind": "comparator.comparison", "schema_version": 2, "model_a": "m1", "model_b": "m2"}))
    comp = load(body, format="native").comparison
    assert comp.model_a == "m1" and winners(comp, judges=None)[0] == "unscored"
