"""PandaLM's three annotators: majority vote (PandaLM's convention) beside the mean."""

from __future__ import annotations

import json
from collections import Counter

from conftest import PANDALM, ROOT, read_json, run_cli

from comparator.analysis import agreement, summary
from comparator.formats import load


def _majority(r: dict) -> str:
    lab = {1: "A", 2: "B", 0: "tie"}
    c = Counter(lab[r[f"annotator{k}"]] for k in (1, 2, 3)).most_common()
    return c[0][0] if len(c) == 1 or c[0][1] > c[1][1] else "tie"


def test_majority_vote_equals_hand_count_and_differs_from_mean():
    raw = read_json(PANDALM)
    want = Counter(_majority(r) for r in raw)
    comp = load(PANDALM).comparison
    s = summary(comp, judges=frozenset(["human@majority"]))
    assert (s["a_wins"], s["ties"], s["b_wins"]) == (want["A"], want["tie"], want["B"])
    mean = summary(comp)
    assert (mean["a_wins"], mean["ties"]) != (s["a_wins"], s["ties"])  # e.g. (1, 0, 0): A vs tie
    # annotator 1 against the majority verdict, counted by hand
    lab = {1: "A", 2: "B", 0: "tie"}
    same = sum(lab[r["annotator1"]] == _majority(r) for r in raw)
    a = agreement(comp, "human:annotator1", "human@majority")
    assert a["n"] == len(raw) and a["agreement"] * len(raw) == same


def test_cli_option_says_which_verdict():
    out = run_cli("stats", PANDALM, "--human-vote", "majority", "--json")
    s = json.loads(out.stdout)
    want = Counter(_majority(r) for r in read_json(PANDALM))
    assert s["human_vote"] == "majority" and s["ties"] == want["tie"]
    text = run_cli("stats", PANDALM)
    assert "human verdict: mean of the annotators" in text.stdout


def test_reliability_page_offers_the_vote(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from comparator.ui import state

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    monkeypatch.setenv("COMPARATOR_DATA_DIRS", str(PANDALM.parent))  # the dashboard reads these
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[state.SOURCE] = ("path", str(PANDALM))
    at.run()
    at.switch_page("pages/reliability.py").run()
    at.radio(key="human_vote").set_value("majority").run()
    assert not at.exception, at.exception
    table = at.dataframe[-1].value
    row = table[(table["annotator"] == "human:annotator1") & (table["with"] == "human@majority")]
    raw = read_json(PANDALM)
    lab = {1: "A", 2: "B", 0: "tie"}
    same = sum(lab[r["annotator1"]] == _majority(r) for r in raw)
    assert float(row["agreement %"].iloc[0]) == round(100 * same / len(raw), 1)
    assert any("majority vote" in c.value for c in at.caption)


def test_fleiss_kappa_of_the_three_annotators_by_hand():
    raw = read_json(PANDALM)
    n, k = len(raw), 3
    counts = [[sum(r[f"annotator{a}"] == lab for a in (1, 2, 3)) for lab in (1, 0, 2)]
              for r in raw]
    # Fleiss (1971): mean per-subject agreement vs chance from the label marginals
    p_i = [(sum(c * c for c in row) - k) / (k * (k - 1)) for row in counts]
    p_j = [sum(row[j] for row in counts) / (n * k) for j in range(3)]
    pbar, pe = sum(p_i) / n, sum(p * p for p in p_j)
    want = (pbar - pe) / (1 - pe)
    s = json.loads(run_cli("stats", PANDALM, "--json").stdout)
    assert s["annotators"]["raters_per_example"] == 3 and s["annotators"]["fleiss_n"] == n
    assert abs(s["annotators"]["fleiss_kappa"] - want) < 1e-12
