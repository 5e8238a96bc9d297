"""The dashboard through Streamlit's AppTest: every page on every bundled demo and on each real
file of ../shared/data uploaded through the Data page; slices, search, the side-by-side view."""

from __future__ import annotations

import re

import pytest
from conftest import ALL_JUDGED, ROOT

from comparator.analysis import summary
from comparator.formats import load
from comparator.ui import state

PAGES = ["pages/overview.py", "pages/examples.py", "pages/reliability.py", "pages/data.py"]
MIME = {".json": "application/json", ".jsonl": "application/jsonl", ".csv": "text/csv"}


def app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    assert not at.exception
    return at


def assert_clean(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def upload(at, path, name: str | None = None):
    at.switch_page("pages/data.py").run()
    name = name or path.name
    at.file_uploader(key="upload").set_value((name, path.read_bytes(), MIME.get(path.suffix,
                                                                                "text/plain")))
    at.run()
    next(b for b in at.button if b.label == "Load").click().run()
    assert_clean(at)
    assert any(s.value.startswith("Loaded") for s in at.success)
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("demo", list(state.demos()))
def test_every_page_on_every_demo(demo):
    at = app()
    at.session_state[state.SOURCE] = ("demo", demo)
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at)
    comp = load(state.demos()[demo]).comparison
    at.switch_page("pages/overview.py").run()
    s = summary(comp)
    assert metric(at, "A / tie / B") == f"{s['a_wins']} / {s['ties']} / {s['b_wins']}"
    assert metric(at, "Win rate of A") == f"{100 * s['win_rate_a']:.1f}%"


@pytest.mark.parametrize("path", ALL_JUDGED, ids=lambda p: p.name)
def test_upload_each_real_file_then_every_page(path):
    at = upload(app(), path)
    assert state.SOURCE in at.session_state and at.session_state[state.SOURCE][0] == "upload"
    assert metric(at, "Examples") == f"{len(load(path).comparison.examples):,}"
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at)
    at.switch_page("pages/overview.py").run()
    s = summary(load(path).comparison)
    assert metric(at, "A / tie / B") == f"{s['a_wins']} / {s['ties']} / {s['b_wins']}"


def test_slice_filter_shrinks_the_example_table():
    at = app()
    at.switch_page("pages/examples.py").run()
    assert len(at.dataframe[0].value) == 50
    at.sidebar.selectbox(key=state.W_FIELD).select("category").run()
    at.sidebar.selectbox(key=state.W_VALUE).select("vicuna").run()
    assert_clean(at)
    comp = load(next(iter(state.demos().values()))).comparison
    n = sum(ex.get("category") == "vicuna" for ex in comp.examples)
    table = at.dataframe[0].value
    assert set(table["category"]) == {"vicuna"}
    assert len(table) == min(n, 50)
    assert any(c.value.startswith(f"{n} of {len(comp.examples)}") for c in at.sidebar.caption)
    # the filter survives a page switch, and the overview shows the slice
    at.switch_page("pages/overview.py").run()
    at.switch_page("pages/examples.py").run()
    assert set(at.dataframe[0].value["category"]) == {"vicuna"}


def test_invalid_regex_is_a_message_not_a_crash():
    at = app()
    at.switch_page("pages/examples.py").run()
    at.sidebar.text_input(key=state.F_SEARCH).input("([unclosed").run()
    at.sidebar.checkbox(key=state.F_REGEX).check().run()
    assert not at.exception
    assert any("bad regular expression" in w.value and "unclosed" in w.value
               for w in at.warning)
    at.sidebar.text_input(key=state.F_SEARCH).input("broadway").run()
    assert not at.warning and 0 < len(at.dataframe[0].value) < 50


def test_side_by_side_shows_prompt_both_responses_and_judgments():
    at = app()
    at.session_state[state.SOURCE] = ("demo", list(state.demos())[1])  # MT-Bench, both orders
    at.switch_page("pages/examples.py").run()
    at.session_state[state.SELECTED] = 0
    at.run()
    assert_clean(at)
    comp = load(list(state.demos().values())[1]).comparison
    ex = comp.examples[0]
    assert any(ex["id"] in m.value for m in at.markdown)
    labels = [e.label for e in at.expander]
    assert sum("score" in lbl for lbl in labels) == len(ex["judgments"])
    assert any("order swapped" in lbl for lbl in labels)


def test_file_text_is_shown_as_text(tmp_path):
    evil = tmp_path / "evil.csv"
    evil.write_text('prompt,response_a,response_b,label\n'
                    '"<script>alert(1)</script> **bold**","<img src=x onerror=alert(2)>",'
                    '"[link](javascript:alert(3))",A\n')
    at = upload(app(), evil)
    at.switch_page("pages/examples.py").run()
    at.session_state[state.SELECTED] = 0
    at.run()
    assert_clean(at)
    md = "\n".join(m.value for m in at.markdown)
    assert "<script>" not in md and "<img" not in md and "javascript" not in md
    # prompt and responses: safe HTML (comparator.reports.markdown_safe), the file's markup
    # shown as text, links as their source, Markdown emphasis rendered
    html = re.sub(r"</?mark[^>]*>", "", "\n".join(h.value for h in at.html))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <strong>bold</strong>" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html and "<img" not in html
    assert "[link](javascript:alert(3))" in html and "<a " not in html and "href" not in html


def test_scores_from_one_judge():
    """LLMBar demo: GPT-4 judged both orders beside the human label; the sidebar picks whose
    verdicts make the scores."""
    at = app()
    at.session_state[state.SOURCE] = ("demo", list(state.demos())[2])
    at.run()
    comp = load(list(state.demos().values())[2]).comparison
    gpt = summary(comp)
    assert metric(at, "A / tie / B") == f"{gpt['a_wins']} / {gpt['ties']} / {gpt['b_wins']}"
    at.sidebar.selectbox(key=state.F_JUDGE).select("human").run()
    assert_clean(at)
    human = summary(comp, judges=frozenset(["human"]))
    assert metric(at, "A / tie / B") == f"{human['a_wins']} / 0 / {human['b_wins']}" != \
        f"{gpt['a_wins']} / {gpt['ties']} / {gpt['b_wins']}"
