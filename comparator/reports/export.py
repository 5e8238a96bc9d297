"""Report outputs besides HTML: Markdown tables, CSV of the filtered examples with derived
columns, JSON of every figure; ``write_report`` picks one by the file's extension."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from comparator.analysis.clusters import reason_arrays
from comparator.analysis.metrics import metric_columns
from comparator.analysis.stats import OUTCOMES, derive, outcomes
from comparator.formats.tabular import to_rows
from comparator.reports.build import Report
from comparator.reports.findings import FINDINGS, finding_rows, findings_intro
from comparator.reports.html import render_html
from comparator.reports.tables import (
    BENCHMARK,
    HEADLINE,
    PEOPLE,
    RELIABILITY,
    benchmark_rows,
    cluster_rows,
    headline_rows,
    people_rows,
    provenance_rows,
    reliability_rows,
    slice_rows,
)
from comparator.schema.atomic import write_bytes
from comparator.schema.csvsafe import csv_text
from comparator.schema.visible import visible

FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".csv": "csv",
           ".json": "json"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # inline syntax (cells are inside a row)


def md_cell(value: Any) -> str:
    """A Markdown table cell shown literally: HTML and Markdown syntax escaped, one line,
    invisible and control characters shown as escapes (``visible``)."""
    text = "" if value is None else visible(" ".join(str(value).split()))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _fenced(text: str) -> str:
    """``text`` verbatim in a code fence longer than any backtick run inside it; control and
    invisible characters as escapes (``cat report.md`` must not run an ANSI sequence)."""
    text = visible(text.replace("\r\n", "\n"), keep="\n\t")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def render_markdown(report: Report) -> str:
    d, s, p = report.data, report.data["stats"], report.data["provenance"]
    out = [f"# {md_cell(s['model_a'])} (A) vs {md_cell(s['model_b'])} (B)", "",
           f"{d['n_filtered']:,} of {d['n_total']:,} examples · "
           f"{md_cell(p['filter_description'])}", "", "## Headline", "",
           _md_table(HEADLINE, headline_rows(s))]
    if bench := benchmark_rows(s):
        out += ["", "## Benchmark figures", "", _md_table(BENCHMARK, bench)]
    if d.get("findings"):
        out += _md_findings(d)
    if reliability := reliability_rows(s):
        out += ["", "## Judge reliability", "", _md_table(RELIABILITY, reliability)]
    if h := d["score_histogram"]:  # None: not computed (a SQL engine's report)
        out += ["", "## Score distribution", "", _md_table(
            ["score from", "to", "examples"],
            [[f"{lo:+.3f}", f"{hi:+.3f}", c] for lo, hi, c in zip(h["edges"][:-1],
                                                                 h["edges"][1:], h["counts"])])]
    for field in report.spec.by:
        out += ["", f"## Slices by {md_cell(field)}", "", _md_table(*slice_rows(s, field))]
    if d.get("people"):
        out += ["", "## People vs judge (ratings)", "", _md_table(PEOPLE,
                                                                   people_rows(d["people"]))]
    if d["clusters"]:
        out += ["", "## Rationale clusters", "", _md_table(*cluster_rows(d["clusters"]))]
    if d["examples"]:
        out += ["", f"## Examples ({len(d['examples'])}, {md_cell(p['examples']['choice'])})"]
    for x in d["examples"]:
        score = "unscored" if x["score"] is None else f"{x['score']:+.2f}"
        out += ["", f"### Example {md_cell(x['id'])} · winner {x['winner']} · score {score}",
                "", "Prompt:", "", _fenced(x["prompt"]), "", f"A ({md_cell(s['model_a'])}):",
                "", _fenced(x["response_a"]), "", f"B ({md_cell(s['model_b'])}):", "",
                _fenced(x["response_b"])]
        for j in x["judgments"]:
            verdict = (f"{j['score']:+.2f}" if j["status"] == "ok" and j["score"] is not None
                       else j["status"])
            out += ["", f"Judgment by {md_cell(j['judge'] or 'judge')}: {md_cell(verdict)}"]
            if j["rationale"]:
                out += ["", _fenced(j["rationale"])]
    if d.get("not_computed_note"):
        out += ["", f"Engine {md_cell(d['engine'])}: {md_cell(d['not_computed_note'])}."]
    out += ["", "## How this report was made", "", _md_table(["", ""], provenance_rows(p)), "",
            _fenced(p["command"]), ""]
    return "\n".join(out)


def _md_findings(d: dict[str, Any]) -> list[str]:
    """The Findings section: how they were found, each as a numbered sentence, their figures
    as a table, the judge's biases as a list (every text literal: ``md_cell``)."""
    f = d["findings"]
    out = ["", "## Findings", "", md_cell(findings_intro(d))]
    if f["findings"]:
        out += ["", *(f"{k}. {md_cell(x['sentence'])}" for k, x in enumerate(f["findings"], 1)),
                "", _md_table(FINDINGS, finding_rows(f))]
    if f["biases"]:
        out += ["", "### Judge biases", "", *(f"- {md_cell(b['sentence'])}" for b in f["biases"])]
    return out


def csv_rows(report: Report) -> tuple[list[str], list[dict[str, Any]]]:
    """One row per filtered example: the ``convert --to csv`` columns, the score and winner of
    the report's judge selection and tie threshold, every response metric, reason clusters."""
    if report.loaded is None:
        raise ValueError("a CSV report is the table of the examples: it needs them in memory "
                         "(--engine local); the SQL engines write .html, .md or .json")
    comp = report.loaded.comparison
    rows_i = np.flatnonzero(report.mask)
    judges = report.data["provenance"]["judges"]
    score = derive(comp, frozenset(judges) if report.spec.judge else "auto").score
    code = outcomes(score, report.spec.tie_threshold)
    header, rows = to_rows(comp.subset([comp.examples[i] for i in rows_i]),
                           report.spec.tie_threshold)
    metrics = metric_columns(comp)
    ex_i, cl, _ = reason_arrays(comp)
    clusters: dict[int, list[int]] = {}
    for i, c in zip(ex_i.tolist(), cl.tolist()):
        if c >= 0 and c not in clusters.setdefault(i, []):
            clusters[i].append(c)
    for row, i in zip(rows, rows_i.tolist()):
        row["index"] = i
        row["score"] = "" if np.isnan(score[i]) else round(float(score[i]), 6)
        row["winner"] = OUTCOMES[code[i]]
        for name, col in metrics.items():
            v = col[i]
            row[name] = v.item() if hasattr(v, "item") else v
        row["clusters"] = "|".join(map(str, clusters.get(i, [])))
    return ["index", *header, *metrics, "clusters"], rows


def render_json(report: Report) -> str:
    return json.dumps(report.data, ensure_ascii=False, indent=1) + "\n"


def write_report(report: Report, path: str | Path, to: str | None = None,
                 inputs: Iterable[str | Path | None] = ()) -> str:
    """Write ``report`` as html / md / csv / json (default: from the extension), atomically and
    never over one of ``inputs``."""
    path = Path(path)
    fmt = to or FORMATS.get(path.suffix.lower())
    if fmt not in FORMATS.values():
        raise ValueError(f"{path}: the report format comes from the extension: "
                         f"{', '.join(FORMATS)}")
    write_bytes(path, render(report, fmt).encode("utf-8"), inputs)
    return fmt


def render(report: Report, fmt: str) -> str:
    if fmt == "html":
        return render_html(report)
    if fmt == "csv":
        return csv_text(*csv_rows(report))
    return render_markdown(report) if fmt == "md" else render_json(report)
