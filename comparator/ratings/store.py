"""Ratings files: one per rater per comparison, JSON lines, appended and fsync'd at once.

Path: ``$COMPARATOR_HOME/ratings/<comparison key>/<slug>-<hash of the name>.jsonl``. The key is
a content hash of the comparison (models, ids, prompts, responses; not the judgments, so a
re-judged file keeps its ratings). The rater's name only ever contributes a slug of
``[A-Za-z0-9_-]`` and a hash: it can never name a path outside the data dir, and two raters
never share a file. Every rating is one ``os.write`` on an ``O_APPEND`` descriptor under an
exclusive ``flock`` (two tabs of one rater cannot interleave), then ``fsync``.

First line (optional when reading)::

    {"kind": "comparator.ratings", "schema_version": 1, "comparison": KEY, "rater": NAME,
     "model_a": ..., "model_b": ...}

then one rating a line, the judgment fields of the native format::

    {"id": ..., "judge": "human", "rater": ..., "score": 1.0, "flipped": true, "note": ...,
     "rated_at": "2026-...Z", "seconds": 12.5}

A skipped example is a line with ``"score": null, "status": "skipped"``. A later line for the
same id and rater replaces the earlier one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from comparator.formats.common import read_file
from comparator.formats.native import validation_error
from comparator.schema.errors import InputError
from comparator.schema.identity import slug
from comparator.schema.records import Comparison, Score, prompt_text, response_text
from comparator.schema.settings import data_dir
from comparator.schema.swap import is_swapped
from comparator.store.table import store_for

KIND = "comparator.ratings"
RATINGS_SCHEMA_VERSION = 1
HUMAN = "human"
# the five choices, left side's view: left much better ... right much better
CHOICES = ("left much better", "left better", "tie", "right better", "right much better")
LEFT_SCORES = (1.5, 1.0, 0.0, -1.0, -1.5)


class RatingsHeader(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: Literal["comparator.ratings"] = KIND
    schema_version: int = RATINGS_SCHEMA_VERSION
    comparison: str
    rater: str
    model_a: str | None = None
    model_b: str | None = None


class Rating(BaseModel):
    """One person's verdict on one example, in A's orientation (``flipped``: B was shown on the
    left). ``score`` is None exactly when the rater skipped the example."""

    model_config = ConfigDict(extra="forbid")

    id: str
    judge: Literal["human"] = HUMAN
    rater: str
    score: Score | None
    flipped: bool
    note: str | None = None
    rated_at: str
    seconds: float | None = None
    status: Literal["ok", "skipped"] = "ok"

    @property
    def skipped(self) -> bool:
        return self.status == "skipped" or self.score is None


def comparison_key(comp: Comparison) -> str:
    """Content hash of a comparison (models, ids, prompts, responses; not the judgments),
    cached on it. A comparison read from B's side (``comparator.schema.swap``) has its file's
    key: its ratings are the file's, sides turned over (``turned``)."""
    a, b = ("response_b", "response_a") if is_swapped(comp) else ("response_a", "response_b")

    def build() -> str:
        models = [comp.model_b, comp.model_a] if is_swapped(comp) else [comp.model_a, comp.model_b]
        h = hashlib.blake2b(orjson.dumps(models), digest_size=10)
        for ex in comp.examples:  # every text in full (about 4x faster than orjson per line)
            h.update("\x1f".join((ex["id"], prompt_text(ex), response_text(ex[a]),
                                  response_text(ex[b]), "\x1e")).encode())
        return h.hexdigest()[:20]

    return store_for(comp).memo(("content_key", comp.model_a, comp.model_b), build)


def rater_slug(rater: str) -> str:
    """A file name for a rater: a safe slug plus a hash of the exact name (never a path)."""
    return slug(rater, "rater")


def ratings_dir(key: str, root: Path | None = None) -> Path:
    if not re.fullmatch(r"[0-9a-f]{8,64}", key):
        raise ValueError(f"not a comparison key: {key!r}")
    return (root or data_dir()) / "ratings" / key


def ratings_path(key: str, rater: str, root: Path | None = None) -> Path:
    return ratings_dir(key, root) / f"{rater_slug(rater)}.jsonl"


def clean_rater(name: str) -> str:
    """A rater name as stored: stripped, control characters removed, at most 100 characters."""
    name = "".join(c for c in name if c.isprintable()).strip()[:100]
    if not name:
        raise ValueError("give a rater name")
    return name


def turned(r: Rating) -> Rating:
    """A rating read from the other side: score negated, ``flipped`` turned over (the same
    response was on the left)."""
    return r.model_copy(update={"score": None if r.score is None else -r.score + 0.0,
                                "flipped": not r.flipped})


def rating_side(choice: int, flipped: bool) -> float:
    """The score in A's orientation of choice ``choice`` (0 = left much better ... 4)."""
    s = LEFT_SCORES[choice]
    return -s if flipped and s else s


