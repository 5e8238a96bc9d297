"""`python -m bench` (bench/run_all.py): discovers every bench_*.py, runs each in a new process
with --quick, reads the BENCH lines of the convention in bench/report.py and prints one table.
The scripts here are small stand-in benchmarks written by the test (named as such) so the
table's arithmetic and failure rows can be checked exactly; the real scripts are run by
`python -m bench` itself (figures in the README)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

from bench import run_all

STANDIN_OK = '''
import sys
sys.path.insert(0, {root!r})
from bench.report import emit
quick = "--quick" in sys.argv
emit("stand-in speed", 2.0, 8.0, "s", "<= 0.5x", True)
emit("stand-in size", 30.0, 10.0, "MB", "<= 2x", False if quick else True)
emit("stand-in absolute", 4.0, None, "s", "<= 5 s", True)
'''


def test_table_of_every_script(tmp_path, monkeypatch, capsys):
    (tmp_path / "bench_standin_ok.py").write_text(STANDIN_OK.format(root=str(ROOT)))
    (tmp_path / "bench_standin_crash.py").write_text("raise SystemExit('boom: no data')\n")
    (tmp_path / "bench_standin_silent.py").write_text("print('a table without BENCH lines')\n")
    (tmp_path / "helper_not_a_bench.py").write_text("raise SystemExit(9)\n")
    monkeypatch.setattr(run_all, "BENCH", tmp_path)
    rc = run_all.main(["--quick"])
    out = capsys.readouterr().out
    assert rc == 1  # a goal missed and scripts failed
    rows = {line.split("  ")[0].strip() + "|" + line.split("  ", 2)[1].strip(): line
            for line in out.splitlines() if line.startswith("bench_")}
    lines = [x for x in out.splitlines() if x.startswith("bench_standin_ok")]
    assert len(lines) == 3
    speed = next(x for x in lines if "stand-in speed" in x)
    assert f"{2.0 / 8.0:.2f}x" in speed and speed.rstrip().endswith("yes")
    size = next(x for x in lines if "stand-in size" in x)
    assert f"{30.0 / 10.0:.2f}x" in size and size.rstrip().endswith("NO")  # --quick was passed
    absolute = next(x for x in lines if "stand-in absolute" in x)
    assert "—" in absolute and absolute.rstrip().endswith("yes")
    crash = next(x for x in out.splitlines() if x.startswith("bench_standin_crash"))
    assert "FAIL: exit 1: boom: no data" in crash
    silent = next(x for x in out.splitlines() if x.startswith("bench_standin_silent"))
    assert "FAIL: printed no BENCH line" in silent
    assert not any("helper_not_a_bench" in r for r in rows)
    assert out.splitlines()[0].startswith("Benchmarks on ") and "CPU cores" in out


def test_markdown_table_and_module_entry_point(tmp_path, monkeypatch, capsys):
    (tmp_path / "bench_standin_ok.py").write_text(STANDIN_OK.format(root=str(ROOT)))
    monkeypatch.setattr(run_all, "BENCH", tmp_path)
    run_all.main(["--markdown"])
    md = capsys.readouterr().out.splitlines()
    assert md[1] == "| script | figure | ours | baseline | ratio | goal | pass |"
    assert md[2] == "|---|---|---|---|---|---|---|"
    assert sum(line.startswith("| bench_standin_ok |") for line in md) == 3
    r = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--quick" in r.stdout
