"""Rationale themes as properties, not letters (issue 22, item 2), on real judge rationales.

Reasons are embedded with the outputs named by role (``rationale.roles``): the side a reason
favours is "the preferred response", the other "the other response". Checked on the real
AlpacaEval (``Model 'M'``), MT-Bench (``Assistant A``) and LLM Comparator (``Response A``)
rationales: the real reasons that say the same thing of A (favouring A) and of B (favouring B)
read the same; every reason reads the same in the comparison and in its swapped twin; a real
clustering run embeds, keywords and titles (the LLM title prompt too) no letter, and its
swapped twin gives the same clusters with the A / B shares exchanged. ``reason_themes`` is
checked against a direct count on the bundled demos, ``theme_lift`` against an independent
computation on a real file with a planted slice."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from conftest import ALPACA_COT, LLMC_TINY, MT_JUDGMENTS, ROOT
from fault_proxy import _sse

from comparator.clustering import ClusterConfig, cluster_rationales, pipeline
from comparator.clustering.rationale import roles
from comparator.clustering.reasons import extract_reasons
from comparator.clustering.themes import reason_themes, theme_lift
from comparator.formats import load
from comparator.schema.labels import swap_ab
from comparator.schema.swap import swap
from comparator.store.cache import open_store

DEMOS = sorted(p for p in (ROOT / "data").glob("*.jsonl")
               if '"clusters"' in p.open(encoding="utf-8").readline())
# an output named by its letter, in the forms the real judges write (after oriented_rationale)
LETTER = re.compile(r"\b(?:[Rr]esponse|[Aa]ssistant|[Aa]nswer|[Oo]utput|[Mm]odel|[Cc]onversation)"
                    r"s?(?:\s+(?:[AB]\b|\([abAB]\))|_[abAB]\b)|\b[AB]['’]s\b|^[AB]:|"
                    r"\b(?:than|over|unlike) [AB]\b")


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("path", [ALPACA_COT, MT_JUDGMENTS], ids=["alpaca", "mt-bench"])
def test_the_same_property_for_a_or_for_b_reads_the_same(path):
    """Real reasons whose text, said of the other side, is another real reason favouring that
    side (AlpacaEval: "Model A: its thoroughness." / "Model B: its thoroughness."; MT-Bench:
    "Assistant A's response is more helpful and detailed." and its B twin)."""
    reasons = extract_reasons(load(path).comparison)
    for_a = {r["text"] for r in reasons if r["favours"] == "A"}
    twins = sorted({r["text"] for r in reasons if r["favours"] == "B"
                    and swap_ab(r["text"]) != r["text"] and swap_ab(r["text"]) in for_a})
    assert len(twins) >= 2, path.name
    for text_b in twins:
        text_a = swap_ab(text_b)
        said = roles(text_b, "B")
        assert said == roles(text_a, "A"), (text_a, text_b)
        assert re.search(r"(?i)(preferred|other) response|both responses", said), said
        assert not LETTER.search(said), said
    # by hand, from the files: the favoured side and the other one
    if path == MT_JUDGMENTS:
        assert roles("Assistant B's response is more helpful and detailed.", "B") == \
            "The preferred response is more helpful and detailed."
        assert roles("Assistant B's response is more helpful and detailed.", "A") == \
            "The other response is more helpful and detailed."


def test_llm_comparator_rationales_name_roles():
    reasons = extract_reasons(load(LLMC_TINY).comparison)
    said = {(r["favours"], r["text"]): roles(r["text"], r["favours"]) for r in reasons}
    assert said[("A", "Response A is more detailed.")] == "The preferred response is more detailed."
    # favouring B, conceding a point to A: A is "the other response"
    assert said[("B", "Response A more succinctly answers the question.")] == \
        "The other response more succinctly answers the question."
    assert not [s for s in said.values() if LETTER.search(s)]


@pytest.mark.parametrize("path", [ALPACA_COT, MT_JUDGMENTS, LLMC_TINY],
                         ids=["alpaca", "mt-bench", "llm-comparator"])
def test_every_real_reason_reads_the_same_with_a_and_b_swapped(path):
    """The comparison and its swapped twin (``schema.swap``: B becomes A, each judgment's
    score and text turned over) give the same role texts, reason by reason, ties included
    (the side a tie's reason names first is "one response")."""
    comp = load(path).comparison
    mine, theirs = extract_reasons(comp), extract_reasons(swap(comp))
    assert len(mine) == len(theirs) > 0
    named = ties = 0
    for r, s in zip(mine, theirs):
        assert {r["favours"], s["favours"]} <= {"A", "B", None}
        said = roles(r["text"], r["favours"])
        assert said == roles(s["text"], s["favours"]), (r, s)
        assert not LETTER.search(said), said
        named += said != r["text"]
        if r["favours"] is None and said != r["text"]:
            ties += 1
            assert "preferred response" not in said, said
            assert re.search(r"(?i)one response|both responses", said), said
    assert named > len(mine) / 4
    if path == MT_JUDGMENTS:
        assert ties > 10


def _subset(path, n: int):
    comp = load(path).comparison
    return comp.subset(comp.examples[:n])


def test_a_clustering_run_embeds_properties_and_its_swap_gives_the_same_clusters(
        home, monkeypatch):
    embedded: list[list[str]] = []
    real_embed = pipeline.embed

    def recording(texts, *args, **kw):
        embedded.append(list(texts))
        return real_embed(texts, *args, **kw)

    monkeypatch.setattr(pipeline, "embed", recording)
    comp = _subset(MT_JUDGMENTS, 12)  # ~100 real reasons
    run = cluster_rationales(comp, ClusterConfig(k=3, with_map=False))
    stored = [r for ex in comp.examples for r in ex.get("reasons") or ()]
    assert 50 <= len(stored) == run.n_items == len(embedded[0])
    texts = embedded[0]
    assert texts == [roles(r["text"], r["favours"]) for r in stored]
    assert not [t for t in texts if LETTER.search(t)]
    assert sum("preferred response" in t.lower() for t in texts) > len(texts) / 4
    # what users read keeps A / B
    assert sum(bool(LETTER.search(r["text"])) for r in stored) > len(stored) / 4
    for c in run.clusters:
        assert not LETTER.search(c["title"]) and not LETTER.search(c["keyword_title"])
        assert "preferred" not in c["keywords"]

    twin = swap(_subset(MT_JUDGMENTS, 12))
    run2 = cluster_rationales(twin, ClusterConfig(k=3, with_map=False))
    assert embedded[1] == texts and run2.computed_embeddings == 0  # the very same texts
    assert [(c["id"], c["size"], c["title"]) for c in run2.clusters] == \
        [(c["id"], c["size"], c["title"]) for c in run.clusters]
    for c, d in zip(run.clusters, run2.clusters):  # which model the judge credits
        assert (c["favours_a"], c["favours_b"]) == (d["favours_b"], d["favours_a"])


class _Scripted:
    """A local OpenAI-compatible server: no bullets for the reasons prompt (the offline
    splitter's real reasons are used), a fixed title; it records every request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                outer.requests.append(body)
                user = body["messages"][-1]["content"]
                data = _sse("no bullets" if user.startswith("Rationale:") else '"Depth"')
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_llm_title_prompt_gets_role_texts(home):
    from comparator.engines.openai_backend import OpenAIBackend

    server = _Scripted()
    try:
        comp = _subset(MT_JUDGMENTS, 6)
        llm = OpenAIBackend("scripted", base_urls=[server.url], api_key="x")
        run = cluster_rationales(comp, ClusterConfig(k=2, with_map=False, llm=llm))
    finally:
        server.close()
    asked = [b["messages"][-1]["content"] for b in server.requests
             if not b["messages"][-1]["content"].startswith("Rationale:")]
    assert len(asked) == len(run.clusters) == 2
    listed = [line[2:] for a in asked for line in a.splitlines() if line.startswith("- ")]
    assert listed and not [t for t in listed if LETTER.search(t)]
    assert any("preferred response" in t.lower() for t in listed)
    assert {c["title"] for c in run.clusters} == {"Depth"}
    stored = [r["text"] for ex in comp.examples for r in ex.get("reasons") or ()]
    assert any(LETTER.search(t) for t in stored)  # the reasons shown keep A / B


def _direct(comp) -> tuple[dict[int, set[int]], dict[int, list], set[int]]:
    """Per cluster id: the examples with a reason in it and its reasons' sides; the examples
    with any reason. Read from the example dicts, one by one."""
    members: dict[int, set[int]] = {}
    sides: dict[int, list] = {}
    with_reason = set()
    for i, ex in enumerate(comp.examples):
        for r in ex.get("reasons") or ():
            with_reason.add(i)
            members.setdefault(r["cluster"], set()).add(i)
            sides.setdefault(r["cluster"], []).append(r["favours"])
    return members, sides, with_reason


@pytest.mark.parametrize("demo", DEMOS, ids=lambda p: p.stem)
def test_reason_themes_match_a_direct_count_on_the_demos(demo, home):
    assert len(DEMOS) >= 2
    comp = load(demo).comparison
    members, sides, with_reason = _direct(comp)
    clusters = comp.metadata["clusters"]["clusters"]
    for opened in (comp, open_store(demo).comparison):  # example dicts, and the Arrow store
        th = reason_themes(opened)
        assert th is reason_themes(opened)  # cached
        assert th.n == len(comp.examples)
        assert th.titles == {c["id"]: c["title"] for c in clusters}
        assert set(np.flatnonzero(th.has_reason)) == with_reason
        for c in clusters:
            mine = th.theme == c["id"]
            assert set(th.example[mine].tolist()) == members[c["id"]]
            fav = [("A", "B", None)[k] for k in th.favours[mine]]
            assert fav == sides[c["id"]]
            assert fav.count("A") == c["favours_a"] and fav.count("B") == c["favours_b"]
            assert set(th.pair_example[th.pair_index == list(th.ids).index(c["id"])]
                       .tolist()) == members[c["id"]]
    assert reason_themes(load(ROOT / "data" / "llmbar_gpt-4_vs_human.jsonl").comparison) \
        is None


def test_theme_lift_finds_a_planted_theme_with_its_lift_counted_by_hand(home):
    from statsmodels.stats.proportion import proportions_ztest

    demo = next(p for p in DEMOS if p.name.startswith("alpaca"))
    comp = load(demo).comparison
    members, sides, with_reason = _direct(comp)
    n = len(comp.examples)
    # the smallest theme of at least 60 examples: 2/3 of them, and as many others at random
    planted = min((c for c in members if c >= 0 and len(members[c]) >= 60),
                  key=lambda c: len(members[c]))
    rng = np.random.default_rng(7)
    inside = rng.choice(sorted(members[planted]), 2 * len(members[planted]) // 3, replace=False)
    others = rng.choice(sorted(set(range(n)) - members[planted]), len(inside), replace=False)
    mask = np.zeros(n, bool)
    mask[inside] = mask[others] = True

    rows = theme_lift(reason_themes(comp), mask, top=3)
    assert rows and rows[0]["theme"] == planted
    top = rows[0]
    # independently, from the example dicts
    slice_ = {i for i in with_reason if mask[i]}
    rest = with_reason - slice_
    x_in, x_out = len(members[planted] & slice_), len(members[planted] & rest)
    assert top["n_in"] == x_in >= 5
    assert top["share_in"] == pytest.approx(x_in / len(slice_))
    assert top["share_out"] == pytest.approx(x_out / len(rest))
    assert top["lift"] == pytest.approx((x_in / len(slice_)) / (x_out / len(rest)))
    _, p = proportions_ztest([x_in, x_out], [len(slice_), len(rest)])
    assert top["p_value"] == pytest.approx(p, rel=1e-6) and p < 1e-6
    in_slice = [r["favours"] for i in sorted(slice_) for r in comp.examples[i]["reasons"]
                if r["cluster"] == planted]
    assert (top["favours_a"], top["favours_b"]) == (in_slice.count("A"), in_slice.count("B"))
    assert top["favours"] == ("A" if in_slice.count("A") > in_slice.count("B") else "B")
    assert top["title"] == next(c["title"] for c in comp.metadata["clusters"]["clusters"]
                                if c["id"] == planted)
    assert [r["lift"] for r in rows] == sorted((r["lift"] for r in rows), reverse=True)
    assert all(r["lift"] > 1 and r["n_in"] >= 5 for r in rows)
    # the rest as the slice: the planted theme is under-represented there, never listed
    assert planted not in [r["theme"] for r in theme_lift(reason_themes(comp), ~mask, top=8)]
    with pytest.raises(ValueError, match="bool array over the"):
        theme_lift(reason_themes(comp), mask[:-1])
