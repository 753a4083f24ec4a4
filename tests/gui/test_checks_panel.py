import shutil
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from vqa_desk.core import findings as store
from vqa_desk.gui.checks_panel import ROLE_FINDING
from vqa_desk.gui.cover_model import ROLE_FINDINGS


@pytest.fixture
def checked(qtbot: QtBot, ocr_demo_template: Path, tmp_path: Path):
    from vqa_desk.gui.main_window import MainWindow

    path = tmp_path / "demo.vqadesk"
    shutil.copy(ocr_demo_template, path)
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.open_workspace(path)
    worker = win.run_checks(True, "as_printed")  # the covers were read already: OCR is a cache hit
    assert worker is not None
    qtbot.waitUntil(lambda: win._check_worker is None and win.checks.model.rowCount() == 5, timeout=60_000)
    yield win
    win.close()
    assert win.pool.active_count == 0


def _kind_row(win, kind: str):
    model = win.checks.model
    return next(model.item(r) for r in range(model.rowCount()) if model.item(r).text().startswith(kind))


def _select(win, *items) -> None:
    sel = win.checks.tree.selectionModel()
    sel.clearSelection()
    for item in items:
        sel.select(item.index(), sel.SelectionFlag.Select | sel.SelectionFlag.Rows)


def _find(win, kind: str, text: str):
    group = _kind_row(win, kind)
    return next(group.child(r) for r in range(group.rowCount()) if text in group.child(r).text())


def test_findings_are_grouped_by_kind_with_counts(checked) -> None:
    win = checked
    labels = [win.checks.model.item(r).text() for r in range(win.checks.model.rowCount())]
    assert [label.split(" ")[0] for label in labels] == [
        "author_variant", "title_vs_cover", "answer_vs_metadata", "formatting", "genre"]
    assert all(int(label.split("(")[1].rstrip(")")) > 0 for label in labels)
    assert "cover evidence on" in win.checks.summary.text()


def test_apply_from_preview_is_audited_and_undoable(checked, qtbot: QtBot) -> None:
    win = checked
    item = _find(win, "author_variant", "Marcia S. Brown")
    _select(win, item)
    preview = win.checks.preview
    assert preview.rowCount() == 1
    assert (preview.item(0, 2).text(), preview.item(0, 3).text()) == ("Marcia Brown", "Marcia S. Brown")
    assert "the cover reads" in win.checks.evidence.text()
    fid = item.data(ROLE_FINDING)
    qa_id = store.load(win.session.ws, ids=[fid])[0].changes[0].qa_id
    image_pk = win.session.ws.qa(qa_id).image_pk
    # selecting a finding selects its cover in the browser too
    assert win.browser.current_pk() == image_pk
    win.checks.apply_button.click()
    assert win.session.ws.qa(qa_id).answer == "Marcia S. Brown"
    assert win.session.ws.edits_for_qa(qa_id)[-1].source == "check:author_variant"
    assert store.load(win.session.ws, ids=[fid])[0].status == "applied"
    # the cover's edit history in the browser shows it
    win.show_cover(image_pk, True)
    assert win.detail.history.topLevelItemCount() == 1
    win.undo_stack.undo()
    assert win.session.ws.qa(qa_id).answer == "Marcia Brown"
    assert store.load(win.session.ws, ids=[fid])[0].status == "open"


def test_bulk_apply_of_confident_findings_is_one_step(checked) -> None:
    win = checked
    n = win.checks.select_confident_findings()
    ids = win.checks.selected_ids()
    assert n == len(ids) >= 30
    assert all(not f.possible and f.confidence >= 0.9 for f in store.load(win.session.ws, ids=ids))
    win.checks.apply_button.click()
    assert win.undo_stack.count() == 1
    assert all(f.status == "applied" for f in store.load(win.session.ws, ids=ids))
    win.undo_stack.undo()
    assert all(f.status == "open" for f in store.load(win.session.ws, ids=ids))


def test_dismiss_with_reason_and_reopen(checked, qtbot: QtBot) -> None:
    win = checked
    item = _find(win, "genre", "Cooking")
    fid = item.data(ROLE_FINDING)
    win.dismiss_findings([fid], "we keep 'Cooking' on purpose")
    f = store.load(win.session.ws, ids=[fid])[0]
    assert (f.status, f.reason) == ("dismissed", "we keep 'Cooking' on purpose")
    win.checks.status_filter.setCurrentIndex(win.checks.status_filter.findData("dismissed"))
    assert _kind_row(win, "genre").rowCount() == 1
    _select(win, _kind_row(win, "genre").child(0))
    assert "we keep" in win.checks.evidence.text() and win.checks.reopen_button.isEnabled()
    win.checks.reopen_button.click()
    assert store.load(win.session.ws, ids=[fid])[0].status == "open"


def test_browser_badges_count_open_findings(checked) -> None:
    win = checked
    counts = store.counts_by_image(win.session.ws)
    pk, n = next(iter(counts.items()))
    row = win.model.row_of_pk(pk)
    assert win.model.data(win.model.index(row), ROLE_FINDINGS) == n
    clean = next(r for r in range(win.model.rowCount()) if win.model.cover(r).pk not in counts)
    assert win.model.data(win.model.index(clean), ROLE_FINDINGS) == 0


def test_thousands_of_findings_stay_rows_in_one_model(qtbot: QtBot, demo_ws: Path) -> None:
    from vqa_desk.core.checks import CheckRun, Finding, TitlePolicy
    from vqa_desk.core.workspace import Workspace
    from vqa_desk.gui.main_window import MainWindow

    with Workspace.open(demo_ws) as ws:
        qa = list(ws.connection.execute("SELECT id, image FROM qa LIMIT 2000"))
        many = [Finding(f"formatting:{qa_id}", "formatting", "spaces", 0.95, f"finding {i}", ["e"], [], [pk])
                for i, (qa_id, pk) in enumerate(qa)]
        store.store_run(ws, CheckRun(many, False, 0, TitlePolicy.AS_PRINTED))
    win = MainWindow()
    qtbot.addWidget(win)
    win.open_workspace(demo_ws)
    group = _kind_row(win, "formatting")
    assert group.rowCount() == 2000
    assert win.checks.tree.viewport().findChildren(type(win.checks.tree)) == []  # rows, not widgets
    _select(win, group)
    assert len(win.checks.selected_ids()) == 2000
    win.close()
