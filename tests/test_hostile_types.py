"""Issue 20, classes 7 and 8, tried as an attacker would, through the real CLI: names that hold
ANSI sequences, C1 controls, bidirectional overrides and zero-width characters never reach the
terminal raw (tables, --json, errors, Markdown); the HTML report's scripts survive slice
values and fields with quotes, backslashes, line breaks, ``</script>`` and U+2028; numbers
that are not numbers (``true``, 400 digits) are refused alike by ``stats`` (the store) and
``report`` (the importer); unclear messages (a 5,000-character path, a redirect loop, a
COMPARATOR_HOME that is a file, a bad COMPARATOR_STORE_MAX_GB, a named pipe) name the thing and
say what to do, one line, exit 2. The broken-file cases of this class are also in the hostile
corpus (tests/hostile/corpus.py, ``_types``)."""

from __future__ import annotations

import html.parser
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT, SHARED
from hostile.corpus import BIG, DEMO

# what must never reach a terminal raw: C0 but line break and tab, DEL, C1, bidi, zero-width
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
EVIL_A = "gpt\x1b[2J\x1b]0;owned\x07-4\u202e"  # clear screen, retitle, bell, bidi override
EVIL_B = "claude\x9b31m\r\u200b"  # a C1 CSI, a carriage return, a zero-width space
CATEGORIES = ["c\x1b[31mred", "cx", "c\u200bx", "a\\b", "n\nl", 'q"</script><!--', "\u2028x"]


