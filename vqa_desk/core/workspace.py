"""The workspace: one SQLite file holding a sampled dataset, its labels and their history.

Design notes (see docs/decisions.md):
- WAL journal, foreign keys on, ``synchronous=FULL`` for edits so a committed edit survives kill -9 and power
  loss alike. Imports are built in a ``.partial`` file and renamed into place when complete.
- ``PRAGMA application_id`` marks the file as ours; ``PRAGMA user_version`` is the schema version. Older
  schemas are migrated (after a backup copy); newer ones are refused with a message.
- Image bytes live in their own table so listing covers never reads them, and are fetched one at a time.
- The edit log is append-only, enforced by triggers, and every label change goes through ``set_answers``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock

from vqa_desk import __version__
from vqa_desk.core.errors import WorkspaceError
from vqa_desk.core.timeutil import utc_now

APPLICATION_ID = 0x56514144  # "VQAD"
SCHEMA_VERSION = 4
SUFFIX = ".vqadesk"
SPLITS = ("train", "validation", "test")

_SCHEMA_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE images (
    id             INTEGER PRIMARY KEY,
    image_id       TEXT NOT NULL UNIQUE,
    split          TEXT NOT NULL,
    rank           INTEGER NOT NULL,          -- position in its split's sample (the shuffle order)
    source_ref     TEXT NOT NULL,             -- where the row came from: "<file>#<row>" or "<dataset>:<split>#<row>"
    width          INTEGER,
    height         INTEGER,
    format         TEXT,
    mode           TEXT,
    sha256         TEXT,
    n_bytes        INTEGER NOT NULL DEFAULT 0,
    valid          INTEGER NOT NULL,
    invalid_reason TEXT,
    title          TEXT,
    author         TEXT,
    genre          TEXT,
    image_url      TEXT,
    set_name       TEXT
);
CREATE INDEX images_split_rank ON images(split, rank);
CREATE INDEX images_valid ON images(valid);
CREATE TABLE image_data (
    image INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    bytes BLOB NOT NULL
);
CREATE TABLE image_ocr (
    image      INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    ocr_tokens TEXT,                          -- JSON list, as in the source
    ocr_info   TEXT                           -- JSON list of {word, bounding_box}
);
CREATE TABLE qa (
    id              INTEGER PRIMARY KEY,
    image           INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx             INTEGER NOT NULL,         -- position in the cover's questions list
    split           TEXT NOT NULL,            -- copied from images so per-split counts need no join
    question        TEXT NOT NULL,
    qtype           TEXT NOT NULL,
    original_answer TEXT NOT NULL,
    answer          TEXT NOT NULL,
    UNIQUE (image, idx)
);
CREATE INDEX qa_split_qtype ON qa(split, qtype);
CREATE TABLE edits (
    id         INTEGER PRIMARY KEY,
    qa         INTEGER NOT NULL REFERENCES qa(id),
    field      TEXT NOT NULL,
    old        TEXT,
    new        TEXT,
    reason     TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX edits_qa ON edits(qa);
CREATE TRIGGER edits_append_only_update BEFORE UPDATE ON edits
BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
CREATE TRIGGER edits_append_only_delete BEFORE DELETE ON edits
BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
CREATE TABLE import_issues (
    id      INTEGER PRIMARY KEY,
    image   INTEGER REFERENCES images(id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    message TEXT NOT NULL
);
"""

# Version 2: label-check findings and cached OCR of the covers.
_SCHEMA_V2 = """
CREATE TABLE findings (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,          -- what the finding is about; re-running checks finds it again
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL,
    confidence REAL NOT NULL,
    status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'applied', 'dismissed')),
    reason     TEXT NOT NULL DEFAULT '',      -- why it was dismissed
    summary    TEXT NOT NULL,
    evidence   TEXT NOT NULL,                 -- JSON list of sentences
    changes    TEXT NOT NULL,                 -- JSON list of {qa_id, image_pk, old, new}
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX findings_kind_status ON findings(kind, status);
CREATE TABLE finding_images (
    finding INTEGER NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    image   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    PRIMARY KEY (finding, image)
);
CREATE INDEX finding_images_image ON finding_images(image);
CREATE TABLE ocr_lines (
    image      INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    engine     TEXT NOT NULL,
    lines      TEXT NOT NULL,                 -- JSON list of {text, score, box: [[x, y] x4]}
    error      TEXT,
    created_at TEXT NOT NULL
);
"""


