"""The Review pane: rows per question with each model's graded answer, keys 1-4, label fixes, filtered charts."""

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from vqa_desk.core import evaluation, grading
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.sampling import parse_sizes
from vqa_desk.core.workspace import Workspace


@pytest.fixture
def reviewed(tmp_path: Path) -> Path:
    path = tmp_path / "r.vqadesk"
    import_dataset("demo", path, sizes=parse_sizes("0,0,6"))
    with Workspace.open(path) as ws:
        qa = list(ws.connection.execute("SELECT id, answer, qtype FROM qa ORDER BY id"))
        base = evaluation.get_or_create_run(ws, provider="sbx", model="sandbox-ocr")
        tuned = evaluation.get_or_create_run(ws, provider="sbx", model="ft:sandbox-ocr:sandbox:x:1")
        # base gets every genre wrong; the fine-tuned model gets everything right
        evaluation.add_predictions(ws, base.id, [(i, "Romance" if t == "genre" else a, None) for i, a, t in qa])
        evaluation.add_predictions(ws, tuned.id, [(i, a, None) for i, a, _ in qa])
    return path


@pytest.fixture
def win(qtbot: QtBot, reviewed: Path):
    from vqa_desk.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.open_workspace(reviewed)
    w.nav.setCurrentRow(w.pages.indexOf(w.review))
    qtbot.waitUntil(lambda: not w.review.loading, timeout=20_000)  # read on a worker
    yield w
    w.close()


def test_rows_columns_and_colours(win) -> None:
    review = win.review
    with Workspace.open(win.session.path) as ws:
        n_qa = ws.connection.execute("SELECT count(*) FROM qa").fetchone()[0]
    assert review.model.rowCount() == n_qa
    assert review.model.columnCount() == 4 + 2
    assert review.count.text() == f"showing {n_qa} of {n_qa} questions"
    genre_row = next(r for r, row in enumerate(review.model.rows) if row["qtype"] == "genre")
    base_cell = review.model.index(genre_row, 4)
    assert review.model.data(base_cell, Qt.ItemDataRole.DisplayRole) == "Romance" or \
        review.model.rows[genre_row]["truth"] == "Romance"
    assert review.model.data(review.model.index(genre_row, 5), Qt.ItemDataRole.BackgroundRole) is not None


def test_keys_override_the_selected_models_rating(win, qtbot: QtBot) -> None:
    review = win.review
    review.table.setFocus()
    review.table.selectRow(0)
    qa_id = review.current_qa()
    run = review.model_box.currentData()
    qtbot.keyClick(review.table, Qt.Key.Key_4)
    row = next(r for r in review.model.all_rows if r["qa_id"] == qa_id)
    g = row["by_run"][run]
    assert g.rating == "Incorrect" and g.override is not None and g.override.who
    assert grading.override_history(win.session.ws, g.id)[-1].rating == "Incorrect"
    assert review.current_qa() == qa_id  # the selection survives the reload


def test_an_override_under_a_rating_filter_takes_the_answer_out_of_view(win, qtbot: QtBot) -> None:
    review = win.review
    review.rating_box.setCurrentIndex(review.rating_box.findData("Very Similar"))
    shown = review.model.rowCount()
    charts_before = review.chart_stats
    review.table.setFocus()
    review.table.selectRow(0)
    qa_id = review.current_qa()
    qtbot.keyClick(review.table, Qt.Key.Key_4)  # Incorrect: no longer Very Similar
    assert review.model.rowCount() == shown - 1
    assert qa_id not in {r["qa_id"] for r in review.model.rows}
    assert review.chart_stats != charts_before
    review.rating_box.setCurrentIndex(0)  # without a filter the row stays, re-rated in place
    review.select_qa(qa_id)
    qtbot.keyClick(review.table, Qt.Key.Key_1)
    assert review.current_qa() == qa_id
    row = next(r for r in review.model.rows if r["qa_id"] == qa_id)
    assert row["by_run"][review.model_box.currentData()].rating == "Very Similar"


