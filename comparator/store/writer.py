"""Writing the store's IPC file from a thread while the next batch is read."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

from comparator.store import schema


class BatchWriter:
    """Record batches of the layout to an IPC file from a thread (Arrow's writer and its
    kernels release the GIL), so the next batch is parsed meanwhile; each gets its response
    lengths there (``schema.with_chars``); the file's schema is the first batch's.
    ``close()`` waits and says whether any batch was written; an error in the thread is
    raised in the caller's."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.count = 0
        self.thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        writer = None
        try:
            while (batch := self.queue.get()) is not None:
                batch = schema.with_chars(batch)
                if writer is None:
                    writer = ipc.new_file(str(self.out), batch.schema)
                writer.write_batch(batch)
        except BaseException as e:  # noqa: BLE001 - handed to the reading thread
            self.error = e
            while self.queue.get() is not None:  # drain: put() never blocks forever
                pass
        finally:
            if writer is not None:
                writer.close()

    def put(self, batch: pa.RecordBatch) -> None:
        if self.error is not None:
            raise self.error
        self.count += 1
        self.queue.put(batch)

    def close(self) -> bool:
        """Wait for the writes; whether any batch was written (raises the writer's error)."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if self.error is not None:
            raise self.error
        return self.count > 0