def cli(*args, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "comparator", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def clis(*commands: tuple, env: dict | None = None, envs: list[dict] | None = None
         ) -> list[subprocess.CompletedProcess]:
    """Several commands at once (two cores): their results, in order; ``envs``: each
    command's own variables."""
    envs = envs or [{}] * len(commands)
    procs = [subprocess.Popen([sys.executable, "-m", "comparator", *map(str, c)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, **(env or {}), **e})
             for c, e in zip(commands, envs, strict=True)]
    out = []
    for p, c in zip(procs, commands):
        o, e = p.communicate(timeout=60)
        out.append(subprocess.CompletedProcess(c, p.returncode, o, e))
    return out


def refused(r: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit 2, one line on stderr beginning ``error:`` and holding every fragment, no
    traceback, nothing raw; the line."""
    assert r.returncode == 2, (r.args, r.returncode, r.stderr[-2000:])
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-2000:]
    assert "Traceback" not in r.stderr and not RAW.search(r.stderr), r.stderr
    for f in fragments:
        assert f.lower() in lines[0].lower(), (f, lines[0])
    return lines[0]


def _demo() -> tuple[dict, list[dict]]:
    rows = [json.loads(x) for x in DEMO.read_text().splitlines()[:15]]
    return rows[0], rows[1:]


def _write(path: Path, header: dict, examples: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                            for r in [header, *examples]))
    return path


@pytest.fixture()
def evil(tmp_path) -> Path:
    """A copy of the demo's first 14 examples: hostile model names, categories and a metadata
    field whose name and values hold quotes, backslashes, line breaks and ``</script>``."""
    header, exs = _demo()
    header = {**header, "model_a": EVIL_A, "model_b": EVIL_B}
    for k, ex in enumerate(exs):
        ex["category"] = CATEGORIES[k % len(CATEGORIES)]
        ex["metadata"] = {'we\\ird"\nkey</script>': ["x\\y", "p\nq", "</script><!--",
                                                      "\u2028z"][k % 4]}
    return _write(tmp_path / "evil.jsonl", header, exs)


FIELD = 'metadata.we\\ird"\nkey</script>'


def test_ansi_bidi_and_zero_width_never_reach_the_terminal_raw(evil, tmp_path):
    md = tmp_path / "r.md"
    rows = [json.loads(x) for x in evil.read_text().split("\n") if x]
    for ex in rows[1:]:  # responses too: the Markdown report quotes them
        ex["response_a"] += "\r\n\x1b[31mred\x1b[0m \u202eevil"
    responses = _write(tmp_path / "responses.jsonl", rows[0], rows[1:])
    text, as_json, report, error = clis(
        ("stats", evil, "--by", "category"), ("stats", evil, "--by", "category", "--json"),
        ("report", responses, "--by", "category", "-o", md),
        ("stats", evil, "--by", "metadata.\x1b[31mnope\u202e"))
    for r in (text, as_json, report):
        assert r.returncode == 0, r.stderr
    for r in (text, as_json, report, error):
        assert not RAW.search(r.stdout + r.stderr), repr((r.stdout + r.stderr)[:3000])
    # shown escaped, and every slice on a line of its own, the two look-alikes apart
    assert "gpt\\u001b[2J\\u001b]0;owned\\u0007-4\\u202e (A)" in text.stdout
    assert "claude\\u009b31m\\u000d\\u200b (B)" in text.stdout
    rows = [line.split()[0] for line in text.stdout.splitlines()[6:] if line[:1] not in "* "]
    assert {"c\\u001b[31mred", "cx", "c\\u200bx", "n\\u000al", "\\u2028x"} <= set(rows), rows
    # --json keeps its meaning: the escapes are JSON's
    data = json.loads(as_json.stdout)
    assert (data["model_a"], data["model_b"]) == (EVIL_A, EVIL_B)
    assert {s["value"] for s in data["slices"]} == set(CATEGORIES)
    # an error that quotes the name quotes it escaped
    refused(error, "\\u001b[31mnope\\u202e")
    # the Markdown report (read with cat) holds no raw control either
    assert not RAW.search(md.read_text()) and "gpt\\\\u001b" in md.read_text()
    assert "\\u001b[31mred\\u001b[0m \\u202eevil" in md.read_text()


def test_leaderboard_names_are_escaped_and_zero_width_look_alikes_stay_apart(tmp_path):
    """Arena battles between "gpt-4", "gpt\u200b-4" (a zero-width space) and "cl\x1b[8maude":
    three rows, each name shown as it is, none raw."""
    names = ["gpt-4", "gpt\u200b-4", "cl\x1b[8maude"]
    qs = [json.loads(x) for x in (SHARED / "mt_bench/question.jsonl").read_text()
          .splitlines()[:12]]
    battles = []
    for k, q in enumerate(qs):
        a, b = names[k % 3], names[(k + 1) % 3]
        conv = [{"role": "user", "content": q["turns"][0]}]
        battles.append({"question_id": q["question_id"], "model_a": a, "model_b": b,
                        "winner": ["model_a", "model_b", "tie"][k % 3], "judge": "expert",
                        "turn": 1,
                        "conversation_a": [*conv, {"role": "assistant", "content": "x" * k}],
                        "conversation_b": [*conv, {"role": "assistant", "content": "y" * k}]})
    path = tmp_path / "battles.jsonl"
    path.write_text("".join(json.dumps(b) + "\n" for b in battles))
    text, as_json = clis(("leaderboard", path, "--rounds", "20"),
                         ("leaderboard", path, "--rounds", "20", "--json"))
    assert text.returncode == 0 and as_json.returncode == 0, text.stderr + as_json.stderr
    assert not RAW.search(text.stdout + text.stderr)
    shown = [line.split()[1] for line in text.stdout.splitlines()[1:4]]
    assert sorted(shown) == sorted(["gpt-4", "gpt\\u200b-4", "cl\\u001b[8maude"]), text.stdout
    assert sorted(m["name"] for m in json.loads(as_json.stdout)["models"]) == sorted(names)


class _Scripts(html.parser.HTMLParser):
    """Every <script> of a page as the browser's tokenizer cuts it: (attributes, text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict, str]] = []
        self.text: list[str] = []
        self._in: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in = dict(attrs)
            self.scripts.append((self._in, ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = None

    def handle_data(self, data):
        if self._in is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.text.append(data)


_NEWPLOT = re.compile(r'Plotly\.newPlot\(\s*("[^"\\\n]*"),\s*(\[.*\]),\s*(\{.*\}),\s*'
                      r'(\{[^{}]*\})\s*\)', re.S)


def test_html_report_scripts_survive_hostile_slice_values_and_fields(evil, tmp_path):
    out = tmp_path / "r.html"
    r = cli("report", evil, "--by", "category", "--by", FIELD, "-o", out)
    assert r.returncode == 0, r.stderr
    page = out.read_text()
    parser = _Scripts()
    parser.feed(page)
    scripts = parser.scripts
    assert page.count("<script") == page.count("</script>") == len(scripts)
    data = [json.loads(t) for a, t in scripts if a.get("type") == "application/json"]
    assert len(data) == 1
    slices = data[0]["stats"]["slices"]
    assert {s["value"] for s in slices if s["field"] == "category"} == set(CATEGORIES)
    assert {s["value"] for s in slices if s["field"] == FIELD} == {"x\\y", "p\nq",
                                                                   "</script><!--", "\u2028z"}
    plots = [_NEWPLOT.search(t) for a, t in scripts if "Plotly.newPlot" in t]
    assert len(plots) == 3  # the histogram and both slice charts, each whole
    for m in plots:
        div = json.loads(m.group(1))
        assert re.fullmatch(r"fig-[a-z0-9-]+", div), div
        assert f'id="{div}"' in page
        traces = json.loads(m.group(2))
        json.loads(m.group(3)), json.loads(m.group(4))
    bars = [json.loads(m.group(2))[0] for m in plots[1:]]
    assert set(bars[0]["customdata"]) == set(CATEGORIES)  # a click names the real value
    labels = " ".join(bars[0]["y"])
    assert "c\\u200bx" in labels and "c\\u001b[31mred" in labels and "&lt;/script&gt;" in labels
    # the page's text (tables, headings) shows names and look-alikes escaped, none raw
    text = "".join(parser.text)
    assert not RAW.search(text), [c for c in text if RAW.match(c)]
    assert "c\\u200bx" in text and "gpt\\u001b[2J" in text and traces


def _numbers(tmp_path: Path) -> dict[str, Path]:
    header, exs = _demo()

    def changed(name: str, k: int, **changes) -> Path:
        rows = json.loads(json.dumps(exs))
        rows[k].update(changes)
        return _write(tmp_path / name, header, rows)

    big = changed("big_x.jsonl", 2, reasons=[{**exs[2]["reasons"][0], "x": 0.123}])
    big.write_text(big.read_text().replace("0.123", BIG, 1))
    return {"bool": changed("bool.jsonl", 1, judgments=[{**exs[1]["judgments"][0],
                                                         "score": True}]),
            "big": big,
            "int32": changed("int32.jsonl", 3, reasons=[{**exs[3]["reasons"][0],
                                                         "cluster": 1 << 40}])}


@pytest.mark.parametrize("case,line,field,fragment", [
    ("bool", 3, "judgments[0].score", "valid number"),
    ("big", 4, "reasons[0].x", "finite"),
    ("int32", 5, "reasons[0].cluster", "2147483647")])
def test_numbers_that_are_not_numbers_are_refused_alike_by_stats_and_report(
        tmp_path, case, line, field, fragment):
    """`stats` reads through the store (Arrow), `report` through the importer (pydantic): the
    same one line, naming file, line and field; never a pyarrow message, never 1.0 for true."""
    path = _numbers(tmp_path)[case]
    stats, report, board = clis(("stats", path), ("report", path, "-o", tmp_path / "r.html"),
                                ("leaderboard", path, "--rounds", "10"))
    msgs = [refused(r, f"{path}:{line}: field '{field}'", fragment)
            for r in (stats, report, board)]
    assert msgs[0] == msgs[1] == msgs[2]
    assert not (tmp_path / "r.html").exists()


def test_schema_versions_that_do_not_exist_are_named(tmp_path):
    """0, -1, "3" and true through `stats` and `convert`: the hostile corpus; here 3.0 (which
    equals 3, so the store's reader must not take it) and `report`."""
    header, exs = _demo()
    paths = [_write(tmp_path / f"v{k}.jsonl", {**header, "schema_version": v}, exs)
             for k, v in enumerate([3.0, -1])]
    stats, report = clis(("stats", paths[0]), ("report", paths[1], "-o", tmp_path / "r.md"))
    refused(stats, f"{paths[0]}:1: field 'schema_version'", "whole number from 1 to 3", "3.0")
    refused(report, f"{paths[1]}:1: field 'schema_version'", "whole number", "got -1")


def test_a_5000_character_path_is_named_and_explained(tmp_path):
    long = tmp_path / ("a" * 5000 + ".jsonl")
    demo = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"
    results = clis(("stats", long), ("leaderboard", long),
                   ("report", demo, "-o", tmp_path / ("b" * 5000 + ".html")),
                   ("stats", demo, "--ratings", long))
    for r in results:
        line = refused(r, "aaaa" if r.args[0] != "report" else "bbbb")
        assert len(line) < 600, len(line)  # the name cut, not 5,000 characters
    for r in (results[0], results[1]):
        refused(r, "longer than this system allows", "rename the file or move it")
    refused(results[3], "--ratings")


def test_comparator_home_that_is_a_file_or_cannot_be_made_is_named(tmp_path):
    demo = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"
    afile = tmp_path / "home-file"
    afile.write_text("not a folder")
    as_file, under_file, *max_gb = clis(
        *[("stats", demo)] * 4, envs=[{"COMPARATOR_HOME": str(afile)},
                                      {"COMPARATOR_HOME": str(afile / "sub")},
                                      {"COMPARATOR_STORE_MAX_GB": "abc"},
                                      {"COMPARATOR_STORE_MAX_GB": "nan"}])
    refused(as_file, "COMPARATOR_HOME", str(afile), "is a file, not a folder",
            "set COMPARATOR_HOME to a folder")
    refused(under_file, "COMPARATOR_HOME", "cannot be created", "set COMPARATOR_HOME")
    for r, v in zip(max_gb, ("abc", "nan"), strict=True):
        refused(r, f"COMPARATOR_STORE_MAX_GB='{v}'", "gigabytes", "fix or unset")


def test_a_named_pipe_given_to_ratings_or_open_is_named_without_waiting(tmp_path):
    demo = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"
    fifo = tmp_path / "ratings.jsonl"
    os.mkfifo(fifo)
    ratings, opened = clis(("stats", demo, "--ratings", fifo), ("open", fifo, "--port", "1"))
    refused(ratings, str(fifo), "named pipe", "--ratings")
    refused(opened, str(fifo), "named pipe")


def test_a_redirect_loop_is_named_in_one_line(tmp_path, monkeypatch):
    from comparator.formats.fetch import download

    class Loop(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(302)
            self.send_header("Location", self.path)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Loop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/data/"
        monkeypatch.setenv("COMPARATOR_URL_PREFIXES", base)
        monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
        with pytest.raises(ValueError) as err:
            download(base + "x.jsonl")
    finally:
        server.shutdown()
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(base + "x.jsonl: ")
    assert "redirects in a loop" in msg and "check the URL" in msg
    assert not list((tmp_path / "downloads").glob("*"))


def test_dashboard_shows_look_alike_names_apart(tmp_path):
    """Model names "gpt-4" and "gpt\u200b-4", and look-alike categories, on the dashboard: the
    sidebar's caption and the slice values show the zero-width space as an escape."""
    from streamlit.testing.v1 import AppTest

    from comparator.ui import state

    header, exs = _demo()
    for k, ex in enumerate(exs):
        ex["category"] = ["cx", "c\u200bx"][k % 2]
    path = _write(tmp_path / "look_alike.jsonl",
                  {**header, "model_a": "gpt-4", "model_b": "gpt\u200b-4"}, exs)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="upload").set_value((path.name, path.read_bytes(), "application/jsonl"))
    at.run()
    next(b for b in at.button if b.label == "Load").click().run()
    at.switch_page("pages/overview.py").run()
    assert not at.exception, at.exception
    caption = " ".join(c.value for c in at.sidebar.caption)
    assert "**gpt\\-4** (A) vs **gpt\\\\u200b\\-4** (B)" in caption, caption
    at.sidebar.selectbox(key=state.W_FIELD).set_value("category").run()
    values = next(s for s in at.sidebar.selectbox if s.key == state.W_VALUE)
    assert values.options == [state.ALL_VALUES, "cx", "c\\u200bx"], values.options
