"""The new benchmark files through the dashboard (Streamlit AppTest): JudgeBench's accuracy on the
Judge reliability page, and the table reader's column mapping on the Data page."""

from __future__ import annotations

import json

from conftest import SHARED, read_jsonl
from test_app import PAGES, app, assert_clean, upload
from test_benchmark_formats import AH_GAMES, JUDGEBENCH, judgebench_accuracy


def test_judgebench_accuracy_on_the_reliability_page():
    at = upload(app(), JUDGEBENCH)
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at)
    at.switch_page("pages/reliability.py").run()
    shown = next(m.value for m in at.metric if m.label.endswith("correct verdicts"))
    assert shown == f"{judgebench_accuracy(read_jsonl(JUDGEBENCH)):.2f}%"


def test_arena_hard_and_single_grades_open_on_every_page(tmp_path):
    both = tmp_path / "gpt-4_single.jsonl"
    both.write_bytes(b"".join(p.read_bytes() for p in sorted(
        (SHARED / "mt_bench_single").glob("*.jsonl"))))
    for path in (AH_GAMES, both):
        at = upload(app(), path)
        for page in PAGES:
            at.switch_page(page).run()
            assert_clean(at)


def test_data_page_shows_the_column_mapping(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"question": "q", "output_a": "x", "output_b": "y",
                                "winner": "A"}) + "\n")
    at = upload(app(), path)
    table = next(d for d in at.dataframe if "column" in d.value.columns)
    assert dict(zip(table.value["field"], table.value["column"]))["prompt"] == "question"
