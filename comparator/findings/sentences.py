"""Findings as sentences a reader can check: the slice, its size, A's win rate with its
interval against the rest, the difference in points, the adjusted p-value, whether the
held-out half confirms it, and the theme the judge cites most more often there."""

from __future__ import annotations

from typing import Any

from comparator.schema.records import Comparison


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def points(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:+.0f} points"


def p_text(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "< 0.001" if p < 0.001 else f"= {p:.2g}"


def model(comp: Comparison, side: str) -> str:
    name = comp.model_a if side == "A" else comp.model_b
    return f"{name} ({side})" if name and name != side else side


def finding_sentence(comp: Comparison, f: dict[str, Any]) -> str:
    lo, hi = f["win_rate_a_ci95"]
    where = " and ".join(f["labels"])
    text = (f"On {where} (n = {f['n']:,}), {model(comp, 'A')} wins {pct(f['win_rate_a'])} "
            f"[{pct(lo)}, {pct(hi)}] vs {pct(f['rest_win_rate_a'])} elsewhere "
            f"({points(f['difference'])}, adjusted p {p_text(f['p_adjusted'])}; "
            + ("\u2713 confirmed on the held-out half)" if f["confirmed"]
               else "not confirmed on the held-out half)"))
    if f.get("themes"):
        t = f["themes"][0]
        side = t.get("favours")
        credit = f", mostly in favour of {model(comp, side)}" if side in ("A", "B") else ""
        text += (f". There the judge's reasons cite \u201c{t['title']}\u201d "
                 f"{t['lift']:.1f}\u00d7 as often as elsewhere{credit}")
    return text + "."
