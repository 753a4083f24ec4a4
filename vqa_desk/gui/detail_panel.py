"""One cover in detail: the image, its metadata, its QA pairs (answers editable) and its edit history."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vqa_desk.core.browse import CoverRow
from vqa_desk.gui.cover_view import CoverView
from vqa_desk.gui.qa_model import COL_ANSWER, COL_TYPE, QATableModel
from vqa_desk.gui.session import Session
from vqa_desk.gui.thumbnails import ThumbnailLoader


class DetailPanel(QWidget):
    edit_requested = Signal(list, str)  # [(qa id, old, new)], undo text
    bulk_requested = Signal()

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loader = loader
        self._session: Session | None = None
        self.pk: int | None = None
        loader.ready.connect(self._image_arrived)
        loader.failed.connect(self._image_failed)

        self.cover = CoverView()
        self.cover.setMinimumSize(220, 260)
        self._meta = {name: QLabel() for name in ("id", "split", "size", "mode", "source", "title", "author", "genre")}
        meta_box = QWidget()
        form = QFormLayout(meta_box)
        for name, label in self._meta.items():
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            form.addRow(f"{name.capitalize()}:", label)
        self.validity = QLabel()
        self.validity.setWordWrap(True)
        self.validity.setStyleSheet("color: #b71c1c;")
        form.addRow(self.validity)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.cover)
        top.addWidget(meta_box)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)

        self.qa_model = QATableModel()
        self.qa_model.edit_requested.connect(
            lambda qa, old, new: self.edit_requested.emit([(qa, old, new)], "Edit answer"))
        self.qa_table = QTableView()
        self.qa_table.setModel(self.qa_model)
        self.qa_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.qa_table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                      | QAbstractItemView.EditTrigger.EditKeyPressed
                                      | QAbstractItemView.EditTrigger.AnyKeyPressed)
        header = self.qa_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_TYPE, QHeaderView.ResizeMode.ResizeToContents)
        self.qa_table.verticalHeader().setVisible(False)
        self.revert_button = QPushButton("Revert to original")
        self.revert_button.clicked.connect(self.revert_current)
        self.bulk_button = QPushButton("Set answer for selected covers…")
        self.bulk_button.clicked.connect(self.bulk_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.revert_button)
        buttons.addStretch(1)
        buttons.addWidget(self.bulk_button)

        self.history = QTreeWidget()
        self.history.setHeaderLabels(["When (UTC)", "Old → new", "Question", "Source", "Reason"])
        self.history.setRootIsDecorated(False)
        self.history.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

        qa_box = QWidget()
        qa_layout = QVBoxLayout(qa_box)
        qa_layout.setContentsMargins(0, 0, 0, 0)
        qa_layout.addWidget(self.qa_table, 1)
        qa_layout.addLayout(buttons)
        history_box = QWidget()
        history_layout = QVBoxLayout(history_box)
        history_layout.setContentsMargins(0, 0, 0, 0)
        history_layout.addWidget(QLabel("Edit history"))
        history_layout.addWidget(self.history)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(qa_box)
        self.splitter.addWidget(history_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.show_cover(None, None)

    def set_session(self, session: Session | None) -> None:
        self._session = session
        self.show_cover(None, None)

    def show_cover(self, pk: int | None, row: CoverRow | None) -> None:
        self.pk = pk
        enabled = pk is not None and self._session is not None
        self.revert_button.setEnabled(enabled)
        if not enabled or row is None:
            for label in self._meta.values():
                label.setText("")
            self.validity.setText("")
            self.cover.show_message("No cover selected")
            self.qa_model.set_pairs([])
            self.history.clear()
            return
        meta = self._session.ws.image_meta(pk)
        self._meta["id"].setText(meta.image_id)
        self._meta["split"].setText(meta.split)
        self._meta["size"].setText(f"{meta.width} × {meta.height} px" if meta.width else "unknown")
        self._meta["mode"].setText(f"{meta.format or '?'} {meta.mode or ''}".strip())
        # Break the source reference at "#" so a long shard name wraps at a sensible place.
        self._meta["source"].setText(meta.source_ref.replace("#", "\u200b#"))
        self._meta["title"].setText(meta.title or "—")
        self._meta["author"].setText(meta.author or "—")
        self._meta["genre"].setText(meta.genre or "—")
        if row.valid:
            self.validity.setText("")
            image = self._loader.image(pk)
            if image is not None:
                self.cover.show_image(image)
            else:
                self.cover.show_message("Loading…")
        else:
            self.validity.setText(f"Invalid image: {row.invalid_reason}")
            self.cover.show_message(f"Invalid image\n\n{row.invalid_reason}")
        self.refresh_answers()

    def refresh_answers(self) -> None:
        if self._session is None or self.pk is None:
            return
        current = self.qa_table.currentIndex()
        self.qa_model.set_pairs(self._session.ws.qa_for_image(self.pk))
        if current.isValid():
            self.qa_table.setCurrentIndex(self.qa_model.index(current.row(), current.column()))
        questions = {qa.id: qa.question for qa in self.qa_model.pairs}
        self.history.clear()
        for edit in reversed(self._session.ws.edits_for_image(self.pk)):
            item = QTreeWidgetItem([edit.created_at.replace("T", " ").rstrip("Z"), f"{edit.old!r} → {edit.new!r}",
                                    questions.get(edit.qa_id, "?"), edit.source, edit.reason])
            self.history.addTopLevelItem(item)

    def edit_current_answer(self) -> None:
        """Enter: start editing the answer of the current (or first) QA pair."""
        if self.qa_model.rowCount() == 0:
            return
        row = max(0, self.qa_table.currentIndex().row())
        idx = self.qa_model.index(row, COL_ANSWER)
        self.qa_table.setFocus()
        self.qa_table.setCurrentIndex(idx)
        self.qa_table.edit(idx)

    def revert_current(self) -> None:
        rows = sorted({i.row() for i in self.qa_table.selectionModel().selectedIndexes()}) or (
            [self.qa_table.currentIndex().row()] if self.qa_table.currentIndex().isValid() else [])
        changes = [(qa.id, qa.answer, qa.original_answer) for qa in (self.qa_model.pairs[r] for r in rows)
                   if qa.edited]
        if changes:
            self.edit_requested.emit(changes, "Revert to original")

    def _image_arrived(self, pk: int) -> None:
        if pk == self.pk:
            image: QImage | None = self._loader.image(pk)
            if image is not None:
                self.cover.show_image(image)

    def _image_failed(self, pk: int, reason: str) -> None:
        if pk == self.pk:
            self.cover.show_message(f"Cannot show this image\n\n{reason}")
            self.validity.setText(f"Cannot show this image: {reason}")

