import sqlite3
from pathlib import Path

import pytest

from vqa_desk.core import workspace as wsmod
from vqa_desk.core.errors import WorkspaceError
from vqa_desk.core.workspace import SCHEMA_VERSION, AnswerChange, Workspace


def _tiny(path: Path) -> Workspace:
    ws = Workspace.create(path)
    with ws.transaction() as c:
        c.execute("INSERT INTO images(id, image_id, split, rank, source_ref, valid) "
                  "VALUES (1, 'A', 'train', 0, 'x#0', 1)")
        c.executemany(
            "INSERT INTO qa(image, idx, split, question, qtype, original_answer, answer) "
            "VALUES (1, ?, 'train', ?, ?, ?, ?)",
            [(0, "Who wrote this book?", "author", "Marcia Brown", "Marcia Brown"),
             (1, "Is this a kids book?", "yes_no", "Yes", "Yes")],
        )
        ws.meta.set_in_transaction("import_state", "complete")
    return ws


def test_new_workspace_uses_wal_foreign_keys_and_schema_version(tmp_path: Path) -> None:
    with _tiny(tmp_path / "w.vqadesk") as ws:
        c = ws.connection
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        with pytest.raises(sqlite3.IntegrityError):
            c.execute("INSERT INTO qa(image, idx, split, question, qtype, original_answer, answer) "
                      "VALUES (99, 0, 'train', 'q', 'other', 'a', 'a')")


def test_an_edit_changes_the_answer_and_appends_one_audit_row(tmp_path: Path) -> None:
    with _tiny(tmp_path / "w.vqadesk") as ws:
        edit = ws.set_answer(1, "Marcia S. Brown", reason="cover shows the initial", source="user")
        assert edit is not None and edit.old == "Marcia Brown" and edit.new == "Marcia S. Brown"
        assert ws.qa(1).answer == "Marcia S. Brown" and ws.qa(1).original_answer == "Marcia Brown"
        assert ws.qa(1).edited
        ws.revert_answer(1)
        history = ws.edits_for_qa(1)
        assert [(e.old, e.new) for e in history] == [
            ("Marcia Brown", "Marcia S. Brown"), ("Marcia S. Brown", "Marcia Brown")]
        assert history[1].reason == "revert to original"
        assert [e.qa_id for e in ws.edits_for_image(1)] == [1, 1]
        assert ws.set_answer(1, "Marcia Brown") is None  # no-op edits leave no audit row
        assert ws.summary()["edits"] == 2


def test_edit_log_is_append_only(tmp_path: Path) -> None:
    with _tiny(tmp_path / "w.vqadesk") as ws:
        ws.set_answer(1, "X")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), ws.transaction() as c:
            c.execute("UPDATE edits SET new = 'Y'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), ws.transaction() as c:
            c.execute("DELETE FROM edits")
        assert ws.edits_for_qa(1)[0].new == "X"


def test_a_batch_of_edits_is_one_transaction(tmp_path: Path) -> None:
    with _tiny(tmp_path / "w.vqadesk") as ws:
        with pytest.raises(WorkspaceError, match="No QA pair with id 42"):
            ws.set_answers([AnswerChange(1, "changed"), AnswerChange(42, "nope")], reason="bulk", source="test")
        # the first change was rolled back with the failing one
        assert ws.qa(1).answer == "Marcia Brown"
        assert ws.summary()["edits"] == 0
        made = ws.set_answers([AnswerChange(1, "A"), AnswerChange(2, "No")], reason="bulk", source="check:x")
        assert len(made) == 2 and {e.source for e in made} == {"check:x"}


def test_committed_edits_survive_reopening_without_close(tmp_path: Path) -> None:
    path = tmp_path / "w.vqadesk"
    ws = _tiny(path)
    ws.set_answer(1, "Marcia S. Brown")
    # no close(): the WAL must hold the committed edit for the next reader
    with Workspace.open(path) as again:
        assert again.qa(1).answer == "Marcia S. Brown"
    ws.close()


def test_refuses_a_newer_schema_without_touching_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.vqadesk"
    _tiny(path).close()
    c = sqlite3.connect(path)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    c.close()
    before = path.read_bytes()
    with pytest.raises(WorkspaceError, match=r"newer VQA Desk .*Update VQA Desk"):
        Workspace.open(path)
    assert path.read_bytes() == before


def test_a_version_1_workspace_is_migrated_after_a_backup(tmp_path: Path) -> None:
    """A workspace written before findings existed opens with its data intact and the new tables added."""
    path = tmp_path / "w.vqadesk"
    c = sqlite3.connect(path)
    c.execute(f"PRAGMA application_id = {wsmod.APPLICATION_ID}")
    c.executescript(wsmod._SCHEMA_V1)
    c.execute("INSERT INTO meta(key, value) VALUES ('import_state', '\"complete\"')")
    c.execute("INSERT INTO images(id, image_id, split, rank, source_ref, valid) VALUES (1, 'A', 'train', 0, 'x', 1)")
    c.execute("INSERT INTO qa(image, idx, split, question, qtype, original_answer, answer) "
              "VALUES (1, 0, 'train', 'Who wrote this book?', 'author', 'X', 'Y')")
    c.execute("PRAGMA user_version = 1")
    c.commit()
    c.close()
    with Workspace.open(path) as ws:
        assert ws.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert ws.qa(1).answer == "Y" and ws.qa(1).original_answer == "X"
        tables = {r[0] for r in ws.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"findings", "finding_images", "ocr_lines"} <= tables
    backup = tmp_path / "w.vqadesk.schema1.bak"
    assert backup.exists()
    assert sqlite3.connect(backup).execute("PRAGMA user_version").fetchone()[0] == 1


def test_a_failing_migration_leaves_the_file_at_its_old_version(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.vqadesk"
    _tiny(path).close()
    c = sqlite3.connect(path)
    for table in ("finding_images", "findings", "ocr_lines", "finetune_events", "finetune_jobs", "grade_overrides",
                  "grades", "request_cache", "predictions", "eval_runs"):  # back to version 1
        c.execute(f"DROP TABLE {table}")
    c.execute("PRAGMA user_version = 1")
    c.close()

    def broken(conn: sqlite3.Connection) -> None:
        wsmod._to_v2(conn)  # the real step gets half-way...
        raise sqlite3.OperationalError("disk on fire")  # ...and then fails

    real = wsmod.MIGRATIONS[1]
    monkeypatch.setitem(wsmod.MIGRATIONS, 1, broken)
    with pytest.raises(WorkspaceError, match=r"could not be upgraded from schema 1 \(disk on fire\); it was left"):
        Workspace.open(path)
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 1
    assert check.execute("SELECT count(*) FROM sqlite_master WHERE name = 'findings'").fetchone()[0] == 0
    check.close()
    monkeypatch.setitem(wsmod.MIGRATIONS, 1, real)
    with Workspace.open(path) as ws:  # and the real migration still works afterwards
        assert ws.connection.execute("SELECT count(*) FROM findings").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "not a VQA Desk workspace"), (b"hello, this is not sqlite" * 100, "not a VQA Desk workspace or is damaged")],
)
def test_non_workspace_files_get_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "w.vqadesk"
    path.write_bytes(content)
    with pytest.raises(WorkspaceError, match=message):
        Workspace.open(path)


