"""Every finding's filter is a filter expression (issue 22): several ``field=value`` slices
ANDed, paired differences ``a-b.NAME`` and the prompt's ``prompt.words`` / ``prompt.turns``,
through the library (``expr.parse`` + ``filters.apply``), the ``report`` CLI and the dashboard's
state (``ui.conditions.apply_exprs``, the link's ``?and=``).

The file: MT-Bench's real GPT-4 pair judgments of phi-3 vs phi-3-dpo with the real questions;
every third example becomes the real two-turn conversation (both user turns of question.jsonl,
both answer turns of each model from model_answer/), and two fields are derived from the
examples: ``tags`` (the category and one-turn / two-turn) and ``source``, whose values hold
':' ';' ',' and '&' (what a link must carry intact)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import MT_JUDGMENTS, MT_QUESTIONS, SHARED, read_jsonl, run_cli

from comparator.analysis.expr import parse, to_exprs
from comparator.analysis.filters import Filters, apply, slice_mask
from comparator.analysis.metrics.slicing import column, condition_mask
from comparator.analysis.stats import slice_values
from comparator.formats import LoadOptions, load
from comparator.formats.native import write_native
from comparator.schema.records import prompt_text
from comparator.store.cache import open_store

ANSWERS = SHARED / "mt_bench/model_answer"


def source_of(ex: dict) -> str:
    """A value with every character a link must carry: ':' ';' ',' '&' (from the prompt's
    length and the question's number: a field apart from category and turns)."""
    size = "long" if len(prompt_text(ex).split()) >= 25 else "short"
    return f"mt:{size};q,{int(ex['metadata']['question_id']) % 2}&x"


def write_conjunction_file(path: Path) -> Path:
    comp = load(MT_JUDGMENTS, options=LoadOptions(questions=MT_QUESTIONS)).comparison
    questions = {q["question_id"]: q["turns"] for q in read_jsonl(MT_QUESTIONS)}
    answers = {side: {a["question_id"]: a["choices"][0]["turns"]
                      for a in read_jsonl(ANSWERS / f"{model}.jsonl")}
               for side, model in (("a", comp.model_a), ("b", comp.model_b))}
    examples = []
    for k, ex in enumerate(comp.examples):
        qid = int(ex["metadata"]["question_id"])
        ex = dict(ex)
        two = k % 3 == 0 and len(questions[qid]) == 2
        if two:
            ex.pop("prompt")
            ex["messages"] = [{"role": "user", "content": q} for q in questions[qid]]
            ex["response_a"], ex["response_b"] = answers["a"][qid], answers["b"][qid]
        ex["tags"] = [ex["category"], "two-turn" if two else "one-turn"]
        ex["metadata"] = {**ex["metadata"], "source": source_of(ex)}
        examples.append(ex)
    out = comp.subset(examples)
    out.metadata = dict(comp.metadata)
    write_native(out, path)
    return path


@pytest.fixture(scope="module")
def conj_file(tmp_path_factory) -> Path:
    return write_conjunction_file(tmp_path_factory.mktemp("conj") / "mt_conjunctions.jsonl")


def _words(value) -> int:
    """Words of a response as the built-in counts them: each turn's whitespace tokens."""
    return sum(len(t.split()) for t in ([value] if isinstance(value, str) else value))


def test_expressions_round_trip():
    exprs = ["category=coding", "tags=math", "tags=code", "source=mt:a;q,1&x",
             "winner=A|tie", "score<0.5", "cluster=3", "a.words>200", "a-b.words>=120",
             "a-b.words<480", "prompt.words>=35", "prompt.turns=2", "b.has_code!=1"]
    f = parse(exprs)
    assert (f.slice_field, f.slice_value) == ("category", "coding")  # the sidebar's slice
    assert f.slices == [("tags", "math"), ("tags", "code"), ("source", "mt:a;q,1&x")]
    assert ("a-b.words", ">=", 120.0) in f.metrics and ("prompt.turns", "==", 2.0) in f.metrics
    assert parse(to_exprs(f)) == f
    assert sorted(to_exprs(f)) == sorted(exprs)
    described = f.describe()
    assert all(s in described for s in ("tags = math", "tags = code", "a-b.words >= 120",
                                        "prompt.words >= 35"))
    # added to a base that has its slice: the new ones are further slices
    g = parse(["judge=gpt-4"], Filters(slice_field="category", slice_value="math"))
    assert g.slices == [("judge", "gpt-4")]


@pytest.mark.parametrize("expr, says", [
    ("a-b.words>=many", "'many' is not a number"),
    ("a-b.words=many", "'many' is not a number"),
    ("prompt.lines>3", "prompt.lines takes '='"),
    ("tags>math", "tags takes '='"),
])
def test_a_bad_expression_is_one_line_naming_it(expr, says):
    with pytest.raises(ValueError) as e:
        parse([expr])
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"filter {expr!r}") and says in msg