# Version 3: fine-tuning jobs, kept so a restarted app or CLI re-attaches to them, and their events.
_SCHEMA_V3 = """
CREATE TABLE finetune_jobs (
    id               INTEGER PRIMARY KEY,
    launch_id        TEXT NOT NULL UNIQUE,     -- sent as job metadata: finds the job again if the reply was lost
    provider         TEXT NOT NULL,
    status           TEXT NOT NULL,            -- preparing | uploading | the provider's job status | failed_local
    base_model       TEXT NOT NULL,
    suffix           TEXT,
    hyperparameters  TEXT NOT NULL,            -- JSON
    export_manifest  TEXT,
    training_file    TEXT,
    validation_file  TEXT,
    job_id           TEXT,
    fine_tuned_model TEXT,
    trained_tokens   INTEGER,
    error            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE TABLE finetune_events (
    job        INTEGER NOT NULL REFERENCES finetune_jobs(id) ON DELETE CASCADE,
    event_id   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    level      TEXT NOT NULL,
    type       TEXT NOT NULL,
    message    TEXT NOT NULL,
    data       TEXT,                           -- JSON: step, train_loss, valid_loss ... for metrics events
    PRIMARY KEY (job, event_id)
);
"""


# Version 4: evaluation runs, their predictions, the request cache, grades and human overrides.
_SCHEMA_V4 = """
CREATE TABLE eval_runs (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,          -- "<provider>:<model>", or "import:<file name>:<model>"
    provider   TEXT NOT NULL,
    model      TEXT NOT NULL,
    source     TEXT NOT NULL,                 -- api | batch | import
    test_file  TEXT,
    settings   TEXT NOT NULL DEFAULT '{}',    -- JSON
    status     TEXT NOT NULL,                 -- running | complete | cancelled | failed
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE predictions (
    id          INTEGER PRIMARY KEY,
    run         INTEGER NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
    qa          INTEGER NOT NULL REFERENCES qa(id),
    answer      TEXT NOT NULL,
    request_key TEXT,                          -- the cache entry it came from
    created_at  TEXT NOT NULL,
    UNIQUE (run, qa)
);
CREATE INDEX predictions_qa ON predictions(qa);
CREATE TABLE request_cache (
    key        TEXT PRIMARY KEY,               -- sha256 of provider, model and the request body
    provider   TEXT NOT NULL,
    model      TEXT NOT NULL,
    response   TEXT NOT NULL,                  -- the answer text
    created_at TEXT NOT NULL
);
CREATE TABLE grades (
    id             INTEGER PRIMARY KEY,
    prediction     INTEGER NOT NULL REFERENCES predictions(id) ON DELETE CASCADE,
    grader         TEXT NOT NULL,              -- strict | lenient | normalized | judge:heuristic | judge:<model>
    grader_version TEXT NOT NULL,
    truth          TEXT NOT NULL,              -- the label it was graded against
    correct        INTEGER,                    -- 0 / 1 for exact graders
    rating         TEXT,                       -- Very Similar | Mostly Similar | Somewhat Similar | Incorrect
    reason         TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    UNIQUE (prediction, grader)
);
CREATE TABLE grade_overrides (
    id         INTEGER PRIMARY KEY,
    prediction INTEGER NOT NULL REFERENCES predictions(id) ON DELETE CASCADE,
    rating     TEXT NOT NULL,
    who        TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL                   -- append-only: the newest override of a prediction counts
);
CREATE INDEX grade_overrides_prediction ON grade_overrides(prediction);
"""


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run DDL statement by statement: unlike executescript(), this stays inside the caller's transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""


def _to_v2(conn: sqlite3.Connection) -> None:
    _execute_script(conn, _SCHEMA_V2)


# MIGRATIONS[v] upgrades a schema at version v to v + 1. New workspaces are created at version 1 and brought
# forward by the same steps, so every schema change has exactly one definition.
def _to_v3(conn: sqlite3.Connection) -> None:
    _execute_script(conn, _SCHEMA_V3)


def _to_v4(conn: sqlite3.Connection) -> None:
    _execute_script(conn, _SCHEMA_V4)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _to_v2, 2: _to_v3, 3: _to_v4}


@dataclass(frozen=True)
class Edit:
    id: int
    qa_id: int
    field: str
    old: str | None
    new: str | None
    reason: str
    source: str
    created_at: str


@dataclass(frozen=True)
class QAPair:
    id: int
    image_pk: int
    idx: int
    split: str
    question: str
    qtype: str
    original_answer: str
    answer: str

    @property
    def edited(self) -> bool:
        return self.answer != self.original_answer


