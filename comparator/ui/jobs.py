"""Background jobs of the dashboard (generation now; judging later): a thread with its own
event loop, a cancel flag, and progress the page polls. Finished work is on disk as it goes."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from comparator.generation import Progress, Side, generate_pairs
from comparator.generation.base import redact
from comparator.generation.promptsets import PromptItem


@dataclass
class Job:
    out: Path
    total: int
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None
    error: str | None = None
    finished: bool = False
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


def start_generation(items: list[PromptItem], a: Side, b: Side, out: Path, concurrency: int,
                     prompts_name: str, secrets: list[str | None]) -> Job:
    job = Job(out=out, total=len(items))

    def on_progress(p: Progress) -> None:
        job.progress = replace(p)

    def work() -> None:
        try:
            job.progress = asyncio.run(generate_pairs(
                items, a, b, out, concurrency=concurrency, prompts_name=prompts_name,
                on_progress=on_progress, cancel=job.cancel))
        except Exception as e:  # shown on the page; finished examples stay in the file
            job.error = redact(f"{type(e).__name__}: {e}", secrets)
        finally:
            job.finished = True

    job.thread = threading.Thread(target=work, name=f"generate {out.name}", daemon=True)
    job.thread.start()
    return job
