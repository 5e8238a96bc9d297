"""Runs on the Generate and Judge pages: the size of a run before it starts (and a confirmation
above ``CONFIRM_CALLS``), and every run of the server (comparator/engines/jobs.py), whichever
tab started it, with its progress, a Cancel button while it runs and its output after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from comparator.engines import ray_engine
from comparator.engines.jobs import Job, cancel, listing, start
from comparator.engines.plan import CONFIRM_CALLS, Plan
from comparator.schema.settings import may, team_dir, user_dir
from comparator.ui import auth, state
from comparator.ui.text import md_text
from comparator.ui.wording import dashboard_words

__all__ = ["Job", "confirmed", "engine_form", "output", "panel", "refuse", "start",
           "start_button", "threaded"]

_GOTO = "_job_goto"
TITLES = {"generation": "Generation", "judging": "Judging"}


def confirmed(plan: Plan | None, key: str) -> bool:
    """Show the size of the run; above CONFIRM_CALLS calls a box to tick before it may start
    (keyed by the plan, so a changed setting asks again). True when it may start."""
    if plan is None:
        return False
    st.info(f"This run makes {md_text(plan.describe())}")
    if not plan.needs_confirm:
        return True
    return st.checkbox(f"Confirm: start {plan.calls:,} calls (more than {CONFIRM_CALLS:,})",
                       key=f"{key}_confirm_{plan.calls}_{plan.tokens}")


def output(name: str, default: str, where=st) -> Path:
    """The run's output file: ``runs/NAME.jsonl`` in the user's own folder (the data dir in
    single-user mode), or in the team's shared folder when a signed-in user ticks it; the
    name's folders and suffix are dropped (``Path(name).stem``). The path is shown."""
    shared = auth.current() is not None and where.checkbox(
        "Write it to the team's shared folder", key=f"{default}_shared",
        help="Everyone signed in to this server can open the team's runs; your own folder "
        "is yours alone.")
    out = (team_dir() if shared else user_dir()) / "runs" / f"{Path(name).stem or default}.jsonl"
    where.caption(f"Output: {md_text(str(out))} (rerunning with the same name resumes)")
    return out


def engine_form(key: str, where=st) -> dict | None:
    """Where the run goes: None for the local engine (this server's process), else the Ray
    engine's settings (``ray_engine.run_sharded``'s address and workers), when Ray is here."""
    if not ray_engine.available():
        return None
    local = "Local (this server's process)"
    if where.radio("Engine", [local, "Ray"], horizontal=True, key=f"{key}_engine",
                    help="Ray spreads the run over the workers of a Ray cluster (or of a local "
                    "Ray started for the run): the same output, response cache and resume."
                    ) == local:
        return None
    c1, c2 = where.columns(2)
    address = c1.text_input("Ray address (blank: RAY_ADDRESS, else a local Ray)",
                            key=f"{key}_ray_address", placeholder="HOST:PORT").strip() or None
    workers = c2.number_input("Ray workers (0 = one per CPU, or per GPU)", 0, 100_000, 0,
                              key=f"{key}_ray_workers")
    return {"address": address, "workers": int(workers) or None}


def threaded(fn: Callable, *args, **kwargs) -> Callable:
    """A blocking run (the Ray engine's) as what ``start`` runs: ``fn`` in a thread of its
    own, given the job's ``on_progress`` and ``cancel``."""
    return lambda on_progress, cancel: asyncio.to_thread(
        fn, *args, on_progress=on_progress, cancel=cancel, **kwargs)


def engine_name(ray: dict | None) -> str:
    """The job's ``engine``: "local", or where its Ray run goes."""
    return "local" if ray is None else ray_engine.where(ray["address"])


def start_button(label: str, plan: Plan | None, key: str, launch: Callable[[], Job]) -> None:
    """The run's size, its confirmation when large, and the Start button: ``launch()`` starts
    the job once allowed (kept as ``st.session_state[key]``: the run this session started
    last); a ValueError (a bad setting, the output busy) is shown instead. On a team server,
    only someone with the ``runs`` grant (admins, unless the operator grants it to everyone)
    may start one: runs spend the server's API keys and machines."""
    if not may("runs"):
        st.info("Starting runs is for this server's admins: runs spend its API keys and "
                "machines. Ask an admin, or the operator (COMPARATOR_GRANT=runs).")
        st.button(label, type="primary", disabled=True)
        return
    ok = confirmed(plan, key)
    if not st.button(label, type="primary"):
        return
    if not ok:
        refuse(plan)
        return
    try:
        job = st.session_state[key] = launch()
    except ValueError as e:
        st.error(md_text(str(e)))
        return
    auth.note("run", kind=job.kind, out=str(job.out), examples=job.total, calls=job.calls)
    st.rerun()


