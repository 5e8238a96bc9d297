"""The report's tables as rows of display strings (shared by the HTML and Markdown renderers).
Numbers come from the report's data (``stats --json`` fields); nothing is recomputed here. Text
cells (names, slice values, titles) come with their invisible characters shown (``visible``),
so the HTML and Markdown reports and the dashboard's tables show look-alike names apart."""

from __future__ import annotations

from typing import Any

from comparator.schema.visible import visible

HEADLINE = ["figure", "value"]
RELIABILITY = ["figure", "value", "95% CI", "n"]
SLICE = ["value", "n", "A", "tie", "B", "unscored", "win rate A", "95% CI", "mean score",
         "significant", "small n"]
CLUSTER = ["id", "title", "reasons", "examples", "favour A", "favour B", "neither",
           "share A", "95% CI"]


def fmt_pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def fmt_ci(ci: list[float] | None, pct: bool = True) -> str:
    if not ci:
        return "n/a"
    return (f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if pct
            else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]")


def shown(rows: list[list[Any]]) -> list[list[Any]]:
    """``rows`` with each text cell on one line, its invisible characters as escapes."""
    return [[visible(c) if isinstance(c, str) else c for c in r] for r in rows]


def headline_rows(s: dict[str, Any]) -> list[list[Any]]:
    rows = [["model A", s["model_a"]], ["model B", s["model_b"]], ["examples", s["n"]],
            ["A wins / ties / B wins", f"{s['a_wins']} / {s['ties']} / {s['b_wins']}"],
            ["unscored", s["unscored"]],
            ["win rate of A", f"{fmt_pct(s['win_rate_a'])} {fmt_ci(s['win_rate_a_ci95'])} "
                              f"({s['ci_method']})"],
            ["significant (interval excludes 50%)", "yes" if s["significant"] else "no"],
            ["mean score", "n/a" if s["mean_score"] is None else
             f"{s['mean_score']:+.3f} {fmt_ci(s.get('mean_score_ci95'), pct=False)}"],
            ["tie threshold", f"±{s['tie_threshold']}"],
            ["score judges", ", ".join(s["score_judges"])]]
    return shown(rows)


def reliability_rows(s: dict[str, Any]) -> list[list[Any]]:
    rows = [["position consistency", fmt_pct(s["position_consistency"]), "",
             s["position_consistency_n"]]] if "position_consistency" in s else []  # SQL: absent
    for key in ("first_position_preference", "length_preference", "self_agreement",
                "tie_rate"):
        r = s.get(key)
        if r:
            rows.append([key.replace("_", " "), fmt_pct(r["rate"]), fmt_ci(r.get("ci95")),
                         r["n"]])
    for name, a in (s.get("human_agreement") or {}).items():
        rows.append([f"{name} vs human: agreement with ties", fmt_pct(a["agreement"]), "",
                     a["n"]])
        rows.append([f"{name} vs human: agreement without ties",
                     fmt_pct(a["agreement_without_ties"]), "", a["n_without_ties"]])
        kappa = a.get("cohen_kappa")
        rows.append([f"{name} vs human: Cohen's kappa",
                     "n/a" if kappa is None else f"{kappa:.3f}", "", a["n"]])
    return shown(rows)


def slice_rows(s: dict[str, Any], field: str) -> tuple[list[str], list[list[Any]]]:
    rows = [[r["value"], r["n"], r["a_wins"], r["ties"], r["b_wins"], r["unscored"],
             fmt_pct(r["win_rate_a"]), fmt_ci(r["win_rate_a_ci95"]),
             "n/a" if r["mean_score"] is None else f"{r['mean_score']:+.3f}",
             "★" if r["significant"] else "", "⚠" if r["small_n"] else ""]
            for r in s["slices"] if r["field"] == field]
    return SLICE, shown(rows)