def test_apply_is_the_and_of_every_condition(conj_file):
    comp = open_store(conj_file).comparison
    raw = [json.loads(x) for x in conj_file.read_text().splitlines()[1:]]
    # a source whose one-turn writing examples the difference condition splits
    src = next(ex["metadata"]["source"] for ex in raw if ex["category"] == "writing"
               and "one-turn" in ex["tags"]
               and _words(ex["response_a"]) - _words(ex["response_b"]) < -50)
    exprs = ["category=writing", "tags=one-turn", f"source={src}", "a-b.words>=-50",
             "prompt.words<60"]
    got = apply(comp, parse(exprs))
    hand = (slice_mask(comp, "category", "writing") & slice_mask(comp, "tags", "one-turn")
            & slice_mask(comp, "source", src)
            & condition_mask(comp, "a-b.words", ">=", -50)
            & condition_mask(comp, "prompt.words", "<", 60))
    assert np.array_equal(got, hand)
    # and from the example dicts themselves, without the library's columns
    mine = np.array([ex["category"] == "writing" and "one-turn" in ex["tags"]
                     and ex["metadata"]["source"] == src
                     and _words(ex["response_a"]) - _words(ex["response_b"]) >= -50
                     and len(prompt_text(ex).split()) < 60 for ex in raw])
    assert np.array_equal(got, mine)
    assert 0 < got.sum() < apply(comp, parse(exprs[:3])).sum()


def test_one_field_twice_means_both_values(conj_file):
    comp = open_store(conj_file).comparison
    raw = [json.loads(x) for x in conj_file.read_text().splitlines()[1:]]
    both = apply(comp, parse(["tags=math", "tags=two-turn"]))
    assert np.array_equal(both, [{"math", "two-turn"} <= set(ex["tags"]) for ex in raw])
    assert 0 < both.sum() < apply(comp, parse(["tags=math"])).sum()
    assert not apply(comp, parse(["tags=one-turn", "tags=two-turn"])).any()


@pytest.mark.parametrize("opener", ["store", "dicts"])
def test_prompt_columns_count_words_and_user_turns(conj_file, opener):
    comp = (open_store(conj_file) if opener == "store" else load(conj_file)).comparison
    raw = [json.loads(x) for x in conj_file.read_text().splitlines()[1:]]
    words = [len(prompt_text(ex).split()) for ex in raw]
    turns = [sum(m["role"] == "user" for m in ex["messages"]) if ex.get("messages") else 1
             for ex in raw]
    assert column(comp, "prompt.words").tolist() == words
    assert column(comp, "prompt.turns").tolist() == turns
    assert {1, 2} <= set(turns)
    assert apply(comp, parse(["prompt.turns>1"])).sum() == turns.count(2)


def test_one_expression_joined_by_and_is_the_same_conjunction():
    joined = parse(["category=coding & a-b.words>=120 & a-b.words<480 & prompt.turns=2"])
    assert joined == parse(["category=coding", "a-b.words>=120", "a-b.words<480",
                            "prompt.turns=2"])
    # " & " joins only before a condition: values keep theirs; a search takes the rest
    assert parse(["category=Q & A & tags=x"]).slice_value == "Q & A"
    assert parse(["category=Q & A & tags=x"]).slices == [("tags", "x")]
    assert parse(["source=mt:long;q,1&x & tags=x"]).slice_value == "mt:long;q,1&x"
    f = parse(["tags=x & search=rock & roll=1"])
    assert (f.slice_field, f.search) == ("tags", "rock & roll=1")
    with pytest.raises(ValueError, match="^filter 'a.words>lots': 'lots' is not a number$"):
        parse(["category=coding & a.words>lots"])