def refuse(plan: Plan | None) -> None:
    """Why Start did nothing: the plan could not be made, or it waits for confirmation."""
    if plan is None:
        st.warning("Not started: fix the settings above first.")
    else:
        st.warning(f"Not started: this run makes {plan.calls:,} calls; tick “Confirm” above to "
                   "start it, or lower the limit or the repeats.")


def _go(out, page: str) -> None:
    """Open ``out`` and go to ``page``: switching pages from inside a fragment that reruns
    every second sometimes left a blank page in Chromium, so the switch happens in a full
    run of the page (panel) instead."""
    try:  # read first (state.open_path): a run file that cannot be read leaves all as it was
        state.open_path(out)
    except (ValueError, OSError) as e:
        st.error(f"Not opened: {md_text(dashboard_words(str(e)))}")
        return
    st.session_state[_GOTO] = page
    st.rerun(scope="app")


def _clock(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else "?"


def _progress_text(job: Job) -> str:
    c, p = job.counts(), job.progress
    text = f"{c['done'] + c['failed']} of {c['total']} examples"
    if hasattr(p, "unscored"):
        text += f" · {p.ok} verdicts · {p.unscored} unscored · {p.errors} errors"
    else:
        text += f" · {c['failed']} failed"
    text += f" · {c['cached']} cached replies"
    if c["skipped"]:
        text += f" · {c['skipped']} resumed from the file"
    if job.running and job.engine != "local" and not c["done"] + c["failed"]:
        text += " · starting the Ray workers"
    rate, eta = job.rate(), job.eta()
    text += f" · {rate:.2f} examples/s" if rate else ""
    return text + (f" · about {_duration(eta)} left" if eta else "")


def _duration(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    return f"{s / 60:.0f} min" if s < 5400 else f"{s / 3600:.1f} h"


def _outcome(job: Job) -> None:
    c = job.counts()
    if job.status == "finished":
        st.success(f"Finished: {c['done']} examples" +
                   (f", {c['failed']} failed." if c["failed"] else "."))
    elif job.status == "cancelled":
        st.warning(f"Cancelled: {c['done']} of {c['total']} examples finished and kept in the "
                   "file; start again with the same output name to resume.")
    elif job.status == "interrupted":
        st.warning(f"Interrupted — start again to resume: {md_text(job.reason or '')}")
    else:
        st.error(f"The run stopped: {md_text(str(job.reason))}. Finished examples are kept in "
                 "the file; start again to resume.")


def _job(job: Job) -> None:
    c = job.counts()
    st.markdown(f"**{TITLES.get(job.kind, job.kind)}** → {md_text(job.out.name)} · started "
                f"{_clock(job.started)}" + (f", ended {_clock(job.ended)}" if job.ended else "")
                + f" · {job.status}")
    st.caption(md_text(str(job.out)) + (f" · {job.calls:,} calls planned" if job.calls else "")
               + ("" if job.engine == "local" else f" · on {md_text(job.engine)}"))
    st.progress(min(1.0, (c["done"] + c["failed"]) / max(1, c["total"])),
                text=_progress_text(job))
    if job.running:
        if job.cancel.is_set():
            st.caption("Cancelling: the examples in flight finish and are kept…")
        elif job.cancellable and st.button("Cancel", key=f"job_cancel_{job.id}"):
            cancel(job.id)
            st.caption("Cancelling: the examples in flight finish and are kept…")
        elif not job.cancellable:
            st.caption(md_text(job.reason or ""))
        return
    _outcome(job)
    if not job.out.is_file():
        st.caption("The output file is no longer there.")
        return
    c1, c2 = st.columns(2)
    if c1.button("Open in the dashboard", key=f"job_open_{job.id}"):
        _go(job.out, "pages/overview.py")
    if job.kind == "generation" and c2.button("Judge these pairs", key=f"job_judge_{job.id}"):
        _go(job.out, "pages/judge.py")


def panel(kind: str) -> None:
    """Every run of ``kind`` (newest first, from any tab or an earlier server process), polled
    every second while one runs."""
    goto = st.session_state.pop(_GOTO, None)
    if goto:  # a button of the fragment below asked for another page (see _go)
        st.switch_page(goto)
    busy = any(j.running for j in listing(kind))

    @st.fragment(run_every=1.0 if busy else 5.0)
    def runs() -> None:
        found = listing(kind)
        if not found:
            st.caption("No runs yet. Runs go on when the tab is closed and are listed here in "
                       "every tab.")
            return
        st.subheader("Runs")
        for job in found:
            with st.container(border=True):
                _job(job)

    runs()
