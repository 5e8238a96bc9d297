"""The SQLite key-value cache of the engines, and the content-addressed response cache built on
it: (model spec, sampling parameters, messages) -> reply, under the user data dir. Each finished
reply is committed at once, so a rerun after a crash (even ``kill -9``) pays for nothing twice.
Only successful replies are kept.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from dataclasses import asdict
from pathlib import Path

import orjson

from comparator.engines.base import GenResult, Messages, SamplingParams
from comparator.schema.settings import data_dir


def cache_key(spec: str, params: SamplingParams, messages: Messages) -> str:
    blob = orjson.dumps({"model": spec, "params": params.key(), "messages": messages},
                        option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(blob).hexdigest()


class SqliteKV:
    """One SQLite file holding a ``key -> (columns...)`` table: WAL mode, each write committed
    at once (a ``kill -9`` loses nothing written; a power cut may lose the last writes), safe
    for several threads (one connection behind a lock) and several processes (WAL and a 30 s
    wait for the write lock). The three caches (responses, embeddings, perplexity) are this."""

    CHUNK = 900  # keys per SELECT ... IN (SQLite allows 999 parameters)

    def __init__(self, path: Path, table: str, columns: tuple[str, ...]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        names = ", ".join(c.split()[0] for c in columns)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._setup(["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                         f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, "
                         f"{', '.join(columns)})"])
        self._one = f"SELECT {names} FROM {table} WHERE key = ?"
        self._select = f"SELECT key, {names} FROM {table} WHERE key IN "
        self._insert = (f"INSERT OR REPLACE INTO {table} VALUES "
                        f"({', '.join('?' * (len(columns) + 1))})")

    def _setup(self, statements: list[str]) -> None:
        """Run the file's setup. Two processes opening a new file at once: the switch to WAL
        takes a lock for which SQLite does not wait (it answers "database is locked" at
        once, whatever the timeout), so it is tried again for up to the same 30 s."""
        deadline = time.monotonic() + 30
        for sql in statements:
            while True:
                try:
                    self._db.execute(sql)
                    break
                except sqlite3.OperationalError as e:
                    if "locked" not in str(e) and "busy" not in str(e) or \
                            time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    def get(self, key: str) -> tuple | None:
        """The row's values (without the key), or None."""
        with self._lock:
            return self._db.execute(self._one, (key,)).fetchone()

    def get_many(self, keys: list[str]) -> dict[str, tuple]:
        out: dict[str, tuple] = {}
        with self._lock:
            for start in range(0, len(keys), self.CHUNK):
                chunk = keys[start:start + self.CHUNK]
                for key, *values in self._db.execute(
                        f"{self._select}({', '.join('?' * len(chunk))})", chunk):
                    out[key] = tuple(values)
        return out

    def put_many(self, rows: list[tuple]) -> None:
        """``(key, *values)`` rows, written in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(self._insert, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()


class ResponseCache(SqliteKV):
    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__(Path(path) if path else data_dir() / "responses.sqlite", "responses",
                         ("spec TEXT", "result BLOB", "created REAL"))
        self.hits = self.misses = 0

    def get(self, key: str) -> GenResult | None:
        row = super().get(key)
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        res = GenResult(**orjson.loads(row[1]))
        res.cached = True
        return res

    def put(self, key: str, spec: str, result: GenResult) -> None:
        if result.status != "ok":
            return
        blob = orjson.dumps({k: v for k, v in asdict(result).items() if k != "cached"})
        self.put_many([(key, spec, blob, time.time())])
