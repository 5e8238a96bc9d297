"""The click command line: every command's help, the shared option types (tie threshold range,
one list of formats, exclusive options, ``--ratings FILE...``), one-line usage errors with exit
2, and the same ``stats --json`` in process (CliRunner), through ``python -m comparator`` and
through the ``comparator`` console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import LLMBAR_GPT4, MT_JUDGMENTS, MT_QUESTIONS, ROOT, run_cli

from comparator.analysis.human_vote import VOTES
from comparator.analysis.result import SliceRow, StatsResult, stats_result
from comparator.analysis.stats import CI_METHODS
from comparator.cli.main import COMMANDS, cli, main
from comparator.cli.stats import stats
from comparator.formats import ALIASES, FORMATS, load

READS_JUDGED = ["convert", "stats", "judge", "cluster", "metrics", "report", "leaderboard"]


def invoke(*args: object) -> click.testing.Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_error_line(r: click.testing.Result) -> str:
    """The result's only stderr line, which must be an ``error:`` line, with exit code 2."""
    assert r.exit_code == 2, (r.exit_code, r.output)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def test_help_lists_every_command_and_every_option_has_a_help_text():
    r = invoke("--help")
    assert r.exit_code == 0
    listed = r.stdout.split("Commands:")[1]
    assert [line.split()[0] for line in listed.splitlines()
            if line.startswith("  ") and not line.startswith("   ")] == list(COMMANDS)
    ctx = click.Context(cli)
    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        assert cmd.name == name and cmd.help and cmd.short_help, name
        for p in cmd.params:
            if isinstance(p, click.Option):
                assert p.help, f"{name} {p.opts[0]} has no help text"
        sub = invoke(name, "--help")
        assert sub.exit_code == 0 and f"Usage: cli {name}" in sub.stdout, sub.output
        for p in cmd.params:
            if isinstance(p, click.Option):
                assert p.opts[-1] in sub.stdout, (name, p.opts)


def test_shared_option_types_are_the_same_everywhere():
    ctx = click.Context(cli)
    params = {name: {p.name: p for p in cli.get_command(ctx, name).params} for name in COMMANDS}
    for name in ("convert", "stats", "report", "leaderboard"):
        t = params[name]["tie_threshold"].type
        assert isinstance(t, click.FloatRange) and (t.min, t.max) == (0, 1.5), name
    for name in READS_JUDGED:
        assert list(params[name]["format_"].type.choices) == [*FORMATS, *sorted(ALIASES)], name
    for name in ("stats", "report"):
        assert tuple(params[name]["ci"].type.choices) == CI_METHODS
        assert tuple(params[name]["human_vote"].type.choices) == VOTES


@pytest.mark.parametrize("command", ["stats", "report", "leaderboard"])
@pytest.mark.parametrize("value", ["2", "-0.1", "x"])
def test_a_bad_tie_threshold_is_one_line_exit_2(command, value, tmp_path):
    r = invoke(command, MT_JUDGMENTS, "--tie-threshold", value,
               *(["-o", tmp_path / "r.html"] if command == "report" else []))
    line = one_error_line(r)
    assert "'--tie-threshold'" in line and value in line and "--help" in line
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("command", READS_JUDGED)
def test_an_unknown_format_is_refused_by_every_command_that_reads_a_file(command, tmp_path):
    extra = {"judge": ["--judge", "openai/x"], "convert": ["-o", tmp_path / "x.jsonl"],
             "cluster": ["-o", tmp_path / "x.jsonl"], "report": ["-o", tmp_path / "x.json"]}
    line = one_error_line(invoke(command, MT_JUDGMENTS, "--format", "nosuchformat",
                                 *extra.get(command, [])))
    assert "'--format'" in line and "'nosuchformat'" in line
    assert not list(tmp_path.iterdir())


