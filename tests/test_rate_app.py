"""The Rate page and People vs judge through Streamlit's AppTest on the multi-turn MT-Bench
demo: every turn shown, nothing names a model before saving, each queue kind, the section on
the Judge reliability page."""

from __future__ import annotations

import orjson
import pytest
from conftest import MT_QUESTIONS, ROOT, SHARED, read_jsonl

from comparator.ui import state

MT = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"


def two_turn_file(path):
    """A native file of MT-Bench's two-turn conversations: the real questions and the real
    phi-3 / phi-3-dpo answers to both turns (no judgments)."""
    answers = {m: {a["question_id"]: a["choices"][0]["turns"] for a in read_jsonl(
        SHARED / "mt_bench/model_answer" / f"{m}.jsonl")} for m in ("phi-3", "phi-3-dpo")}
    lines = [{"kind": "comparator.comparison", "schema_version": 3, "model_a": "phi-3",
              "model_b": "phi-3-dpo"}]
    for q in read_jsonl(MT_QUESTIONS)[:12]:
        lines.append({"id": str(q["question_id"]), "category": q["category"],
                      "messages": [{"role": "user", "content": t} for t in q["turns"]],
                      "response_a": answers["phi-3"][q["question_id"]],
                      "response_b": answers["phi-3-dpo"][q["question_id"]]})
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
    return path


def _texts(at) -> str:
    parts = [e.value for kind in (at.markdown, at.caption, at.title, at.subheader, at.info,
                                  at.success)
             for e in kind]
    return "\n".join(str(p) for p in parts).replace("\\", "")  # Markdown escapes off


@pytest.fixture()
def at(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    label = next(k for k, p in state.demos().items() if p == MT)
    at.session_state[state.SOURCE] = ("demo", label)
    at.switch_page("pages/rate.py").run()
    assert not at.exception
    return at


def test_two_turn_conversations_show_every_turn(at, tmp_path):
    at.session_state[state.SOURCE] = ("path", str(two_turn_file(tmp_path / "two.jsonl")))
    at.text_input[0].input("ian")
    at.button[0].click().run()
    text = _texts(at)
    assert "Example 1 of 12" in text and "User, turn 1" in text and "User, turn 2" in text
    assert text.count("**Left**") == 2 and "phi-3" not in text


def test_rate_mt_bench_blind_and_people_vs_judge(at, tmp_path):
    head = read_jsonl(MT)[0]
    at.text_input[0].input("grace")
    at.button[0].click().run()
    for k in range(4):
        text = _texts(at)
        assert f"Example {k + 1} of 50" in text
        assert "**Left**" in text and "**Right**" in text
        assert head["model_a"] not in text and head["model_b"] not in text
        at.button(key=f"rate_c{k}").click().run()
        assert not at.exception
    at.button(key="rate_back").click().run()
    at.button(key="rate_reveal_btn").click().run()
    assert head["model_a"] in _texts(at)  # shown after saving, when asked
    rows = read_jsonl(next(tmp_path.glob("ratings/*/*.jsonl")))[1:]
    assert len(rows) == 4 and all(r["rater"] == "grace" for r in rows)
    at.switch_page("pages/reliability.py").run()
    assert not at.exception and not at.error
    text = _texts(at)
    assert "People vs judge" in text and "n = 4 examples rated" in text


@pytest.mark.parametrize("kind", ["stratified", "disagreements", "filtered"])
def test_each_queue_kind(at, kind):
    at.text_input[0].input("hal")
    at.button[0].click().run()
    at.selectbox(key="w_rate_kind").set_value(kind).run()
    if kind == "stratified":
        at.number_input(key="w_rate_n").set_value(2).run()
    assert not at.exception and not at.error
    text = _texts(at)
    n = int(text.split("Example 1 of ")[1].split()[0])
    at.switch_page("pages/overview.py").run()
    at.switch_page("pages/rate.py").run()  # the queue settings survive a visit elsewhere
    assert f"Example 1 of {n} " in _texts(at)
    if kind == "stratified":
        assert n == 2 * 8  # MT-Bench: 8 categories
    elif kind == "filtered":
        assert n == 75
    else:
        assert 0 < n < 75
