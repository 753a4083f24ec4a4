"""The sandbox's state: API objects (files, jobs, events, checkpoints, models, batches) in one SQLite file.

Everything lives under the server's ``state_dir``: ``sandbox.sqlite`` and the uploaded or produced file bytes
in ``files/``. A server started again on the same folder finds its files, jobs and fine-tuned models, so a
client can re-attach to a job after a restart. Objects are stored as the JSON the API returns (``data``) plus
what only the server needs (``extra``); lists come back in creation order, newest first by default, with
OpenAI's cursor pagination (``after`` = the id of the last object of the previous page).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

_ALPHABET = string.ascii_letters + string.digits
_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    parent TEXT,
    data TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}',
    UNIQUE (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_parent ON objects (kind, parent, seq);
"""


def new_id(prefix: str, n: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(n))


class Store:
    """Thread-safe: one connection behind a lock (each call is a short statement)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.files_dir = state_dir / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(state_dir / "sandbox.sqlite", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def file_path(self, file_id: str) -> Path:
        return self.files_dir / file_id

    # ----- objects -------------------------------------------------------------------------------------
    def put(self, kind: str, obj: dict[str, Any], *, parent: str | None = None,
            extra: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            self._db.execute("INSERT INTO objects(kind, id, parent, data, extra) VALUES (?, ?, ?, ?, ?)",
                             (kind, obj["id"], parent, json.dumps(obj), json.dumps(extra or {})))
        return obj

    def update(self, kind: str, obj_id: str, change: Callable[[dict[str, Any], dict[str, Any]], None]
               ) -> dict[str, Any] | None:
        """Apply ``change(data, extra)`` in place under the lock; the new data, or None if there is no such object."""
        with self._lock:
            row = self._db.execute("SELECT data, extra FROM objects WHERE kind = ? AND id = ?",
                                   (kind, obj_id)).fetchone()
            if row is None:
                return None
            data, extra = json.loads(row[0]), json.loads(row[1])
            change(data, extra)
            self._db.execute("UPDATE objects SET data = ?, extra = ? WHERE kind = ? AND id = ?",
                             (json.dumps(data), json.dumps(extra), kind, obj_id))
            return data

    def get(self, kind: str, obj_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM objects WHERE kind = ? AND id = ?", (kind, obj_id)).fetchone()
        return json.loads(row[0]) if row else None

    def extra(self, kind: str, obj_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT extra FROM objects WHERE kind = ? AND id = ?", (kind, obj_id)).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, kind: str, obj_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, obj_id))
        return cur.rowcount > 0

    def ids(self, kind: str) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM objects WHERE kind = ? ORDER BY seq", (kind,))]

    def page(self, kind: str, *, parent: str | None = None, after: str | None = None, limit: int = 20,
             newest_first: bool = True, where: Callable[[dict[str, Any]], bool] | None = None
             ) -> tuple[list[dict[str, Any]], bool]:
        """One page of a list and whether more follow. ``after`` that names no object gives an empty page."""
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT seq, data FROM objects WHERE kind = ?{' AND parent = ?' if parent is not None else ''}"
        args: list[Any] = [kind] + ([parent] if parent is not None else [])
        with self._lock:
            if after is not None:
                row = self._db.execute("SELECT seq FROM objects WHERE kind = ? AND id = ?", (kind, after)).fetchone()
                if row is None:
                    return [], False
                sql += " AND seq < ?" if newest_first else " AND seq > ?"
                args.append(row[0])
            rows = self._db.execute(f"{sql} ORDER BY seq {order}", args)
            out: list[dict[str, Any]] = []
            more = False
            for _, data in rows:
                obj = json.loads(data)
                if where is not None and not where(obj):
                    continue
                if len(out) == limit:
                    more = True
                    break
                out.append(obj)
        return out, more