def test_a_truncated_workspace_is_reported_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "w.vqadesk"
    ws = _tiny(path)
    with ws.transaction() as c:
        c.executemany("INSERT INTO meta(key, value) VALUES (?, '\"x\"')", [(f"k{i}",) for i in range(3000)])
    ws.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ws.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(WorkspaceError, match="damaged"), Workspace.open(path) as broken:
        broken.summary()


def test_another_sqlite_file_is_not_a_workspace_and_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t(x)").connection.close()
    before = path.read_bytes()
    with pytest.raises(WorkspaceError, match="not a VQA Desk workspace"):
        Workspace.open(path)
    assert path.read_bytes() == before  # still in its own journal mode, no WAL switch
    assert not (tmp_path / "other.db-wal").exists()


def test_a_stray_file_is_not_rewritten(tmp_path: Path) -> None:
    for name, content in (("empty.vqadesk", b""), ("text.vqadesk", b"notes " * 1000)):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(WorkspaceError):
            Workspace.open(path)
        assert path.read_bytes() == content


def test_missing_file_and_folder_and_existing_target(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="vqa-desk new"):
        Workspace.open(tmp_path / "nope.vqadesk")
    with pytest.raises(WorkspaceError, match="is a folder"):
        Workspace.open(tmp_path)
    _tiny(tmp_path / "w.vqadesk").close()
    with pytest.raises(WorkspaceError, match="already exists"):
        Workspace.create(tmp_path / "w.vqadesk")


def test_an_incomplete_import_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.vqadesk"
    ws = _tiny(path)
    ws.meta.set("import_state", "importing")
    ws.close()
    with pytest.raises(WorkspaceError, match="incomplete"):
        Workspace.open(path)
    Workspace.open(path, allow_incomplete=True).close()


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(WorkspaceError, match="does not exist"):
        Workspace.create(blocker / "w.vqadesk")
    with pytest.raises(WorkspaceError, match="does not exist"):
        Workspace.create(tmp_path / "typo" / "w.vqadesk")
    assert not (tmp_path / "typo").exists()


def test_exclusive_open_refuses_a_second_holder_until_closed(tmp_path: Path) -> None:
    path = tmp_path / "w.vqadesk"
    _tiny(path).close()
    first = Workspace.open(path, exclusive=True)
    with pytest.raises(WorkspaceError, match="open in another VQA Desk window"):
        Workspace.open(path, exclusive=True)
    Workspace.open(path).close()  # readers (the CLI, worker threads) are not blocked
    first.close()
    Workspace.open(path, exclusive=True).close()


def test_a_workspace_locked_by_another_writer_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.vqadesk"
    _tiny(path).close()
    holder = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        monkeypatch.setattr(wsmod, "_connect", lambda p: _fast(p))
        with Workspace.open(path) as ws:
            with pytest.raises(WorkspaceError, match="busy: another VQA Desk process"):
                ws.set_answer(1, "new")
            assert ws.qa(1).answer == "Marcia Brown"
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _fast(path: Path) -> sqlite3.Connection:
    """A connection that gives up on a lock at once instead of after the usual 10 s."""
    conn = sqlite3.connect(path, timeout=0.1)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn
