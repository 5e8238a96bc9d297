"""``streamlit run`` with every script run timed, for bench_browser_scale.py (the app and the
library are not changed: this process wraps a few of their functions before Streamlit starts).

    BENCH_RUN_LOG=runs.jsonl python bench/streamlit_timed.py run app.py [streamlit options]

Each finished script run appends one line to ``$BENCH_RUN_LOG``: ``{"start", "end"}`` (epoch
seconds) and ``parts``: the inclusive seconds spent in each wrapped function during the run
(nested calls are counted in both, e.g. ``filters.apply`` inside ``state.mask``). With
``BENCH_CPROFILE=DIR`` each run is also profiled (cProfile, wall clock) into
``DIR/run-<start>.prof``.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (module, attribute): the pages call these through their module at every run
WRAPPED = [
    ("comparator.ui.view", "persist"), ("comparator.ui.state", "current"),
    ("comparator.ui.state", "_load_file"), ("comparator.ui.state", "mask"),
    ("comparator.formats.fetch", "fetch_location"),
    ("comparator.ui.widgets", "sidebar"), ("comparator.ui.widgets", "slice_fields"),
    ("comparator.ui.widgets", "slice_values"), ("comparator.ui.widgets", "counts_table"),
    ("comparator.ui.widgets", "side_by_side"),
    ("comparator.analysis", "summary"), ("comparator.analysis", "slice_table"),
    ("comparator.analysis.filters", "apply"), ("comparator.analysis.filters", "order"),
    ("comparator.analysis.filters", "table"), ("comparator.analysis.stats", "derive"),
    ("comparator.analysis.stats", "judgment_counts"),
    ("comparator.reports.charts", "score_histogram"), ("comparator.reports.charts", "slice_bars"),
    ("comparator.ui.search", "box"),
    ("streamlit", "plotly_chart"), ("streamlit", "dataframe"),
]
_parts: dict[str, float] = {}
_lock = threading.Lock()


def _wrap(mod: str, name: str) -> None:
    m = importlib.import_module(mod)
    fn = getattr(m, name)
    label = f"{mod.rsplit('.', 1)[-1]}.{name}"

    @functools.wraps(fn)
    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            with _lock:
                _parts[label] = _parts.get(label, 0.0) + time.perf_counter() - t

    setattr(m, name, timed)


def _patch_runner(log: Path) -> None:
    from streamlit.runtime.scriptrunner import script_runner

    run = script_runner.ScriptRunner._run_script

    prof_dir = os.environ.get("BENCH_CPROFILE")

    def timed_run(self, rerun_data):
        with _lock:
            _parts.clear()
        prof = None
        if prof_dir:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        start = time.time()
        try:
            return run(self, rerun_data)
        finally:
            end = time.time()
            if prof is not None:
                prof.disable()
                prof.dump_stats(Path(prof_dir) / f"run-{start:.6f}.prof")
            with _lock:
                line = orjson.dumps({"start": start, "end": end, "parts": dict(_parts)})
            with open(log, "ab") as f:
                f.write(line + b"\n")

    script_runner.ScriptRunner._run_script = timed_run


def main() -> None:
    log = Path(os.environ["BENCH_RUN_LOG"])
    for mod, name in WRAPPED:
        _wrap(mod, name)
    _patch_runner(log)
    from streamlit.web.cli import main as st_main

    sys.argv = ["streamlit", *sys.argv[1:]]
    st_main()


if __name__ == "__main__":
    main()
