"""Filter expressions (``report --filter EXPR``, the Report page's command line) <-> Filters.

    field=value       a slice: category=coding, tags=math, judge=gpt-4, a metadata key;
                      several are ANDed (tags=math, tags=code: both tags); a metric's slice
                      (a-b.words=[24, 70), a.has_list=true); metadata.KEY=value for a key
                      named like a filter (metadata.score=3)
    winner=A|B|tie    one or several outcomes (also ``unscored``)
    score>=x          score<=x, score<x (x on the +1.5 ... -1.5 scale)
    search=TEXT       case-insensitive text in the prompt or either response
    regex=PATTERN     the same with a regular expression
    ngram=WORDS       examples whose A or B response contains this n-gram (1-4 words)
    cluster=N         examples with a reason in rationale cluster N
    index=I,J,...     these examples (file order, from 0: the examples picked on the map)
    a.words>200       a metric of A (or ``b.``) compared with a number: > >= < <= = !=
    a-b.words>=120    the paired difference A - B of a metric, compared the same way
    prompt.words>=35  the prompt's words (user turns joined); ``prompt.turns``: user turns

Expressions are ANDed, given one by one or joined by `` & `` in one expression (a finding's
filter: ``category=coding & a-b.words>=120``). `` & `` joins only before another condition
(``NAME`` then an operator), so a value such as ``Q & A`` stays whole, and ``search=`` /
``regex=`` take the rest of their expression as written. A bad one raises ValueError with one
line naming it.
"""

from __future__ import annotations

import re

from comparator.analysis.filters import Filters
from comparator.analysis.patterns import PatternError, compile_pattern

_EXPR = re.compile(r"^\s*([^=<>!]+?)\s*(>=|<=|!=|>|<|=)(.*)$", re.DOTALL)
_WINNERS = {"a": "A", "b": "B", "tie": "tie", "unscored": "unscored"}
_METRIC = re.compile(r"^(?:(?:a|b|a-b)\.\w+|prompt\.(?:words|turns))$")
# a metric's slice values (``analysis.metrics.slicing``): a bin, a boolean, missing
_METRIC_SLICE = re.compile(r"^\[[^\[\]]*[)\]]$|^(?:true|false|\(none\))$")
_KEYWORDS = ("winner", "score", "search", "regex", "ngram", "cluster", "index")
_AND = re.compile(r"\s+&\s+(?=[\w.-]+\s*(?:>=|<=|!=|>|<|=))")  # " & " before a condition
SYNTAX = ("field=value, winner=A|B|tie, score>=x, score<=x, score<x, search=TEXT, "
          "regex=PATTERN, ngram=WORDS, cluster=N, index=I,J,..., a.METRIC>x, a-b.METRIC>=x, "
          "prompt.words>=x")


def _number(expr: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"filter {expr!r}: {text.strip()!r} is not a number") from None


def conjuncts(expr: str) -> list[str]:
    """The conditions of one expression joined by `` & `` (itself when there is no join)."""
    out = []
    while True:
        m = _EXPR.match(expr)
        join = _AND.search(expr)
        if join is None or (m and m.group(1) in ("search", "regex")):
            return [*out, expr]
        out.append(expr[:join.start()])
        expr = expr[join.end():]


