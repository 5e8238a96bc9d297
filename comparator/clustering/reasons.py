"""Step 1: rationales -> short reasons, each tagged with the model it favours.

Offline (default): the rationale, turned into the file's A/B orientation, is split into
sentences and bullet points; verdict boilerplate is dropped; each reason is tagged with the
side its judgment favoured (A / B, None for a tie). With an LLM backend, the LLM writes the
bullets (prompt ``reasons-v1`` in comparator.judge.prompts) and tags each one itself.
"""

from __future__ import annotations

import asyncio
import re

from comparator.clustering.rationale import oriented_rationale, reason_of
from comparator.engines.cache import ResponseCache
from comparator.engines.runner import Progress, Side, cached_call
from comparator.judge.prompts import reasons_prompt
from comparator.schema.labels import DEFAULT_TIE_THRESHOLD, winner_of
from comparator.schema.records import Comparison, Judgment, is_ok

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])|\n+\s*(?:[-*•]|\d+[.)])?\s*")
_VERDICT = re.compile(r"\[\[[^\]]*\]\]|<verdict>.*?</verdict>|</?rationale>", re.S | re.I)


def split_reasons(text: str, dropped: list[str] | None = None) -> list[str]:
    """The reasons of a rationale (already in A / B: ``oriented_rationale``): its sentences and
    bullets without verdict boilerplate (``rationale.reason_of``); a sentence that is only a
    verdict is left out and appended to ``dropped`` (fragments under 4 words are left out)."""
    out = []
    for part in _SPLIT.split(_VERDICT.sub(" ", text)):
        s = " ".join(part.split()).strip(" -*•")
        if not s:
            continue
        reason, verdict = reason_of(s)
        if reason is not None:
            out.append(reason)
        elif verdict and dropped is not None:
            dropped.append(s)
    return out


def extract_reasons(comp: Comparison, tie_threshold: float = DEFAULT_TIE_THRESHOLD,
                    dropped: list[str] | None = None) -> list[dict]:
    """Every reason of every ok judgment with a rationale:
    {"example": i, "judgment": k, "text": ..., "favours": "A" | "B" | None}; the sentences left
    out as verdict boilerplate are appended to ``dropped``."""
    reasons = []
    for i, ex in enumerate(comp.examples):
        for k, j in enumerate(ex.get("judgments") or ()):
            if not is_ok(j) or not j.get("rationale"):
                continue
            w = winner_of(j["score"], tie_threshold)
            favours = w if w in ("A", "B") else None
            for text in split_reasons(oriented_rationale(j), dropped):
                reasons.append({"example": i, "judgment": k, "text": text, "favours": favours})
    return reasons


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])?\s*\[(A|B|=)\]\s*(.+?)\s*$", re.M)


def parse_bullets(text: str) -> list[tuple[str, str | None]]:
    """(reason, favours) from a bulletizer reply; lines without an [A]/[B]/[=] tag are
    ignored (never guessed)."""
    return [(m.group(2), None if m.group(1) == "=" else m.group(1))
            for m in _BULLET.finditer(text or "") if len(m.group(2).split()) >= 2]


async def llm_reasons(comp: Comparison, backend, params, concurrency: int = 8,
                      tie_threshold: float = DEFAULT_TIE_THRESHOLD, cache=None,
                      dropped: list[str] | None = None) -> list[dict]:
    """Reasons written by an LLM (prompt ``reasons-v1``): one call per rationale, cached. A
    reply with no tagged bullet falls back to the offline splitter for that rationale; bullets
    that only state a verdict are left out (appended to ``dropped``)."""
    cache = cache or ResponseCache()
    side = Side("bulletizer", backend, params)
    sem = asyncio.Semaphore(max(1, concurrency))
    prog = Progress(total=0)
    jobs = [(i, k, j) for i, ex in enumerate(comp.examples)
            for k, j in enumerate(ex.get("judgments") or ()) if is_ok(j) and j.get("rationale")]

    async def one(i: int, k: int, j: Judgment) -> list[dict]:
        text = oriented_rationale(j)
        res = await cached_call(side, reasons_prompt(text), cache, sem, prog)
        bullets = []
        for r, f in parse_bullets(res.text) if res.status == "ok" else []:
            reason, verdict = reason_of(r)
            if not verdict:  # a short bullet is a reason here ("More detailed steps")
                bullets.append((r, f))
            elif reason is not None:
                bullets.append((reason, f))
            elif dropped is not None:
                dropped.append(r)
        if not bullets:
            w = winner_of(j["score"], tie_threshold)
            fav = w if w in ("A", "B") else None
            bullets = [(r, fav) for r in split_reasons(text, dropped)]
        return [{"example": i, "judgment": k, "text": r, "favours": f} for r, f in bullets]

    out = await asyncio.gather(*(one(*job) for job in jobs))
    return [r for rs in out for r in rs]
