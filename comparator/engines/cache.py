"""Content-addressed response cache: (model spec, sampling parameters, messages) -> reply.

SQLite in WAL mode under the user data dir; each finished reply is committed at once, so a
rerun after a crash (even ``kill -9``) pays for nothing twice. Only successful replies are kept.
"""

from __future__ import annotations

import hashlib
import sqlite3
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


class ResponseCache:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else data_dir() / "responses.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # survives a killed process (kill -9); a power cut may lose the last replies
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, "
                         "spec TEXT, result BLOB, created REAL)")
        self.hits = self.misses = 0

    def get(self, key: str) -> GenResult | None:
        row = self._db.execute("SELECT result FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        res = GenResult(**orjson.loads(row[0]))
        res.cached = True
        return res

    def put(self, key: str, spec: str, result: GenResult) -> None:
        if result.status != "ok":
            return
        blob = orjson.dumps({k: v for k, v in asdict(result).items() if k != "cached"})
        self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                         (key, spec, blob, time.time()))

    def close(self) -> None:
        self._db.close()
