"""The one renderer of responses (comparator.reports.markdown_safe): nothing from the text runs,
loads or links; Raw mode's text is the response exactly; a code block's text is the response's
code exactly; the word-difference highlight never adds, removes or moves a character. Checked
on hostile strings and on every response pair of the bundled demos (real judged files)."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser

import pytest
from conftest import ROOT

from comparator.reports.markdown_safe import MAX_MARKDOWN, marks, pair_html, render
from comparator.reports.textdiff import word_diff
from comparator.schema.records import response_text

ALLOWED_TAGS = {"div", "p", "mark", "code", "pre", "span", "em", "strong", "s", "h4", "h5",
                "h6", "ul", "ol", "li", "blockquote", "hr", "br", "table", "thead", "tbody",
                "tr", "th", "td"}
# a fenced block at the start of a line: its code runs to a closing fence at least as long, or
# to the end of the text (CommonMark: an answer cut off inside its code)
FENCE = re.compile(r"^(`{3,})[^`\n]*\n(.*?)(?:^\1`*[ \t]*$|\Z)", re.S | re.M)


class _Doc(HTMLParser):
    """Tags, attributes, the whole text, and the text of each <pre><code>."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.parts, self.codes = set(), [], [], []
        self._in_pre = False
        self.feed(html)
        self.close()
        self.text = "".join(self.parts)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag == "pre":
            self._in_pre = True
            self.codes.append("")

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data):
        self.parts.append(data)
        if self._in_pre:
            self.codes[-1] += data


def _demo_pairs() -> list[tuple[str, str]]:
    out = []
    for path in sorted((ROOT / "data").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            ex = json.loads(line)
            if "response_a" in ex:
                out.append((response_text(ex["response_a"]), response_text(ex["response_b"])))
    return out


PAIRS = _demo_pairs()


def _assert_safe(html: str) -> _Doc:
    doc = _Doc(html)
    assert doc.tags <= ALLOWED_TAGS, doc.tags - ALLOWED_TAGS
    # only this module's classes, and an ordered list's first number
    assert {k for _, k, _ in doc.attrs} <= {"class", "start"}, doc.attrs
    assert all(v.isdigit() for _, k, v in doc.attrs if k == "start")
    return doc


@pytest.mark.parametrize("mode", ["markdown", "raw"])
def test_nothing_links_loads_or_runs(mode):
    text = ("# Title\n\n[site](http://127.0.0.1:9/x) ![a cat](http://127.0.0.1:9/cat.png)\n"
            "[js](javascript:alert(1)) <http://127.0.0.1:9/auto> www.example.com\n\n"
            "<script>alert(2)</script>\n\n<img src=x onerror=alert(3)>\n"
            '<a href="http://127.0.0.1:9/a" style="color:red" onclick="alert(4)">a</a>\n\n'
            "[ref]: http://127.0.0.1:9/ref\n\n```html\n<script>alert(5)</script>\n```\n"
            "\n| left | right |\n|:--|--:|\n| <b>1</b> | 2 |\n\n3. three\n")
    doc = _assert_safe(render(text, mode))
    # links and images are shown as their text and address, raw HTML as text
    for shown in ("[site](http://127.0.0.1:9/x)", "![a cat](http://127.0.0.1:9/cat.png)",
                  "[js](javascript:alert(1))", "<script>alert(2)</script>",
                  "<img src=x onerror=alert(3)>", "[ref]: http://127.0.0.1:9/ref",
                  '<a href="http://127.0.0.1:9/a" style="color:red" onclick="alert(4)">a</a>'):
        assert shown in doc.text, shown
    if mode == "markdown":  # the page's own h1-h3 are never written by a response
        assert {"h4", "table", "ol"} <= doc.tags and not {"h1", "h2", "h3"} & doc.tags
        assert doc.codes == ["<script>alert(5)</script>\n"]
    else:
        assert doc.text == text


def test_a_huge_table_renders_safely_and_soon():
    cols = 20
    rows = "".join("| " + " | ".join(f"<b>{r}</b>[x](http://h/{c})" for c in range(cols))
                   + " |\n" for r in range(300))
    text = "| " + " | ".join(f"h{c}" for c in range(cols)) + " |\n|" + "---|" * cols + "\n"
    assert len(text + rows) < MAX_MARKDOWN
    t0 = time.perf_counter()
    doc = _assert_safe(render(text + rows))
    assert time.perf_counter() - t0 < 10
    assert "table" in doc.tags and doc.text.count("[x](http://h/3)") == 300
    # beyond MAX_MARKDOWN the text is shown raw: bounded time, exact text
    big = (text + rows) * (MAX_MARKDOWN // len(text + rows) + 1)
    doc = _assert_safe(render(big))
    assert doc.text == big and "table" not in doc.tags


def test_raw_mode_is_the_text_exactly():
    odd = "  lead\n\tTab  \n\n\n  trailing  \n<b>&amp;</b> \\# `x` :blue-background[y]\u200b\n"
    for text in (odd, *(t for pair in PAIRS[:300] for t in pair)):
        assert _Doc(render(text, "raw")).text == text


def test_code_blocks_keep_their_code_exactly():
    checked = 0
    for a, b in PAIRS:
        for text in (a, b):
            fenced = [m.group(2) for m in FENCE.finditer(text)]
            if not fenced or re.search(r"\n[ \t]+```", text):  # one inside a list: indented
                continue
            assert _Doc(render(text)).codes == fenced
            checked += 1
    assert checked >= 20  # the MT-Bench demo's coding answers, at least


@pytest.mark.parametrize("mode", ["markdown", "raw"])
def test_highlight_never_changes_the_text(mode):
    strip = re.compile(r"</?mark[^>]*>")
    marked = 0
    sample = [p for k, p in enumerate(PAIRS) if k % 16 == 0 or "```" in p[0] + p[1]]
    for a, b in [*sample, ("Just-In-Time is faster.", "Just In Time is much faster .")]:
        plain_a, plain_b = render(a, mode, kind="cmp-side-a"), render(b, mode, kind="cmp-side-b")
        ha, hb = pair_html(a, b, mode)
        shared = pair_html(a, b, mode, shared=True)
        for got, plain in ((ha, plain_a), (hb, plain_b), (shared[0], plain_a),
                           (shared[1], plain_b)):
            assert strip.sub("", got) == plain
        for m in re.finditer(r"<mark[^>]*>(.*?)</mark>", ha + hb, re.S):
            # in raw text a highlight starts and ends on a word, never on a space or a line
            # break (in Markdown a run may continue past an emphasis or a code span)
            assert mode == "markdown" or m.group(1) == m.group(1).strip(), m.group(1)
            marked += 1
    assert marked > 100


def test_marks_follow_the_diff():
    code_a = "def find_top_words(d):\n    return 1\n"
    code_b = "def get_top_five_words(d):\n    return 1\n"
    a, b = f"Code:\n```python\n{code_a}```\n", f"Code:\n```python\n{code_b}```\n"
    da, db = word_diff(a, b)
    fa = marks(da)
    assert len(fa) == len(a)
    assert "".join(c for c, f in zip(a, fa) if f) == "find_top_words"
    assert "".join(c for c, f in zip(b, marks(db)) if f) == "get_top_five_words"
    html = render(a, "markdown", fa)
    assert '<mark class="cmp-a">find_top_words</mark>' in html
    assert _Doc(html).codes == [code_a]
