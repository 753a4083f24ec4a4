"""The curator's window, driven as a curator would: select, edit, undo, filter, search, keys."""

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QMessageBox
from pytestqt.qtbot import QtBot

from vqa_desk.core.browse import CoverFilter
from vqa_desk.core.workspace import Workspace
from vqa_desk.gui.qa_model import COL_ANSWER, EMPTY_BG


def _author_row(win) -> int:
    return next(i for i, qa in enumerate(win.detail.qa_model.pairs) if qa.qtype == "author")


def _edit(win, row: int, text: str) -> None:
    model = win.detail.qa_model
    assert model.setData(model.index(row, COL_ANSWER), text)


def test_selecting_a_cover_shows_its_details(window, qtbot: QtBot) -> None:
    win = window
    win.browser.select_row(5)
    cover = win.model.cover(5)
    assert win.detail.pk == cover.pk
    assert win.detail._meta["id"].text() == cover.image_id
    questions = [qa.question for qa in win.detail.qa_model.pairs]
    assert questions == [qa.question for qa in win.session.ws.qa_for_image(cover.pk)]
    # the full-size cover arrives from a worker
    qtbot.waitUntil(lambda: win.detail.cover._item is not None, timeout=5000)


def test_edit_undo_redo_are_all_audited_and_survive_reopening(window, demo_ws: Path) -> None:
    win = window
    win.browser.select_row(0)
    row = _author_row(win)
    qa = win.detail.qa_model.pairs[row]
    _edit(win, row, "Someone Else")
    assert win.session.ws.qa(qa.id).answer == "Someone Else"
    assert win.detail.qa_model.pairs[row].edited
    assert win.detail.history.topLevelItemCount() == 1
    win.undo_stack.undo()
    assert win.session.ws.qa(qa.id).answer == qa.original_answer
    win.undo_stack.redo()
    assert win.session.ws.qa(qa.id).answer == "Someone Else"
    edits = win.session.ws.edits_for_qa(qa.id)
    assert [(e.old, e.new, e.source) for e in edits] == [
        (qa.original_answer, "Someone Else", "user"),
        ("Someone Else", qa.original_answer, "user:undo"),
        (qa.original_answer, "Someone Else", "user:redo"),
    ]
    assert win.model.data(win.model.index(0), Qt.ItemDataRole.ToolTipRole).endswith("Has edited answers")
    win.close_workspace()
    with Workspace.open(demo_ws) as ws:  # autosaved: nothing to save, nothing lost
        assert ws.qa(qa.id).answer == "Someone Else"
        assert len(ws.edits_for_qa(qa.id)) == 3


def test_revert_to_original(window) -> None:
    win = window
    win.browser.select_row(2)
    row = _author_row(win)
    original = win.detail.qa_model.pairs[row].original_answer
    _edit(win, row, "X")
    win.detail.qa_table.selectRow(row)
    win.detail.revert_current()
    assert win.detail.qa_model.pairs[row].answer == original
    assert win.session.ws.edits_for_qa(win.detail.qa_model.pairs[row].id)[-1].reason == "Revert to original"


def test_bulk_answer_is_one_undo_step(window) -> None:
    win = window
    pks = [win.model.cover(r).pk for r in (0, 1, 2)]
    before = {pk: [qa.answer for qa in win.session.ws.qa_for_image(pk)] for pk in pks}
    changed = win.set_answer_for_covers(pks, "genre", "Romance")
    assert changed >= 1
    assert all(qa.answer == "Romance" for pk in pks for qa in win.session.ws.qa_for_image(pk) if qa.qtype == "genre")
    assert win.undo_stack.count() == 1
    win.undo_stack.undo()
    assert {pk: [qa.answer for qa in win.session.ws.qa_for_image(pk)] for pk in pks} == before


def test_multi_selection_feeds_the_bulk_action(window) -> None:
    win = window
    grid = win.browser.grid
    grid.selectionModel().clearSelection()
    for r in (3, 4, 7):
        grid.selectionModel().select(win.model.index(r), grid.selectionModel().SelectionFlag.Select)
    assert win.browser.selected_pks() == [win.model.cover(r).pk for r in (3, 4, 7)]


