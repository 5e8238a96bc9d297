"""The Findings panel and page through Streamlit's AppTest (issue 22): a demo without findings
says so with the number of conjunctions tested, the page's depth control reruns the search
(its tested count is the library's for that depth), each finding's button makes its filter the
view (also in the swapped view: the count is the finding's n), and a filter the file cannot
take is a message, not a traceback."""

from __future__ import annotations

import re

from conftest import ROOT

from comparator.findings import FindingsConfig, find
from comparator.store.cache import open_store
from comparator.ui import state

DEMOS = state.demos()
ALPACA = next(k for k, p in DEMOS.items() if p.stem.startswith("alpaca_eval"))
MT = next(k for k, p in DEMOS.items() if p.stem.startswith("mt_bench"))


def _app(demo: str, swap: bool = False):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[state.SOURCE] = ("demo", demo)
    at.session_state[state.SWAP] = swap
    at.run()
    return at


def _plain(markdown: str) -> str:
    """Markdown escaped by ``md_text`` as the reader sees it."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def _clean(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _shown(at) -> int:
    caption = next(c.value for c in at.sidebar.caption if " examples · " in c.value)
    return int(re.match(r"([\d,]+) of", caption).group(1).replace(",", ""))


def test_a_demo_without_findings_says_how_many_were_tested():
    at = _app(MT)
    at.switch_page("pages/overview.py").run()
    _clean(at)
    comp = open_store(DEMOS[MT]).comparison
    result = find(comp, FindingsConfig(tie_threshold=at.session_state[state.TIE]))
    assert not result["findings"]
    want = f"No slice differs from the rest after correction ({result['tested']:,} tested)"
    assert any(i.value.startswith(want) for i in at.info), [i.value for i in at.info]
    shown = [_plain(m.value) for m in at.markdown]
    for b in result["biases"]:  # the judge's biases, in the expander
        assert "- " + b["sentence"] in shown


def test_the_page_depth_control_and_a_click_in_the_swapped_view():
    at = _app(ALPACA, swap=True)
    at.switch_page("pages/findings.py").run()
    _clean(at)
    at.selectbox(key="findings_depth").set_value(1).run()
    _clean(at)
    comp = open_store(DEMOS[ALPACA]).comparison
    swapped = state.swap_view(open_store(DEMOS[ALPACA])).comparison
    t = at.session_state[state.TIE]
    result = find(swapped, FindingsConfig(depth=1, tie_threshold=t))
    assert result["tested"] != find(comp, FindingsConfig(depth=2, tie_threshold=t))["tested"]
    assert at.status[0].label.startswith(f"{result['tested']:,} conjunctions tested, "
                                         f"{len(result['findings'])} finding(s)")
    first = result["findings"][0]
    assert any(first["sentence"] in _plain(m.value) for m in at.markdown)
    buttons = [b for b in at.button if b.label == "Show these examples"]
    assert len(buttons) == len(result["findings"])
    buttons[0].click().run()
    _clean(at)
    assert _shown(at) == first["n"]


def test_a_filter_the_file_cannot_take_is_a_message():
    from streamlit.testing.v1 import AppTest

    def script():
        from comparator.ui import findings_panel, state

        comp = state.current().comparison
        findings_panel._error()
        findings_panel.finding(comp, {
            "filters": ["no_such_field=1"], "filter": "no_such_field=1", "sentence": "x",
            "difference": -0.2, "win_rate_a": 0.5, "rest_win_rate_a": 0.7, "n": 40,
            "p_adjusted": 0.01, "confirmed": True}, 1, "t")

    at = AppTest.from_function(script, default_timeout=120)
    at.run()
    _clean(at)
    at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] and "no\\_such\\_field" in at.error[0].value


def test_the_page_on_every_demo():
    for demo, path in DEMOS.items():
        at = _app(demo)
        at.switch_page("pages/findings.py").run()
        _clean(at)
        result = find(open_store(path).comparison,
                      FindingsConfig(tie_threshold=at.session_state[state.TIE]))
        assert at.status[0].label.startswith(f"{result['tested']:,} conjunctions tested"), demo
        assert len(at.dataframe) == (1 if result["findings"] else 0), demo
        assert any(b.label == "Download the findings (JSON)" for b in at.get("download_button"))
