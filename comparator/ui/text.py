"""The one escaping helper of the dashboard: text from files (model names, categories, tags,
slice values, judge names, error messages quoting a file) goes through ``md_text``
(names and labels through ``md_label``, which also shows invisible characters) before any
Streamlit element that renders Markdown (markdown, title, caption, metric labels, expander
labels, alerts). Markdown punctuation, HTML brackets and ``$`` (LaTeX) are backslash-escaped,
so the text is shown as written: no link, image, heading, bold or formula. Plotly labels have
their own escaping (``comparator.reports.charts.plain``). Prompts, responses, reference answers
and rationales are rendered as safe HTML instead (``comparator.ui.responses``)."""

from __future__ import annotations

import re

from comparator.schema.visible import visible

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&^=\"'])")
# GFM turns bare URLs, www. names and e-mail addresses into live links after parsing, so
# escaping cannot stop it: an invisible WORD JOINER (U+2060) breaks the pattern instead
_AUTOLINK = re.compile(r"(?i)(://|www\.|@)")
_JOINER = "\u2060"


def md_label(text: str) -> str:
    """A name, category, judge or slice value for st.markdown: as ``md_text``, on one line
    with its invisible characters shown (``visible``: two model names that differ by a
    zero-width space look different, as in the CLI and the report)."""
    return md_text(visible(text))


def md_text(text: str) -> str:
    """``text`` escaped for st.markdown: shown literally, line breaks kept."""
    text = _AUTOLINK.sub(lambda m: m.group(1)[0] + _JOINER + m.group(1)[1:], str(text))
    return "  \n".join(_MD_SPECIAL.sub(r"\\\1", line) for line in text.split("\n"))
