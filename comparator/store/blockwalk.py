"""The compiled pass of ``comparator.store.blockscan`` (plain Python that numba compiles; see
that module for what it is for). Kept apart so that the state machine reads in one place.

Keys are numbered as in ``NAMES``. Per key: where it is looked for (an example's own key, a
judgment's key inside ``judgments``), whether its value is a list of turns to rename
(``ALIASES``), and whether its string value is decoded here (``SLOT``: the texts, which are most
of a file's bytes, so that Arrow's parser reads only what is around them)."""

from __future__ import annotations

import numpy as np

MAX_DEPTH = 64  # deeper nesting is left to the line reader (Arrow's parser recurses)
TURN_KEYS = {"response_a": "turns_of_a", "response_b": "turns_of_b",
             "reference": "turns_ref"}  # each alias has its key's length
JUDGMENTS, METADATA, EXTRA, MESSAGES = 0, 1, 2, 3
# keys only noted when seen (``NOTE``: no event; the reader leaves the fields that no line of
# the block has out of Arrow's schema, as filling them with nulls cost Arrow a third of its time)
NOTED_TOP = ("category", "tags", "reported_score", "reasons")
NOTED_IN_JUDGMENT = ("score", "label", "flipped", "judge", "rater", "template_id", "status")
NAMES = ("judgments", "metadata", "extra", "messages", *TURN_KEYS, "prompt", "rationale", "raw",
         "content", *NOTED_TOP, *NOTED_IN_JUDGMENT)
TEXT_KEYS = ("response_a", "response_b", "reference", "prompt", "rationale", "raw", "content")
JUDGMENT_TEXTS = ("rationale", "raw")
SLOTS = (*TEXT_KEYS, *TURN_KEYS.values())  # the decoded strings' buffers: values, then turns
KEYS = np.zeros((len(NAMES), 16), np.uint8)
LENS = np.array([len(n) for n in NAMES], np.int64)
ALIASES = np.zeros((len(NAMES), 16), np.uint8)
TOP = np.array([n not in (*JUDGMENT_TEXTS, "content", *NOTED_IN_JUDGMENT) for n in NAMES],
               np.uint8)  # an example's key
IN_JUDGMENT = np.array([n in ("extra", *JUDGMENT_TEXTS, *NOTED_IN_JUDGMENT) for n in NAMES],
                       np.uint8)
NOTE = np.array([n in (*NOTED_TOP, *NOTED_IN_JUDGMENT) for n in NAMES], np.uint8)
ORDER = np.argsort(LENS, kind="stable")  # the names by length: those of length L are
BY_LEN = np.searchsorted(LENS[ORDER], np.arange(KEYS.shape[1] + 2))  # ORDER[BY_LEN[L]:BY_LEN[L+1]]
IN_MESSAGE = np.array([n == "content" for n in NAMES], np.uint8)
SLOT = np.array([TEXT_KEYS.index(n) if n in TEXT_KEYS else -1 for n in NAMES], np.int64)
TURN_SLOT = np.array([SLOTS.index(TURN_KEYS[n]) if n in TURN_KEYS else -1 for n in NAMES],
                     np.int64)  # where a list of turns' strings are decoded
for _i, _n in enumerate(NAMES):
    KEYS[_i, :len(_n)] = np.frombuffer(_n.encode(), np.uint8)
    if _n in TURN_KEYS:
        ALIASES[_i, :len(_n)] = np.frombuffer(TURN_KEYS[_n].encode(), np.uint8)
EVENT = 8  # rows of ``ev`` (a column per event): key, depth, key position, value start,
# value end, row, judgment or message index, decoded (1: the value was a string decoded
# into its slot, 2: an element of a list of turns decoded into the turns' slot; start and
# end are then positions in the slot's buffer)

