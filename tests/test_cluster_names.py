"""Clusters name the outputs A / B and leave verdict boilerplate out (issue 21, defect 6).

On the real AlpacaEval annotations the judge calls the outputs ``Model 'M'`` / ``model m's`` /
``models 'm' and 'M'``, with ``referenced_models`` mapping the letters to output_1 / output_2 per
judgment (the order is randomised per judgment). Every reason, every cluster theme and the
dashboard's rationale must say A / B in the file's orientation instead; the expected names are
checked by hand for a few judgments and, for all of them, against the preference field (the
winner the judge ranked first must be the side the text praises first). Verdict boilerplate
("Therefore, model 'M' is ranked higher.", "Final Verdict: [[A]]", "Output (a) is better.")
never becomes a reason, and no cluster is made mostly of it."""

from __future__ import annotations

import html
import re

import pytest
from conftest import ALPACA_COT, LLMC_TINY, MT_JUDGMENTS, ROOT, SHARED
from test_app import app, assert_clean

from comparator.clustering import ClusterConfig, cluster_rationales
from comparator.clustering.reasons import extract_reasons, oriented_rationale, split_reasons
from comparator.formats import load
from comparator.ui import state

JUDGEBENCH = SHARED / "judgebench/sample_20_pairs.o1-mini_on_gpt-4o.jsonl"
ALPACA_DEMO = ROOT / "data" / "alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl"
MT_DEMO = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"

# AlpacaEval's own names for the outputs, in any of the forms its judge writes
RAW_NAME = re.compile(r"(?<![\w'+*/^(-])['\"]?[Mm]['\"]?(?![\w)+*/^-])|output_[12]")
# a sentence that only states the verdict: what the judge chose, not why
BOILERPLATE = re.compile(
    r"\b(is|was) ranked (higher|first|second|lower)\b|\bfinal verdict\b|\[\[|"
    r"\bfollowed by\b|\bit'?s a tie\b|^(therefore|thus|so|hence),? (assistant|model|response|"
    r"output) [ab]('s (response|answer|output))? (is|was|provided|provides) (slightly )?(the )?"
    r"better( one| answer| response| of the two)?\.?$|\boutput \([ab]\) is better", re.I)


def _judgments(comp):
    return [j for ex in comp.examples for j in ex.get("judgments") or () if j.get("rationale")]


@pytest.fixture(scope="module")
def alpaca():
    return load(ALPACA_COT).comparison


def _by_prompt(comp, start: str):
    return next(ex for ex in comp.examples if ex["prompt"].startswith(start))


def test_alpaca_names_are_a_and_b_checked_by_hand(alpaca):
    # m = output_1 = A (gpt4_1106_preview), M = output_2 = B; preference 1 (A ranked first)
    t = oriented_rationale(_by_prompt(alpaca, "What is some cool music from the 1920s")
                           ["judgments"][0])
    assert t.startswith("Model A provided a more detailed and informative response")
    assert "Model B gave a good overview" in t
    # m = output_2 = B, M = output_1 = A; claude-2.1 (B) wins
    t = oriented_rationale(_by_prompt(alpaca, "Hi, I'm trying to solve a crossword")
                           ["judgments"][0])
    assert t.startswith("Model B provided comprehensive general tips")
    assert "Model A offered direct assistance" in t
    # M = output_2 = B unquoted, with a possessive elsewhere in the file
    t = oriented_rationale(_by_prompt(alpaca, "What breed dog is smallest")["judgments"][0])
    assert t.startswith("Model B provided a more comprehensive list of small dog breeds")
    assert "Model A gave a correct answer" in t


def test_no_alpaca_rationale_or_reason_keeps_the_judges_letters(alpaca):
    js = _judgments(alpaca)
    assert len(js) > 800
    left = [t for t in map(oriented_rationale, js) if RAW_NAME.search(t)]
    assert not left, left[:5]
    reasons = extract_reasons(alpaca)
    assert reasons and not [r["text"] for r in reasons if RAW_NAME.search(r["text"])]


def test_alpaca_names_follow_each_judgments_orientation(alpaca):
    """Independent of the mapping code: the judge ranked ``ordered_models[0]`` first; when its
    rationale opens by praising that letter, the oriented text must open with the winner's side
    (A when the score is positive)."""
    opening = re.compile(r"^Model '?([Mm])'? provided a more")
    checked = 0
    for j in _judgments(alpaca):
        raw = j["extra"]["raw_completion"]
        first = min(raw["ordered_models"], key=lambda m: m["rank"])["model"]
        m = opening.match(j["rationale"])
        if not m or m.group(1) != first or not j.get("score"):
            continue
        side = "A" if j["score"] > 0 else "B"
        assert oriented_rationale(j).startswith(f"Model {side} provided a more"), j["rationale"]
        checked += 1
    assert checked > 300


def test_verdict_boilerplate_never_becomes_a_reason():
    for path in (ALPACA_COT, MT_JUDGMENTS, JUDGEBENCH, LLMC_TINY):
        comp = load(path).comparison
        reasons = [s for j in _judgments(comp) for s in split_reasons(oriented_rationale(j))]
        assert reasons, path
        bad = [s for s in reasons if BOILERPLATE.search(s)]
        assert not bad, (path.name, bad[:5])


