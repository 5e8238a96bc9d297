"""A hostile corpus, written at test time from slices of the real files in ../shared/data.

Each case is a broken (or oddly encoded) copy of a real file of one format, and says where the
problem is, as we planted it: the line or record and the field. The tests run the CLI and the
app on every case; nothing here knows what our code answers.

``BROKEN``: must end in exit 2 with one line naming the file, the place and the field.
``READABLE``: odd but valid (UTF-16, BOM, CRLF, long cells, quotes): must load, and give the
same examples as the plain version of the same content.
"""

from __future__ import annotations

import codecs
import json
import os
from dataclasses import dataclass
from pathlib import Path

from conftest import SHARED  # ../shared/data or $COMPARATOR_TEST_DATA

ALPACA = SHARED / "alpaca_eval/claude-2.1_vs_gpt4_1106_preview.cot_gpt4_turbo_fn.annotations.json"
LLMBAR = SHARED / "llmbar_mtbench_human/gpt-4_vanilla_both_orders.result.json"
PANDALM = SHARED / "pandalm/testset-v1.json"
LLMC = SHARED / "llm_comparator/example_tiny.json"
MT_PAIRS = SHARED / "mt_bench/model_judgment/gpt-4_pair_phi-3_vs_phi-3-dpo.jsonl"
MT_BENCH = SHARED / "mt_bench"
MT_SINGLE = sorted((SHARED / "mt_bench_single").glob("gpt-4_single.*.jsonl"))
JUDGEBENCH = SHARED / "judgebench/sample_20_pairs.o1-mini_on_gpt-4o.jsonl"
DEMO = Path(__file__).resolve().parents[2] / "data" / "alpaca_eval_gpt4-1106_vs_claude-2.1.jsonl"


@dataclass
class Case:
    name: str  # the file name (its extension matters for tables)
    content: bytes | str | None  # None: a special kind made by ``kind``
    fragment: str  # a word the message must hold (case-insensitive)
    line: int | None = None  # where the problem is, as planted
    record: int | None = None
    field: str | None = None
    kind: str = "file"  # file | folder | missing | fifo | loop
    args: tuple[str, ...] = ()
    plain: bytes | None = None  # READABLE cases: the same content, plainly written

    def make(self, folder: Path) -> Path:
        path = folder / self.name
        if self.kind == "folder":
            path.mkdir()
        elif self.kind == "fifo":
            os.mkfifo(path)
        elif self.kind == "loop":
            os.symlink(folder / (self.name + ".b"), path)
            os.symlink(path, folder / (self.name + ".b"))
        elif self.kind == "file":
            data = self.content.encode() if isinstance(self.content, str) else self.content
            path.write_bytes(data)
        return path


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _lines(rows: list) -> str:
    return "".join(_dump(r) + "\n" for r in rows)


def _real():
    alpaca = json.loads(ALPACA.read_text())[:5]
    llmbar = json.loads(LLMBAR.read_text())[:4]
    pandalm = json.loads(PANDALM.read_text())[:4]
    llmc = json.loads(LLMC.read_text())
    mt = [json.loads(x) for x in MT_PAIRS.read_text().splitlines()[:4]]
    demo = DEMO.read_text().splitlines()[:6]
    return alpaca, llmbar, pandalm, llmc, mt, demo


def _arena() -> list[dict]:
    """Battle records in lmsys' layout, built from real MT-Bench questions and answers."""
    qs = {q["question_id"]: q["turns"][0] for q in map(json.loads, (MT_BENCH / "question.jsonl")
                                                       .read_text().splitlines())}
    ans = {}
    for m in ("gpt-4", "claude-v1"):
        for r in map(json.loads, (MT_BENCH / "model_answer" / f"{m}.jsonl").read_text()
                     .splitlines()):
            ans[(m, r["question_id"])] = r["choices"][0]["turns"][0]
    out = []
    for qid in sorted(qs)[:4]:
        out.append({"question_id": qid, "model_a": "gpt-4", "model_b": "claude-v1",
                    "winner": "model_a", "judge": "expert_0", "turn": 1,
                    "conversation_a": [{"role": "user", "content": qs[qid]},
                                       {"role": "assistant", "content": ans[("gpt-4", qid)]}],
                    "conversation_b": [{"role": "user", "content": qs[qid]},
                                       {"role": "assistant", "content": ans[("claude-v1", qid)]}]})
    return out


def _with(rows: list[dict], i: int, **changes) -> list[dict]:
    """A deep copy of ``rows`` with record ``i`` (0-based) changed; None values delete."""
    rows = json.loads(json.dumps(rows))
    for k, v in changes.items():
        if v is None:
            rows[i].pop(k, None)
        else:
            rows[i][k] = v
    return rows