def test_a_format_alias_is_accepted():
    # mt_bench (an alias of mt-bench) was refused by stats before, accepted by the library
    r = invoke("stats", MT_JUDGMENTS, "--format", "fastchat", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["format"] == "mt-bench"


def test_exclusive_options_and_usage_errors_are_one_line(tmp_path):
    line = one_error_line(invoke("report", MT_JUDGMENTS, "--sample", "1", "--pick", "a",
                                 "-o", tmp_path / "r.html"))
    assert "--sample and --pick" in line
    line = one_error_line(invoke("cluster", MT_JUDGMENTS, "--k", "3", "--min-cluster-size",
                                 "5", "-o", tmp_path / "c.jsonl"))
    assert "--k and --min-cluster-size" in line
    assert "'nosuchcommand'" in one_error_line(invoke("nosuchcommand"))
    assert "'-o'" in one_error_line(invoke("convert", MT_JUDGMENTS))
    assert "'--rounds'" in one_error_line(invoke("leaderboard", MT_JUDGMENTS, "--rounds", "-1"))
    assert not list(tmp_path.iterdir())


def test_input_errors_name_the_file_and_exit_2(tmp_path):
    line = one_error_line(invoke("stats", tmp_path / "missing.jsonl"))
    assert "missing.jsonl" in line and "no such file" in line
    line = one_error_line(invoke("stats", MT_JUDGMENTS, "--pair", "x"))
    assert "--pair takes MODEL_A,MODEL_B" in line
    line = one_error_line(invoke("stats", MT_JUDGMENTS, "--questions", tmp_path / "q.jsonl"))
    assert "q.jsonl" in line and "--questions" in line


def test_ratings_takes_every_file_up_to_the_next_option():
    ctx = stats.make_context("stats", [str(MT_JUDGMENTS), "--ratings", "a.jsonl", "b.jsonl",
                                       "--json", "--ratings", "c.jsonl"])
    assert ctx.params["ratings"] == (Path("a.jsonl"), Path("b.jsonl"), Path("c.jsonl"))
    assert ctx.params["as_json"] and ctx.params["input"] == MT_JUDGMENTS


def test_stats_json_is_the_same_in_process_as_a_module_and_as_the_typed_result():
    args = ["stats", MT_JUDGMENTS, "--questions", MT_QUESTIONS, "--by", "category", "--json"]
    here = invoke(*args)
    assert here.exit_code == 0, here.output
    sub = run_cli(*args)
    assert sub.returncode == 0, sub.stderr
    assert here.stdout == sub.stdout
    typed = stats_result(load(MT_JUDGMENTS), [], 0.25, CI_METHODS[0], None)
    assert isinstance(typed, StatsResult) and typed.slices == []
    assert json.loads(run_cli("stats", MT_JUDGMENTS, "--json").stdout) == typed.to_json()
    s = json.loads(here.stdout)
    rows = [SliceRow(**r) for r in s["slices"]]  # every slice row is exactly a SliceRow
    assert sum(r.n for r in rows) == s["n"] and {r.field for r in rows} == {"category"}


def test_text_and_json_agree_on_a_file_with_people(tmp_path):
    s = json.loads(invoke("stats", LLMBAR_GPT4, "--json").stdout)
    text = invoke("stats", LLMBAR_GPT4).stdout
    a = s["human_agreement"]["llm-judge"]
    assert f"A wins {s['a_wins']}, ties {s['ties']}, B wins {s['b_wins']}" in text
    assert f"kappa {a['cohen_kappa']:.3f} (n={a['n']})" in text


def test_main_returns_the_exit_code_and_bare_command_shows_help(capsys):
    assert main(["stats", str(MT_JUDGMENTS), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == len(load(MT_JUDGMENTS).comparison.examples)
    assert main([]) == 2
    assert "Commands:" in capsys.readouterr().err
    assert main(["--help"]) == 0


def test_the_console_script_is_declared_and_runs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    module, _, attr = project["scripts"]["comparator"].partition(":")
    assert (module, attr) == ("comparator.cli.main", "main")
    exe = shutil.which("comparator") or shutil.which("comparator", path=str(
        Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the comparator command is not installed here: pip install -e . "
                    "(the last line of requirements.txt)")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120,
                       cwd=ROOT.parent)
    assert r.returncode == 0, r.stderr
    assert "Usage: comparator" in r.stdout
    for name in COMMANDS:
        assert f"\n  {name} " in r.stdout, name


def test_a_bug_is_one_line_exit_1_unless_debugging(monkeypatch):
    def broken(*args, **kwargs):  # a fake: stands for a bug inside the analysis
        raise RuntimeError("boom")

    monkeypatch.setattr("comparator.cli.stats.stats_result", broken)
    r = invoke("stats", MT_JUDGMENTS)
    assert r.exit_code == 1 and [x for x in r.stderr.splitlines() if not x.startswith("note:")] == [
        "internal error: RuntimeError: boom (set COMPARATOR_DEBUG=1 for the traceback, and "
        "please report it)"]
    monkeypatch.setenv("COMPARATOR_DEBUG", "1")
    r = invoke("stats", MT_JUDGMENTS)
    assert isinstance(r.exception, RuntimeError) and str(r.exception) == "boom"
