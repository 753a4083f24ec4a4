"""Build a workspace from a source: sample each split, explode questions into QA pairs, store everything.

The workspace is written to ``<target>.partial`` and renamed over the target only when complete, so a crash
or a cancel leaves the previous file (if any) untouched and never a half-imported workspace under the
target name. An existing target is replaced only with ``force``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vqa_desk.core.checks import TITLE_POLICY_KEY, TitlePolicy
from vqa_desk.core.dataset import SourceRow, open_source
from vqa_desk.core.errors import SamplingError, WorkspaceError
from vqa_desk.core.images import inspect_image
from vqa_desk.core.progress import ProgressFn, check_cancel, report
from vqa_desk.core.questions import question_type
from vqa_desk.core.sampling import DEFAULT_SEED, DEFAULT_SIZES, sample_rows
from vqa_desk.core.workspace import Workspace

_COMMIT_EVERY = 500  # covers per transaction while importing
_REPORT_EVERY = 50  # covers between progress reports (and cancel checks that follow them)


@dataclass
class ImportResult:
    path: Path
    images: dict[str, int]
    qa_pairs: dict[str, int]
    issues: dict[str, int]
    notes: list[str] = field(default_factory=list)  # human-readable, for the CLI / GUI to show


def partial_path(target: Path) -> Path:
    return target.with_name(target.name + ".partial")


def import_dataset(
    spec: str,
    target: str | Path,
    *,
    sizes: dict[str, int | None] | None = None,
    seed: int = DEFAULT_SEED,
    split: str | None = None,
    force: bool = False,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> ImportResult:
    target = Path(target)
    if target.exists() and not force:
        raise WorkspaceError(
            f"{target} already exists. Choose another name, or add --force to replace it (its edits would be lost)."
        )
    if target.is_dir():
        raise WorkspaceError(f"{target} is a folder; give a file name such as {target / 'books.vqadesk'}.")
    if not target.parent.is_dir():
        # A mistyped folder should be an error, not a new folder somewhere unexpected.
        raise WorkspaceError(
            f"Cannot create a workspace at {target}: the folder {target.parent} does not exist. Create it first or "
            "choose another location."
        )
    source = open_source(spec, split=split, cache_dir=cache_dir)
    notes: list[str] = []
    if split is not None and source.kind not in ("jsonl",) and len(source.splits) > 1:
        notes.append(f"--split {split} was ignored: this source names its own splits ({', '.join(source.splits)})")
    if sizes is None:
        sizes = {s: None for s in source.splits} if source.default_all else dict(DEFAULT_SIZES)
    # A split the sizes do not name (or name with 0) is left out.
    plan = {name: sample_rows(name, reader.num_rows, sizes[name], seed)
            for name, reader in source.splits.items() if name in sizes and sizes[name] != 0}
    if not plan:
        raise SamplingError(
            f"Nothing to import: every split's size is 0 (the source has {', '.join(source.splits)}). "
            "Give at least one split a size, for example --sizes 150,50,100."
        )
    notes += [f"source has no {s} split; its size was ignored" for s, n in sizes.items()
              if s not in source.splits and n]

    partial = partial_path(target)
    _remove_sqlite_files(partial)
    ws = Workspace.create(partial)
    try:
        writer = _Writer(ws)
        meta = ws.meta
        with ws.transaction():
            meta.set_in_transaction("import_state", "importing")
            meta.set_in_transaction("source", source.describe())
            if source.kind == "demo":
                # The demo generator prints "A Novel" as the subtitle and labels it so: its planted truth follows that.
                meta.set_in_transaction(TITLE_POLICY_KEY, TitlePolicy.AS_PRINTED_DESCRIPTORS.value)
            meta.set_in_transaction("sampling", {
                "seed": seed,
                "sizes": {s: sizes.get(s) for s in source.splits},
                "method": "datasets shuffle(seed).select(range(n)): numpy default_rng(seed).permutation",
            })
        ws.connection.execute("PRAGMA synchronous = OFF")  # the .partial file is thrown away on any failure
        total = sum(len(p.rows_sorted) for p in plan.values())
        done = 0
        for name, sample in plan.items():
            reader = source.splits[name]
            for kind, message in reader.source_notes:
                writer.issue(None, kind, message)
            report(progress, done, total, f"importing {name}")
            for row in reader.read(sample.rows_sorted):
                check_cancel(cancel)
                writer.add(name, sample.rank_of_row[row.row], row)
                done += 1
                if done % _COMMIT_EVERY == 0:
                    writer.flush()
                if done % _REPORT_EVERY == 0:
                    report(progress, done, total, f"importing {name}")
            writer.flush()
        check_cancel(cancel)
        with ws.transaction():
            meta.set_in_transaction("import_state", "complete")
        summary = ws.summary()
        ws.connection.execute("PRAGMA synchronous = FULL")
        ws.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        report(progress, total, total, "done")
    except BaseException:
        ws.close()
        _remove_sqlite_files(partial)
        raise
    ws.close()
    _replace(partial, target)
    return ImportResult(target, summary["images"], summary["qa_pairs"], summary["import_issues"], notes)


class _Writer:
    """Buffers rows and writes them in one transaction per batch."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._conn = ws.connection
        self._seen_ids: set[str] = set()
        self._pending: list[tuple[str, int, SourceRow]] = []
        self._issues: list[tuple[int | None, str, str]] = []

    def add(self, split: str, rank: int, row: SourceRow) -> None:
        self._pending.append((split, rank, row))

    def issue(self, image: int | None, kind: str, message: str) -> None:
        self._issues.append((image, kind, message))

    def flush(self) -> None:
        with self._ws.transaction():
            for split, rank, row in self._pending:
                self._write(split, rank, row)
            self._conn.executemany("INSERT INTO import_issues(image, kind, message) VALUES (?, ?, ?)", self._issues)
        self._pending.clear()
        self._issues.clear()

    def _write(self, split: str, rank: int, row: SourceRow) -> None:
        image_id = self._unique_id(row.image_id)
        info = inspect_image(row.image_bytes)
        cur = self._conn.execute(
            "INSERT INTO images(image_id, split, rank, source_ref, width, height, format, mode, sha256, n_bytes, "
            "valid, invalid_reason, title, author, genre, image_url, set_name) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (image_id, split, rank, row.source_ref, info.width, info.height, info.format, info.mode, info.sha256,
             info.n_bytes, int(info.valid), info.reason, _text_or_none(row.title), _text_or_none(row.author),
             _text_or_none(row.genre), _text_or_none(row.image_url), _text_or_none(row.set_name)),
        )
        pk = int(cur.lastrowid or 0)
        if row.image_bytes:
            self._conn.execute("INSERT INTO image_data(image, bytes) VALUES (?, ?)", (pk, row.image_bytes))
        if row.ocr_tokens is not None or row.ocr_info is not None:
            self._conn.execute(
                "INSERT INTO image_ocr(image, ocr_tokens, ocr_info) VALUES (?, ?, ?)",
                (pk, json.dumps(row.ocr_tokens, ensure_ascii=False), json.dumps(row.ocr_info, ensure_ascii=False)),
            )
        if image_id != row.image_id:
            self._issues.append((pk, "duplicate_image_id",
                                 f"image id {row.image_id!r} appears more than once; this copy ({row.source_ref}) "
                                 f"was kept as {image_id!r}"))
        if not info.valid:
            self._issues.append((pk, "invalid_image", f"{image_id}: {info.reason}"))
        self._issues.extend((pk, kind, message) for kind, message in row.notes)
        self._conn.executemany(
            "INSERT INTO qa(image, idx, split, question, qtype, original_answer, answer) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(pk, idx, split, q, question_type(q), a, a)
             for idx, (q, a) in enumerate(self._explode(pk, image_id, row))],
        )

    def _explode(self, pk: int, image_id: str, row: SourceRow) -> Iterable[tuple[str, str]]:
        questions = [_text(q) for q in row.questions]
        answers = [_text(a) for a in row.answers]
        if len(questions) != len(answers):
            extra = answers[len(questions):]
            self._issues.append((pk, "length_mismatch",
                                 f"{image_id}: {len(questions)} questions but {len(answers)} answers; questions "
                                 "without an answer were kept with an empty answer"
                                 + (f", answers without a question were dropped: {extra!r}" if extra else "")))
        for i, question in enumerate(questions):
            answer = answers[i] if i < len(answers) else ""
            if not question.strip():
                self._issues.append((pk, "empty_question",
                                     f"{image_id}: question {i + 1} is empty (its answer {answer!r} was dropped)"))
                continue
            yield question, answer

    def _unique_id(self, image_id: str) -> str:
        candidate, n = image_id, 1
        while candidate in self._seen_ids:
            n += 1
            candidate = f"{image_id}#{n}"
        self._seen_ids.add(candidate)
        return candidate


def _text(value: Any) -> str:
    # Text is kept exactly as the source has it (mojibake included): the checks flag it, import never "fixes".
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape").encode("utf-8", "replace").decode("utf-8")
    return value if isinstance(value, str) else str(value)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else _text(value)


def _remove_sqlite_files(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
              path.with_name(path.name + "-journal")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise WorkspaceError(f"Cannot remove {p}: {exc}.") from exc


def _replace(partial: Path, target: Path) -> None:
    if target.exists():
        # Fold the old file's WAL into it first: a stale -wal beside the new file would be replayed into it.
        try:
            conn = sqlite3.connect(target)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
        except sqlite3.DatabaseError:
            pass  # a damaged old workspace is being replaced on purpose (--force)
        for side in ("-wal", "-shm"):
            side_path = target.with_name(target.name + side)
            if side_path.exists():
                side_path.unlink()
    os.replace(partial, target)
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)

