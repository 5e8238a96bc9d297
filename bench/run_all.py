"""Run every benchmark in bench/ (each ``bench_*.py``, in a new process, with its same-run
baseline) and print one table: figure, ours, baseline, ratio, goal, pass.

    python -m bench [--quick] [--only NAME ...] [--markdown] [--timeout S]

Each script prints ``BENCH {json}`` lines (the convention is in bench/report.py); a script
that fails, times out or prints none is a row marked FAIL with the reason. Exit code 1 when a
figure misses its goal or a script fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def scripts(only: list[str] | None = None) -> list[Path]:
    found = sorted(BENCH.glob("bench_*.py"))
    if only:
        found = [p for p in found if any(o in (p.stem, p.stem.removeprefix("bench_"), p.name)
                                         for o in only)]
    return found


def run(script: Path, quick: bool, timeout: float) -> tuple[list[dict], str | None, float]:
    """(BENCH rows, error or None, seconds) of one script."""
    takes_quick = "--quick" in script.read_text(errors="replace")
    cmd = [sys.executable, str(script), *(["--quick"] if quick and takes_quick else [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT)])}
    t = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], f"timed out after {timeout:.0f} s", time.perf_counter() - t
    dt = time.perf_counter() - t
    rows = []
    for line in r.stdout.splitlines():
        if line.startswith("BENCH "):
            try:
                rows.append(json.loads(line[6:]))
            except json.JSONDecodeError:
                return rows, f"unreadable line: {line[:80]}", dt
    if r.returncode != 0:
        tail = (r.stderr.strip().splitlines() or ["(no output)"])[-1]
        return rows, f"exit {r.returncode}: {tail[:120]}", dt
    if not rows:
        return rows, "printed no BENCH line (see bench/report.py)", dt
    return rows, None, dt


def _num(x) -> str:
    if x is None:
        return "—"
    return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def table(results: list[tuple[str, list[dict], str | None, float]], markdown: bool) -> str:
    head = ["script", "figure", "ours", "baseline", "ratio", "goal", "pass"]
    body = []
    for name, rows, err, _ in results:
        for r in rows:
            unit = r.get("unit") or ""
            base = r.get("baseline")
            ratio = r["ours"] / base if base not in (None, 0) else None
            body.append([name, r["figure"], f"{_num(r['ours'])} {unit}".strip(),
                         f"{_num(base)} {unit}".strip() if base is not None else "—",
                         "—" if ratio is None else f"{ratio:.2f}x", r["goal"],
                         "yes" if r["pass"] else "NO"])
        if err:
            body.append([name, "(script)", "—", "—", "—", "runs cleanly", f"FAIL: {err}"])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(str(x).replace("|", "\\|") for x in row) + " |"
                  for row in body]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head), fmt.format(*("-" * w for w in widths)),
                      *(fmt.format(*row) for row in body)])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPU cores ({cpu}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="each script's small run")
    ap.add_argument("--only", nargs="*", help="scripts whose name contains one of these")
    ap.add_argument("--markdown", action="store_true", help="a Markdown table (README)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per script")
    args = ap.parse_args(argv)
    results = []
    for s in scripts(args.only):
        print(f"running {s.name}{' --quick' if args.quick else ''} …", file=sys.stderr,
              flush=True)
        rows, err, dt = run(s, args.quick, args.timeout)
        results.append((s.stem, rows, err, dt))
    print(f"Benchmarks on {machine()}" + (" (--quick)" if args.quick else ""))
    print(table(results, args.markdown))
    print(f"total {sum(r[3] for r in results):.0f} s")
    ok = all(not err and all(r["pass"] for r in rows) for _, rows, err, _ in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