# 8 bytes at a time (``_special``): a zero byte of v ^ c is a quote or a backslash, a zero
# byte of v & 0xE0.. a control character
_QUOTES, _SLASHES = np.uint64(0x2222222222222222), np.uint64(0x5C5C5C5C5C5C5C5C)
_CONTROL, _LOW7 = np.uint64(0xE0E0E0E0E0E0E0E0), np.uint64(0x7F7F7F7F7F7F7F7F)
_ALL, _ONE = np.uint64(0xFFFFFFFFFFFFFFFF), np.uint64(1)
_MAGIC = np.uint64(0x03F79D71B4CB0A89)  # de Bruijn: the lowest set bit's index, by a table
_DEBRUIJN = np.zeros(64, np.int64)
for _b in range(64):
    _DEBRUIJN[((1 << _b) * 0x03F79D71B4CB0A89 % (1 << 64)) >> 58] = _b
PLAIN = np.ones(256, np.uint8)  # bytes outside strings that change no state: copied as is
PLAIN[list(b' \t\r\n:{}[]"')] = 0
_ESCAPES = np.zeros(256, np.int64) - 1  # \x -> the byte it stands for (-1: not an escape)
for _c, _v in zip(b'"\\/bfnrt', b'"\\/\x08\x0c\n\r\t'):
    _ESCAPES[_c] = _v


def _hex4(buf, p):  # pragma: no cover - compiled
    """The value of the 4 hex digits at ``buf[p:p+4]``, or -1."""
    v = 0
    for j in range(p, p + 4):
        c = buf[j]
        if 48 <= c <= 57:
            d = c - 48
        elif 97 <= c <= 102:
            d = c - 87
        elif 65 <= c <= 70:
            d = c - 55
        else:
            return -1
        v = v * 16 + d
    return v


def _store8(tb, o, v):  # pragma: no cover - compiled (numba's: one unaligned 8-byte store)
    """The 8 bytes of the word ``v`` into ``tb[o:o + 8]``, the lowest first."""
    for k in range(8):
        tb[o + k] = np.uint8((v >> np.uint64(8 * k)) & np.uint64(255))


def _special(v):  # pragma: no cover - compiled
    """The high bit of each byte of the word ``v`` that is a quote, a backslash or a control
    character (exactly those: no carry crosses a byte)."""
    x = v ^ _QUOTES
    y = v ^ _SLASHES
    z = v & _CONTROL
    return ~((((x & _LOW7) + _LOW7) | x) & (((y & _LOW7) + _LOW7) | y) &
             (((z & _LOW7) + _LOW7) | z) | _LOW7)


def _decode(buf, words, i, n, tb, o):  # pragma: no cover - compiled
    """Decode the JSON string whose opening quote is at ``i`` into ``tb`` from ``o``. Returns
    (index of the closing quote, end in tb), or (-1, 0) when it is not a valid JSON string
    (a control character, an unknown escape, a lone surrogate, no end). Plain bytes are
    copied a word at a time: the aligned word holding ``j``, shifted to start at ``j``, is
    stored whole (``tb`` has 8 bytes of room beyond its texts) and ``o`` moves on by the
    plain bytes it holds."""
    j = i + 1
    while j < n:
        base = j & ~7
        if base + 8 <= n:
            v = words[base >> 3]
            skip = j - base
            m = _special(v) & (_ALL << np.uint64(8 * skip))
            v = v >> np.uint64(8 * skip)
            _store8(tb, o, v)
            if m == 0:
                o += 8 - skip
                j = base + 8
                continue
            p = base + (_DEBRUIJN[((m & (~m + _ONE)) * _MAGIC) >> np.uint64(58)] >> 3)
            o += p - j
            j = p
        c = buf[j]
        if c == 34:
            return j, o
        if c < 32:
            return -1, 0
        if c != 92:
            tb[o] = c
            o += 1
            j += 1
            continue
        if j + 1 >= n:
            return -1, 0
        e = buf[j + 1]
        if e != 117:
            if _ESCAPES[e] < 0:
                return -1, 0
            tb[o] = _ESCAPES[e]
            o += 1
            j += 2
            continue
        if j + 6 > n:
            return -1, 0
        cp = _hex4(buf, j + 2)
        j += 6
        if cp < 0 or 0xDC00 <= cp <= 0xDFFF:
            return -1, 0
        if 0xD800 <= cp <= 0xDBFF:  # a high surrogate: its low one must follow
            if j + 6 > n or buf[j] != 92 or buf[j + 1] != 117:
                return -1, 0
            lo = _hex4(buf, j + 2)
            if lo < 0xDC00 or lo > 0xDFFF:
                return -1, 0
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
            j += 6
        if cp < 0x80:
            tb[o] = cp
            o += 1
        elif cp < 0x800:
            tb[o] = 0xC0 | (cp >> 6)
            tb[o + 1] = 0x80 | (cp & 0x3F)
            o += 2
        elif cp < 0x10000:
            tb[o] = 0xE0 | (cp >> 12)
            tb[o + 1] = 0x80 | ((cp >> 6) & 0x3F)
            tb[o + 2] = 0x80 | (cp & 0x3F)
            o += 3
        else:
            tb[o] = 0xF0 | (cp >> 18)
            tb[o + 1] = 0x80 | ((cp >> 12) & 0x3F)
            tb[o + 2] = 0x80 | ((cp >> 6) & 0x3F)
            tb[o + 3] = 0x80 | (cp & 0x3F)
            o += 4
    return -1, 0


