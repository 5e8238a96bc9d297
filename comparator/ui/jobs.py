"""Background jobs of the dashboard (generation, judging): a thread with its own event loop, a
cancel flag, and progress the page polls. Finished work is on disk as it goes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from comparator.engines.runner import Progress
from comparator.schema.redact import redact


@dataclass
class Job:
    out: Path
    total: int
    kind: str
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None
    error: str | None = None
    finished: bool = False
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


def start(kind: str, out: Path, total: int, secrets: list[str | None],
          run: Callable[[Callable[[Progress], None], threading.Event], Coroutine[Any, Any,
                                                                                  Progress]]
          ) -> Job:
    """Run ``run(on_progress, cancel)`` in a thread; errors become ``job.error`` (redacted)."""
    job = Job(out=out, total=total, kind=kind)

    def on_progress(p: Progress) -> None:
        job.progress = replace(p)

    def work() -> None:
        try:
            job.progress = asyncio.run(run(on_progress, job.cancel))
        except Exception as e:  # shown on the page; finished examples stay in the file
            job.error = redact(f"{type(e).__name__}: {e}", secrets)
        finally:
            job.finished = True

    job.thread = threading.Thread(target=work, name=f"{kind} {out.name}", daemon=True)
    job.thread.start()
    return job
