"""Issue 21: every report format carries the benchmark figures of ``stats --json`` (MT-Bench
single-grade means per model and turn, a JudgeBench judge's accuracy against the gold label
overall and per source, Arena-Hard's score), and the "People vs judge" section appears only
with something to compare, on real files."""

from __future__ import annotations

import html
import json
import re

import pytest
from conftest import MT_JUDGMENTS, run_cli
from test_benchmark_formats import AH_V01, JUDGEBENCH, SINGLE

from comparator.formats import load
from comparator.ratings.store import save_rating
from comparator.reports.build import ViewSpec, build
from comparator.reports.export import write_report
from comparator.reports.html import render_html

KEYS = ("arena_hard_score", "single_scores", "reference_accuracy")


def _cells(row: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c))
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]


def table_rows(text: str, fmt: str) -> dict[str, list[str]]:
    """label -> the rest of its row, of every table of an HTML or Markdown report."""
    if fmt == "html":
        rows = [_cells(r) for r in re.findall(r"<tr>(.*?)</tr>", text, re.S)]
    else:
        rows = [[re.sub(r"\\(.)", r"\1", c).replace("&lt;", "<").replace("&gt;", ">")
                 .replace("&amp;", "&") for c in line.strip().strip("|").split(" | ")]
                for line in text.splitlines() if line.startswith("| ")]
    return {r[0].strip(): [c.strip() for c in r[1:]] for r in rows if r}


def expected(s: dict) -> dict[str, tuple[str, str | None]]:
    """label -> (value, interval or None) of each figure of ``stats --json`` ``s``."""
    want: dict[str, tuple[str, str | None]] = {}
    ah = s.get("arena_hard_score")
    if ah:
        head = f"Arena-Hard score of {ah['model']} vs {ah['baseline']}"
        for name, r in [(None, ah), *ah["by_category"].items()]:
            if r["score"] is not None:
                lo, hi = r["ci"]
                want[head if name is None else f"{head}: {name}"] = (
                    f"{r['score']:.1f}%", f"[{lo:.1f}, {hi:.1f}]")
    for model, r in (s.get("single_scores") or {}).items():
        want[f"MT-Bench single grade of {model}"] = (f"{r['mean']:.3f}", None)
        for t, v in r["by_turn"].items():
            want[f"MT-Bench single grade of {model}, turn {t}"] = (f"{v:.3f}", None)
    for judge, r in (s.get("reference_accuracy") or {}).items():
        head = f"{judge} accuracy vs {r['reference']}"
        want[head] = (f"{100 * r['accuracy']:.2f}%", None)
        for g, x in r["groups"].items():
            if x["accuracy"] is not None:
                want[f"{head}: {g}"] = (f"{100 * x['accuracy']:.2f}%", None)
    return want


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    both = tmp_path_factory.mktemp("single") / "gpt-4_single.jsonl"
    both.write_bytes(b"".join(p.read_bytes() for p in SINGLE))
    return both


@pytest.mark.parametrize("which", ["judgebench", "single", "arena-hard"])
def test_every_report_format_has_the_stats_json_figures(which, single, tmp_path):
    path = {"judgebench": JUDGEBENCH, "single": single, "arena-hard": AH_V01}[which]
    r = run_cli("stats", path, "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    present = [k for k in KEYS if k in s]
    assert present, f"{path.name}: stats --json has no benchmark figure"
    want = expected(s)
    assert want
    report = build(load(path), ViewSpec())
    for fmt in ("json", "md", "html"):
        out = tmp_path / f"report.{fmt}"
        write_report(report, out)
        text = out.read_text(encoding="utf-8")
        if fmt == "json":
            got = json.loads(text)["stats"]
            assert {k: got.get(k) for k in present} == {k: s[k] for k in present}
            continue
        rows = table_rows(text, fmt)
        for label, (value, interval) in want.items():
            assert label in rows, f"{fmt}: no row {label!r}"
            assert rows[label][0] == value, (fmt, label, rows[label])
            if interval is not None:
                assert rows[label][1].startswith(interval), (fmt, label, rows[label])


def _people_report(path, rating: float | None, tmp_path):
    loaded = load(path)
    comp = loaded.comparison
    ratings = save_rating(comp, "ann", comp.examples[0]["id"], rating, flipped=False,
                          root=tmp_path / "ratings")
    report = build(loaded, ViewSpec(ratings=[str(ratings)]))
    out = {}
    for fmt in ("md", "html", "json"):
        write_report(report, tmp_path / f"r.{fmt}")
        out[fmt] = (tmp_path / f"r.{fmt}").read_text(encoding="utf-8")
    return out


def test_no_people_section_without_a_rated_example(tmp_path):
    """A skipped example is the Rate page's first saved line: nothing to compare yet."""
    out = _people_report(MT_JUDGMENTS, None, tmp_path)
    assert "People vs judge" not in out["md"] and "People vs judge" not in out["html"]
    assert json.loads(out["json"])["people"] is None


def test_people_section_shows_only_rows_with_data(tmp_path):
    out = _people_report(MT_JUDGMENTS, 1.0, tmp_path)
    md = out["md"]
    assert "## People vs judge" in md
    section = md.split("## People vs judge", 1)[1].split("\n## ", 1)[0]
    rows = table_rows(section, "md")
    assert rows["rated examples"][0] == "1"
    assert any("vs people: agreement with ties" in k for k in rows)
    assert not [k for k, v in rows.items() if v[0] == "n/a"], rows
    assert json.loads(out["json"])["people"]["n_rated"] == 1



def test_source_date_epoch_makes_the_same_bytes(monkeypatch):
    loaded = load(MT_JUDGMENTS)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    one, two = (render_html(build(loaded, ViewSpec(by=["category"]))) for _ in range(2))
    assert one == two and "2026-01-01T00:00:00+00:00" in one
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH='yesterday'"):
        build(loaded, ViewSpec())