def test_filters_give_the_expected_counts(window, qtbot: QtBot) -> None:
    win = window
    b = win.browser
    index = win.session.index
    assert b.count_label.text() == "showing 440 of 440"
    b.split_box.setCurrentIndex(b.split_box.findData("test"))
    assert win.model.rowCount() == 120 and b.count_label.text() == "showing 120 of 440"
    b.split_box.setCurrentIndex(0)
    b.type_box.setCurrentIndex(b.type_box.findData("year"))
    n_year = len({qa.image_pk for pk in (r.pk for r in index.rows) for qa in win.session.ws.qa_for_image(pk)
                  if qa.qtype == "year"})
    assert win.model.rowCount() == n_year > 0
    b.type_box.setCurrentIndex(0)
    b.state_box.setCurrentIndex(b.state_box.findData("invalid"))
    assert win.model.rowCount() == 3
    b.state_box.setCurrentIndex(b.state_box.findData("edited"))
    assert win.model.rowCount() == 0
    b.state_box.setCurrentIndex(0)
    with qtbot.waitSignal(win.model.modelReset, timeout=2000):
        b.search.setText("diane miller")
    expected = index.filter(CoverFilter(text="diane miller"))
    assert 0 < win.model.rowCount() == len(expected) < 440
    assert all("diane miller" in index.search.text[win.model.cover(r).pk] for r in range(win.model.rowCount()))


def test_an_edit_shows_under_the_edited_filter(window) -> None:
    win = window
    win.browser.select_row(1)
    _edit(win, _author_row(win), "Changed")
    b = win.browser
    b.state_box.setCurrentIndex(b.state_box.findData("edited"))
    assert win.model.rowCount() == 1
    b.state_box.setCurrentIndex(b.state_box.findData("unedited"))
    assert win.model.rowCount() == 439


def test_thumbnails_arrive_and_are_cached(window, qtbot: QtBot) -> None:
    from vqa_desk.gui.cover_model import ROLE_THUMBNAIL

    win = window
    last = win.model.rowCount() - 1
    pk = win.model.cover(last).pk
    if win.model.data(win.model.index(last), ROLE_THUMBNAIL) is None:  # requests it
        with qtbot.waitSignal(win.grid_loader.ready, timeout=5000, check_params_cb=lambda p: p == pk):
            pass
    image = win.model.data(win.model.index(last), ROLE_THUMBNAIL)
    assert image is not None and max(image.width(), image.height()) <= 150


def test_invalid_images_show_their_reason(window) -> None:
    win = window
    b = win.browser
    b.state_box.setCurrentIndex(b.state_box.findData("invalid"))
    reasons = set()
    for r in range(win.model.rowCount()):
        b.select_row(r)
        assert win.detail.validity.text().startswith("Invalid image: ")
        reasons.add(win.detail.validity.text())
        from vqa_desk.gui.cover_model import ROLE_ERROR

        assert win.model.data(win.model.index(r), ROLE_ERROR)
    assert any("placeholder" in r for r in reasons) and any("damaged" in r for r in reasons)


def test_empty_answer_is_allowed_but_flagged(window) -> None:
    win = window
    win.browser.select_row(0)
    row = _author_row(win)
    _edit(win, row, "")
    model = win.detail.qa_model
    assert model.pairs[row].answer == ""
    assert model.data(model.index(row, COL_ANSWER), Qt.ItemDataRole.BackgroundRole).color() == EMPTY_BG
    assert "export will refuse it" in model.data(model.index(row, COL_ANSWER), Qt.ItemDataRole.ToolTipRole)


def test_keyboard(window, qtbot: QtBot) -> None:
    win = window
    grid = win.browser.grid
    grid.setFocus()
    win.browser.select_row(0)
    qtbot.keyClick(grid, Qt.Key.Key_J)
    assert grid.currentIndex().row() == 1
    qtbot.keyClick(grid, Qt.Key.Key_K)
    qtbot.keyClick(grid, Qt.Key.Key_K)  # stays on the first cover
    assert grid.currentIndex().row() == 0
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert grid.currentIndex().row() == 1
    qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert win.detail.qa_table.state() == QAbstractItemView.State.EditingState
    editor = win.detail.qa_table.focusWidget()
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert win.detail.qa_table.state() != QAbstractItemView.State.EditingState
    win.focus_search()
    assert win.browser.search.hasFocus()


def test_opening_bad_files_shows_a_message_and_keeps_the_window(window, tmp_path: Path) -> None:
    win = window
    junk = tmp_path / "junk.vqadesk"
    junk.write_bytes(b"not sqlite at all" * 200)
    assert not win.try_open(junk)
    box = win._errors[-1]
    assert isinstance(box, QMessageBox) and "not a VQA Desk workspace" in box.text()
    assert not box.isModal()
    assert win.session is not None and win.model.rowCount() == 440  # the open workspace is still there


