"""The one renderer of a response (or any model-written text) as safe HTML, in two modes:

- ``markdown``: headings, lists, tables, emphasis, inline code and code blocks (syntax
  highlighted by Pygments, their text exactly the response's code, indentation included); a
  single line break is kept, as chat interfaces show an answer; a text over ``MAX_MARKDOWN``
  characters is shown raw;
- ``raw``: the exact text in a ``white-space: pre-wrap`` block (its text content is the string).

Nothing from the text runs, loads or links: raw HTML is shown as text (markdown-it's ``html``
off), links, images, autolinks and reference definitions are not parsed, so they are shown as
their own source (``![alt](address)``, ``[text](address)``), and the only tags and attributes
written are this module's own (``class``, never ``style``, ``href``, ``src`` or ``on*``).
Headings become ``h4``-``h6`` (a response never writes the page's own headings).

The word-level difference (``textdiff.word_diff``) is drawn by wrapping exact character spans
in ``<mark>``: in Raw mode directly; in Markdown mode after parsing, on the text of each token
(text, inline code, code-block lines), mapped back onto the response's characters (within the
token's own source lines), so highlighting never adds or removes a character.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from html import escape

from markdown_it import MarkdownIt
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

from comparator.reports.textdiff import Segments, word_diff

MODES = ("markdown", "raw")
MAX_HIGHLIGHT = 100_000  # a longer code block is shown without syntax colours
# a longer text is shown raw (markdown-it spends ~60 µs per table cell: 1 MB of table, 9 s)
MAX_MARKDOWN = 200_000
_RUN = re.compile(rb"[^\0]+")
_BREAK = re.compile(r"[ \t]*\n\s*")
_WINDOW = 400  # how far ahead a rendered character is looked for in the source

CSS = "\n".join([
    ".cmp-response{font-size:0.95rem;line-height:1.55;overflow-wrap:anywhere;"
    "max-width:100%}",
    ".cmp-response.cmp-raw{white-space:pre-wrap;font-size:0.85rem;line-height:1.45;"
    "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}",
    ".cmp-response mark{padding:0;margin:0;border-radius:2px;color:inherit}",
    ".cmp-response mark.cmp-a{background:#cfe2ff}.cmp-response mark.cmp-b{background:#ffdcb3}",
    ".cmp-response mark.cmp-same{background:#c6f1d3}",
    ".cmp-response pre{background:#f6f8fa;padding:0.6em 0.8em;border-radius:6px;"
    "overflow-x:auto;white-space:pre;font-size:0.85rem;line-height:1.4}",
    ".cmp-response code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
    "white-space:pre-wrap}",
    ".cmp-response pre code{white-space:pre}",
    ".cmp-response :not(pre)>code{background:#f0f2f6;padding:0 0.2em;border-radius:3px}",
    ".cmp-response table{border-collapse:collapse;display:block;overflow-x:auto;"
    "max-width:100%}",
    ".cmp-response th,.cmp-response td{border:1px solid #d0d7de;padding:0.2em 0.5em}",
    ".cmp-response h4,.cmp-response h5,.cmp-response h6{margin:0.8em 0 0.3em;"
    "font-weight:600}",
    ".cmp-response h4{font-size:1.15rem}.cmp-response h5{font-size:1.05rem}"
    ".cmp-response h6{font-size:1rem}",
    ".cmp-response p{margin:0 0 0.6em}",
    ".cmp-response .cmp-left{text-align:left}.cmp-response .cmp-right{text-align:right}"
    ".cmp-response .cmp-center{text-align:center}",
    ".cmp-response blockquote{border-left:3px solid #d0d7de;margin:0 0 0.6em;"
    "padding-left:0.8em;color:#57606a}",
    *[line.split(" /*")[0] for line in HtmlFormatter(style="default").get_style_defs(
        ".cmp-response .hl").splitlines() if line.startswith(".cmp-response .hl .")],
])


def marks(segments: Segments, mark: bool = True) -> bytearray:
    """One flag per character of the text ``segments`` make up: 1 where a segment's
    ``differs`` equals ``mark`` (mark=False: the shared words), except whitespace at a
    segment's edge and line breaks with the indentation around them (a highlight starts and
    ends on a word, and never paints a line's margin)."""
    out = bytearray()
    for seg, differs in segments:
        start = len(out)
        out += bytes(len(seg))
        if differs != mark:
            continue
        lead = len(seg) - len(seg.lstrip())
        out[start + lead: start + len(seg.rstrip())] = b"\1" * len(seg.strip())
        for m in _BREAK.finditer(seg):
            out[start + m.start(): start + m.end()] = bytes(m.end() - m.start())
    return out


