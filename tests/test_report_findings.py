"""Issue 22, item 4: the Findings section of every report format. On the bundled AlpacaEval demo
the HTML, Markdown and JSON reports hold the findings ``comparator findings --json`` prints for
the same view (a separate process), sentence by sentence and filter by filter; a filtered
report's findings are those of ``find(comp, cfg, mask)`` for the report's mask; ``--no-findings``
leaves the section out; text from the file (category values, cluster titles) cannot inject HTML
or Markdown into the section."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from conftest import ROOT
from markdown_it import MarkdownIt

from comparator.analysis import expr
from comparator.analysis.filters import apply
from comparator.analysis.result import judge_selection
from comparator.findings import FindingsConfig, find
from comparator.formats import load
from comparator.reports.build import ViewSpec, build
from comparator.reports.export import render
from comparator.schema.jsonsafe import clean

DEMO = ROOT / "data" / "alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl"
VIEW = "category=selfinstruct"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[click](http://evil.example/x)"
SCRIPT = "</li><script>alert(2)</script>"


def cli(*args, home) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "comparator", *map(str, args)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "COMPARATOR_HOME": str(home),
                            "SOURCE_DATE_EPOCH": "1767225600"})
    assert r.returncode == 0, r.stderr
    return r


class Texts(HTMLParser):
    """The text of each element of the HTML report by tag, and every tag and attribute seen."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[list] = []
        self.done: list[tuple[str, str, dict]] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("li", "td", "p", "h2"):
            self.stack.append([tag, "", dict(attrs)])

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1][0] == tag:
            t, text, attrs = self.stack.pop()
            self.done.append((t, text, attrs))

    def handle_data(self, data):
        for item in self.stack:
            item[1] += data

    def of(self, tag: str) -> list[str]:
        return [text for t, text, _ in self.done if t == tag]


def html_texts(page: str) -> Texts:
    p = Texts()
    start = '<section id="findings">'
    p.feed(page.split(start, 1)[1].split("</section>", 1)[0] if start in page else "")
    return p


def md_texts(md: str) -> tuple[str, list[str], list[str]]:
    """The Markdown report rendered as CommonMark does (raw HTML on): the Findings section's
    HTML, its list items' texts and its table cells' texts."""
    section = md.split("\n## Findings\n", 1)[1].split("\n## ", 1)[0]
    page = MarkdownIt("commonmark").enable("table").render(section)
    p = Texts()
    p.feed(page)
    return page, p.of("li"), p.of("td")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def cli_findings(home):
    """``comparator findings --json`` of the demo, whole and filtered, from its own process."""
    whole = json.loads(cli("findings", DEMO, "--json", home=home).stdout)
    view = json.loads(cli("findings", DEMO, "--filter", VIEW, "--json", home=home).stdout)
    return whole, view


def check_formats(report, want: dict) -> None:
    """Each format holds ``want``: JSON the whole dict, HTML and Markdown each finding's
    sentence (in order) and filter, and each bias's sentence."""
    got = json.loads(render(report, "json"))["findings"]
    assert got == want
    sentences = [f["sentence"] for f in want["findings"]]
    filters = [f["filter"] for f in want["findings"]]
    biases = [b["sentence"] for b in want["biases"]]
    assert sentences and biases

    h = html_texts(render(report, "html"))
    assert h.of("li") == sentences + biases
    cells = h.of("td")
    assert all(f in cells for f in filters)
    assert f"{want['tested']:,} conjunctions tested" in h.of("p")[0]
    assert want["method"] in h.of("p")[0]

    _, items, tds = md_texts(render(report, "md"))
    assert items == sentences + biases
    assert all(f in tds for f in filters)


def test_every_format_holds_the_findings_of_the_comparison(cli_findings, home, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(home))
    report = build(load(DEMO), ViewSpec())
    whole = cli_findings[0]
    assert whole["n_scored"] == report.data["n_total"] == 805
    check_formats(report, whole)
    intro = html_texts(render(report, "html")).of("p")[0]
    assert "among all 805 scored examples of the comparison" in intro