def test_fix_label_goes_through_the_undo_stack_and_history(win) -> None:
    review = win.review
    row = next(r for r in review.model.rows if r["qtype"] == "title")
    review.select_qa(row["qa_id"])
    review.fix_requested.emit(row["qa_id"], row["truth"], "A Better Title")
    assert win.session.ws.qa(row["qa_id"]).answer == "A Better Title"
    edits = win.session.ws.edits_for_qa(row["qa_id"])
    assert edits[-1].reason == "Fix label in review" and edits[-1].source == "user"
    fixed = next(r for r in review.model.all_rows if r["qa_id"] == row["qa_id"])
    assert fixed["truth"] == "A Better Title"  # the pane re-graded against the new label
    win.undo_stack.undo()
    assert win.session.ws.qa(row["qa_id"]).answer == row["truth"]
    restored = next(r for r in review.model.all_rows if r["qa_id"] == row["qa_id"])
    assert restored["truth"] == row["truth"]
    assert all(g.prediction.truth == row["truth"] for g in restored["by_run"].values())  # re-graded again


def test_a_label_fixed_to_what_the_models_say_is_no_longer_a_suspect(win) -> None:
    from vqa_desk.core import grading

    review = win.review
    ws = win.session.ws
    genre = next(r for r in review.model.all_rows if r["qtype"] == "genre")
    # Both models answer the same genre; make the label disagree, as a wrong label would.
    answers = {g.prediction.answer for g in genre["by_run"].values()}
    win.push_answers([(genre["qa_id"], genre["truth"], "Travel")], "test: a wrong label")
    row = next(r for r in review.model.all_rows if r["qa_id"] == genre["qa_id"])
    assert row["truth"] == "Travel" and all(not g.strict for g in row["by_run"].values())
    expected = {s.qa_id for s in grading.label_suspects(ws, grading.graded_rows(ws, judge=review.judge))}
    assert review.suspects == expected  # kept in step with a full recomputation
    win.undo_stack.undo()
    row = next(r for r in review.model.all_rows if r["qa_id"] == genre["qa_id"])
    assert row["truth"] == genre["truth"] and answers
    assert review.suspects == {s.qa_id for s in grading.label_suspects(ws, grading.graded_rows(ws,
                                                                                              judge=review.judge))}


def test_charts_follow_the_filters(win) -> None:
    review = win.review
    everything = review.chart_stats
    base = next(name for name in everything if "ft:" not in name)
    assert everything[base]["by_type"]["Genre"] == 0.0
    review.type_box.setCurrentIndex(review.type_box.findData("genre"))
    genre_only = review.chart_stats
    assert set(genre_only[base]["by_type"]) == {"Genre"} or genre_only[base]["by_type"].get("Title") is None
    assert review.model.rowCount() < len(review.model.all_rows)
    assert review.type_chart.series() and review.rating_chart.series()
    review.type_box.setCurrentIndex(0)
    review.flips_box.setChecked(True)
    assert all(row["qtype"] == "genre" for row in review.model.rows)  # base wrong, tuned right: genres only


def _slow_reads(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, list[threading.Thread]]:
    """Make the pane's reads take until the returned gate opens, as a large evaluation would, with the data
    read at their start (so a change made meanwhile is not in them); the list gets the thread of each read."""
    from vqa_desk.gui import review_panel

    gate, threads = threading.Event(), []
    real = review_panel.read_evaluation

    def slow_read(path: Path) -> review_panel.Evaluation:
        threads.append(threading.current_thread())
        result = real(path)
        gate.wait(10)
        return result

    monkeypatch.setattr(review_panel, "read_evaluation", slow_read)
    return gate, threads