@lru_cache(maxsize=128)
def pair_html(a: str, b: str, mode: str, shared: bool = False) -> tuple[str, str]:
    """Both responses rendered, with the words only one of them has highlighted (blue in A,
    orange in B); ``shared``: the runs both share, green. Without highlight when too long to
    diff (``word_diff`` returns None)."""
    diff = word_diff(a, b)
    if diff is None:
        return render(a, mode, kind="cmp-side-a"), render(b, mode, kind="cmp-side-b")
    classes = ("cmp-same", "cmp-same") if shared else ("cmp-a", "cmp-b")
    return (render(a, mode, marks(diff[0], not shared), classes[0], "cmp-side-a"),
            render(b, mode, marks(diff[1], not shared), classes[1], "cmp-side-b"))


def render(text: str, mode: str = "markdown", flags: Sequence[int] | None = None,
           mark_class: str = "cmp-a", kind: str = "") -> str:
    """``text`` as one ``<div class="cmp-response cmp-md|cmp-raw kind">``; ``flags`` (one per
    character, as ``marks`` makes) says which characters to highlight with
    ``<mark class=mark_class>``; ``kind``: a class naming what the text is."""
    text = str(text)
    kind = f" {escape(kind)}" if kind else ""
    if mode not in MODES:
        raise ValueError(f"unknown display mode {mode!r}: use one of {', '.join(MODES)}")
    flags = flags if flags is not None and len(flags) == len(text) else None
    if mode == "raw" or len(text) > MAX_MARKDOWN:
        body = _wrap(text, flags, mark_class)
        return f'<div class="cmp-response cmp-raw{kind}">{body}</div>'
    src, flags = _normalize(text, flags)
    env = {"src": src, "flags": flags, "pos": 0, "cls": mark_class}
    md = _parser()
    tokens = md.parse(src, env)
    _bound(tokens, src)
    body = md.renderer.render(tokens, md.options, env)
    return f'<div class="cmp-response cmp-md{kind}">{body}</div>'


def _wrap(text: str, flags: Sequence[int] | None, cls: str) -> str:
    """``text`` escaped, its flagged runs in ``<mark>``."""
    if not flags or not any(flags):
        return escape(text, quote=False)
    out, i = [], 0
    for m in _RUN.finditer(bytes(flags)):
        out.append(escape(text[i: m.start()], quote=False))
        out.append(f'<mark class="{cls}">{escape(text[m.start(): m.end()], quote=False)}</mark>')
        i = m.end()
    out.append(escape(text[i:], quote=False))
    return "".join(out)


def _normalize(text: str, flags):
    """The text as markdown-it reads it (CR LF and CR to LF, NUL to U+FFFD), flags kept in
    step."""
    if "\r" not in text and "\0" not in text:
        return text, flags
    chars, out = [], []
    for i, ch in enumerate(text):
        if ch == "\r" and text[i + 1: i + 2] == "\n":
            continue
        chars.append("\n" if ch == "\r" else "\ufffd" if ch == "\0" else ch)
        if flags is not None:
            out.append(flags[i])
    return "".join(chars), (out if flags is not None else None)


def _bound(tokens, src: str) -> None:
    """Each leaf token learns the source offsets of its block's lines (``meta['span']``):
    its text is looked for only there."""
    starts = [0, *(m.end() for m in re.finditer("\n", src)), len(src)]

    def span(m):
        return starts[min(m[0], len(starts) - 1)], starts[min(m[1], len(starts) - 1)]

    for t in tokens:
        if t.map is None:
            continue
        if t.type == "inline":
            for c in t.children or []:
                c.meta["span"] = span(t.map)
        elif t.type in ("fence", "code_block"):
            t.meta["span"] = span(t.map)