@dataclass(frozen=True)
class ImageMeta:
    image_id: str
    split: str
    width: int | None
    height: int | None
    format: str | None
    mode: str | None
    source_ref: str
    valid: bool
    invalid_reason: str | None
    title: str | None
    author: str | None
    genre: str | None


@dataclass(frozen=True)
class AnswerChange:
    qa_id: int
    new: str


class Workspace:
    """An open workspace file. Not thread-safe: a worker thread opens its own ``Workspace``."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._lock: filelock.BaseFileLock | None = None

    # ----- opening and creating -------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path) -> Workspace:
        """Create an empty workspace at ``path`` (which must not exist)."""
        path = Path(path)
        if path.exists():
            raise WorkspaceError(f"{path} already exists; choose another name or remove it first.")
        if not path.parent.is_dir():
            raise WorkspaceError(
                f"Cannot create a workspace at {path}: the folder {path.parent} does not exist. Create it first or "
                "choose another location."
            )
        try:
            conn = _connect(path)
        except (OSError, sqlite3.OperationalError) as exc:
            raise WorkspaceError(
                f"Cannot create a workspace at {path}: {exc}. Check that the folder is writable."
            ) from exc
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        with conn:
            conn.executescript(_SCHEMA_V1)
            for version in range(1, SCHEMA_VERSION):
                MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [("created", json.dumps(utc_now())), ("tool_version", json.dumps(__version__)),
                 ("import_state", json.dumps("empty"))],
            )
        return cls(path, conn)

    @classmethod
    def open(cls, path: str | Path, *, allow_incomplete: bool = False, exclusive: bool = False) -> Workspace:
        """Open an existing workspace. ``exclusive`` (the app window) refuses a file another instance holds."""
        path = Path(path)
        if not path.exists():
            raise WorkspaceError(
                f"No workspace at {path}. Create one with: vqa-desk new {path} --from demo"
            )
        if path.is_dir():
            raise WorkspaceError(f"{path} is a folder; a workspace is a single {SUFFIX} file.")
        if path.stat().st_size == 0:
            raise WorkspaceError(f"{path} is an empty file, not a VQA Desk workspace.")
        # Identify the file through a read-only connection first: switching a foreign SQLite file to WAL (or
        # writing a header into a stray file) must never happen just because someone tried to open it.
        try:
            probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                app_id = probe.execute("PRAGMA application_id").fetchone()[0]
                version = probe.execute("PRAGMA user_version").fetchone()[0]
            finally:
                probe.close()
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(
                f"{path} is not a VQA Desk workspace or is damaged ({exc}). If it was copied or downloaded, "
                "copy it again; otherwise re-create it with 'vqa-desk new'."
            ) from exc
        if app_id != APPLICATION_ID:
            raise WorkspaceError(f"{path} is a SQLite file but not a VQA Desk workspace.")
        if version > SCHEMA_VERSION:
            raise WorkspaceError(
                f"{path} was written by a newer VQA Desk (workspace schema {version}; this version "
                f"{__version__} reads up to {SCHEMA_VERSION}). Update VQA Desk to open it; the file was not changed."
            )
        try:
            conn = _connect(path)
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(f"{path} cannot be opened for writing ({exc}). Check the file's permissions.") from exc
        if version < SCHEMA_VERSION:
            conn = _migrate(path, conn, version)
        ws = cls(path, conn)
        try:
            state = ws.meta.get("import_state")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise WorkspaceError(f"{path} is damaged ({exc}). Re-create it with 'vqa-desk new'.") from exc
        if state != "complete" and not allow_incomplete:
            conn.close()
            raise WorkspaceError(
                f"{path} is incomplete: its import did not finish (state: {state}). Run 'vqa-desk new' again "
                "with --force to rebuild it."
            )
        if exclusive:
            ws._acquire_lock()
        return ws

    def _acquire_lock(self) -> None:
        # An OS lock (flock / LockFileEx) on a side file: released by the OS if the holder crashes.
        lock = filelock.FileLock(str(self.path) + ".lock", timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            self._conn.close()
            raise WorkspaceError(
                f"{self.path.name} is open in another VQA Desk window. Switch to that window, or close it and "
                "try again."
            ) from None
        except OSError:
            return  # a read-only folder cannot hold a lock file; working without one beats refusing to open
        self._lock = lock

    def close(self) -> None:
        self._conn.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: commits on success, rolls back on any exception.

        Another process holding the write lock past the busy timeout is the user's situation, not a bug: it
        becomes a WorkspaceError that says so.
        """
        try:
            with self._conn:
                yield self._conn
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise WorkspaceError(
                    f"{self.path.name} is busy: another VQA Desk process is writing to it. Nothing was changed; "
                    "try again in a moment."
                ) from exc
            raise

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for core modules that run their own queries (checks, export)."""
        return self._conn

    @property
    def meta(self) -> MetaStore:
        return MetaStore(self._conn)

    # ----- reading ------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The figures ``vqa-desk info`` prints; indexed queries only, so it stays fast on 1M QA pairs."""
        c = self._conn
        images = {s: n for s, n in c.execute("SELECT split, count(*) FROM images GROUP BY split")}
        qa_pairs: dict[str, int] = {}
        qtypes: dict[str, int] = {}
        for split, qtype, n in c.execute("SELECT split, qtype, count(*) FROM qa GROUP BY split, qtype"):
            qa_pairs[split] = qa_pairs.get(split, 0) + n
            qtypes[qtype] = qtypes.get(qtype, 0) + n
        invalid = c.execute("SELECT count(*) FROM images WHERE valid = 0").fetchone()[0]
        edits = c.execute("SELECT count(*) FROM edits").fetchone()[0]
        edited = c.execute(
            "SELECT count(DISTINCT qa) FROM edits"
        ).fetchone()[0]
        issues = {k: n for k, n in c.execute("SELECT kind, count(*) FROM import_issues GROUP BY kind")}
        meta = self.meta
        return {
            "workspace": str(self.path),
            "source": meta.get("source"),
            "sampling": meta.get("sampling"),
            "created": meta.get("created"),
            "tool_version": meta.get("tool_version"),
            "schema_version": SCHEMA_VERSION,
            "images": _ordered_splits(images),
            "qa_pairs": _ordered_splits(qa_pairs),
            "question_types": dict(sorted(qtypes.items(), key=lambda kv: -kv[1])),
            "invalid_images": invalid,
            "edits": edits,
            "edited_qa_pairs": edited,
            "import_issues": issues,
        }

    def qa(self, qa_id: int) -> QAPair:
        row = self._conn.execute(f"SELECT {_QA_COLUMNS} FROM qa WHERE id = ?", (qa_id,)).fetchone()
        if row is None:
            raise WorkspaceError(f"No QA pair with id {qa_id} in {self.path.name}.")
        return QAPair(*row)

    def qa_for_image(self, image_pk: int) -> list[QAPair]:
        rows = self._conn.execute(f"SELECT {_QA_COLUMNS} FROM qa WHERE image = ? ORDER BY idx", (image_pk,))
        return [QAPair(*r) for r in rows]

    def image_pk(self, image_id: str) -> int:
        row = self._conn.execute("SELECT id FROM images WHERE image_id = ?", (image_id,)).fetchone()
        if row is None:
            raise WorkspaceError(f"No cover with image id {image_id!r} in {self.path.name}.")
        return int(row[0])

    def image_meta(self, image_pk: int) -> ImageMeta:
        row = self._conn.execute(
            "SELECT image_id, split, width, height, format, mode, source_ref, valid, invalid_reason, title, author, "
            "genre FROM images WHERE id = ?", (image_pk,)).fetchone()
        if row is None:
            raise WorkspaceError(f"No cover {image_pk} in {self.path.name}.")
        return ImageMeta(*row[:7], bool(row[7]), *row[8:])

    def image_bytes(self, image_pk: int) -> bytes:
        row = self._conn.execute("SELECT bytes FROM image_data WHERE image = ?", (image_pk,)).fetchone()
        if row is None:
            raise WorkspaceError(f"Cover {image_pk} has no stored image bytes.")
        return bytes(row[0])

    def image_ocr(self, image_pk: int) -> tuple[list[str], list[dict[str, Any]]]:
        row = self._conn.execute(
            "SELECT ocr_tokens, ocr_info FROM image_ocr WHERE image = ?", (image_pk,)
        ).fetchone()
        if row is None:
            return [], []
        return json.loads(row[0] or "[]"), json.loads(row[1] or "[]")

    def edits_for_qa(self, qa_id: int) -> list[Edit]:
        rows = self._conn.execute(f"SELECT {_EDIT_COLUMNS} FROM edits WHERE qa = ? ORDER BY id", (qa_id,))
        return [Edit(*r) for r in rows]

    def edits_for_image(self, image_pk: int) -> list[Edit]:
        rows = self._conn.execute(
            "SELECT e.id, e.qa, e.field, e.old, e.new, e.reason, e.source, e.created_at FROM edits e "
            "JOIN qa ON qa.id = e.qa "
            "WHERE qa.image = ? ORDER BY e.id",
            (image_pk,),
        )
        return [Edit(*r) for r in rows]

    # ----- the one way labels change -----------------------------------------------------------------
    def set_answers(self, changes: Sequence[AnswerChange], *, reason: str, source: str,
                    also: Callable[[sqlite3.Connection], None] | None = None) -> list[Edit]:
        """Write new answers and their audit rows in one transaction; unchanged values are skipped.

        Undo in the GUI calls this with old and new swapped, so undo is audited too. ``also`` runs inside the
        same transaction (a finding's status changes together with the answers it fixed, or not at all).
        """
        now = utc_now()
        made: list[Edit] = []
        with self.transaction():
            for change in changes:
                if not isinstance(change.new, str):
                    raise WorkspaceError(f"An answer must be text, not {type(change.new).__name__}.")
                row = self._conn.execute("SELECT answer FROM qa WHERE id = ?", (change.qa_id,)).fetchone()
                if row is None:
                    raise WorkspaceError(f"No QA pair with id {change.qa_id}; nothing was changed.")
                old = row[0]
                if old == change.new:
                    continue
                self._conn.execute("UPDATE qa SET answer = ? WHERE id = ?", (change.new, change.qa_id))
                cur = self._conn.execute(
                    "INSERT INTO edits(qa, field, old, new, reason, source, created_at) "
                    "VALUES (?, 'answer', ?, ?, ?, ?, ?)",
                    (change.qa_id, old, change.new, reason, source, now),
                )
                made.append(Edit(int(cur.lastrowid or 0), change.qa_id, "answer", old, change.new, reason, source, now))
            if also is not None:
                also(self._conn)
        return made

    def set_answer(self, qa_id: int, new: str, *, reason: str = "", source: str = "user") -> Edit | None:
        made = self.set_answers([AnswerChange(qa_id, new)], reason=reason, source=source)
        return made[0] if made else None

    def revert_answer(self, qa_id: int, *, source: str = "user") -> Edit | None:
        original = self.qa(qa_id).original_answer
        return self.set_answer(qa_id, original, reason="revert to original", source=source)


