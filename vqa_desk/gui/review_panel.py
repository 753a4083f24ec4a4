"""The Review pane: every question with each model's answer and grade, filters, charts, overrides, label fixes.

Rows are QA pairs; each evaluation run adds a column with its answer coloured by rating. Keys 1-4 override
the rating of the selected model's answer; "Fix label" edits the answer through the same undoable, audited
path as the browser. The charts are computed from the rows the filters leave.

The whole evaluation is read on a worker (seconds at tens of thousands of predictions: the window stays live);
a rating key or a label fix re-reads only what it changed, on the GUI thread, in a fraction of that.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QPainter, QPixmap, QShowEvent
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
    QTableView,
    QVBoxLayout,
    QWidget,
)

from vqa_desk.core import grading
from vqa_desk.core.questions import QuestionType
from vqa_desk.core.workspace import Workspace
from vqa_desk.gui.cover_view import CoverView
from vqa_desk.gui.session import Session
from vqa_desk.gui.thumbnails import ThumbnailLoader
from vqa_desk.gui.workers import Worker, WorkerPool

RATING_COLORS = {"Very Similar": "#c8e6c9", "Mostly Similar": "#e6f4c2", "Somewhat Similar": "#ffe0b2",
                 "Incorrect": "#ffcdd2"}
_FIXED = 4  # thumbnail, question, type, label
_Index = QModelIndex | QPersistentModelIndex


@dataclass
class Evaluation:
    """Everything the pane shows, read in one go."""

    judge: str = grading.HEURISTIC
    graded: list[grading.GradedRow] = field(default_factory=list)
    flipset: grading.FlipSet | None = None
    suspects: set[int] = field(default_factory=set)


def read_evaluation(path: Path) -> Evaluation:
    """Runs on a worker, with its own connection (SQLite connections stay on their thread)."""
    with Workspace.open(path) as ws:
        ws.connection.execute("BEGIN")  # one snapshot: a commit elsewhere cannot land between the queries
        try:
            judge = grading.judges(ws)[-1]
            graded = grading.graded_rows(ws, judge=judge)
            if not graded:
                return Evaluation(judge)
            return Evaluation(judge, graded, grading.flips_for(graded),
                              {s.qa_id for s in grading.label_suspects(ws, graded)})
        finally:
            ws.connection.rollback()


class ReviewModel(QAbstractTableModel):
    """One row per QA pair that has predictions; one column per run after the fixed ones."""

    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self._loader = loader
        self.runs: list[str] = []
        self.rows: list[dict[str, Any]] = []  # qa_id, image_pk, question, qtype, truth, by_run {name: GradedRow}
        self._icons: dict[int, QPixmap] = {}
        self._all: list[dict[str, Any]] = []
        self._by_qa: dict[int, dict[str, Any]] = {}
        self._sort_by: tuple[int, Qt.SortOrder] | None = None
        loader.ready.connect(self._thumb)

    def load(self, graded: list[grading.GradedRow]) -> None:
        self.beginResetModel()
        if len(self._icons) > 2000 or not graded:
            self._icons.clear()  # cover ids restart in every workspace; the loader's own cache stays bounded
        by_qa: dict[int, dict[str, Any]] = {}
        runs: list[str] = []
        for g in graded:
            p = g.prediction
            if p.run_name not in runs:
                runs.append(p.run_name)
            row = by_qa.setdefault(p.qa_id, {"qa_id": p.qa_id, "image_pk": p.image_pk, "image_id": p.image_id,
                                             "question": p.question, "qtype": p.qtype, "truth": p.truth,
                                             "by_run": {}})
            row["by_run"][p.run_name] = g
        self.runs = runs
        self._by_qa = by_qa
        self._all = list(by_qa.values())
        self.rows = self._sorted(self._all)
        self.endResetModel()

    def replace_graded(self, g: grading.GradedRow) -> None:
        """Put a re-read prediction in place (after an override) without rebuilding the table."""
        row = self._by_qa.get(g.qa_id)
        if row is None or g.run_name not in row["by_run"]:
            return
        row["by_run"][g.run_name] = g
        row["truth"] = g.prediction.truth  # a label fixed in place
        for i, shown in enumerate(self.rows):
            if shown is row:
                self.dataChanged.emit(self.index(i, 0), self.index(i, self.columnCount() - 1))
                break

    def set_visible(self, keep: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = self._sorted(keep)
        self.endResetModel()

    # Sorting happens here, once per sort with a key per row (Python's sort), rather than in a proxy model that
    # would call back into Python twice per comparison: 20,000 rows took 1.8 s that way, on the GUI thread.
    # A re-rated row stays where it is until the next sort, so the row being rated never jumps away.
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_by = (column, order)
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        rows_before = [self.rows[i.row()] if 0 <= i.row() < len(self.rows) else None for i in before]
        self.rows = self._sorted(self.rows)
        where = {id(row): r for r, row in enumerate(self.rows)}
        for index, row in zip(before, rows_before, strict=True):
            if row is not None:
                self.changePersistentIndex(index, self.index(where[id(row)], index.column()))
        self.layoutChanged.emit()

    def _sorted(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self._sort_by is None:
            return list(rows)
        column, order = self._sort_by
        return sorted(rows, key=lambda row: self._sort_key(row, column),
                      reverse=order == Qt.SortOrder.DescendingOrder)

    def _sort_key(self, row: dict[str, Any], column: int) -> tuple[int, Any]:
        if column == 0:
            return (0, str(row["image_id"]))
        if column < _FIXED:
            return (0, str((None, row["question"], row["qtype"], row["truth"])[column]))
        g = row["by_run"].get(self.runs[column - _FIXED]) if column - _FIXED < len(self.runs) else None
        if g is None:
            return (2, 0)  # no answer from this model: after the graded ones (first when descending)
        return (0, grading.RATINGS.index(g.rating)) if g.rating in grading.RATINGS else (1, 0)

    @property
    def all_rows(self) -> list[dict[str, Any]]:
        return self._all

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else _FIXED + len(self.runs)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if section < _FIXED:
            return ("", "Question", "Type", "Label")[section]
        return _short(self.runs[section - _FIXED])

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        if col == 0:
            if role == Qt.ItemDataRole.DecorationRole:
                return self._icon(row["image_pk"])
            return None
        if col < _FIXED:
            value = (None, row["question"], row["qtype"].replace("_", "/"), row["truth"])[col]
            if role == Qt.ItemDataRole.DisplayRole:
                return value
            return None
        g = row["by_run"].get(self.runs[col - _FIXED])
        if g is None:
            return "" if role == Qt.ItemDataRole.DisplayRole else None
        rating = g.rating
        if role == Qt.ItemDataRole.DisplayRole:
            mark = " ✋" if g.override is not None else ""
            return f"{g.prediction.answer}{mark}"
        if role == Qt.ItemDataRole.BackgroundRole and rating in RATING_COLORS:
            return QBrush(QColor(RATING_COLORS[rating]))
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{rating or 'not graded'}" + (f" (judge: {g.judge_rating})" if g.override else ""),
                     f"strict {'✓' if g.strict else '✗'}  lenient {'✓' if g.lenient else '✗'}  "
                     f"normalized {'✓' if g.normalized else '✗'}"]
            if g.judge_reason:
                lines.append(g.judge_reason)
            if g.override is not None:
                lines.append(f"overridden by {g.override.who} at {g.override.created_at}")
            return "\n".join(lines)
        return None

    def _icon(self, pk: int) -> QPixmap | None:
        icon = self._icons.get(pk)
        if icon is None:
            image = self._loader.image(pk)
            if image is None:
                return None
            icon = self._icons[pk] = QPixmap.fromImage(image.scaled(
                30, 44, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
        return icon

    def _thumb(self, pk: int) -> None:
        for r, row in enumerate(self.rows):
            if row["image_pk"] == pk:
                idx = self.index(r, 0)
                self.dataChanged.emit(idx, idx)


class ReviewTable(QTableView):
    rating_key = Signal(int)  # 1-4

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4) and not event.modifiers():
            self.rating_key.emit(int(event.text()))
            return
        super().keyPressEvent(event)


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
            self.model_box.addItem(_short(name), name)
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
        _fill_type_chart(self.type_chart, stats)
        _fill_rating_chart(self.rating_chart, stats)
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
            parts.append(f"{_short(name)}: {g.prediction.answer} — <i>{g.rating or 'not graded'}</i>")
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


def _short(run_name: str) -> str:
    name = run_name.split(":", 1)[1] if ":" in run_name else run_name
    return name if len(name) <= 28 else name[:12] + "…" + name[-12:]


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some sandboxes: still record that a human did it
        return "curator"


def _fill_type_chart(chart: QChart, stats: dict[str, dict[str, Any]]) -> None:
    chart.removeAllSeries()
    for axis in chart.axes():
        chart.removeAxis(axis)
    types = sorted({t for s in stats.values() for t in s.get("by_type", {}) if t in ("Title", "Author", "Genre",
                                                                                     "Other")})
    series = QBarSeries()
    for name, s in stats.items():
        bar = QBarSet(_short(name))
        for t in types:
            bar.append(float(s["by_type"].get(t) or 0.0))
        series.append(bar)
    chart.addSeries(series)
    x, y = QBarCategoryAxis(), QValueAxis()
    x.append(types)
    y.setRange(0, 100)
    chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
    chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(x)
    series.attachAxis(y)


def _fill_rating_chart(chart: QChart, stats: dict[str, dict[str, Any]]) -> None:
    chart.removeAllSeries()
    for axis in chart.axes():
        chart.removeAxis(axis)
    series = QHorizontalStackedBarSeries()
    names = list(stats)
    for rating in grading.RATINGS:
        bar = QBarSet(rating)
        bar.setColor(QColor(RATING_COLORS[rating]).darker(115))
        for name in names:
            bar.append(float(stats[name].get("ratings", {}).get(rating, 0)))
        series.append(bar)
    chart.addSeries(series)
    y = QBarCategoryAxis()
    y.append([_short(n) for n in names])
    x = QValueAxis()
    chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
    chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(y)
    series.attachAxis(x)