def _align(text: str, token, env) -> list[int] | None:
    """For each character of ``text`` (a token's text, in order), whether the source
    character it comes from is flagged; the source is read forward from ``env['pos']``."""
    flags = env["flags"]
    if flags is None:
        return None
    src = env["src"]
    lo, hi = token.meta.get("span", (0, len(src)))
    pos = max(env["pos"], lo)
    j = src.find(text, pos, hi)
    if j != -1 and j - pos <= _WINDOW:  # the usual case: the text is in the source as is
        env["pos"] = j + len(text)
        return list(flags[j: j + len(text)])
    out = []
    for ch in text:  # escapes, entities, a code block's stripped indentation
        j = src.find(ch, pos, min(hi, pos + _WINDOW))
        if j == -1:
            out.append(0)
        else:
            out.append(flags[j])
            pos = j + 1
    env["pos"] = pos
    return out


def _text(self, tokens, idx, options, env):
    t = tokens[idx]
    return _wrap(t.content, _align(t.content, t, env), env["cls"])


def _code_inline(self, tokens, idx, options, env):
    t = tokens[idx]
    return f"<code>{_wrap(t.content, _align(t.content, t, env), env['cls'])}</code>"


def _code(self, tokens, idx, options, env):
    t = tokens[idx]
    code = t.content
    flags = _align(code, t, env)
    lang = (t.info or "").strip().split(maxsplit=1)[0] if t.type == "fence" and t.info else ""
    parts = _lex(code, lang)
    out, k = [], 0
    for ttype, value in parts:
        piece = _wrap(value, None if flags is None else flags[k: k + len(value)], env["cls"])
        k += len(value)
        cls = STANDARD_TYPES.get(ttype, "")
        out.append(f'<span class="{cls}">{piece}</span>' if cls else piece)
    lang_cls = f' class="language-{escape(lang)}"' if lang else ""
    return f'<pre class="hl"><code{lang_cls}>{"".join(out)}</code></pre>\n'


def _lex(code: str, lang: str) -> list[tuple]:
    """Pygments tokens of ``code`` whose values add up to ``code`` exactly (one plain token
    when the language is unknown, the block too long, or the lexer changes the text)."""
    if lang and len(code) <= MAX_HIGHLIGHT:
        try:
            lexer = get_lexer_by_name(lang, stripnl=False, ensurenl=False)
            parts = [(tt, v) for _, tt, v in lexer.get_tokens_unprocessed(code)]
            if "".join(v for _, v in parts) == code:
                return parts
        except (ClassNotFound, ValueError):
            pass
    return [(None, code)]


def _cell(self, tokens, idx, options, env):
    """A table cell: its column's alignment as a class (no ``style`` attribute is written)."""
    t = tokens[idx]
    align = (t.attrGet("style") or "").removeprefix("text-align:")
    cls = f' class="cmp-{align}"' if align in ("left", "right", "center") else ""
    return f"<{t.tag}{cls}>"


def _heading(self, tokens, idx, options, env):
    t = tokens[idx]
    level = min(6, int(t.tag[1]) + 3)
    return f"<h{level}>" if t.nesting == 1 else f"</h{level}>\n"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # breaks: a single line break is kept (as chat interfaces show a model's answer)
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False,
                                   "breaks": True})
    md.enable(["table", "strikethrough"])
    # shown as their own source text: nothing links, loads or defines a link
    md.disable(["link", "image", "autolink", "reference", "html_block", "html_inline"])
    for name, rule in (("text", _text), ("code_inline", _code_inline), ("fence", _code),
                       ("code_block", _code), ("heading_open", _heading),
                       ("th_open", _cell), ("td_open", _cell),
                       ("heading_close", _heading)):
        md.add_render_rule(name, rule)
    return md
