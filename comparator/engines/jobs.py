"""Runs (generation, judging) as jobs of the server process, not of a browser tab: each runs in
a thread with its own event loop and is kept in one process-wide registry, so any session can
list it, follow its progress and cancel it, and closing the tab that started it changes
nothing. Finished work is on disk as it goes (the engines append each finished example).

Each job also has a small JSON record under ``$COMPARATOR_HOME/jobs/`` (written atomically,
at the start, about every two seconds of progress and at the end), so that after a restart
the finished runs and their outputs are still listed; a run the server was still doing when it
stopped is listed as interrupted: starting it again with the same output resumes it."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from comparator.engines.runner import Progress
from comparator.schema.atomic import write_bytes
from comparator.schema.redact import redact
from comparator.schema.settings import user_dir

SAVE_EVERY_S = 2.0
INTERRUPTED = ("the server stopped while it ran. Start it with the same settings and output "
               "name: the finished examples are kept and not paid for twice")


@dataclass
class Job:
    kind: str  # "generation" | "judging"
    out: Path
    total: int
    calls: int | None = None  # planned model calls (comparator.engines.plan)
    engine: str = "local"  # "local", or where a Ray run goes ("Ray at ADDR", "a local Ray")
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: float = field(default_factory=time.time)
    ended: float | None = None
    status: str = "running"  # running | finished | cancelled | failed | interrupted
    reason: str | None = None  # why it failed or stopped
    progress: Progress | None = None
    pid: int = field(default_factory=os.getpid)
    record: Path | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    _saved: float = 0.0

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def cancellable(self) -> bool:
        """Running in this process (a job of another process can be cancelled only there)."""
        return self.running and self.thread is not None and not self.cancel.is_set()

    @property
    def finished(self) -> bool:
        return not self.running

    @property
    def error(self) -> str | None:
        return self.reason if self.status == "failed" else None

    def counts(self) -> dict[str, int]:
        p = self.progress
        return {"done": p.done if p else 0, "failed": p.failed if p else 0,
                "skipped": p.skipped if p else 0, "cached": p.cache_hits if p else 0,
                "calls": p.calls if p else 0, "total": self.total}

    def rate(self) -> float | None:
        """Examples finished per second by this run (not counting those resumed from the file)."""
        p = self.progress
        if p is None or (self.ended is None and not self.running):
            return None  # an interrupted run: its end is unknown
        elapsed = (self.ended or time.time()) - self.started
        new = p.done + p.failed - p.skipped
        return new / elapsed if elapsed > 0 and new > 0 else None

    def eta(self) -> float | None:
        """Seconds left at this run's rate, while it runs."""
        rate, c = self.rate(), self.counts()
        left = c["total"] - c["done"] - c["failed"]
        return left / rate if self.running and rate and left > 0 else None

    def to_record(self) -> dict:
        p = self.progress
        return {"id": self.id, "kind": self.kind, "out": str(self.out), "total": self.total,
                "calls": self.calls, "engine": self.engine, "started": self.started,
                "ended": self.ended, "status": self.status, "reason": self.reason, "pid": self.pid,
                "progress": {"type": type(p).__name__, **asdict(p)} if p else None}


_LOCK = threading.Lock()
_JOBS: dict[str, Job] = {}  # every job this process started, by id


def jobs_dir() -> Path:
    """The run records of the calling user (everyone's own on a team server)."""
    return user_dir() / "jobs"


def _save(job: Job, force: bool = False) -> None:
    """The job's record, at most every SAVE_EVERY_S unless ``force``; a failed write (a full
    disk) never stops the run: the output file is what matters."""
    now = time.monotonic()
    if job.record is None or (not force and now - job._saved < SAVE_EVERY_S):
        return
    job._saved = now
    try:
        write_bytes(job.record, orjson.dumps(job.to_record()))
    except OSError:
        pass


