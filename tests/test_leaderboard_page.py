"""The Leaderboard page through AppTest: the four AlpacaEval files uploaded together."""

from __future__ import annotations

import json

from conftest import ROOT, SHARED

ALPACA = sorted((SHARED / "alpaca_eval").glob("*.annotations.json"))


def test_leaderboard_page_with_four_alpaca_eval_files(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/leaderboard.py").run()
    assert not at.exception, at.exception
    at.checkbox(key="lb_open").uncheck()
    at.select_slider(key="lb_rounds").set_value(100)
    at.file_uploader(key="lb_files").set_value(
        [(p.name, p.read_bytes(), "application/json") for p in ALPACA])
    at.run()
    assert not at.exception, at.exception
    assert not at.error
    df = at.dataframe[0].value
    # the baseline met every model: 805 battles per file, minus unscored preferences
    n = {p: sum(r["preference"] is not None for r in json.loads(p.read_text())) for p in ALPACA}
    models = dict(zip(df["model"], df["battles"]))
    assert models["gpt4_1106_preview"] == sum(n.values())
    assert set(models) == {json.loads(p.read_text())[0]["generator_2"] for p in ALPACA} | {
        "gpt4_1106_preview"}
    assert list(df["rating"]) == sorted(df["rating"], reverse=True)
    assert abs(df["rating"].mean() - 1000) < 0.1