def _deep(n: int) -> str:
    return "[" * n + "]" * n


def _csv_rows(demo: list[str]) -> list[list[str]]:
    rows = [["id", "prompt", "response_a", "response_b", "score"]]
    for line in demo[1:]:
        ex = json.loads(line)
        rows.append([ex["id"], ex["prompt"], ex["response_a"], ex["response_b"],
                     str(ex["judgments"][0].get("score", ""))])
    return rows


def _csv(rows: list[list[str]], sep: str = ",", eol: str = "\n") -> str:
    def cell(c: str) -> str:
        return '"' + c.replace('"', '""') + '"' if any(x in c for x in (sep, '"', "\n", "\r")) \
            else c
    return "".join(sep.join(cell(c) for c in r) + eol for r in rows)


def _latin1(csv_text: str, prompt: str) -> Case:
    """A CSV saved as Latin-1 (a spreadsheet's default): the first byte >= 0x80 is invalid."""
    data = csv_text.replace(prompt, prompt + " caf\u00e9", 1).encode("latin-1", errors="replace")
    first = next(i for i, b in enumerate(data) if b >= 0x80)
    return Case("latin1.csv", data, "UTF-8", line=data[:first].count(b"\n") + 1)


def broken() -> list[Case]:
    alpaca, llmbar, pandalm, llmc, mt, demo = _real()
    arena = _arena()
    demo_rows = [json.loads(x) for x in demo]
    header, exs = demo_rows[0], demo_rows[1:]
    csv_rows = _csv_rows(demo)
    csv_text = _csv(csv_rows)
    native = _lines(demo_rows)
    cases = [
        # file kinds
        Case("empty.jsonl", b"", "empty"),
        Case("blank.json", b"  \n\t\r\n  ", "whitespace"),
        Case("folder.jsonl", None, "folder", kind="folder"),
        Case("missing.jsonl", None, "no such file", kind="missing"),
        Case("pipe.jsonl", None, "named pipe", kind="fifo"),
        Case("loop.jsonl", None, "link loop", kind="loop"),
        Case("binary.json", bytes(range(256)) * 64, "NUL", line=1),
        Case("garbage.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "NUL", line=3),
        # encodings
        _latin1(csv_text, csv_rows[3][1]),
        Case("invalid_utf8.jsonl", native.encode()[:-300] + b"\xff\xfe" + native.encode()[-300:],
             "UTF-8", line=len(demo_rows)),
        Case("nul.jsonl", native.replace(exs[2]["prompt"], exs[2]["prompt"] + "\0", 1).encode(),
             "NUL", line=4),
        Case("utf16_nobom.csv", csv_text.encode("utf-16-le"), "UTF-16", line=1),
        # JSON syntax
        Case("truncated.json", _dump(llmbar)[:5000], "JSON", line=1),
        Case("truncated.jsonl", native[:len(native) - 500], "JSON", line=len(demo_rows)),
        Case("nan.jsonl", _lines(mt).replace('"g1_winner": "model_1"', '"g1_winner": NaN', 1),
             "JSON", line=1),
        Case("infinity.json", _dump(alpaca).replace('"preference": ', '"preference": Infinity, '
                                                     '"x": ', 1), "JSON", line=1),
        Case("huge_number.json", _dump(alpaca).replace('"preference": ', '"preference": 1e309, '
                                                       '"x": ', 1), "JSON", line=1),
        Case("deep.json", _dump(_with(llmbar, 1, input="DEEP")).replace('"DEEP"', _deep(100_000)),
             "string", record=2, field="input"),
        Case("deep_native.jsonl", _lines([header, *_with(exs, 0, metadata={"x": "DEEP"})])
             .replace('"DEEP"', _deep(100_000)), "JSON", line=2),
        Case("deep_table.jsonl", _lines([{"prompt": "p", "response_a": "a", "response_b": "b",
                                          "x": 1}] * 2) + '{"prompt": ' + _deep(100_000)
             + ', "response_a": "a", "response_b": "b"}\n', "holds a JSON list", line=3,
             field="prompt"),
        Case("garbage_10mb_line.jsonl", native + "{" + "x" * 10_000_000 + "\n", "JSON",
             line=len(demo_rows) + 1),
        # native JSONL
        Case("native_score_range.jsonl", _lines([header, *_with(exs, 1, judgments=[
            {**exs[1]["judgments"][0], "score": 2.0}])]), "1.5", line=3,
             field="judgments[0].score"),
        Case("native_huge_score.jsonl", _lines([header, *_with(exs, 2, judgments=[
            {**exs[2]["judgments"][0], "score": 0.123456789}])]).replace("0.123456789", "1e309"),
             "finite", line=4, field="judgments[0].score"),
        Case("native_dup_id.jsonl", _lines([header, *_with(exs, 3, id=exs[0]["id"])]),
             "duplicate", line=5, field="id"),
        Case("native_response_type.jsonl", _lines([header, *_with(exs, 1, response_a=[1, 2])]),
             "string", line=3, field="response_a"),
        Case("native_missing.jsonl", _lines([header, *_with(exs, 2, response_b=None)]),
             "missing", line=4, field="response_b"),
        Case("native_header_type.jsonl", _lines([{**header, "model_a": ["x"]}, *exs]), "string",
             line=1, field="model_a"),
        # tables
        Case("one_column.csv", _csv([["prompt"], *[[r[1]] for r in csv_rows[1:]]]),
             "response_a", line=1, field="response_a"),
        Case("more_cells.csv", csv_text.replace("\n" + csv_rows[2][0] + ",",
                                                "\n" + csv_rows[2][0] + ",extra,", 1),
             "more cells", line=csv_text[:csv_text.index("\n" + csv_rows[2][0] + ",")]
             .count("\n") + 2),
        Case("score_range.csv", _csv([*csv_rows[:3], csv_rows[3][:4] + ["7"], *csv_rows[4:]]),
             "1.5", line=_csv(csv_rows[:3]).count("\n") + 1, field="score"),
        Case("score_text.csv", _csv([*csv_rows[:2], csv_rows[2][:4] + ["high"], *csv_rows[3:]]),
             "number", line=_csv(csv_rows[:2]).count("\n") + 1, field="score"),
        Case("open_quote.csv", csv_text + 'x9,"never closed,a,b,0\n', "quote",
             line=csv_text.count("\n") + 1),
        Case("dup_id.csv", _csv([*csv_rows[:3], [csv_rows[1][0], *csv_rows[3][1:]]]),
             "repeats", line=_csv(csv_rows[:3]).count("\n") + 1, field="id"),
        Case("table_object_prompt.json", _dump([{"prompt": "p", "response_a": "a",
                                                 "response_b": "b"},
                                                {"prompt": {"text": "p"}, "response_a": "a",
                                                 "response_b": "b"}]),
             "holds a JSON dict", record=2, field="prompt"),
        Case("table_not_object.jsonl", '{"prompt": "p", "response_a": "a", "response_b": "b"}\n'
             "[1, 2]\n", "object", line=2),
        # AlpacaEval
        Case("alpaca_generator_list.json", _dump(_with(alpaca, 2, generator_1=["a", "b"])),
             "string", record=3, field="generator_1"),
        Case("alpaca_raw_completion.json", _dump(_with(alpaca, 1, raw_completion=42)),
             "dictionary", record=2, field="raw_completion"),
        Case("alpaca_ordered_models.json", _dump(_with(alpaca, 1, raw_completion={
            "ordered_models": ["gpt-4", "claude"]})), "dictionary", record=2,
             field="raw_completion.ordered_models[0]"),
        Case("alpaca_preference_text.json", _dump(_with(alpaca, 3, preference="abc")),
             "preference", record=4, field="preference"),
        Case("alpaca_preference_range.json", _dump(_with(alpaca, 3, preference=7)),
             "[1, 2]", record=4, field="preference"),
        Case("alpaca_missing_output.json", _dump(_with(alpaca, 4, output_2=None)), "missing",
             record=5, field="output_2"),
        # LLMBar
        Case("llmbar_results_ints.json", _dump(_with(llmbar, 1, results=[1, 2])),
             "dictionary", record=2, field="results[0]"),
        Case("llmbar_results_strings.json", _dump(_with(llmbar, 2, results="swap = False")),
             "list", record=3, field="results"),
        Case("llmbar_label.json", _dump(_with(llmbar, 3, label=7)), "1, 2", record=4,
             field="label"),
        Case("llmbar_input_null.json", _dump(_with(llmbar, 1, input=None)), "input", record=2,
             field="input", args=("--format", "llmbar")),
        # FastChat MT-Bench
        Case("mt_model_list.jsonl", _lines(_with(mt, 1, model_1=["phi-3"])), "string", line=2,
             field="model_1"),
        Case("mt_winner_list.jsonl", _lines(_with(mt, 2, g1_winner=["model_1"])), "string",
             line=3, field="g1_winner"),
        Case("mt_question_id.jsonl", _lines(_with(mt, 1, question_id="eighty")), "integer",
             line=2, field="question_id"),
        Case("mt_turn.jsonl", _lines(_with(mt, 3, turn="x")), "integer", line=4, field="turn"),
        Case("mt_judge.jsonl", _lines(_with(mt, 2, judge=5)), "judge", line=3, field="judge"),
        # Arena
        Case("arena_winner_list.jsonl", _lines(_with(arena, 1, winner=["model_a"])), "string",
             line=2, field="winner"),
        Case("arena_conversation_text.jsonl", _lines(_with(arena, 2, conversation_a="hi")),
             "list", line=3, field="conversation_a"),
        Case("arena_conversation_empty.json", _dump(_with(arena, 1, conversation_b=[])),
             "2 items", record=2, field="conversation_b"),
        Case("arena_model_number.jsonl", _lines(_with(arena, 3, model_b=7)), "string", line=4,
             field="model_b"),
        # PandaLM
        Case("pandalm_annotator_list.json", _dump(_with(pandalm, 2, annotator1=[1])), "1, 2",
             record=3, field="annotator1"),
        Case("pandalm_instruction_number.json", _dump(_with(pandalm, 1, instruction=5)),
             "string", record=2, field="instruction"),
        Case("pandalm_response_object.json", _dump(_with(pandalm, 3, response1={"a": 1})),
             "str", record=4, field="response1"),
        # LLM Comparator
        Case("llmc_models_strings.json", _dump({**llmc, "models": ["A", "B"]}), "dictionary",
             field="models[0]"),
        Case("llmc_custom_fields_list.json", _dump({**llmc, "examples": _with(
            llmc["examples"], 2, custom_fields=[1, 2])}), "dictionary", record=3,
             field="custom_fields"),
        Case("llmc_score_text.json", _dump({**llmc, "examples": _with(
            llmc["examples"], 1, score="high")}), "number", record=2, field="score"),
        Case("llmc_rater_range.json", _dump({**llmc, "examples": _with(
            llmc["examples"], 3, individual_rater_scores=[{"score": 5}])}), "1.5", record=4,
             field="individual_rater_scores[0].score"),
        Case("llmc_input_number.json", _dump({**llmc, "examples": _with(
            llmc["examples"], 0, input_text=3)}), "string", record=1, field="input_text"),
        Case("llmc_examples_object.json", _dump({**llmc, "examples": {"a": 1}}), "examples",
             field="examples", args=("--format", "llm-comparator")),
    ]
    cases += _types(header, exs, alpaca, pandalm, mt)
    single = [json.loads(x) for f in MT_SINGLE for x in f.read_text().splitlines()[:3]]
    jb = [json.loads(x) for x in JUDGEBENCH.read_text().splitlines()[:4]]
    cases += [  # the benchmark formats (issue 14's readers)
        Case("single_turn_text.jsonl", _lines(_with(single, 2, turn="two")), "integer", line=3,
             field="turn"),
        Case("single_model_list.jsonl", _lines(_with(single, 1, model=["x"])), "string", line=2,
             field="model"),
        Case("judgebench_question_object.jsonl", _lines(_with(jb, 2, question={"q": 1})), "str",
             line=3, field="question"),
        Case("judgebench_judgments_text.jsonl", _lines(_with(jb, 1, judgments="A>B")), "list",
             line=2, field="judgments"),
    ]
    return cases


def _judged(ex: dict, **changes) -> list[dict]:
    """``ex``'s judgments with the first one changed."""
    return [{**ex["judgments"][0], **changes}, *ex["judgments"][1:]]


def _reason(ex: dict, **changes) -> list[dict]:
    """``ex``'s reasons with the first one changed."""
    return [{**ex["reasons"][0], **changes}, *ex["reasons"][1:]]


BIG = "1" * 400  # an integer beyond a float's range: as 1e999, not a finite number


def _types(header: dict, exs: list[dict], alpaca: list, pandalm: list, mt: list) -> list[Case]:
    """Numbers that are not numbers (issue 20, class 8): ``true`` where a number is due (a lax
    reader takes it as 1), integers beyond a float's or the store's range, schema versions
    that do not exist."""
    def native(i: int, **changes) -> str:
        return _lines([header, *_with(exs, i, **changes)])

    def head(version) -> str:
        return _lines([{**header, "schema_version": version}, *exs])

    return [
        Case("native_score_true.jsonl", native(1, judgments=_judged(exs[1], score=True)),
             "number", line=3, field="judgments[0].score"),
        Case("native_reported_score_true.jsonl", native(2, reported_score=True), "number",
             line=4, field="reported_score"),
        Case("native_400_digit_score.jsonl", native(3, judgments=_judged(exs[3], score=0.123))
             .replace("0.123", BIG), "finite", line=5, field="judgments[0].score"),
        Case("native_400_digit_reason_x.jsonl", native(1, reasons=_reason(exs[1], x=0.123))
             .replace("0.123", BIG), "finite", line=3, field="reasons[0].x"),
        Case("native_reason_cluster_true.jsonl", native(2, reasons=_reason(exs[2], cluster=True)),
             "integer", line=4, field="reasons[0].cluster"),
        Case("native_reason_cluster_2_40.jsonl", native(0, reasons=_reason(exs[0],
                                                                           cluster=1 << 40)),
             "2147483647", line=2, field="reasons[0].cluster"),
        Case("native_schema_version_0.jsonl", head(0), "whole number", line=1,
             field="schema_version"),
        Case("native_schema_version_-1.jsonl", head(-1), "whole number", line=1,
             field="schema_version"),
        Case("native_schema_version_text.jsonl", head("3"), "whole number", line=1,
             field="schema_version"),
        Case("native_schema_version_true.jsonl", head(True), "whole number", line=1,
             field="schema_version"),
        Case("table_score_true.jsonl", _lines([{"prompt": e["prompt"], "response_a":
                                                e["response_a"], "response_b": e["response_b"],
                                                "score": True if k == 2 else 0.5}
                                               for k, e in enumerate(exs)]),
             "number", line=3, field="score"),
        Case("alpaca_preference_true.json", _dump(_with(alpaca, 2, preference=True)), "number",
             record=3, field="preference"),
        Case("pandalm_annotator_true.json", _dump(_with(pandalm, 1, annotator2=True)), "1, 2",
             record=2, field="annotator2"),
        Case("mt_turn_true.jsonl", _lines(_with(mt, 2, turn=True)), "integer", line=3,
             field="turn"),
    ]


def readable() -> list[Case]:
    """Odd but valid files: each must load like its plain version."""
    alpaca, llmbar, _, _, mt, demo = _real()
    csv_rows = _csv_rows(demo)
    plain_csv = _csv(csv_rows).encode()
    long_cell = [r[:] for r in csv_rows]
    long_cell[2][2] = long_cell[2][2] * (300_000 // len(long_cell[2][2]) + 1)  # > 128 KB
    tricky = [r[:] for r in csv_rows]
    tricky[1][1] = 'He said "hi",\nthen left; {"json": [1, 2]}'
    tricky.append(["x7", '{"a": "b", "c": [1, 2]}', '"quoted"', "line\nbreak", "0.5"])
    native = "\n".join(demo) + "\n"
    big = json.loads(demo[1])
    big["id"], big["response_a"] = "big", "word " * 2_100_000  # a 10 MB line
    return [
        Case("utf16_le.csv", codecs.BOM_UTF16_LE + _csv(csv_rows).encode("utf-16-le"), "",
             plain=plain_csv),
        Case("utf16_be.csv", codecs.BOM_UTF16_BE + _csv(csv_rows).encode("utf-16-be"), "",
             plain=plain_csv),
        Case("bom.json", codecs.BOM_UTF8 + _dump(llmbar).encode(), "", plain=_dump(llmbar)
             .encode()),
        Case("bom.jsonl", codecs.BOM_UTF8 + native.encode(), "", plain=native.encode()),
        Case("crlf.jsonl", native.replace("\n", "\r\n").encode(), "", plain=native.encode()),
        Case("crlf_mt.jsonl", _lines(mt).replace("\n", "\r\n").encode(), "",
             plain=_lines(mt).encode()),
        Case("crlf.csv", _csv(csv_rows, eol="\r\n").encode(), "", plain=plain_csv),
        Case("semicolon.csv", _csv(csv_rows, sep=";").encode(), "", plain=plain_csv),
        Case("tabs.tsv", _csv(csv_rows, sep="\t").encode(), "", plain=plain_csv),
        Case("long_cell.csv", _csv(long_cell).encode(), "", plain=None),
        Case("quotes_newlines_json_cells.csv", _csv(tricky).encode(), "", plain=None),
        Case("ten_mb_line.jsonl", (native + _dump(big) + "\n").encode(), "", plain=None),
        Case("alpaca_bom.json", codecs.BOM_UTF8 + _dump(alpaca).encode(), "",
             plain=_dump(alpaca).encode()),
    ]