def test_a_workspace_locked_by_another_instance(qtbot: QtBot, demo_ws: Path) -> None:
    from vqa_desk.gui.main_window import MainWindow

    holder = Workspace.open(demo_ws, exclusive=True)
    try:
        win = MainWindow()
        qtbot.addWidget(win)
        assert not win.try_open(demo_ws)
        assert "open in another VQA Desk window" in win._errors[-1].text()
        win.close()
    finally:
        holder.close()


def test_window_geometry_is_restored_unless_the_layout_version_changed(
        qtbot: QtBot, demo_ws: Path, monkeypatch) -> None:
    from vqa_desk.gui import main_window
    from vqa_desk.gui.main_window import MainWindow

    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    # Heights well inside the offscreen screen (800x600): Qt clamps restored geometry to the screen.
    first.resize(first.width(), 540)
    assert first.height() == 540
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.height() == 540
    second.close()
    monkeypatch.setattr(main_window, "LAYOUT_VERSION", main_window.LAYOUT_VERSION + 1)
    third = MainWindow()
    qtbot.addWidget(third)
    assert third.height() != 540  # an old layout is not forced onto new panels
    third.close()


def test_help_lists_the_shortcuts(window) -> None:
    from vqa_desk.gui.dialogs import SHORTCUTS, ShortcutsDialog

    dialog = ShortcutsDialog(window)
    keys = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert keys == [k for k, _ in SHORTCUTS]
    assert any("J / K" in k for k in keys) and any("Ctrl+F" in k for k in keys)


def test_opening_a_workspace_remembers_it(window, demo_ws: Path) -> None:
    from vqa_desk.core.settings import load_settings

    settings = load_settings()
    assert settings.last_workspace == str(demo_ws.resolve())
    assert settings.recent_workspaces[0] == str(demo_ws.resolve())


def test_new_workspace_imports_in_a_worker_and_opens_it(window, qtbot: QtBot, tmp_path: Path) -> None:
    win = window
    target = tmp_path / "fresh.vqadesk"
    worker = win.create_workspace("demo", target, "20,10,all", 7)
    assert worker is not None
    # Wait for the outcome, not the worker's signal: a fast worker may finish before a waiter connects.
    qtbot.waitUntil(lambda: win.session is not None and win.session.path == target, timeout=30_000)
    assert win.model.total == 20 + 10 + 120
    assert win.windowTitle() == "fresh.vqadesk — VQA Desk"


def test_new_workspace_errors_are_shown_not_raised(window, qtbot: QtBot, tmp_path: Path) -> None:
    win = window
    assert win.create_workspace("demo", tmp_path / "x.vqadesk", "1,2", 42) is None
    assert "--sizes needs three" in win._errors[-1].text()
    assert win.create_workspace("demo", tmp_path / "x.vqadesk", "999,1,1", 42) is not None
    qtbot.waitUntil(lambda: "has 240 covers but 999" in win._errors[-1].text(), timeout=30_000)
    assert win.session.path.name == "demo.vqadesk"  # the open workspace stays open


def test_new_workspace_dialog_builds_the_right_request(qtbot: QtBot, tmp_path: Path) -> None:
    from vqa_desk.gui.dialogs import NewWorkspaceDialog

    dialog = NewWorkspaceDialog(tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.spec() == "demo" and dialog.sizes_text() == "all,all,all"
    dialog.kind.setCurrentIndex(dialog.kind.findData("hf"))
    dialog.location.setText("howard-hou/OCR-VQA")
    assert dialog.spec() == "hf:howard-hou/OCR-VQA" and dialog.sizes_text() == "150,50,100"
    dialog.sizes[1].setText("")
    assert dialog.sizes_text() == "150,0,100"


def test_undo_never_overwrites_a_later_change_by_another_writer(window) -> None:
    from vqa_desk.core.workspace import Workspace

    win = window
    win.browser.select_row(0)
    row = _author_row(win)
    qa_id = win.detail.qa_model.pairs[row].id
    _edit(win, row, "Mine")
    with Workspace.open(win.session.path) as other:  # e.g. `vqa-desk check --apply` in a terminal
        other.set_answer(qa_id, "Theirs", source="check:formatting")
    win.undo_stack.undo()
    assert win.session.ws.qa(qa_id).answer == "Theirs"
    assert "changed since this edit" in win._errors[-1].text()
