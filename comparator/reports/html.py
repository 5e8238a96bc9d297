"""The self-contained HTML report: one file, plotly.js inline (no CDN, no request of any kind),
every text from the data escaped (``html.escape``; chart labels too, since plotly.js reads a few
tags in them), names and labels also with their invisible characters shown (``label``), the
report's figures embedded as JSON for scripts (``script_json``)."""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from comparator.reports.build import Report
from comparator.reports.charts import COLOR_A, COLOR_B, COLOR_TIE, plain, slice_bars
from comparator.reports.findings import FINDINGS, finding_rows, findings_intro
from comparator.reports.tables import (
    BENCHMARK,
    HEADLINE,
    PEOPLE,
    RELIABILITY,
    benchmark_rows,
    cluster_rows,
    fmt_ci,
    fmt_pct,
    headline_rows,
    people_rows,
    provenance_rows,
    reliability_rows,
    slice_rows,
)
from comparator.schema.jsonsafe import script_json
from comparator.schema.visible import visible

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f5}.num{text-align:right}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;
padding:.6rem 1rem;min-width:12rem}.card b{font-size:1.4rem;display:block}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.text{white-space:pre-wrap;word-wrap:break-word;background:#fafafa;border:1px solid #eee;
padding:.5rem;font-size:.85rem;max-height:30rem;overflow:auto}
.a{border-left:4px solid COLOR_A}.b{border-left:4px solid COLOR_B}.example{margin:1.5rem 0;
border-top:2px solid #ccc;padding-top:.5rem}code,pre{font-size:.85rem}
.prov td:first-child{font-weight:600;white-space:nowrap}
""".replace("COLOR_A", COLOR_A).replace("COLOR_B", COLOR_B)

REPORT_TEMPLATE = "plotly"  # never pio.templates.default: Streamlit sets it to its own

# defence in depth: the page may not load anything (scripts and styles are inline)
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data: blob:; font-src data:")


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def label(value: Any) -> str:
    """A name, category, judge, slice value or table cell: escaped, and on one line with its
    invisible characters shown (two names that differ by a zero-width space look different)."""
    return e(None if value is None else visible(value))


def _table(header: list[str], rows: list[list[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{label(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{label(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _histogram(h: dict[str, list], t: float, model_a: str, model_b: str) -> go.Figure:
    edges, counts = h["edges"], h["counts"]
    mids = [(lo + hi) / 2 for lo, hi in zip(edges[:-1], edges[1:])]
    colors = [COLOR_A if m > t else COLOR_B if m < -t else COLOR_TIE for m in mids]
    fig = go.Figure(go.Bar(x=mids, y=counts, marker_color=colors,
                           width=[0.95 * (hi - lo) for lo, hi in zip(edges[:-1], edges[1:])],
                           hovertemplate="score %{x:+.2f}<br>%{y} examples<extra></extra>"))
    fig.add_vrect(x0=-t, x1=t, fillcolor=COLOR_TIE, opacity=0.15, line_width=0)
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), bargap=0.02,
                      title="Score distribution",
                      xaxis_title=f"← {plain(model_b)} better      score      "
                                  f"{plain(model_a)} better →",
                      yaxis_title="examples")
    return fig


def charts(report: Report) -> dict[str, go.Figure]:
    """The report's plotly figures, labels escaped (by ``slice_bars``, ``plain``)."""
    s = report.data["stats"]
    h = report.data["score_histogram"]  # None: not computed (a SQL engine's report)
    out = {"score_histogram": _histogram(h, s["tie_threshold"], s["model_a"], s["model_b"])
           } if h else {}
    for field in report.spec.by:
        rows = [r for r in s["slices"] if r["field"] == field]
        if any(r["win_rate_a"] is not None for r in rows):
            out[f"slices_{field}"] = slice_bars(rows, f"Win rate of A by {field}")
    return out


def _figure_html(fig: go.Figure, div_id: str) -> str:
    """A chart of the HTML report, the same wherever it is made: plotly's own template (a
    figure made in the dashboard's process would otherwise carry Streamlit's, which has
    placeholder colours and no automatic margins: clipped tick labels, titles over the ticks)
    and margins that grow to fit the labels. plotly.js writes ``div_id`` into its script as
    it is: only ids made here, never text from the data (a field name with a quote, backslash
    or line break would end the string)."""
    fig = go.Figure(fig).update_layout(template=REPORT_TEMPLATE)
    fig.update_xaxes(automargin=True).update_yaxes(automargin=True)
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def _examples(report: Report) -> str:
    s = report.data["stats"]
    out = []
    for x in report.data["examples"]:
        score = "unscored" if x["score"] is None else f"{x['score']:+.2f}"
        head = (f"<h3>Example {label(x['id'])} · winner {e(x['winner'])} · score {e(score)}"
                f"</h3>" + (f"<p>category: {label(x['category'])}</p>" if x["category"] else ""))
        turns = x["user_turns"] or [x["prompt"]]
        prompt = "".join(f'<div class="text">{e(t)}</div>' for t in turns)
        pair = (f'<div class="pair"><div><b>A · {label(s["model_a"])}</b>'
                f'<div class="text a">{e(x["response_a"])}</div></div>'
                f'<div><b>B · {label(s["model_b"])}</b>'
                f'<div class="text b">{e(x["response_b"])}</div></div></div>')
        js = []
        for j in x["judgments"]:
            verdict = (f"score {j['score']:+.2f}" if j["status"] == "ok" and j["score"]
                       is not None else j["status"])
            order = {True: " · B shown first", False: " · A shown first"}.get(j["flipped"], "")
            who = (j["judge"] or "judge") + (f" ({j['rater']})" if j["rater"] else "")
            js.append(f"<li><b>{label(who)}</b> · {e(verdict)}{e(order)}"
                      f'<div class="text">{e(j["rationale"]) or "(no rationale)"}</div></li>')
        out.append(f'<div class="example">{head}<b>Prompt</b>{prompt}{pair}'
                   f"<b>Judgments ({len(js)})</b><ol>{''.join(js)}</ol></div>")
    return "".join(out)


def _findings(d: dict[str, Any]) -> str:
    """The Findings section: how they were found, each as a sentence, their figures as a
    table, the judge's biases as sentences (every text escaped, on one line: ``label``)."""
    f = d["findings"]
    out = [f'<section id="findings"><h2>Findings</h2><p>{label(findings_intro(d))}</p>']
    if f["findings"]:
        out.append('<ol class="findings">' + "".join(
            f"<li>{label(x['sentence'])}</li>" for x in f["findings"]) + "</ol>")
        out.append(_table(FINDINGS, finding_rows(f)))
    if f["biases"]:
        out.append("<h3>Judge biases</h3><ul>" + "".join(
            f"<li>{label(b['sentence'])}</li>" for b in f["biases"]) + "</ul>")
    return "".join(out) + "</section>"


def render_html(report: Report) -> str:
    d, s, p = report.data, report.data["stats"], report.data["provenance"]
    figs = charts(report)
    parts = [f"<h1>{label(s['model_a'])} (A) vs {label(s['model_b'])} (B)</h1>",
             f"<p>{d['n_filtered']:,} of {d['n_total']:,} examples · "
             f"{e(p['filter_description'])}</p>", '<div class="cards">']
    cards = [("Win rate of A", fmt_pct(s["win_rate_a"]),
              f"95% {s['ci_method']} CI {fmt_ci(s['win_rate_a_ci95'])}"),
             ("A / tie / B", f"{s['a_wins']} / {s['ties']} / {s['b_wins']}",
              f"{s['unscored']} unscored of {s['n']}"),
             ("Mean score", "n/a" if s["mean_score"] is None else f"{s['mean_score']:+.3f}",
              f"95% CI {fmt_ci(s.get('mean_score_ci95'), pct=False)}")]
    parts += [f'<div class="card" data-figure="{e(k)}">{e(k)}<b>{e(v)}</b>{e(c)}</div>'
              for k, v, c in cards]
    parts.append("</div><h2>Headline</h2>" + _table(HEADLINE, headline_rows(s)))
    if bench := benchmark_rows(s):
        parts.append("<h2>Benchmark figures</h2>" + _table(BENCHMARK, bench))
    if d.get("findings"):
        parts.append(_findings(d))
    if "score_histogram" in figs:
        parts.append(_figure_html(figs.pop("score_histogram"), "fig-score-histogram"))
    if reliability := reliability_rows(s):
        parts.append("<h2>Judge reliability</h2>" + _table(RELIABILITY, reliability))
    for k, field in enumerate(report.spec.by):
        rows = slice_rows(s, field)
        parts.append(f"<h2>Slices by {label(field)}</h2>")
        if f"slices_{field}" in figs:
            parts.append(_figure_html(figs[f"slices_{field}"], f"fig-slices-{k}"))
        parts.append(_table(*rows))
    if d.get("people"):
        parts.append("<h2>People vs judge (ratings)</h2>" + _table(PEOPLE,
                                                                   people_rows(d["people"])))
    if d["clusters"]:
        parts.append("<h2>Rationale clusters</h2>" + _table(*cluster_rows(d["clusters"])))
    if d["examples"]:
        parts.append(f"<h2>Examples ({len(d['examples'])}, "
                     f"{e(p['examples']['choice'])})</h2>" + _examples(report))
    if d.get("not_computed_note"):
        parts.append(f'<p class="note">Engine {e(d["engine"])}: {e(d["not_computed_note"])}.'
                     "</p>")
    prov = [*provenance_rows(p), ["command", p["command"]]]
    parts.append('<h2>How this report was made</h2><table class="prov"><tbody>' + "".join(
        f"<tr><td>{e(k)}</td><td><code>{e(v)}</code></td></tr>" for k, v in prov)
        + "</tbody></table>")
    data_json = script_json(d)
    title = label(f"{s['model_a']} vs {s['model_b']} · comparator report")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            f"<title>{title}</title><style>{CSS}</style>"
            f"<script>{get_plotlyjs()}</script></head><body>{''.join(parts)}"
            f'<script type="application/json" id="report-data">{data_json}</script>'
            "</body></html>\n")