def _free_end(buf, words, i, n, depth):  # pragma: no cover - compiled
    """The index of the bracket that closes the object whose contents start at ``i`` (at
    ``depth``): its strings stepped over 8 bytes at a time where none is special, nothing
    copied; -1 for a newline, nesting deeper than MAX_DEPTH or no end. (Its brackets'
    kinds are checked by Arrow's parse of its text.)"""
    d = 0
    while i < n:
        c = buf[i]
        if c == 34:  # (the walk's string loop, written out: as a call, 3-5% slower)
            i += 1
            while i < n:
                if (i & 7) == 0 and i + 8 <= n and _special(words[i >> 3]) == 0:
                    i += 8
                    continue
                c = buf[i]
                if c == 34:
                    break
                i += 2 if c == 92 else 1
        elif c == 123 or c == 91:
            d += 1
            if depth + d > MAX_DEPTH:
                return -1
        elif c == 125 or c == 93:
            if d == 0:
                return i
            d -= 1
        elif c == 10:
            return -1
        i += 1
    return -1


def walk(buf, out, free, row_line, ev, tb, tpos, count, seen):  # pragma: no cover - compiled
    """One pass over ``buf`` (whole lines), writing Arrow's copy into ``out`` (at most as long:
    it may be ``buf`` itself): free-form objects (``free[k]`` = 1) and the texts' strings
    written as ``""``, the texts decoded into their slot of ``tb`` (``tpos``: each slot's
    end; the strings of a list of turns, and a message's content, too), lists of turns' keys
    renamed, whitespace between tokens left out (Arrow's parser reads only the skeleton of
    each line). Fills ``row_line`` (each object's line), ``ev`` (one column per key found,
    and per string of a list of turns; ``EVENT`` rows; positions in ``buf``, but a key's, in
    ``out``), ``count`` (the judgment and the message objects) and ``seen`` (1 for a ``NOTE``
    key seen where it is looked for, or a string value equal to it). Returns (code, rows,
    events, lines, length of out): code 0 ok, 1 not plain, 2 out of room."""
    n = len(buf)
    words = buf[:n - n % 8].view(np.uint64)
    stack = np.zeros(MAX_DEPTH + 2, np.uint8)
    track = np.full(MAX_DEPTH + 2, -1, np.int64)  # event whose value opened at this depth
    opened = np.zeros(MAX_DEPTH + 2, np.int64)  # where in out the value at this depth opened
    w = 0  # the length of out so far
    depth = 0
    line = 0
    rows = 0
    nev = 0
    box = -1  # the list of objects being read at depth 2 (JUDGMENTS or MESSAGES), or -1
    item = -1  # the index of its object being read (among the block's of that list)
    turns = -1  # the slot of the list of turns being read at depth 2, or -1
    last_row_line = -1
    pending = -1  # key just read (a string equal to a name), waiting for its colon
    pending_pos = 0
    await_value = -1  # event waiting for its value's first byte
    i = 0
    while i < n:
        c = buf[i]
        if c == 34:  # a string
            start = i
            s = -1
            if await_value >= 0:
                s = SLOT[ev[0, await_value]]
            elif turns >= 0 and depth == 2:  # a turn: an event of its own
                if nev >= ev.shape[1]:
                    return 2, rows, nev, line, w
                ev[0, nev] = ev[0, track[2]]
                ev[1, nev] = depth
                ev[2, nev] = -1
                ev[5, nev] = rows - 1
                ev[6, nev] = -1
                await_value = nev
                nev += 1
                s = turns
            if s >= 0:  # a text: decoded
                e = await_value
                i, end = _decode(buf, words, i, n, tb[s], tpos[s])
                if i < 0:
                    return 1, rows, nev, line, w
                ev[3, e] = tpos[s]
                ev[4, e] = end
                ev[7, e] = 1 if s < len(TEXT_KEYS) else 2
                tpos[s] = end
                out[w] = 34  # "": Arrow reads an empty string
                out[w + 1] = 34
                w += 2
                await_value = -1
                pending = -1
                i += 1
                continue
            i += 1  # find its end, escapes skipped, 8 bytes a step
            while i < n:
                if (i & 7) == 0 and i + 8 <= n and _special(words[i >> 3]) == 0:
                    i += 8  # no quote, backslash or control character in these 8 bytes
                    continue
                c = buf[i]
                if c == 34:
                    break
                i += 2 if c == 92 else 1
            if i >= n:
                return 1, rows, nev, line, w
            if await_value >= 0:
                if free[ev[0, await_value]] == 1:
                    return 1, rows, nev, line, w  # a free-form value that is a string
                ev[3, await_value] = start
                await_value = -1
            pending = -1
            at = w
            for j in range(start, i + 1):  # the string as written
                out[w] = buf[j]
                w += 1
            ln = i - start - 1
            where = TOP  # an example's key, a judgment's or a message's
            if depth == 3:
                where = IN_JUDGMENT if box == JUDGMENTS else IN_MESSAGE
            if (depth == 1 or (depth == 3 and box >= 0)) and ln < len(BY_LEN) - 1:
                for q in range(BY_LEN[ln], BY_LEN[ln + 1]):  # the names of its length
                    k = ORDER[q]
                    if where[k] == 1:
                        same = True
                        for j in range(ln):
                            if buf[start + 1 + j] != KEYS[k, j]:
                                same = False
                                break
                        if same:
                            if NOTE[k]:
                                seen[k] = 1
                            else:
                                pending = k
                                pending_pos = at
                            break
            i += 1
            continue
        if PLAIN[c] and await_value < 0 and turns < 0:  # most of the skeleton: as written
            pending = -1
            out[w] = c
            w += 1
            i += 1
            continue
        if c == 32 or c == 9 or c == 13:
            i += 1
            continue
        if c == 10:
            if depth:
                return 1, rows, nev, line, w  # an object over lines: not JSON lines
            line += 1
            out[w] = 10
            w += 1
            i += 1
            continue
        if c == 58:  # a colon: the pending key's value comes next
            if pending >= 0:
                if nev >= ev.shape[1]:
                    return 2, rows, nev, line, w
                ev[0, nev] = pending
                ev[1, nev] = depth
                ev[2, nev] = pending_pos
                ev[3, nev] = -1
                ev[4, nev] = -1
                ev[5, nev] = rows - 1
                ev[6, nev] = item if depth == 3 else -1
                ev[7, nev] = 0
                await_value = nev
                nev += 1
                pending = -1
            out[w] = 58
            w += 1
            i += 1
            continue
        pending = -1
        if turns >= 0 and depth == 2 and c != 44 and c != 93:
            return 1, rows, nev, line, w  # a turn that is not a string
        value_event = await_value
        k = -1
        if await_value >= 0:
            ev[3, await_value] = i
            await_value = -1
            k = ev[0, value_event]
            if free[k] == 1 and c != 123 and c != 110:
                return 1, rows, nev, line, w  # a free-form value, not an object
            if c == 91 and ALIASES[k, 0] != 0:  # a list of turns: rename the key
                p = ev[2, value_event]
                for j in range(LENS[k]):
                    out[p + 1 + j] = ALIASES[k, j]
        if c == 123 or c == 91:
            if depth == 0:
                if c != 123 or line == last_row_line:
                    return 1, rows, nev, line, w  # not an object, or two on a line
                if rows >= len(row_line):
                    return 2, rows, nev, line, w
                row_line[rows] = line
                last_row_line = line
                rows += 1
            depth += 1
            if depth > MAX_DEPTH:
                return 1, rows, nev, line, w
            stack[depth] = c
            track[depth] = value_event
            opened[depth] = w
            if depth == 2 and c == 91 and k >= 0:
                if k == JUDGMENTS or k == MESSAGES:
                    box = k
                elif TURN_SLOT[k] >= 0:
                    turns = TURN_SLOT[k]
            if box >= 0 and depth == 3 and c == 123:
                item = count[box]
                count[box] += 1
            if k >= 0 and free[k] == 1 and c == 123 and (ev[1, value_event] == 1 or
                                                         k == EXTRA):
                # a free-form object, written as "" at its end: only its end is sought
                out[w] = c  # (Arrow validates its text apart; the close is taken below)
                w += 1
                i = _free_end(buf, words, i + 1, n, depth)
                if i < 0:
                    return 1, rows, nev, line, w
                continue
        elif c == 125 or c == 93:
            if depth == 0 or stack[depth] + 2 != c:
                return 1, rows, nev, line, w
            e = track[depth]
            if e >= 0:
                ev[4, e] = i + 1
                track[depth] = -1
                k = ev[0, e]
                if free[k] == 1 and c == 125 and (ev[1, e] == 1 or k == EXTRA):
                    w = opened[depth]  # the object, as written so far, becomes ""
                    out[w] = 34
                    w += 1
                    c = np.uint8(34)
            if depth == 2:
                box = -1
                turns = -1
            depth -= 1
        out[w] = c
        w += 1
        i += 1
    if depth != 0:
        return 1, rows, nev, line, w
    return 0, rows, nev, line, w


def gather(buf, starts, ends):  # pragma: no cover - compiled
    """The slices ``buf[starts[i]:ends[i]]`` one after another: (offsets, bytes)."""
    n = len(starts)
    offsets = np.empty(n + 1, np.int64)
    offsets[0] = 0
    for i in range(n):
        offsets[i + 1] = offsets[i] + ends[i] - starts[i]
    out = np.empty(offsets[n], np.uint8)
    for i in range(n):  # short as a rule: a loop, not a slice's setup
        o = offsets[i]
        for j in range(starts[i], ends[i]):
            out[o] = buf[j]
            o += 1
    return offsets, out


def wrap(data, offsets, out, pos):  # pragma: no cover - compiled
    """Each text as the line ``{"x":TEXT}``, written into ``out`` from ``pos``; the end."""
    for i in range(len(offsets) - 1):
        for c in (123, 34, 120, 34, 58):
            out[pos] = c
            pos += 1
        n = offsets[i + 1] - offsets[i]
        out[pos:pos + n] = data[offsets[i]:offsets[i + 1]]
        pos += n
        out[pos] = 125
        out[pos + 1] = 10
        pos += 2
    return pos