def test_a_metric_slice_value_is_a_slice_and_writes_back(conj_file):
    """The sidebar's "Slice by a-b.words" picks a bin such as ``[24, 70)``: its expression is
    a slice (not a number), selects the bin's examples and round-trips; so does a metadata key
    named like a filter (written ``metadata.score``)."""
    comp = open_store(conj_file).comparison
    for name in ("a-b.words", "prompt.words", "a.has_list"):
        idx, code, names = slice_values(comp, name)
        for c, value in enumerate(names):
            f = parse([f"{name}={value}"])
            assert (f.slice_field, f.slice_value, f.metrics) == (name, value, [])
            assert np.array_equal(np.flatnonzero(apply(comp, f)), np.sort(idx[code == c]))
            assert parse(to_exprs(f)) == f
    f = Filters(slice_field="category", slice_value="math", slices=[("score", "3")])
    assert to_exprs(f) == ["category=math", "metadata.score=3"]
    assert parse(to_exprs(f)).slices == [("metadata.score", "3")]
    assert parse(["a-b.words=7"]).metrics == [("a-b.words", "==", 7.0)]


def test_an_unknown_metric_names_the_choices(conj_file):
    comp = open_store(conj_file).comparison
    with pytest.raises(KeyError) as e:
        apply(comp, parse(["a-b.wordz>3"]))
    assert "a-b.wordz" in str(e.value) and "prompt.words" in str(e.value)


def test_report_cli_applies_every_condition(conj_file, tmp_path):
    # a finding's filter is one expression joined by " & "; --filter takes it as it is
    exprs = ["tags=one-turn & tags=math", "a-b.words>=-100", "prompt.words>=10"]
    out = tmp_path / "r.json"
    r = run_cli("report", conj_file, *[a for e in exprs for a in ("--filter", e)],
                "--by", "prompt.turns", "-o", out)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    want = int(apply(open_store(conj_file).comparison, parse(exprs)).sum())
    assert 0 < want and data["n_filtered"] == want
    described = data["provenance"]["filter_description"]
    assert "tags = one-turn; tags = math" in described and "a-b.words >= -100" in described
    assert data["provenance"]["filters"] == exprs


def test_apply_exprs_makes_the_view_and_its_link(conj_file):
    import streamlit as st

    from comparator.ui import conditions, state, view

    loaded = open_store(conj_file)
    comp = loaded.comparison
    src = next(source_of(ex) for ex in comp.examples
               if ex["category"] == "math" and ex.get("messages"))
    exprs = ["category=math", "tags=two-turn", f"source={src}", "a-b.words>=-1000",
             "prompt.turns>=2", "winner=A|B|tie"]
    state.clear_filters()
    st.session_state[state.F_SEARCH] = "left over"
    conditions.apply_exprs(comp, exprs)
    assert state.filters() == parse(exprs)  # exactly these, nothing left over
    assert st.session_state[state.W_FIELD] == "category"  # the sidebar's slice moved
    want = int(apply(comp, parse(exprs)).sum())
    assert want > 0 and int(state.mask(loaded)[0].sum()) == want
    qp = view.view_query()
    assert qp["and"] == ["tags:two-turn", f"source:{src}"]
    state.clear_filters()
    view.read_view({**qp, "slice": "category:math"})
    assert int(state.mask(loaded)[0].sum()) == want
    # a condition this file lacks: refused, the view stays as it was
    with pytest.raises(ValueError, match="nofield"):
        conditions.apply_exprs(comp, ["nofield=1"])
    assert int(state.mask(loaded)[0].sum()) == want
    # a link's condition this file lacks is dropped, with the other slice conditions
    st.session_state[state.F_SLICES] = [("tags", "two-turn"), ("nofield", "1")]
    assert state.mask(loaded)[1] is None and not state.filters().slices
    state.clear_filters()
