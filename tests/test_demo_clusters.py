"""The bundled demos ship their rationale clusters (computed once by data/build_demo.py), so
the Clusters page of a demo is not empty at first open; offline titles are each cluster's most
representative reason (nearest its centre, shortened) with the keywords beside it; and a
clustering run in one session leaves the demo unchanged for every other session and on disk."""

from __future__ import annotations

import hashlib

from test_app import app, assert_clean

from comparator.clustering.rationale import roles
from comparator.formats import load
from comparator.ui import state

RATIONALE_DEMOS = [label for label, p in state.demos().items()
                   if "llmbar" not in p.name]  # LLMBar's judgments carry no rationale


def test_demo_clusters_are_shipped_and_titled_by_their_central_reason():
    for label in RATIONALE_DEMOS:
        comp = load(state.demos()[label]).comparison
        info = comp.metadata["clusters"]
        assert info["what"] == "rationales" and len(info["clusters"]) >= 4
        reasons = [r for ex in comp.examples for r in ex.get("reasons") or []]
        assert len(reasons) == info["reasons"]
        for c in info["clusters"]:
            members = [r for r in reasons if r["cluster"] == c["id"]]
            assert len(members) == c["size"]
            assert c["favours_a"] == sum(r["favours"] == "A" for r in members)
            # independent: the member with the highest similarity to this centre
            best = max(members, key=lambda r: r["similarities"][c["id"]])
            # titled by its text as embedded: the sides named by role (clustering.rationale)
            words = " ".join(roles(best["text"], best["favours"]).split()).split()
            assert c["title"].rstrip("…").split()[:3] == words[:3], (c["title"], best["text"])
            assert len(c["title"]) <= 71 and c["keywords"] and c["keyword_title"]
            assert all(r["x"] is not None for r in members)


def test_clusters_page_of_a_demo_is_filled_at_first_open():
    for label in RATIONALE_DEMOS:
        at = app()
        at.session_state[state.SOURCE] = ("demo", label)
        at.switch_page("pages/clusters.py").run()
        assert_clean(at)
        assert not any("No rationale clusters yet" in i.value for i in at.info)
        table = at.dataframe[0].value
        comp = load(state.demos()[label]).comparison
        assert list(table["theme"]) == [c["title"] for c in comp.metadata["clusters"]["clusters"]]
        assert len(at.get("plotly_chart")) == 1


def test_a_run_in_one_session_leaves_the_demo_unchanged_for_others(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    label = next(label for label, p in state.demos().items() if p.name.startswith("mt_bench"))
    path = state.demos()[label]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    one = app()
    one.session_state[state.SOURCE] = ("demo", label)
    one.switch_page("pages/clusters.py").run()
    one.radio(key="cl_what").set_value("prompts").run()
    one.slider(key="cl_k").set_value(3).run()
    one.checkbox(key="cl_map").uncheck().run()
    next(b for b in one.button if b.label == "Run").click().run()
    assert_clean(one)
    mine = state.UPLOADED in one.session_state and one.session_state[state.UPLOADED]["own"]
    assert mine and len(mine.comparison.metadata["prompt_clusters"]["clusters"]) == 3
    assert all("discovered_category" in ex["metadata"] for ex in mine.comparison.examples)
    # another session opens the same demo: the cached comparison has none of it
    two = app()
    two.session_state[state.SOURCE] = ("demo", label)
    two.switch_page("pages/examples.py").run()
    assert_clean(two)
    shared = state._open(path).comparison  # one read-only columnar store for every session
    assert shared is state._open(path).comparison and hasattr(shared.examples, "store")
    assert "prompt_clusters" not in shared.metadata
    theirs = two.session_state[state.UPLOADED]["own"] if state.UPLOADED in two.session_state \
        else None
    assert theirs is None or "prompt_clusters" not in theirs.comparison.metadata
    assert not any("discovered_category" in (ex.get("metadata") or {}) for ex in shared.examples)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
