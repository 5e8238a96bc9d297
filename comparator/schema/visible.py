"""The one function that makes a value from a file safe to show: ``visible(text)``.

Names, categories, judges and slice values come from files, so they may hold characters a
terminal acts on (ESC starts an ANSI sequence that recolours, clears or retitles it; C1
controls do the same in some terminals; a carriage return overwrites the line) or that are not
seen at all (bidirectional overrides reorder what follows, zero-width characters make two
different names look the same). Each such character is shown as its escape, ``\\u001b``,
``\\u202e``, ``\\u200b`` (astral ones as a surrogate pair), which is also valid inside a JSON
string, so JSON printed through the same filter keeps its meaning. Everything else (any script,
emoji) is kept as written. Used by the command line's output streams
(``comparator.cli.terminal``), error messages (``comparator.schema.errors.escaped``), the
HTML report's labels and the chart labels (``comparator.reports.charts.plain``).
"""

from __future__ import annotations

import functools
import re

# C0 and C1 controls and DEL; soft hyphen; combining grapheme joiner; Arabic letter mark;
# Hangul fillers; Khmer inherent vowels; Mongolian selectors and vowel separator; zero-width
# spaces, joiners and direction marks; line and paragraph separators; embeddings and
# overrides; word joiner, invisible operators and isolates; BOM; interlinear annotations;
# lone surrogates (undecodable file names); musical format controls; tag characters.
_INVISIBLE = ("\x00-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
              "\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
              "\ud800-\udfff\U0001d173-\U0001d17a\U000e0000-\U000e007f")


@functools.lru_cache(maxsize=8)
def _pattern(keep: str) -> re.Pattern[str]:
    chars = _INVISIBLE
    if keep:  # e.g. "\n\t": output text keeps its own line breaks
        return re.compile(f"(?![{re.escape(keep)}])[{chars}]")
    return re.compile(f"[{chars}]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    if c > 0xFFFF:  # as JSON writes it: a surrogate pair
        c -= 0x10000
        return f"\\u{0xD800 + (c >> 10):04x}\\u{0xDC00 + (c & 0x3FF):04x}"
    return f"\\u{c:04x}"


def visible(text: object, keep: str = "") -> str:
    """``text`` with every control, invisible or direction-changing character shown as its
    ``\\uXXXX`` escape; the characters in ``keep`` (say ``"\\n\\t"``) are left as they are."""
    return _pattern(keep).sub(_escape, str(text))
