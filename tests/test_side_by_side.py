"""The side-by-side view names the same winner and score as the examples table beside it, under
every judge selection (issue 19: its header used every judge while the table honoured the
selection, so on a two-judge file they could disagree).

Real data: LLMBar's MT-Bench subset with its human labels and GPT-4's judgments in both orders
(``../shared/data/llmbar_mtbench_human``), one file with two judges.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import LLMBAR_GPT4

from comparator.analysis.filters import table
from comparator.analysis.stats import winners
from comparator.formats import load
from comparator.store.cache import open_store
from comparator.ui.widgets import verdict

T = 0.25


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))


@pytest.mark.parametrize("open_", [lambda p: load(p).comparison,
                                   lambda p: open_store(p).comparison],
                         ids=["example dicts", "cached store"])
def test_the_header_winner_is_the_tables_under_a_judge_selection(open_):
    comp = open_(LLMBAR_GPT4)
    judges = comp.judges()
    assert len(judges) == 2, judges  # human and the GPT-4 judge
    rows = np.arange(len(comp.examples))
    by_judge = {}
    for name in [*judges, "auto"]:
        sel = "auto" if name == "auto" else frozenset([name])
        shown = table(comp, rows, T, sel)
        head = [verdict(comp, i, T, sel) for i in rows]
        assert [w for w, _ in head] == shown["winner"].tolist(), name
        assert [None if s is None else round(s, 3) for _, s in head] == [
            None if s != s else s for s in shown["score"].tolist()], name
        by_judge[name] = shown["winner"].tolist()
    # the selection matters on this file: the two judges name different winners for some
    # examples, so a header that ignored the selection would differ from the table there
    human, model = (by_judge[j] for j in judges)
    differ = [i for i in rows if human[i] != model[i]]
    assert len(differ) >= 20, len(differ)
    # and the winners of all judges together are yet another answer on some of them
    every = winners(comp, T, judges=None).tolist()
    assert any(every[i] != by_judge[judges[0]][i] for i in differ)