def parse(exprs: list[str], base: Filters | None = None) -> Filters:
    """``exprs`` ANDed into a Filters (added to ``base`` when given)."""
    f = base or Filters()
    for expr in (c for e in exprs for c in conjuncts(e)):
        m = _EXPR.match(expr)
        if not m:
            raise ValueError(f"filter {expr!r}: expected one of {SYNTAX}")
        key, op, value = m.group(1), m.group(2), m.group(3)
        value = value.strip() if key not in ("search", "regex") else value
        if _METRIC.match(key) and not (op == "=" and _METRIC_SLICE.match(value)):
            _add_metric(f, expr, key, op, _number(expr, value))
            continue
        if key == "score":
            if op not in (">=", "<=", "<"):
                raise ValueError(f"filter {expr!r}: use score>=x, score<=x or score<x")
            x = _number(expr, value)
            if op == ">=":
                f.score_min = x if f.score_min is None else max(f.score_min, x)
            elif op == "<":
                f.score_below = x if f.score_below is None else min(f.score_below, x)
            else:
                f.score_max = x if f.score_max is None else min(f.score_max, x)
            continue
        if op != "=":
            raise ValueError(f"filter {expr!r}: {key} takes '=' (comparisons are for score "
                             "and metrics such as a.words>200, a-b.words>=120, "
                             "prompt.words>=35, prompt.turns>1)")
        if key == "winner":
            parts = [p.strip().lower() for p in value.split("|")]
            bad = [p for p in parts if p not in _WINNERS]
            if bad or not value:
                raise ValueError(f"filter {expr!r}: winner takes A, B, tie or unscored "
                                 "(several with |)")
            f.winners = list(dict.fromkeys([*f.winners, *(_WINNERS[p] for p in parts)]))
        elif key in ("search", "regex"):
            if f.search:
                raise ValueError(f"filter {expr!r}: only one search= or regex= filter")
            if not value:
                raise ValueError(f"filter {expr!r}: give the text to search for")
            if key == "regex":
                try:
                    compile_pattern(value, ignore_case=True)
                except PatternError as e:
                    raise ValueError(f"filter {expr!r}: {e}") from None
            f.search, f.regex = value, key == "regex"
        elif key == "ngram":
            if not value:
                raise ValueError(f"filter {expr!r}: give the n-gram, e.g. ngram=i hope")
            f.ngram = value
        elif key == "cluster":
            f.cluster = int(_number(expr, value))
        elif key == "index":
            try:
                f.selected = sorted({int(x) for x in value.split(",") if x.strip()})
            except ValueError:
                raise ValueError(f"filter {expr!r}: index takes example numbers, e.g. "
                                 "index=3,17") from None
        elif f.slice_field is None:  # the first slice: the sidebar's "Slice by"
            f.slice_field, f.slice_value = key, value
        else:  # further slices, ANDed
            f.slices.append((key, value))
    return f


def _add_metric(f: Filters, expr: str, name: str, op: str, value: float) -> None:
    f.metrics.append((name, "==" if op == "=" else op, value))


def _fmt(x: float) -> str:
    return repr(float(x)).removesuffix(".0")


def _slice_expr(field: str, value: str) -> str:
    """``field=value`` as ``parse`` reads it back: a metadata key named like a filter
    (``score``, ``winner``, ...) as ``metadata.KEY``."""
    return f"{'metadata.' if field in _KEYWORDS else ''}{field}={value}"


def to_exprs(f: Filters) -> list[str]:
    """The expressions that ``parse`` turns back into ``f``."""
    out = []
    if f.slice_field and f.slice_value is not None:
        out.append(_slice_expr(f.slice_field, f.slice_value))
    out += [_slice_expr(name, value) for name, value in f.slices]
    if f.winners:
        out.append("winner=" + "|".join(f.winners))
    if f.score_min is not None:
        out.append(f"score>={_fmt(f.score_min)}")
    if f.score_max is not None:
        out.append(f"score<={_fmt(f.score_max)}")
    if f.score_below is not None:
        out.append(f"score<{_fmt(f.score_below)}")
    if f.search:
        out.append(f"{'regex' if f.regex else 'search'}={f.search}")
    if f.cluster is not None:
        out.append(f"cluster={f.cluster}")
    if f.selected is not None:
        out.append("index=" + ",".join(str(i) for i in f.selected))
    if f.ngram:
        out.append(f"ngram={f.ngram}")
    for name, op, value in f.metrics:
        out.append(f"{name}{'=' if op == '==' else op}{_fmt(value)}")
    return out
