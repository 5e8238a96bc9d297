"""Rationale clusters on the real AlpacaEval rationales (805 judgments) with the offline
MiniLM embeddings, UMAP and KMeans / HDBSCAN; discovered categories on LLMBar prompts."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import numpy as np
import pytest
from conftest import ALPACA_COT, LLMBAR, MT_JUDGMENTS, read_json, run_cli

from comparator.analysis import slice_table
from comparator.clustering import ClusterConfig, cluster_prompts, cluster_rationales
from comparator.clustering.reasons import extract_reasons, oriented_rationale
from comparator.formats import load, save
from comparator.schema.settings import data_dir


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("home")
    mp.setenv("COMPARATOR_HOME", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def alpaca_run(home):
    comp = load(ALPACA_COT).comparison
    run = cluster_rationales(comp, ClusterConfig(k=8, seed=0))
    return comp, run


def test_reasons_come_from_the_real_rationales(alpaca_run):
    comp, run = alpaca_run
    raw = read_json(ALPACA_COT)
    with_text = sum(1 for r in raw if (r["raw_completion"] or {}).get("concise_explanation"))
    reasons = [(i, r) for i, ex in enumerate(comp.examples) for r in ex.get("reasons", [])]
    assert run.n_items == len(reasons) > with_text  # several reasons per rationale
    assert len({i for i, _ in reasons}) == with_text
    for i, r in reasons:
        oriented = " ".join(oriented_rationale(comp.examples[i]["judgments"][0]).split())
        # the reason's words, as written (a verdict's why keeps its side: "Model B: it ...")
        assert r["text"].split(": ", 1)[-1].rstrip(".")[1:] in oriented
    # AlpacaEval's "Model M / Model m" are named A / B in the file's orientation
    assert not any("Model M" in r["text"] or "Model m" in r["text"] for _, r in reasons)


def test_every_reason_is_clustered_or_shown_unclustered(alpaca_run):
    comp, run = alpaca_run
    labels = [r["cluster"] for ex in comp.examples for r in ex.get("reasons", [])]
    sizes = Counter(labels)
    assert sum(c["size"] for c in run.clusters) + run.unclustered == run.n_items == len(labels)
    assert {c["id"]: c["size"] for c in run.clusters} == {k: v for k, v in sizes.items()
                                                          if k != -1}
    favours = Counter((r["cluster"], r["favours"]) for ex in comp.examples
                      for r in ex.get("reasons", []))
    for c in run.clusters:
        assert c["favours_a"] == favours[(c["id"], "A")]
        assert c["favours_b"] == favours[(c["id"], "B")]
        assert c["favours_a"] + c["favours_b"] + c["neither"] == c["size"]
        assert c["keywords"] and c["title"]
    # every reason has a 2-D position and a similarity to each cluster
    r0 = comp.examples[0]["reasons"][0]
    assert r0["x"] is not None and len(r0["similarities"]) == len(run.clusters)


def test_same_run_twice_gives_the_same_clusters(alpaca_run, home):
    comp, run = alpaca_run
    before = [(r["cluster"], r["x"], r["y"]) for ex in comp.examples
              for r in ex.get("reasons", [])]
    shutil.rmtree(data_dir() / "umap", ignore_errors=True)  # recompute the map too
    again = load(ALPACA_COT).comparison
    run2 = cluster_rationales(again, ClusterConfig(k=8, seed=0))
    assert run2.computed_embeddings == 0  # embeddings came from the disk cache
    after = [(r["cluster"], r["x"], r["y"]) for ex in again.examples
             for r in ex.get("reasons", [])]
    assert after == before
    assert [c["title"] for c in run2.clusters] == [c["title"] for c in run.clusters]


def test_hdbscan_keeps_outliers_visible(home):
    comp = load(MT_JUDGMENTS).comparison
    run = cluster_rationales(comp, ClusterConfig(method="hdbscan", min_cluster_size=15,
                                                 with_map=False))
    assert run.n_items == len(extract_reasons(load(MT_JUDGMENTS).comparison))
    assert sum(c["size"] for c in run.clusters) + run.unclustered == run.n_items
    assert run.unclustered > 0 and len(run.clusters) >= 2
    assert comp.metadata["clusters"]["unclustered"] == run.unclustered


def test_discovered_categories_work_as_slices(home):
    comp = load(LLMBAR).comparison
    assert not any(ex.get("category") for ex in comp.examples)
    run = cluster_prompts(comp, ClusterConfig(k=6, with_map=False))
    assert len(run.clusters) == 6
    rows = slice_table(comp, "category")
    assert sum(r["n"] for r in rows) == len(comp.examples)
    assert {r["value"] for r in rows} == {c["title"] for c in run.clusters}
    same = [ex for ex in comp.examples if ex["prompt"] == comp.examples[0]["prompt"]]
    assert len({ex["category"] for ex in same}) == 1  # same prompt, same category


def test_cluster_cli_exports_llm_comparator_clusters(home, tmp_path):
    r = run_cli("cluster", MT_JUDGMENTS, "--k", "4", "--no-map", "-o", tmp_path / "c.json")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "c.json").read_text())
    assert [c["id"] for c in doc["rationale_clusters"]] == [0, 1, 2, 3]
    lists = [e["rationale_list"] for e in doc["examples"] if e.get("rationale_list")]
    assert lists and all(len(x["similarities"]) == 4 for rl in lists for x in rl)
    # native keeps everything, and reads back
    r = run_cli("cluster", MT_JUDGMENTS, "--k", "4", "--no-map", "-o", tmp_path / "c.jsonl")
    back = load(tmp_path / "c.jsonl").comparison
    assert back.metadata["clusters"]["clusters"][0]["size"] > 0
    assert np.isfinite([r["similarities"][0] for ex in back.examples
                        for r in ex.get("reasons", [])]).all()
    save(back, tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text())["rationale_clusters"] == \
        doc["rationale_clusters"]
    bad = run_cli("cluster", ALPACA_COT.parent / "gpt-3.5-turbo-1106_verbose_vs_gpt4_1106_preview"
                  ".weighted_gpt4_turbo.annotations.json", "-o", tmp_path / "x.jsonl")
    assert bad.returncode == 2 and "no rationales" in bad.stderr


def test_clusters_page_runs_and_filters_examples(home):
    from conftest import ROOT
    from streamlit.testing.v1 import AppTest

    from comparator.ui import state

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state[state.SOURCE] = ("demo", list(state.demos())[1])  # MT-Bench phi-3
    at.run()
    at.switch_page("pages/clusters.py").run()
    # the demo ships its clusters (data/build_demo.py): the table is there at first open
    assert not at.exception and len(at.dataframe[0].value) == 8
    at.slider(key="cl_k").set_value(5)
    at.checkbox(key="cl_map").uncheck()
    next(b for b in at.button if b.label == "Run").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert len(table) == 5 and table["reasons"].sum() > 0
    assert (table["favour A"] + table["favour B"] <= table["reasons"]).all()
    at.session_state[state.F_CLUSTER] = 2
    at.switch_page("pages/examples.py").run()
    assert not at.exception
    loaded = at.session_state[state.UPLOADED]["own"]  # the run changed this session's copy
    want = sum(any(r["cluster"] == 2 for r in ex.get("reasons", []))
               for ex in loaded.comparison.examples)
    assert 0 < want < 75
    assert any(c.value.startswith(f"{want} of 75") for c in at.sidebar.caption)


def test_llm_writes_reasons_and_titles_through_a_real_server(home, tiny_server):
    """A scripted LLM (the real `transformers serve` answers; the proxy swaps in the text):
    bullets tagged [A]/[B] become the reasons, and cluster titles come from the LLM."""
    from fault_proxy import FaultProxy

    from comparator.engines.openai_backend import OpenAIBackend

    def script(body):
        user = body["messages"][-1]["content"]
        if user.startswith("Rationale:"):
            return ("Here you go:\n- [A] explains each step of the method\n"
                    "- [B] is shorter and easier to read\nno tag here, ignored\n- [=] both fine")
        return '"Step-by-step explanations"'

    comp = load(MT_JUDGMENTS).comparison
    comp = comp.subset(comp.examples[:6])
    with FaultProxy(tiny_server["url"].removesuffix("/v1"), script=script) as proxy:
        llm = OpenAIBackend(tiny_server["model"], base_urls=[proxy.url], api_key="x")
        run = cluster_rationales(comp, ClusterConfig(k=2, with_map=False, llm=llm))
    rationales = sum(1 for ex in comp.examples for j in ex["judgments"]
                     if j.get("status", "ok") == "ok" and j.get("rationale"))
    reasons = [r for ex in comp.examples for r in ex.get("reasons", [])]
    assert len(reasons) == 3 * rationales
    assert Counter(r["favours"] for r in reasons) == {"A": rationales, "B": rationales,
                                                      None: rationales}
    assert {c["title"] for c in run.clusters} == {"Step-by-step explanations"}
    assert all(c["keyword_title"] for c in run.clusters)
    asked = [q["body"]["messages"][-1]["content"] for q in proxy.requests]
    assert sum(a.startswith("Rationale:") for a in asked) == rationales
    assert comp.metadata["clusters"]["reasons_by"].startswith("openai/")