def test_a_filtered_report_holds_the_findings_of_its_view(cli_findings, home, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(home))
    report = build(load(DEMO), ViewSpec(filters=[VIEW]))
    whole, view = cli_findings
    check_formats(report, view)
    # find() of the report's own mask, on a comparison loaded apart (no shared cache)
    comp = load(DEMO).comparison
    judges = judge_selection(comp, None)
    mask = apply(comp, expr.parse([VIEW]), 0.25, judges)
    assert (mask == report.mask).all() and 0 < mask.sum() < len(mask)
    direct = clean(find(comp, FindingsConfig(judges=judges), mask))
    assert report.data["findings"] == json.loads(json.dumps(direct))
    assert view["n_scored"] == int(mask.sum()) < whole["n_scored"]
    assert [f["filter"] for f in view["findings"]] != [f["filter"] for f in whole["findings"]]
    intro = html_texts(render(report, "html")).of("p")[0]
    assert f"the {int(mask.sum())} scored examples of this view (category = selfinstruct)" \
        in intro


def test_no_findings_and_depth_through_the_cli(tmp_path, home):
    cli("report", DEMO, "--findings-depth", "1", "--examples", "0", "-o", tmp_path / "d1.json",
        home=home)
    d1 = json.loads((tmp_path / "d1.json").read_text())
    want = json.loads(cli("findings", DEMO, "--depth", "1", "--json", home=home).stdout)
    assert d1["findings"] == want and want["depth"] == 1
    assert "--findings-depth 1" in d1["provenance"]["command"]

    cli("report", DEMO, "--no-findings", "--examples", "0", "-o", tmp_path / "none.md",
        home=home)
    md = (tmp_path / "none.md").read_text()
    assert "## Findings" not in md and "## Judge reliability" in md
    assert "--no-findings" in md  # the command line that reproduces the report
    report = build(load(DEMO), ViewSpec(findings=False, examples=0))
    assert report.data["findings"] is None
    assert "<h2>Findings</h2>" not in render(report, "html")
    assert "## Findings" not in render(report, "md")


def hostile_demo(path) -> None:
    """The demo with a model name, category values and cluster titles that are HTML and
    Markdown."""
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    head = json.loads(lines[0])
    head["model_a"] = f"{IMG} {LINK}"  # in every finding's sentence
    for c in head["metadata"]["clusters"]["clusters"]:
        c["title"] = f"{SCRIPT} {c['id']}"  # in every finding's top theme
    out = [json.dumps(head)]
    rename = {"selfinstruct": IMG, "oasst": LINK, "vicuna": "**bold** `code` _x_"}
    for line in lines[1:]:
        ex = json.loads(line)
        ex["category"] = rename.get(ex["category"], ex["category"])
        out.append(json.dumps(ex))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def test_hostile_category_values_and_titles_stay_text(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    path = tmp_path / "hostile.jsonl"
    hostile_demo(path)
    report = build(load(path), ViewSpec(examples=0))
    found = report.data["findings"]["findings"]
    sentences = [f["sentence"] for f in found]
    # the hostile strings are in the findings (else this test tests nothing)
    for s in (IMG, LINK, SCRIPT):
        assert any(s in x for x in sentences), s

    page = render(report, "html")
    h = html_texts(page)
    assert h.of("li")[: len(sentences)] == sentences  # shown literally, as text
    assert not [t for t in h.tags if t[0] in ("img", "script", "a")]
    assert not [t for t in h.tags if any(k.startswith("on") for k in t[1])]

    html_md, items, _ = md_texts(render(report, "md"))
    assert items[: len(sentences)] == sentences
    assert "<img" not in html_md and "<script" not in html_md and "<a " not in html_md
    assert "<strong>" not in html_md and "<em>" not in html_md
    assert "<code>" not in html_md


def test_report_page_preview_and_command_carry_the_findings(home, monkeypatch):
    """The dashboard's Report page (AppTest): the preview lists the findings of the view and
    its command line carries the page's depth; unticked, the section and its download go."""
    from streamlit.testing.v1 import AppTest

    from comparator.ui import state

    monkeypatch.setenv("COMPARATOR_HOME", str(home))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.session_state[state.SOURCE] = ("demo", next(k for k, v in state.demos().items()
                                                  if v.name == DEMO.name))
    at.switch_page("pages/report.py").run()
    assert not at.exception and not at.error
    want = find(load(DEMO).comparison, FindingsConfig(judges=judge_selection(
        load(DEMO).comparison, None)))["findings"]
    shown = "\n".join(m.value.replace("\\", "") for m in at.markdown)
    assert want and all(f["sentence"] in shown for f in want)
    at.selectbox(key="rep_findings_depth").set_value(1).run()
    assert "--findings-depth 1" in "".join(c.value for c in at.code)
    at.checkbox(key="rep_findings").uncheck().run()
    assert not at.exception
    shown = "\n".join(m.value.replace("\\", "") for m in at.markdown)
    assert not any(f["sentence"] in shown for f in want)
    assert "--no-findings" in "".join(c.value for c in at.code)
