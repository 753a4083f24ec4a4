"""The Review pane's table: a model with a row per QA pair and a column per evaluation run, sorted by a key per
row, and the view that turns keys 1-4 into rating overrides."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QPixmap
from PySide6.QtWidgets import QTableView

from vqa_desk.core import grading
from vqa_desk.gui.thumbnails import ThumbnailLoader

RATING_COLORS = {"Very Similar": "#c8e6c9", "Mostly Similar": "#e6f4c2", "Somewhat Similar": "#ffe0b2",
                 "Incorrect": "#ffcdd2"}
_FIXED = 4  # thumbnail, question, type, label
_Index = QModelIndex | QPersistentModelIndex


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
        return short_run_name(self.runs[section - _FIXED])

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


def short_run_name(run_name: str) -> str:
    """The model part of a run's name, elided in the middle: headers, the model box and chart legends stay narrow."""
    name = run_name.split(":", 1)[1] if ":" in run_name else run_name
    return name if len(name) <= 28 else name[:12] + "…" + name[-12:]
