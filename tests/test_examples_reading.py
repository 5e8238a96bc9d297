"""Reading mode of the Examples page (AppTest): every row's prompt and both full responses side
by side, the words both share highlighted, a score badge and the rater count, paged; a
two-turn conversation (real MT-Bench questions and real gpt-4 / claude-v1 answers) aligned turn
by turn. The expected highlights come from an independent word-set computation."""

from __future__ import annotations

import html
import json
import re

from conftest import MT_QUESTIONS, read_jsonl
from test_app import app, assert_clean

from comparator.analysis import summary
from comparator.formats import load
from comparator.ui import state

ANSWERS = MT_QUESTIONS.parent / "model_answer"


def two_turn_file(tmp_path):
    """Native JSONL: 20 real two-turn MT-Bench questions, gpt-4 (A) vs claude-v1 (B), one
    judgment each (+1, −1, 0 in turn, so the badges differ)."""
    qs = {q["question_id"]: q for q in read_jsonl(MT_QUESTIONS)}
    ans = {m: {a["question_id"]: a["choices"][0]["turns"]
               for a in read_jsonl(ANSWERS / f"{m}.jsonl")} for m in ("gpt-4", "claude-v1")}
    ids = [i for i in qs if i in ans["gpt-4"] and i in ans["claude-v1"]][:20]
    lines = [{"kind": "comparator.comparison", "schema_version": 3, "model_a": "gpt-4",
              "model_b": "claude-v1", "source_format": "native", "metadata": {}}]
    for k, i in enumerate(ids):
        lines.append({"id": str(i), "category": qs[i]["category"],
                      "messages": [{"role": "user", "content": t} for t in qs[i]["turns"]],
                      "response_a": ans["gpt-4"][i], "response_b": ans["claude-v1"][i],
                      "judgments": [{"score": (1.0, -1.0, 0.0)[k % 3], "judge": "j"}]})
    path = tmp_path / "two_turn.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


def plain(md: str) -> str:
    """Rendered text of our escaped Markdown: backslash escapes and word joiners removed."""
    return re.sub(r"\\(.)", r"\1", md).replace("\u2060", "").replace("  \n", "\n")


def text_of(body: str) -> str:
    """The text a browser shows for one rendered response (tags dropped, entities read)."""
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def shared_words(a: str, b: str) -> set[str]:
    """Independent of difflib: words present in both texts."""
    def words(s):
        return set(re.findall(r"\w+", s.lower()))
    return words(a) & words(b)


def test_reading_mode_aligns_turns_and_badges(tmp_path, monkeypatch):
    path = two_turn_file(tmp_path)
    monkeypatch.setenv("COMPARATOR_DATA_DIRS", str(tmp_path))  # the dashboard reads only these
    comp = load(path).comparison
    at = app()
    at.session_state[state.SOURCE] = ("path", str(path))
    at.switch_page("pages/examples.py").run()
    assert_clean(at)
    assert at.dataframe, "the table stays the default, compact mode"
    at.segmented_control(key="ex_view").set_value("Read").run()
    assert_clean(at)
    md = [plain(m.value) for m in at.markdown]
    shown = [text_of(h.proto.body) for h in at.get("html")]
    # 10 per page by default: ten examples, each with both turns of the user in order
    first = comp.examples[:10]
    for ex in first:
        for msg in ex["messages"]:
            assert any(v.startswith(msg["content"][:40]) for v in shown)
    assert md.count("**Turn 2**") == 10
    # badges: the winner and the rater count of each example
    s = summary(comp.subset(first))
    badges = [v for v in md if "-badge[" in v]
    assert len(badges) == 10
    assert sum(":blue-badge[A is better]" in v for v in badges) == s["a_wins"]
    assert sum(":orange-badge[B is better]" in v for v in badges) == s["b_wins"]
    assert sum(":gray-badge[tie]" in v for v in badges) == s["ties"]
    assert all("1 rater" in v for v in badges)
    # shared words highlighted: A's highlighted words, in order, are exactly B's highlighted
    # words (the runs both share), every one of them occurs in both texts, and they are a
    # subsequence of each response's own words
    a0, b0 = first[0]["response_a"][0], first[0]["response_b"][0]

    def marked(text):
        cell = next(h.proto.body for h in at.get("html")
                    if text_of(h.proto.body).startswith(text[:40].strip()))
        return [w.lower() for m in re.findall(r'<mark class="cmp-same">(.*?)</mark>', cell, re.S)
                for w in re.findall(r"\w+", html.unescape(m))]

    in_a, in_b = marked(a0), marked(b0)
    assert in_a and in_a == in_b
    assert set(in_a) <= shared_words(a0, b0)
    for text in (a0, b0):
        it = iter(w.lower() for w in re.findall(r"\w+", text))
        assert all(w in it for w in in_a)
    # paging: page 2 shows the next ten
    at.number_input(key=state.F_PAGE).set_value(2).run()
    shown2 = [text_of(h.proto.body) for h in at.get("html")]
    assert any(v.startswith(comp.examples[10]["messages"][0]["content"][:40]) for v in shown2)
    assert [m.value for m in at.markdown].count("**Turn 2**") == 10


def test_reading_mode_on_every_demo():
    for demo in state.demos():
        at = app()
        at.session_state[state.SOURCE] = ("demo", demo)
        at.session_state["ex_view"] = "Read"
        at.switch_page("pages/examples.py").run()
        assert_clean(at)
        assert sum("-badge[" in m.value for m in at.markdown) == 10