def save_rating(comp: Comparison, rater: str, example_id: str, score: float | None,
                flipped: bool, note: str | None = None, seconds: float | None = None,
                root: Path | None = None) -> Path:
    """Append one rating (``score`` None = skipped) to the rater's file; durable on return.
    On a comparison read from B's side, the rating is written in its file's orientation."""
    rec = Rating(id=example_id, rater=rater, score=score, flipped=flipped, note=note or None,
                 rated_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace(
                     "+00:00", "Z"),
                 seconds=None if seconds is None else round(seconds, 2),
                 status="skipped" if score is None else "ok")
    if is_swapped(comp):
        rec = turned(rec)
    key = comparison_key(comp)
    path = ratings_path(key, rater, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = orjson.dumps(rec.model_dump(exclude={"status"} if score is not None else None)) + b"\n"
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":  # a line cut short: end it first
            line = b"\n" + line
        if size == 0:
            models = (comp.model_b, comp.model_a) if is_swapped(comp) else (comp.model_a,
                                                                             comp.model_b)
            line = orjson.dumps(RatingsHeader(comparison=key, rater=rater, model_a=models[0],
                                              model_b=models[1]).model_dump()) + b"\n" + line
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock
    return path


def _is_header(raw: bytes) -> bool:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    return isinstance(obj, dict) and obj.get("kind") == KIND


def read_ratings(path: Path, key: str | None = None, ids: set[str] | None = None,
                 swapped: bool = False) -> dict[tuple[str, str], Rating]:
    """The ratings of one file, the last line per (id, rater) standing (``swapped``: read from
    B's side, ``turned``). Raises InputError naming the file and line: a bad line, a header of
    another comparison (when ``key`` is given), an id not in ``ids``. A line cut short (a
    killed writer) is ignored."""
    out: dict[tuple[str, str], Rating] = {}
    lines = read_file(path).split(b"\n")  # a regular file the read rules allow; never blocks
    last = max((k for k, raw in enumerate(lines) if raw.strip()), default=-1)
    for k, raw in enumerate(lines):
        if not raw.strip():
            continue
        if k == 0 and _is_header(raw):
            try:
                head = RatingsHeader.model_validate_json(raw)
            except ValidationError as e:
                raise validation_error(path, e, 1) from None
            if key is not None and head.comparison != key:
                raise InputError(path, f"these ratings are for another comparison "
                                 f"({head.comparison}; this one is {key}): open the file "
                                 "they were made on", line=1, field="comparison")
            continue
        try:
            r = Rating.model_validate_json(raw)
        except ValidationError as e:
            cut = k == last or not raw.rstrip().endswith(b"}")
            if k > 0 and cut and e.errors()[0]["type"] == "json_invalid":
                continue  # a line cut short (a writer killed mid-line): never a rating
            raise validation_error(path, e, k + 1) from None
        if ids is not None and r.id not in ids:
            raise InputError(path, f"example id {r.id!r} is not in the comparison (ratings "
                             "of another file?)", line=k + 1, field="id")
        out[(r.id, r.rater)] = turned(r) if swapped else r
    return out


def load_ratings(paths: list[Path], comp: Comparison | None = None, check_key: bool = True
                 ) -> list[Rating]:
    """The ratings of several files merged by (example id, rater), the last line standing;
    checked against ``comp`` when given."""
    key = comparison_key(comp) if comp is not None and check_key else None
    ids = {ex["id"] for ex in comp.examples} if comp is not None else None
    swapped = comp is not None and is_swapped(comp)
    merged: dict[tuple[str, str], Rating] = {}
    for p in paths:
        merged.update(read_ratings(Path(p), key, ids, swapped))
    return list(merged.values())


def saved_ratings(comp: Comparison, root: Path | None = None) -> list[Rating]:
    """Every rater's ratings of ``comp`` from the data dir."""
    d = ratings_dir(comparison_key(comp), root)
    return load_ratings(sorted(d.glob("*.jsonl")), comp) if d.is_dir() else []


def with_ratings(comp: Comparison, ratings: list[Rating], only_rated: bool = False
                 ) -> Comparison:
    """A new comparison whose ``human`` judgments are the ratings (judge ``human``, rater NAME;
    the file's own human labels are left out so that ``human`` means these raters). Only the
    changed examples are copied: ``comp`` (often a shared cached object) is not touched.
    ``only_rated``: keep just the rated examples (all People-vs-judge figures need; fast)."""
    by_id: dict[str, list] = {}
    for r in ratings:
        if not r.skipped:
            extra = {k: v for k, v in (("note", r.note), ("rated_at", r.rated_at),
                                       ("seconds", r.seconds)) if v is not None}
            by_id.setdefault(r.id, []).append({"judge": HUMAN, "rater": r.rater,
                                               "score": r.score, "flipped": r.flipped,
                                               "extra": extra})
    examples = []
    for ex in comp.examples:
        js = ex.get("judgments") or []
        mine = by_id.get(ex["id"])
        if mine is None and (only_rated or not any(j.get("judge") == HUMAN for j in js)):
            if not only_rated:
                examples.append(ex)
            continue
        new = dict(ex)
        new["judgments"] = [j for j in js if j.get("judge") != HUMAN] + (mine or [])
        examples.append(new)
    return comp.subset(examples)