def cluster_rows(clusters: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    return CLUSTER, shown([[c["id"], c["title"], c["size"], c["examples"], c["favours_a"],
                            c["favours_b"], c["neither"], fmt_pct(c["share_a"]),
                            fmt_ci(c["share_a_ci95"])] for c in clusters])


PEOPLE = ["figure", "value", "95% CI", "n"]


def people_rows(p: dict[str, Any]) -> list[list[Any]]:
    """People vs judge (Rate-page ratings): per model judge, agreement with the people's
    verdict, Cohen's kappa, both win rates on the same examples; raters' agreement and bias."""
    rows: list[list[Any]] = [["rated examples", p["n_rated"], "", ""],
                             ["human verdict", p["human_verdict"], "", ""]]
    for name, a in p["judges"].items():
        rows += [[f"{name} vs people: agreement with ties", fmt_pct(a["agreement"]),
                  fmt_ci(a.get("agreement_ci95")), a["n"]],
                 [f"{name} vs people: agreement without ties",
                  fmt_pct(a["agreement_without_ties"]),
                  fmt_ci(a.get("agreement_without_ties_ci95")), a["n_without_ties"]]]
        if a.get("judgment_agreement") is not None:
            rows.append([f"{name} vs people: per judgment", fmt_pct(a["judgment_agreement"]),
                         fmt_ci(a.get("judgment_agreement_ci95")), a.get("judgment_n")])
        kappa = a.get("cohen_kappa")
        rows.append([f"{name} vs people: Cohen's kappa", "n/a" if kappa is None
                     else f"{kappa:.3f}", fmt_ci(a.get("cohen_kappa_ci95"), pct=False), a["n"]])
        w = a["win_rates"]
        for who in ("human", "judge"):
            r = w[who]
            rows.append([f"win rate of A by {'people' if who == 'human' else name} "
                         "(same examples)", fmt_pct(r["win_rate_a"]),
                         fmt_ci(r["win_rate_a_ci95"]), w["n"]])
    ra = p.get("rater_agreement")
    if ra and ra.get(ra.get("method", "")) is not None:
        rows.append([f"raters: {ra['method'].replace('_', ' ')} ({', '.join(ra['raters'])})",
                     f"{ra[ra['method']]:.3f}", "", ra["n"]])
    for r in p.get("left_bias") or []:
        rows.append([f"{r['rater']} picks the left side", fmt_pct(r["rate"]),
                     fmt_ci(r.get("ci95")), r["n"]])
    return shown([r for r in rows if r[1] != "n/a"])  # a figure without data says nothing


BENCHMARK = ["figure", "value", "detail", "n"]


def benchmark_rows(s: dict[str, Any]) -> list[list[Any]]:
    """The benchmark figures of a ``stats --json`` object (or of ``benchmark_figures``), each
    as its benchmark reports it: Arena-Hard's score (overall and per category, with its
    bootstrap interval), MT-Bench single-grade means per model and turn, a judge's accuracy
    against the reference (JudgeBench's gold label), overall and per source. The one table
    of these figures in the HTML and Markdown reports and on the Overview."""
    rows: list[list[Any]] = []
    ah = s.get("arena_hard_score")
    if ah:
        head = f"Arena-Hard score of {ah['model']} vs {ah['baseline']}"
        for name, r in [(None, ah), *ah["by_category"].items()]:
            if r.get("score") is not None:
                lo, hi = r["ci"]
                rows.append([head if name is None else f"{head}: {name}", f"{r['score']:.1f}%",
                             f"[{lo:.1f}, {hi:.1f}] ({ah['ci_level']:g}% bootstrap)",
                             r["battles"]])
    for model, r in (s.get("single_scores") or {}).items():
        rows.append([f"MT-Bench single grade of {model}",
                     "n/a" if r["mean"] is None else f"{r['mean']:.3f}", "", r["n"]])
        rows += [[f"MT-Bench single grade of {model}, turn {t}", f"{v:.3f}", "", ""]
                 for t, v in r["by_turn"].items()]
    for judge, r in (s.get("reference_accuracy") or {}).items():
        head = f"{judge} accuracy vs {r['reference']}"
        rows += [[head if g is None else f"{head}: {g}", f"{100 * x['accuracy']:.2f}%",
                  f"{x['correct']} correct", x["n"]]
                 for g, x in [(None, r), *r["groups"].items()] if x["accuracy"] is not None]
    return shown(rows)


def provenance_rows(p: dict[str, Any]) -> list[list[Any]]:
    """How the report was made (its command apart), with who made it on a team server."""
    return [[k, v] for k, v in (
        ("input", p["input"]), ("SHA-256", p["sha256"] or "n/a"), ("format", p["format"]),
        ("filters", "; ".join(p["filters"]) or "none"), ("tie threshold", p["tie_threshold"]),
        ("judges", ", ".join(p["judges"])), ("CI method", p["ci_method"]),
        *((("engine", p["engine"]),) if p.get("engine") else ()),
        ("tool", f"{p['tool']} {p['version']}"), ("created", p["created"]),
        *((("made by", p["made_by"]),) if p.get("made_by") else ()))]
