"""The cover browser: filter bar, thumbnail grid, and the "showing N of M" count."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, QSize, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

from vqa_desk.core.browse import CoverFilter
from vqa_desk.core.questions import QuestionType
from vqa_desk.core.workspace import SPLITS
from vqa_desk.gui.cover_delegate import CELL, CoverDelegate
from vqa_desk.gui.cover_model import ROLE_PK, CoverListModel

_STATES = [("All covers", None), ("Edited", "edited"), ("Unedited", "unedited"), ("Invalid images", "invalid")]
_SEARCH_DELAY_MS = 150
_INSET = QPoint(4, 4)  # probe inside the viewport's corners, not on its border


class BrowserPanel(QWidget):
    cover_selected = Signal(int)  # pk of the current cover (-1: none)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: CoverListModel | None = None
        self.split_box = QComboBox()
        self.split_box.addItem("All splits", None)
        for split in SPLITS:
            self.split_box.addItem(split, split)
        self.type_box = QComboBox()
        self.type_box.addItem("Any question type", None)
        for qtype in QuestionType:
            self.type_box.addItem(qtype.value.replace("_", "/"), qtype.value)
        self.state_box = QComboBox()
        for label, value in _STATES:
            self.state_box.addItem(label, value)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search titles, authors and answers (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.count_label = QLabel()
        for box in (self.split_box, self.type_box, self.state_box):
            box.currentIndexChanged.connect(self.apply_filter)
        self._search_timer = QTimer(self, singleShot=True, interval=_SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _: self._search_timer.start())
        self.search.returnPressed.connect(self.apply_filter)

        self.grid = QListView()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setUniformItemSizes(True)
        self.grid.setLayoutMode(QListView.LayoutMode.Batched)
        self.grid.setBatchSize(2000)
        self.grid.setGridSize(CELL + QSize(6, 6))
        self.grid.setSpacing(0)
        self.grid.setWordWrap(True)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.grid.setItemDelegate(CoverDelegate(self.grid))
        self.grid.verticalScrollBar().valueChanged.connect(self._viewport_moved)

        bar = QHBoxLayout()
        bar.addWidget(self.split_box)
        bar.addWidget(self.type_box)
        bar.addWidget(self.state_box)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.grid, 1)

    def set_model(self, model: CoverListModel | None) -> None:
        self.model = model
        self.grid.setModel(model)
        if model is not None:
            self.grid.selectionModel().currentChanged.connect(self._current_changed)
            model.modelReset.connect(self._update_count)
        self._update_count()

    def current_filter(self) -> CoverFilter:
        state = self.state_box.currentData()
        return CoverFilter(
            split=self.split_box.currentData(),
            qtype=self.type_box.currentData(),
            edited=True if state == "edited" else False if state == "unedited" else None,
            invalid_only=state == "invalid",
            text=self.search.text(),
        )

    def apply_filter(self) -> None:
        if self.model is None:
            return
        keep = self.current_pk()
        self.model.set_filter(self.current_filter())
        if keep is not None:
            self.select_pk(keep)
        if self.current_pk() is None:
            self.cover_selected.emit(-1)

    def clear_filters(self) -> None:
        for box in (self.split_box, self.type_box, self.state_box):
            box.blockSignals(True)
            box.setCurrentIndex(0)
            box.blockSignals(False)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.apply_filter()

    def current_pk(self) -> int | None:
        idx = self.grid.currentIndex()
        return idx.data(ROLE_PK) if idx.isValid() else None

    def selected_pks(self) -> list[int]:
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes()) if self.model else []
        return [self.model.cover(r).pk for r in rows] if self.model else []

    def select_pk(self, pk: int) -> bool:
        if self.model is None:
            return False
        row = self.model.row_of_pk(pk)
        if row is None:
            return False
        self.select_row(row)
        return True

    def select_row(self, row: int) -> None:
        if self.model is None or not 0 <= row < self.model.rowCount():
            return
        idx = self.model.index(row)
        self.grid.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(idx)

    def step(self, delta: int) -> None:
        """J / K: the next or previous cover in the current filter."""
        if self.model is None or self.model.rowCount() == 0:
            return
        current = self.grid.currentIndex()
        row = current.row() + delta if current.isValid() else 0
        self.select_row(max(0, min(self.model.rowCount() - 1, row)))

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.cover_selected.emit(current.data(ROLE_PK) if current.isValid() else -1)

    def _update_count(self) -> None:
        if self.model is None:
            self.count_label.setText("")
            return
        self.count_label.setText(f"showing {self.model.rowCount():,} of {self.model.total:,}")
        self._viewport_moved()

    def _viewport_moved(self, *_: object) -> None:
        """Tell the loader which covers are on screen so it can drop requests for the rest."""
        if self.model is None:
            return
        viewport = self.grid.viewport().rect()
        first = self.grid.indexAt(viewport.topLeft() + _INSET)
        last = self.grid.indexAt(viewport.bottomRight() - _INSET)
        if not first.isValid():
            return
        end = last.row() if last.isValid() else min(self.model.rowCount() - 1, first.row() + 200)
        wanted = {self.model.cover(r).pk for r in range(first.row(), end + 1)}
        self.model.retain_thumbnails(wanted)

