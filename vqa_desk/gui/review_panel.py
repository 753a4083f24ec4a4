"""The Review pane: every question with each model's answer and grade, filters, charts, overrides, label fixes.

Rows are QA pairs; each evaluation run adds a column with its answer coloured by rating. Keys 1-4 override
the rating of the selected model's answer; "Fix label" edits the answer through the same undoable, audited
path as the browser. The charts are computed from the rows the filters leave.

The whole evaluation is read on a worker (seconds at tens of thousands of predictions: the window stays live);
a rating key or a label fix re-reads only what it changed, on the GUI thread, in a fraction of that.

The table model and its sort are in review_table, the read in review_evaluation, the charts in review_charts.
"""

from __future__ import annotations

import getpass
from typing import Any

from PySide6.QtCharts import QChart, QChartView
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPainter, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from vqa_desk.core import grading
from vqa_desk.core.questions import QuestionType
from vqa_desk.gui.cover_view import CoverView
from vqa_desk.gui.review_charts import fill_rating_chart, fill_type_chart
from vqa_desk.gui.review_evaluation import Evaluation, read_evaluation
from vqa_desk.gui.review_table import ReviewModel, ReviewTable, short_run_name
from vqa_desk.gui.session import Session
from vqa_desk.gui.thumbnails import ThumbnailLoader
from vqa_desk.gui.workers import Worker, WorkerPool