def test_the_evaluation_is_read_off_the_gui_thread_and_a_rating_given_meanwhile_shows_at_once(
        win, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    review = win.review
    review.table.selectRow(0)
    qa_id, run = review.current_qa(), review.model_box.currentData()
    gate, threads = _slow_reads(monkeypatch)
    with qtbot.waitSignal(review.loaded, timeout=20_000):
        review.reload()
        assert review.loading and review.count.text() == "reading the evaluation…"
        qtbot.keyClick(review.table, Qt.Key.Key_4)  # the window answers: stored and shown at once
        row = next(r for r in review.model.all_rows if r["qa_id"] == qa_id)
        assert row["by_run"][run].rating == "Incorrect"
        gate.set()
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    # The read may have started before the rating was stored: the rating was re-read for itself on landing.
    row = next(r for r in review.model.all_rows if r["qa_id"] == qa_id)
    assert row["by_run"][run].rating == "Incorrect" and not review.loading


def test_a_label_fixed_while_a_workspace_opens_reaches_the_pane(qtbot: QtBot, reviewed: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from vqa_desk.gui.main_window import MainWindow

    gate, _ = _slow_reads(monkeypatch)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.nav.setCurrentRow(w.pages.indexOf(w.review))  # the pane is on screen: it reads as the workspace opens
    w.open_workspace(reviewed)
    assert w.review.loading and not w.review.model.all_rows
    qa = next(q for q in w.session.ws.qa_for_image(1) if q.qtype == "title")
    w.push_answers([(qa.id, qa.answer, "A Fixed Title")], "test: fixed while the pane reads")
    with qtbot.waitSignal(w.review.loaded, timeout=20_000):
        gate.set()
    row = next(r for r in w.review.model.all_rows if r["qa_id"] == qa.id)
    assert row["truth"] == "A Fixed Title"
    assert all(g.prediction.truth == "A Fixed Title" for g in row["by_run"].values())
    w.close()


def test_a_read_that_fails_says_why_and_keeps_what_is_shown(win, qtbot: QtBot,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from vqa_desk.core.errors import VQADeskError
    from vqa_desk.gui import review_panel

    gate = threading.Event()

    def broken(path: Path) -> review_panel.Evaluation:
        gate.wait(10)
        raise VQADeskError("the workspace is locked by another program")

    monkeypatch.setattr(review_panel, "read_evaluation", broken)
    review = win.review
    rows = len(review.model.all_rows)
    review.table.selectRow(0)
    qa_id, run = review.current_qa(), review.model_box.currentData()
    review.reload()
    qtbot.keyClick(review.table, Qt.Key.Key_4)  # given while the doomed read runs
    gate.set()
    qtbot.waitUntil(lambda: not review.loading, timeout=10_000)
    assert review.count.text() == "could not read the evaluation: the workspace is locked by another program"
    assert len(review.model.all_rows) == rows  # what was shown stays, with the rating given meanwhile
    assert next(r for r in review.model.all_rows if r["qa_id"] == qa_id)["by_run"][run].rating == "Incorrect"


def test_columns_sort_by_rating_and_text_and_the_selection_follows_its_row(win, qtbot: QtBot) -> None:
    review = win.review
    base_col = 4 + review.model.runs.index(next(r for r in review.model.runs if "ft:" not in r))
    order = list(grading.RATINGS)

    def ratings() -> list[int]:
        return [order.index(row["by_run"][review.model.runs[base_col - 4]].rating) for row in review.model.rows]

    review.table.sortByColumn(base_col, Qt.SortOrder.AscendingOrder)
    assert ratings() == sorted(ratings()) and ratings()[0] < ratings()[-1]  # Very Similar first, Incorrect last
    review.table.selectRow(len(review.model.rows) - 1)
    chosen = review.current_qa()
    review.table.sortByColumn(base_col, Qt.SortOrder.DescendingOrder)
    assert ratings() == sorted(ratings(), reverse=True)
    assert review.current_qa() == chosen  # the same question stays selected, now near the top
    review.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    questions = [row["question"] for row in review.model.rows]
    assert questions == sorted(questions)
    qtbot.keyClick(review.table, Qt.Key.Key_4)  # re-rated in place: the row being rated does not move
    assert review.current_qa() == chosen and [row["question"] for row in review.model.rows] == questions


def test_the_pane_reads_when_first_shown_and_again_after_another_program_wrote(
        qtbot: QtBot, reviewed: Path) -> None:
    from vqa_desk.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.open_workspace(reviewed)  # the Browse page is showing
    assert not w.review.loading and not w.review.model.all_rows  # nothing read for a pane nobody looks at
    w.nav.setCurrentRow(w.pages.indexOf(w.review))
    qtbot.waitUntil(lambda: bool(w.review.model.all_rows) and not w.review.loading, timeout=20_000)
    assert len(w.review.model.runs) == 2
    w.nav.setCurrentRow(0)
    with Workspace.open(reviewed) as other:  # e.g. `vqa-desk evaluate` from a terminal, meanwhile
        run = evaluation.get_or_create_run(other, provider="sbx", model="third-model")
        evaluation.add_predictions(other, run.id, [(i, "x", None) for (i,) in other.connection.execute(
            "SELECT id FROM qa")])
    w.nav.setCurrentRow(w.pages.indexOf(w.review))
    qtbot.waitUntil(lambda: len(w.review.model.runs) == 3 and not w.review.loading, timeout=20_000)
    reads = []
    w.review.loaded.connect(lambda: reads.append(1))
    w.nav.setCurrentRow(0)
    w.nav.setCurrentRow(w.pages.indexOf(w.review))  # nothing new: no read
    qtbot.wait(200)
    assert not reads and not w.review.loading
    w.close()