def start(kind: str, out: Path, total: int, secrets: list[str | None],
          run: Callable[[Callable[[Progress], None], threading.Event], Coroutine[Any, Any,
                                                                                  Progress]],
          calls: int | None = None, engine: str = "local") -> Job:
    """Run ``run(on_progress, cancel)`` in a thread as a registered job; errors become its
    ``reason`` (redacted of ``secrets``). ``engine``: where it runs, as the page says it."""
    folder = jobs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        same = [j for j in _JOBS.values() if j.running and j.out.resolve() == Path(out).resolve()]
    if same:
        raise ValueError(f"{out} is being written by a {same[0].kind} run started at "
                         f"{time.strftime('%H:%M:%S', time.localtime(same[0].started))}; cancel "
                         "it or choose another output name")
    job = Job(kind=kind, out=Path(out), total=total, calls=calls, engine=engine)
    job.record = folder / f"{job.id}.json"

    def on_progress(p: Progress) -> None:
        job.progress = replace(p)
        _save(job)

    def work() -> None:
        try:
            job.progress = asyncio.run(run(on_progress, job.cancel))
            p = job.progress
            unfinished = p is None or p.done + p.failed < job.total
            job.status = "cancelled" if job.cancel.is_set() and unfinished else "finished"
        except Exception as e:  # shown on the page; finished examples stay in the file
            job.status, job.reason = "failed", redact(f"{type(e).__name__}: {e}", secrets)
        finally:
            if job.status == "running":  # a BaseException (the interpreter exiting)
                job.status, job.reason = "failed", "stopped"
            job.ended = time.time()
            _save(job, force=True)

    _save(job, force=True)
    with _LOCK:
        _JOBS[job.id] = job
    job.thread = threading.Thread(target=work, name=f"{kind} {job.out.name}", daemon=True)
    job.thread.start()
    return job


def cancel(job_id: str) -> bool:
    """Ask a running job of this process to stop after the examples in flight (kept)."""
    with _LOCK:
        job = _JOBS.get(job_id)
    if job is None or not job.running:
        return False
    job.cancel.set()
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _from_record(path: Path) -> Job | None:
    try:
        rec = orjson.loads(path.read_bytes())
        job = Job(kind=rec["kind"], out=Path(rec["out"]), total=int(rec["total"]),
                  calls=rec.get("calls"), engine=str(rec.get("engine") or "local"),
                  id=rec["id"], started=float(rec["started"]),
                  ended=rec.get("ended"), status=rec["status"], reason=rec.get("reason"),
                  pid=int(rec["pid"]), record=path)
        p = dict(rec.get("progress") or {})
        if p:
            cls = _progress_type(p.pop("type", "Progress"))
            job.progress = cls(**{k: v for k, v in p.items() if k in cls.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a record that cannot be read is not listed (the output file is intact)
    if job.status == "running":
        if job.pid != os.getpid() and _alive(job.pid):
            job.reason = f"running in another server process (pid {job.pid}); cancel it there"
        else:
            job.status, job.reason = "interrupted", INTERRUPTED
    return job


def _progress_type(name: str) -> type[Progress]:
    for cls in (Progress, *Progress.__subclasses__()):
        if cls.__name__ == name:
            return cls
    return Progress


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def listing(kind: str | None = None, limit: int = 20) -> list[Job]:
    """The jobs of ``kind`` under the current $COMPARATOR_HOME, newest first: this process's
    (live) and those of earlier server processes (from their records)."""
    folder = jobs_dir()
    with _LOCK:
        live = {j.id: j for j in _JOBS.values() if j.record and j.record.parent == folder}
    found = list(live.values())
    paths = sorted(folder.glob("*.json"), key=_mtime, reverse=True) if folder.is_dir() else []
    for path in paths[: 5 * limit]:
        if path.stem not in live:
            job = _from_record(path)
            if job is not None:
                found.append(job)
    found = [j for j in found if kind is None or j.kind == kind]
    return sorted(found, key=lambda j: j.started, reverse=True)[:limit]
