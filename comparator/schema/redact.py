"""Secrets kept out of everything the product records or shows: output files, their headers,
error messages, logs.

``public_url`` is the one way a URL is recorded or shown: its ``user:password@`` part removed.
``redact`` is the one way error text (a server's error body, an exception) is recorded: URLs in
it lose their user info, and every form of a secret that a reader could turn back into it is
replaced by ``***``: the secret itself in any letter case, its characters JSON-escaped
(``\\u0073``), percent-encoded (``%73``, ``%2573``), as ``\\x73`` or HTML entities, spaced or
separated out (``s k - 1 2 3``, ``s\\n-k``), its base64 (standard or URL-safe, at each of the three
alignments inside a longer encoded text) and its hex. Punctuation inside a secret counts as a
separator, so ``sk-proj-abc`` written as ``skprojabc`` is caught too. A secret shorter than
``FUZZY_MIN`` letters and digits is replaced only as itself (any case), to spare ordinary words.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable
from urllib.parse import unquote

MIN_SECRET = 4  # shorter strings are not secrets worth hiding (nor hideable without damage)
FUZZY_MIN = 6  # letters and digits a secret needs before its spread-out forms are looked for
SCAN = 64 * 1024  # characters of a text scanned; the rest is dropped
TAIL = 8 * 1024  # dropped too at a cut: a secret's form cut in two is not left half-visible

_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]*://"
_URL_IN_TEXT = re.compile(rf"{_SCHEME}[^\s\"'<>]+")
_URL_START = re.compile(rf"^\s*{_SCHEME}")
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]*\]|[A-Za-z0-9._~-]*)(:\d*)?")
_ALNUM_HEX = r"(?:3[0-9]|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a])"  # a letter's or digit's code
_ALNUM_DEC = r"(?:4[89]|5[0-7]|6[5-9]|[78][0-9]|90|9[7-9]|1[01][0-9]|12[0-2])"
# What may stand between the characters of a secret written out: anything but a letter or a
# digit, plain or escaped (JSON / percent / \x escapes of other characters, zero-width spaces)
_SEP = ("(?:[^\\w\\\\%&]|_"
        f"|\\\\+u(?!00{_ALNUM_HEX})[0-9a-f]{{4}}"
        f"|\\\\+x(?!{_ALNUM_HEX})[0-9a-f]{{2}}"
        f"|%(?!(?:25)*{_ALNUM_HEX})(?:25)*[0-9a-f]{{2}}"
        "|\\\\(?:[nrtbf\"'/]|\\\\(?![\\\\ux]))|\\\\(?![\\\\uxnrtbf\"'/])"
        f"|&\\#x0*(?!{_ALNUM_HEX}(?![0-9a-f]))[0-9a-f]+;?"
        f"|&\\#0*(?!{_ALNUM_DEC}(?![0-9]))[0-9]+;?"
        "|%(?![0-9a-f]{2})|&(?!\\#)){0,8}+")


def public_url(url: str) -> str:
    """``url`` without its user info (``user:password@``), safe to record or show. The user
    info ends at the last ``@`` of the authority. A password holding a raw ``/``, ``?`` or
    ``#`` (no valid URL) is still removed: an ``@`` before the query, or any ``@`` after an
    authority that is no ``host:port``, ends the user info too."""
    text = str(url)
    m = _URL_START.match(text)
    if not m:
        return text
    head, rest = text[:m.end()], text[m.end():]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    before_query = rest.split("?", 1)[0]
    if "@" in authority:
        cut = authority.rindex("@")
    elif "@" in before_query:
        cut = before_query.rindex("@")
    elif "@" in rest and not _HOST_PORT.fullmatch(authority):
        cut = rest.rindex("@")
    else:
        return text
    return head + rest[cut + 1:]


def url_secrets(urls: Iterable[str | None]) -> list[str]:
    """The user names and passwords in ``urls`` (as written and decoded): secrets to redact."""
    out: list[str] = []
    for url in urls:
        text = str(url or "").strip()
        if not _URL_START.match(text):
            continue
        rest = text[_URL_START.match(text).end():]
        kept = public_url(text)[len(text) - len(rest):]  # public_url drops a prefix of rest
        info = rest[:len(rest) - len(kept)][:-1]  # without its closing '@'

        for part in (info, *info.split(":", 1)) if info else ():
            out += [part, unquote(part)]
    return [s for s in dict.fromkeys(out) if len(s) >= MIN_SECRET]


_KNOWN: set[str] = set()  # every secret this process was given (keys, URL user info)


def remember(*secrets: str | None) -> None:
    """Add secrets this process uses: every later ``redact`` hides them too, whoever calls it
    (an error printed by the command line, a job's error on a page)."""
    _KNOWN.update(s for s in secrets if s and len(s) >= MIN_SECRET)


def redact(text: str, secrets: Iterable[str | None] = (), limit: int | None = None) -> str:
    """``text`` safe to record: URLs without user info, every recoverable form of each of
    ``secrets`` and of the ``remember``-ed ones replaced by ``***`` (see the module), then cut
    to ``limit`` characters."""
    text = str(text)
    if len(text) > SCAN:
        text = text[:SCAN - TAIL] + "…"
    text = _URL_IN_TEXT.sub(lambda m: public_url(m[0]), text)
    every = {s for s in (*secrets, *_KNOWN) if s and len(s) >= MIN_SECRET}
    for s in sorted(every, key=len, reverse=True):
        text = _pattern(s).sub("***", text)
    if limit is not None and len(text) > limit:
        text = text[:limit - 1] + "…"
    return text


@functools.lru_cache(maxsize=64)
def _pattern(secret: str) -> re.Pattern:
    """One pattern for every form of ``secret`` (longest forms first)."""
    own, *encoded = _encodings(secret)
    forms = [_spread(own) or re.escape(own), *filter(None, map(_spread, encoded))]
    return re.compile("|".join(dict.fromkeys(forms)), re.IGNORECASE)


def _encodings(secret: str) -> list[str]:
    """The secret, its hex, and the base64 characters that only its bytes decide, at each of
    the three alignments (URL-safe base64 differs only in ``-_`` for ``+/``: punctuation, which
    the spread-out pattern treats as a separator anyway)."""
    raw = secret.encode("utf-8")
    out = [secret, raw.hex()]
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + raw).decode("ascii")
        out.append(enc[-(-8 * pad // 6):(8 * (pad + len(raw))) // 6])
    return out


def _spread(form: str) -> str | None:
    """The pattern of ``form`` written out with anything between its letters and digits (None
    when too short to look for so loosely: then only the secret itself, as it is)."""
    chars = [c for c in form if c.isalnum()]
    if len(chars) < FUZZY_MIN:
        return None
    return _SEP.join(_char(c) for c in chars)


def _char(c: str) -> str:
    """One character of a secret: itself (any case, by the flag) or escaped in any usual way."""
    alts = [re.escape(c)]
    for code in sorted({ord(c.lower()), ord(c.upper())}):
        alts += [f"\\\\+u0{{0,6}}{code:x}", f"\\\\+u\\{{0*{code:x}\\}}", f"&\\#0*{code};?",
                 f"&\\#x0*{code:x};?"]
        utf8 = chr(code).encode("utf-8")
        alts.append("".join(f"%(?:25)*{b:02x}" for b in utf8))
        if code < 0x100:
            alts.append(f"\\\\+x{code:02x}")
    return "(?:" + "|".join(alts) + ")"