def test_a_rationale_of_only_boilerplate_is_counted_not_clustered():
    comp = load(MT_JUDGMENTS).comparison
    # real MT-Bench sentences: a verdict with nothing said about why
    assert split_reasons("Therefore, Assistant A's response is better. \n\nFinal Verdict: [[A]]") \
        == []
    assert split_reasons("Therefore, model B is ranked higher.") == []
    # a verdict with its reason keeps the reason only
    kept = split_reasons("Therefore, model B is ranked first for its thoroughness and "
                         "variety of examples, followed by model A.")
    assert len(kept) == 1 and not BOILERPLATE.search(kept[0]) and "variety of examples" in kept[0]
    comp.examples = comp.examples[:12]  # small: ~100 reasons to embed
    cluster_rationales(comp, ClusterConfig(k=3, with_map=False))
    info = comp.metadata["clusters"]
    assert info["boilerplate"] > 0
    texts = [r["text"] for ex in comp.examples for r in ex.get("reasons") or ()]
    assert len(texts) == info["reasons"] and not [t for t in texts if BOILERPLATE.search(t)]


def _mostly_boilerplate(comp) -> list:
    info = comp.metadata["clusters"]
    out = []
    for c in info["clusters"]:
        members = [r["text"] for ex in comp.examples for r in ex.get("reasons") or ()
                   if r["cluster"] == c["id"]]
        if sum(bool(BOILERPLATE.search(t)) for t in members) > len(members) / 2:
            out.append(c["title"])
    return out


def test_shipped_demo_clusters_name_a_and_b_and_have_no_boilerplate_cluster():
    for path in (ALPACA_DEMO, MT_DEMO):
        comp = load(path).comparison
        info = comp.metadata["clusters"]
        assert not _mostly_boilerplate(comp), path.name
        for c in info["clusters"]:
            assert not RAW_NAME.search(c["title"]), c["title"]
            assert not RAW_NAME.search(c["keyword_title"]), c["keyword_title"]
        texts = [r["text"] for ex in comp.examples for r in ex.get("reasons") or ()]
        assert not [t for t in texts if RAW_NAME.search(t)]


def test_a_clustering_run_names_a_and_b_in_its_themes(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    comp = load(ALPACA_COT).comparison
    comp.examples = comp.examples[:60]  # small: ~130 reasons to embed
    cluster_rationales(comp, ClusterConfig(k=4, with_map=False))
    clusters = comp.metadata["clusters"]["clusters"]
    assert clusters and not _mostly_boilerplate(comp)
    for c in clusters:
        assert not RAW_NAME.search(c["title"]) and not RAW_NAME.search(c["keyword_title"])


def test_dashboard_shows_the_rationale_with_a_and_b():
    demo = next(label for label, p in state.demos().items() if p == ALPACA_DEMO)
    comp = load(ALPACA_DEMO).comparison
    i = next(k for k, ex in enumerate(comp.examples)
             if ex["prompt"].startswith("Hi, I'm trying to solve a crossword"))
    at = app()
    at.session_state[state.SOURCE] = ("demo", demo)
    at.switch_page("pages/examples.py").run()
    at.session_state[state.SELECTED] = i
    at.run()
    assert_clean(at)
    # the rationale is Markdown or HTML (rendering mode): its text, tags and escapes removed
    parts = [m.value for m in at.markdown] + [h.proto.body for h in at.get("html")]
    shown = re.sub(r"<[^>]*>|\u2060", "", re.sub(r"\\(.)", r"\1", "\n".join(parts)))
    shown = html.unescape(" ".join(shown.split()))
    assert "Model B provided comprehensive general tips" in shown
    assert "Model A offered direct assistance" in shown
    assert "Model 'm'" not in shown


def test_reason_map_colours_a_cluster_by_its_id_whatever_the_filter():
    import numpy as np

    from comparator.reports.charts import cluster_color, reason_map

    comp = load(ALPACA_DEMO).comparison
    points = [(i, r) for i, ex in enumerate(comp.examples) for r in ex.get("reasons") or ()]
    title = {c["id"]: f"{c['id']}: {c['title']}" for c in comp.metadata["clusters"]["clusters"]}
    colours = {title[c]: cluster_color(c) for c in sorted(title)}

    def drawn(keep):
        pts = [(i, r) for i, r in points if keep(comp.examples[i])]
        fig = reason_map(np.array([r["x"] for _, r in pts]), np.array([r["y"] for _, r in pts]),
                         [title[r["cluster"]] for _, r in pts], np.array([i for i, _ in pts]),
                         [r["text"] for _, r in pts], colors=colours)
        return {t.name: t.marker.color for t in fig.data}

    everything = drawn(lambda ex: True)
    assert len(set(everything.values())) == len(everything) == len(title)
    for category in ("vicuna", "koala", "oasst"):
        some = drawn(lambda ex, c=category: ex.get("category") == c)
        assert some and {k: everything[k] for k in some} == some
