"""The QA table of one cover: question, type, original answer, and the current answer (editable)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont

from vqa_desk.core.workspace import QAPair

COL_QUESTION, COL_TYPE, COL_ORIGINAL, COL_ANSWER = range(4)
_HEADERS = ["Question", "Type", "Original answer", "Answer"]
EDITED_BG = QColor("#fff1d6")
EMPTY_BG = QColor("#fde0e0")
_Index = QModelIndex | QPersistentModelIndex


class QATableModel(QAbstractTableModel):
    edit_requested = Signal(int, str, str)  # qa id, old, new

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[QAPair] = []

    def set_pairs(self, pairs: list[QAPair]) -> None:
        self.beginResetModel()
        self.pairs = pairs
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.pairs)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.column() == COL_ANSWER else base

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        qa = self.pairs[index.row()]
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return (qa.question, qa.qtype.replace("_", "/"), qa.original_answer, qa.answer)[col]
        if col != COL_ANSWER:
            return None
        if role == Qt.ItemDataRole.FontRole and qa.edited:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.BackgroundRole:
            if not qa.answer.strip():
                return QBrush(EMPTY_BG)
            if qa.edited:
                return QBrush(EDITED_BG)
        if role == Qt.ItemDataRole.ToolTipRole:
            if not qa.answer.strip():
                return "Empty answer: allowed while curating, but export will refuse it."
            if qa.edited:
                return f"Edited — original: {qa.original_answer!r}"
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or index.column() != COL_ANSWER:
            return False
        qa = self.pairs[index.row()]
        new = str(value)
        if new != qa.answer:
            self.edit_requested.emit(qa.id, qa.answer, new)
        return True
