"""On-disk cache of validated LLM answers (SQLite), so that a rerun makes zero calls.

The key is ``sha256(model, prompt version, schema name, schema hash, messages)`` (:func:`cache_key`).
Only answers that passed validation are stored, as the raw JSON text; a hit is validated again
against the caller's schema, so a changed schema turns an old entry into a miss instead of bad data.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_cache (
    key               TEXT PRIMARY KEY,
    model             TEXT NOT NULL,
    prompt_version    TEXT NOT NULL,
    schema_name       TEXT NOT NULL,
    content           TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    created           REAL NOT NULL
)
"""


def cache_key(model: str, prompt_version: str, schema_name: str, schema_hash: str,
              messages: list[dict[str, str]]) -> str:
    """Stable key of one structured request (hex sha256)."""
    payload = json.dumps([model, prompt_version, schema_name, schema_hash, messages],
                         ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class CachedAnswer:
    __slots__ = ("content", "prompt_tokens", "completion_tokens")

    def __init__(self, content: str, prompt_tokens: int, completion_tokens: int):
        self.content = content
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


class LLMCache:
    """A SQLite file of answers; safe to share between threads of one process.

    Args:
        path: the database file (its folder is created). ``Settings.home/cache/llm.sqlite`` by default
            in :class:`~kgrec_neo4j.llm.client.LLMClient`.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)
        self._conn.commit()

    def get_many(self, keys: list[str]) -> dict[str, CachedAnswer]:
        """The stored answers for those of ``keys`` that are present."""
        out: dict[str, CachedAnswer] = {}
        uniq = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(uniq), 500):
                chunk = uniq[i:i + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT key, content, prompt_tokens, completion_tokens FROM llm_cache WHERE key IN ({marks})",
                    chunk,
                ).fetchall()
                for k, content, pt, ct in rows:
                    out[k] = CachedAnswer(content, pt, ct)
        return out

    def put(self, key: str, *, model: str, prompt_version: str, schema_name: str, content: str,
            prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO llm_cache VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, model, prompt_version, schema_name, content, prompt_tokens, completion_tokens, time.time()),
            )
            self._conn.commit()

    def put_many(self, rows: list[dict]) -> None:
        """Store several answers in one transaction (rows: the keyword arguments of :meth:`put` + ``key``)."""
        if not rows:
            return
        now = time.time()
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO llm_cache VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(r["key"], r["model"], r["prompt_version"], r["schema_name"], r["content"],
                  r.get("prompt_tokens", 0), r.get("completion_tokens", 0), now) for r in rows],
            )
            self._conn.commit()

    def delete(self, keys: list[str]) -> int:
        with self._lock:
            n = 0
            for k in keys:
                n += self._conn.execute("DELETE FROM llm_cache WHERE key = ?", (k,)).rowcount
            self._conn.commit()
            return n

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM llm_cache").fetchone()[0])

    def stats(self) -> dict[str, int]:
        """Entries per (model, prompt version), for ``kgrec llm status``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT model, prompt_version, count(*) FROM llm_cache GROUP BY model, prompt_version"
            ).fetchall()
        return {f"{m} / {v}": int(n) for m, v, n in rows}

    def close(self) -> None:
        with self._lock:
            self._conn.close()
