"""Issue 21, the smaller items of defect 8 (H2): the CLI on a closed pipe, the Examples table's
column order, the search table's score names, the Leaderboard matrix's diagonal, and the
agreement per slice of judge."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

DEMO = {p.stem.split("_")[0]: p for p in (ROOT / "data").glob("*.jsonl")}


def _into_closed_head(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    """Run the CLI with its stdout on a real pipe to ``head -c 10`` that has already read its
    10 bytes and exited (``... | head -c 10`` when head is done first)."""
    head = subprocess.Popen(["head", "-c", "10"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    head.stdin.write(b"0123456789")
    head.stdin.flush()
    assert head.stdout.read() == b"0123456789"
    assert head.wait(30) == 0  # the reader is gone; the pipe's write end is still open here
    try:
        return subprocess.run([sys.executable, "-m", "comparator", *args], stdout=head.stdin,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120,
                              env={**__import__("os").environ, "COMPARATOR_HOME": str(tmp_path)})
    finally:
        head.stdin.close()
        head.stdout.close()


@pytest.mark.parametrize("args", [
    ["leaderboard", "--json", "--rounds", "20", "{mt}"],
    ["leaderboard", "--rounds", "20", "{mt}"],
    ["stats", "{mt}"],
    ["stats", "--json", "{alpaca}"],
    ["stats", "--help"],
])
def test_every_command_exits_quietly_on_a_closed_pipe(args, tmp_path):
    args = [a.format(mt=DEMO["mt"], alpaca=DEMO["alpaca"]) for a in args]
    p = _into_closed_head(args, tmp_path)
    assert p.stderr == "", p.stderr
    assert p.returncode == 141, (p.returncode, p.stderr)


def _read(path):
    from comparator.store.cache import open_store

    return open_store(path).comparison


def test_examples_table_puts_score_and_winner_first(tmp_path, monkeypatch):
    import numpy as np

    from comparator.analysis.filters import table

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    comp = _read(DEMO["mt"])
    df = table(comp, np.arange(5))
    shown = [c for c in df.columns if c != "#"]  # "#" is hidden on the page
    assert shown[:2] == ["score", "winner"], shown
    assert "winner" in df.columns and df["winner"].isin(["A", "B", "tie", "unscored"]).all()


def test_search_table_names_match_score_and_shows_the_judges(tmp_path, monkeypatch):
    import numpy as np
    from conftest import winner

    from comparator.analysis.stats import derive
    from comparator.search.ranked import search
    from comparator.ui.search import table

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    comp = _read(DEMO["mt"])
    found = search(comp, "python function", np.ones(len(comp.examples), bool), k=10)
    assert found
    df = table(comp, found, 0.25, "auto")
    assert "score" not in df.columns  # ambiguous: the ranking's or the judge's?
    assert list(df["match score"]) == [round(h.score, 4) for h in found]
    judge = derive(comp).score
    for (_, row), h in zip(df.iterrows(), found, strict=True):
        s = judge[h.index]
        assert row["judge score"] == (None if np.isnan(s) else round(float(s), 3)) or (
            np.isnan(s) and row["judge score"] != row["judge score"])
        assert row["winner"] == winner(None if np.isnan(s) else float(s))


def test_leaderboard_matrix_diagonal_is_a_dash_not_nan(tmp_path, monkeypatch):
    from comparator.analysis.leaderboard import from_comparison, leaderboard
    from comparator.reports.leaderboard_charts import win_matrix_heatmap

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    lb = leaderboard(from_comparison(_read(DEMO["mt"]), 0.25), 20)
    fig = win_matrix_heatmap(lb["win_matrix"])
    text, m = fig.data[0].text, lb["win_matrix"]["matrix"]
    k = len(m)
    assert k == 2
    for i in range(k):
        for j in range(k):
            want = "—" if i == j else f"{100 * m[i][j]:.0f}"
            assert text[i][j] == want, (i, j, text[i][j])
    assert fig.data[0].texttemplate == "%{text}"


def _own_counts(path, judge: str, t: float = 0.25) -> dict[str, int]:
    """Winner counts from ``judge``'s own judgments, read from the file (mean per example)."""
    from conftest import read_jsonl, winner

    counts = {"A": 0, "tie": 0, "B": 0}
    for ex in read_jsonl(path)[1:]:
        s = [j["score"] for j in ex.get("judgments") or [] if j.get("judge") == judge
             and j.get("score") is not None]
        if s:
            counts[winner(sum(s) / len(s), t)] += 1
    return counts


def test_slices_by_judge_use_each_judges_own_judgments(tmp_path, monkeypatch):
    from comparator.analysis.agreement import agreement, agreement_by_slice
    from comparator.analysis.stats import slice_table

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    comp = _read(DEMO["llmbar"])
    judges = comp.judges()
    assert set(judges) == {"human", "llm-judge"}
    rows = {r["value"]: r for r in slice_table(comp, "judge")}
    for j in judges:
        own = _own_counts(DEMO["llmbar"], j)
        assert (rows[j]["a_wins"], rows[j]["ties"], rows[j]["b_wins"]) == (
            own["A"], own["tie"], own["B"]), j
    assert rows["human"]["win_rate_a"] != rows["llm-judge"]["win_rate_a"]
    # agreement per slice of judge: each judge's own verdicts against the human's
    per = agreement_by_slice(comp, "llm-judge", "human", "judge")
    assert [r["value"] for r in per] == ["llm-judge"]  # human vs itself is no row
    whole = agreement(comp, "llm-judge", "human")
    assert per[0]["agreement"] == whole["agreement"] and per[0]["n"] == whole["n"]