class ReviewPanel(QWidget):
    fix_requested = Signal(int, str, str)  # qa id, old, new: the label fix goes through the undo stack
    loaded = Signal()  # a full read has reached the table

    def __init__(self, grid_loader: ThumbnailLoader, cover_loader: ThumbnailLoader, pool: WorkerPool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session: Session | None = None
        self._pool = pool
        self.loading = False
        self._generation = 0  # each reload's; a result from an older one is dropped
        # Ratings and labels changed while a read runs: shown at once on the rows there are, and re-read for
        # just these when the read lands (it may have missed them), rather than reading everything again.
        self._pending_predictions: set[int] = set()
        self._pending_covers: set[int] = set()
        self._read_version: int | None = None  # the workspace's PRAGMA data_version when last read
        self._cover_loader = cover_loader
        self._shown_pk: int | None = None
        cover_loader.ready.connect(self._cover_arrived)
        self.judge = grading.HEURISTIC
        self.flipset: grading.FlipSet | None = None
        self.suspects: set[int] = set()

        self.model = ReviewModel(grid_loader)
        self.table = ReviewTable()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(44)
        self.table.setIconSize(QSize(28, 40))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 40)
        self.table.setColumnWidth(1, 220)
        self.table.rating_key.connect(self.override_selected)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)

        self.type_box = QComboBox()
        self.type_box.addItem("All types", "")
        for t in QuestionType:
            self.type_box.addItem(t.value.replace("_", "/"), t.value)
        self.rating_box = QComboBox()
        self.rating_box.addItem("Any rating", "")
        for r in grading.RATINGS:
            self.rating_box.addItem(r, r)
        self.model_box = QComboBox()
        self.model_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # runs arrive later
        self.flips_box = QCheckBox("Flips")
        self.suspects_box = QCheckBox("Label suspects")
        self.count = QLabel()
        for w in (self.type_box, self.rating_box, self.model_box):
            w.currentIndexChanged.connect(self.apply_filters)
        for w in (self.flips_box, self.suspects_box):
            w.toggled.connect(self.apply_filters)
        self.fix_button = QPushButton("Fix label…")
        self.fix_button.clicked.connect(self._fix_clicked)
        bar = QHBoxLayout()
        for w in (self.type_box, self.rating_box, QLabel("Model:"), self.model_box, self.flips_box,
                  self.suspects_box, self.fix_button):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.count)

        self.cover = CoverView()
        self.cover.setMinimumWidth(220)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.type_chart = QChart()
        self.type_chart.setTitle("Accuracy by type (%)")
        self.rating_chart = QChart()
        self.rating_chart.setTitle("Ratings")
        charts = QHBoxLayout()
        for chart in (self.type_chart, self.rating_chart):
            view = QChartView(chart)
            view.setRenderHint(QPainter.RenderHint.Antialiasing)
            view.setMinimumHeight(220)
            charts.addWidget(view)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.cover, 2)
        side_layout.addWidget(self.detail, 1)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.table)
        top.addWidget(side)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        charts_box = QWidget()
        charts_box.setLayout(charts)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(top)
        body.addWidget(charts_box)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(body, 1)

    # ----- data ------------------------------------------------------------------------------------------
    def set_session(self, session: Session | None) -> None:
        self._session = session
        if session is not None and not self.isVisible():
            # Read when the pane is first shown: a curator who only browses never pays for the evaluation.
            self._generation += 1  # whatever is in flight belongs to the previous workspace
            self.loading = False
            self._pending_predictions.clear()
            self._pending_covers.clear()
            self._show(Evaluation())
            self._read_version = None
            return
        self.reload()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Unread, or written by another connection since the last read (the command line grading into the same
        # workspace, say); the app's own edits through this connection are applied in place and change nothing.
        if self._session is not None and not self.loading and self._read_version != self._data_version():
            self.reload()

    def _data_version(self) -> int | None:
        if self._session is None:
            return None
        return int(self._session.ws.connection.execute("PRAGMA data_version").fetchone()[0])

    def reload(self) -> None:
        """Re-read predictions and grades on a worker (after opening a workspace, grading, an import)."""
        self._generation += 1
        if self._session is None:
            self.loading = False
            self._pending_predictions.clear()
            self._pending_covers.clear()
            self._show(Evaluation())
            return
        generation = self._generation
        self._read_version = self._data_version()
        self.loading = True
        self.count.setText("reading the evaluation…")
        worker = Worker(read_evaluation, self._session.path)
        worker.signals.finished.connect(lambda result, g=generation: self._loaded(g, result))
        worker.signals.failed.connect(lambda message, _user, g=generation: self._load_failed(g, message))
        self._pool.start(worker)

    def _loaded(self, generation: int, result: Evaluation) -> None:
        if generation != self._generation:
            return
        self.loading = False
        self._show(result)
        covers, self._pending_covers = self._pending_covers, set()
        predictions, self._pending_predictions = self._pending_predictions, set()
        if covers:
            self.refresh_covers(sorted(covers))
        if predictions:
            self.refresh_predictions(sorted(predictions))
        self.loaded.emit()

    def _load_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self.loading = False  # what is shown stays, with the changes made meanwhile already applied to it
        self._pending_predictions.clear()
        self._pending_covers.clear()
        last = message.strip().splitlines()[-1] if message.strip() else "unknown error"
        self.count.setText("could not read the evaluation: " + last)
        self.count.setToolTip(message)

    def _show(self, result: Evaluation) -> None:
        self.judge = result.judge
        current = self.current_qa()
        self.model.load(result.graded)
        self.flipset = result.flipset
        self.suspects = result.suspects
        selected = self.model_box.currentData()
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for name in self.model.runs:
            self.model_box.addItem(short_run_name(name), name)
        if selected in self.model.runs:
            self.model_box.setCurrentIndex(self.model.runs.index(selected))
        elif self.model.runs:
            self.model_box.setCurrentIndex(len(self.model.runs) - 1)  # the newest run, usually the fine-tuned one
        self.model_box.blockSignals(False)
        self.apply_filters()
        if current is not None:
            self.select_qa(current)

    def apply_filters(self) -> None:
        qtype, rating = self.type_box.currentData(), self.rating_box.currentData()
        run = self.model_box.currentData()
        flip_ids = self.flipset.qa_ids if self.flipset else set()
        keep = []
        for row in self.model.all_rows:
            if qtype and row["qtype"] != qtype:
                continue
            if rating:
                g = row["by_run"].get(run)
                if g is None or g.rating != rating:
                    continue
            if self.flips_box.isChecked() and row["qa_id"] not in flip_ids:
                continue
            if self.suspects_box.isChecked() and row["qa_id"] not in self.suspects:
                continue
            keep.append(row)
        self.model.set_visible(keep)
        self.count.setText(f"showing {len(keep):,} of {len(self.model.all_rows):,} questions")
        self.count.setToolTip("")
        self._update_charts(keep)

    def _update_charts(self, rows: list[dict[str, Any]]) -> None:
        graded = [g for row in rows for g in row["by_run"].values()]
        stats = grading.metrics_for(graded) if graded else {}
        fill_type_chart(self.type_chart, stats)
        fill_rating_chart(self.rating_chart, stats)
        self.chart_stats = stats

    # ----- selection -----------------------------------------------------------------------------------------
    def current_row(self) -> dict[str, Any] | None:
        idx = self.table.currentIndex()
        if not idx.isValid():
            return None
        return self.model.rows[idx.row()] if idx.row() < len(self.model.rows) else None

    def current_qa(self) -> int | None:
        row = self.current_row()
        return None if row is None else int(row["qa_id"])

    def select_qa(self, qa_id: int) -> bool:
        for r, row in enumerate(self.model.rows):
            if row["qa_id"] == qa_id:
                self.table.setCurrentIndex(self.model.index(r, 1))
                return True
        return False

    def _row_changed(self, *_: object) -> None:
        row = self.current_row()
        if row is None or self._session is None:
            self.detail.setText("")
            return
        parts = [f"<b>{row['image_id']}</b> — {row['question']}", f"Label: <b>{row['truth']}</b>"]
        for name, g in row["by_run"].items():
            parts.append(f"{short_run_name(name)}: {g.prediction.answer} — <i>{g.rating or 'not graded'}</i>")
        if row["qa_id"] in self.suspects:
            parts.append("<span style='color:#b71c1c'>Label suspect: the models and the cover agree with each "
                         "other, not with the label.</span>")
        self.detail.setText("<br>".join(parts))
        self._shown_pk = row["image_pk"]
        image = self._cover_loader.image(self._shown_pk)
        if image is not None:
            self.cover.show_image(image)
        else:
            self.cover.show_message("Loading…")

    def _cover_arrived(self, pk: int) -> None:
        if pk == self._shown_pk:
            image = self._cover_loader.image(pk)
            if image is not None:
                self.cover.show_image(image)

    # ----- actions ---------------------------------------------------------------------------------------------
    def override_selected(self, key: int) -> None:
        """Keys 1-4: Very Similar .. Incorrect for the selected question's answer by the chosen model."""
        row, run = self.current_row(), self.model_box.currentData()
        if row is None or self._session is None or run not in row["by_run"]:
            return
        g = row["by_run"][run]
        grading.override(self._session.ws, g.id, grading.RATINGS[key - 1], who=_who())
        self.refresh_predictions([g.id])

    def refresh_covers(self, image_pks: list[int]) -> None:
        """After labels of these covers changed: re-grade their predictions against the new labels and re-check
        them as label suspects, without re-reading the whole evaluation."""
        if self.loading:
            self._pending_covers.update(image_pks)
        wanted = set(image_pks)
        rows = [r for r in self.model.all_rows if r["image_pk"] in wanted]
        if not rows or self._session is None:
            return
        qa_ids = {r["qa_id"] for r in rows}
        fresh = grading.graded_rows(self._session.ws, judge=self.judge,
                                    prediction_ids=[g.id for r in rows for g in r["by_run"].values()])
        self.suspects = (self.suspects - qa_ids) | {s.qa_id for s in grading.label_suspects(self._session.ws, fresh)}
        self.refresh_predictions([], fresh=fresh, refilter=self.suspects_box.isChecked())

    def refresh_predictions(self, ids: list[int], *, fresh: list[grading.GradedRow] | None = None,
                            refilter: bool = False) -> None:
        """Re-read just these predictions' grades (an override changes one rating, not the labels), then the
        flips and the charts: a curator rating answer after answer never waits for a full reload."""
        if self._session is None:
            return
        if self.loading:
            self._pending_predictions.update(ids)
        current = self.current_qa()
        for g in fresh if fresh is not None else grading.graded_rows(self._session.ws, judge=self.judge,
                                                                      prediction_ids=ids):
            self.model.replace_graded(g)
        graded = [g for row in self.model.all_rows for g in row["by_run"].values()]
        self.flipset = grading.flips_for(graded) if graded else None
        if refilter or self.rating_box.currentData() or self.flips_box.isChecked():
            self.apply_filters()  # the rating may move the row in or out of view
            if current is not None:
                self.select_qa(current)
        else:
            self._update_charts(self.model.rows)  # the same rows stay; the table was updated in place

    def _fix_clicked(self) -> None:
        row = self.current_row()
        if row is None:
            return
        run = self.model_box.currentData()
        suggestion = row["by_run"][run].prediction.answer if run in row["by_run"] else row["truth"]
        text, ok = QInputDialog.getText(self, "Fix label", f"{row['question']}\nLabel:", text=suggestion)
        if ok and text != row["truth"]:
            self.fix_requested.emit(int(row["qa_id"]), row["truth"], text)


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some sandboxes: still record that a human did it
        return "curator"
