"""Ranked search (words + meaning) on real AlpacaEval prompts: BM25 against an independent
computation of the formula, distinctive phrases, paraphrases, the filter mask, the page."""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pytest
from conftest import ROOT

from comparator.formats import load
from comparator.search.ranked import bm25_scores, field_texts, search, similarities
from comparator.ui import state

DEMO = ROOT / "data/alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl"


@pytest.fixture(scope="module")
def comp():
    full = load(DEMO).comparison
    return full.subset(full.examples[:300])


def _where(comp, needle: str) -> int:
    return next(i for i, ex in enumerate(comp.examples) if needle in ex["prompt"])


def test_bm25_equals_the_formula(comp):
    from bm25s.stopwords import STOPWORDS_EN

    stop = set(STOPWORDS_EN)
    texts = field_texts(comp)
    docs = ["\n".join(p) for p in zip(*(texts[f] for f in texts))]
    toks = [[t for t in re.findall(r"\w\w+", d.lower()) if t not in stop] for d in docs]
    n, avgdl, k1, b = len(docs), sum(map(len, toks)) / len(docs), 1.5, 0.75
    df = Counter(t for d in toks for t in set(d))
    query = "how do I bake chocolate chip cookies at home"
    q = [t for t in re.findall(r"\w\w+", query.lower()) if t not in stop]
    expected = np.zeros(n)
    for i, d in enumerate(toks):
        tf = Counter(d)
        for t in q:
            if tf[t]:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))  # Lucene's idf
                expected[i] += idf * tf[t] / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
    got = bm25_scores(comp, query)
    assert expected.max() > 0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    top = search(comp, query, k=5)
    assert [h.index for h in top] == list(np.argsort(-expected, kind="stable")[:5])


def test_distinctive_phrase_ranks_its_example_first(comp):
    for needle, query in [("Liebherr", "Liebherr crane lifting Mount Everest"),
                          ("Gremolata", "what is gremolata"),
                          ("Yamato", "Yamato battleship year")]:
        target = _where(comp, needle)
        hits = search(comp, query)
        assert hits[0].index == target, (query, hits[:3])
        assert "prompt" in hits[0].fields


def test_filters_restrict_the_results(comp):
    target = _where(comp, "Liebherr")
    mask = np.ones(len(comp.examples), dtype=bool)
    mask[target] = False
    assert target not in [h.index for h in search(comp, "Liebherr Everest", mask)]
    assert search(comp, "zzzqqqxxy") == []  # no word in the vocabulary: nothing, no error


def test_meaning_finds_paraphrases(comp):
    for needle, query in [("northern lights", "what makes the aurora borealis glow"),
                          ("cats always rub", "reasons felines rub on people"),
                          ("use my phone less", "tips to stop using my smartphone so much")]:
        target = _where(comp, needle)
        assert int(np.argmax(similarities(comp, query))) == target, query
        assert search(comp, query, meaning=True)[0].index == target


def test_examples_page_shows_ranked_results():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/examples.py").run()
    at.text_input(key=state.F_RANKED).set_value("Liebherr crane lifting Mount Everest").run()
    assert not at.exception, at.exception
    df = at.dataframe[0].value
    full = load(DEMO).comparison
    assert df.iloc[0]["id"] == full.examples[_where(full, "Liebherr")]["id"]
    assert list(df["rank"][:3]) == [1, 2, 3]
    assert "prompt" in df.iloc[0]["matched in"]