class MetaStore:
    """Workspace metadata as JSON values under string keys."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set(self, key: str, value: Any) -> None:
        with self._conn:
            self.set_in_transaction(key, value)

    def set_in_transaction(self, key: str, value: Any) -> None:
        self._conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def all(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._conn.execute("SELECT key, value FROM meta")}


_QA_COLUMNS = "id, image, idx, split, question, qtype, original_answer, answer"
_EDIT_COLUMNS = "id, qa, field, old, new, reason, source, created_at"


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None would make every statement autocommit; the default plus "with conn" gives explicit
    # transactions. check_same_thread stays on: each thread opens its own Workspace.
    conn = sqlite3.connect(path, timeout=10.0)
    conn.execute("PRAGMA foreign_keys = ON")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        # Network file systems refuse WAL; the rollback journal still keeps commits atomic.
        conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def _migrate(path: Path, conn: sqlite3.Connection, version: int) -> sqlite3.Connection:
    """Bring an older schema up to date, one version per transaction, after copying the file aside."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    backup = path.with_name(f"{path.name}.schema{version}.bak")
    try:
        shutil.copy2(path, backup)
    except OSError as exc:
        conn.close()
        raise WorkspaceError(
            f"{path} needs an upgrade from schema {version}, but a backup copy could not be written ({exc}). "
            "Free some disk space or make the folder writable, then open it again."
        ) from exc
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            conn.close()
            raise WorkspaceError(f"{path} has schema {version}, which this version cannot upgrade.")
        try:
            # An explicit BEGIN: DDL does not open a transaction implicitly, and a step must be all or nothing.
            conn.execute("BEGIN IMMEDIATE")
            step(conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.commit()
        except sqlite3.Error as exc:
            conn.rollback()
            conn.close()
            raise WorkspaceError(
                f"{path} could not be upgraded from schema {version} ({exc}); it was left unchanged. A copy from "
                f"before the upgrade is at {backup.name}."
            ) from exc
        version += 1
    return conn


def _ordered_splits(counts: dict[str, int]) -> dict[str, int]:
    known = {s: counts[s] for s in SPLITS if s in counts}
    known.update({s: n for s, n in sorted(counts.items()) if s not in known})
    return known

