"""The cover grid's item model: an adapter over ``core.browse.CoverIndex`` showing the filtered rows."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from vqa_desk.core.browse import CoverFilter, CoverIndex, CoverRow
from vqa_desk.gui.thumbnails import ThumbnailLoader

ROLE_PK = Qt.ItemDataRole.UserRole + 1
ROLE_ROW = Qt.ItemDataRole.UserRole + 2  # the CoverRow
ROLE_THUMBNAIL = Qt.ItemDataRole.UserRole + 3  # QImage or None (requested, not there yet)
ROLE_EDITED = Qt.ItemDataRole.UserRole + 4
ROLE_FINDINGS = Qt.ItemDataRole.UserRole + 5  # number of open findings (the checks panel fills them)
ROLE_ERROR = Qt.ItemDataRole.UserRole + 6  # why there is no picture, if there is none

_Index = QModelIndex | QPersistentModelIndex


class CoverListModel(QAbstractListModel):
    def __init__(self, index: CoverIndex, loader: ThumbnailLoader) -> None:
        super().__init__()
        self._index = index
        self._loader = loader
        self._visible: list[int] = list(range(len(index.rows)))
        self._visible_row_of_pk: dict[int, int] | None = None
        self.findings: dict[int, int] = {}
        self.current_filter = CoverFilter()
        loader.ready.connect(self._thumbnail_arrived)
        loader.failed.connect(lambda pk, _: self._thumbnail_arrived(pk))

    # ----- Qt model interface ------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._visible)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._visible):
            return None
        row = self._index.rows[self._visible[index.row()]]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.label
        if role == ROLE_THUMBNAIL:
            return self._loader.image(row.pk) if row.valid else None
        if role == ROLE_ERROR:
            return row.invalid_reason if not row.valid else self._loader.error(row.pk)
        if role == ROLE_PK:
            return row.pk
        if role == ROLE_ROW:
            return row
        if role == ROLE_EDITED:
            return row.pk in self._index.edited
        if role == ROLE_FINDINGS:
            return self.findings.get(row.pk, 0)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{row.image_id} ({row.split})", row.title or "(no title)", row.author or "(no author)"]
            if not row.valid:
                lines.append(f"Invalid image: {row.invalid_reason}")
            if row.pk in self._index.edited:
                lines.append("Has edited answers")
            return "\n".join(lines)
        return None

    # ----- filtering and updates ---------------------------------------------------------------------
    def set_filter(self, f: CoverFilter) -> None:
        self.beginResetModel()
        self.current_filter = f
        self._visible = self._index.filter(f)
        self._visible_row_of_pk = None
        self.endResetModel()

    def refilter(self) -> None:
        self.set_filter(self.current_filter)

    @property
    def total(self) -> int:
        return len(self._index.rows)

    def cover(self, row: int) -> CoverRow:
        return self._index.rows[self._visible[row]]

    def row_of_pk(self, pk: int) -> int | None:
        if self._visible_row_of_pk is None:
            # Built on first use after a filter change; cheap next to the reset itself.
            self._visible_row_of_pk = {self._index.rows[i].pk: r for r, i in enumerate(self._visible)}
        return self._visible_row_of_pk.get(pk)

    def set_findings(self, counts: dict[int, int]) -> None:
        """Open findings per cover, for the badges; repaints every row."""
        self.findings = counts
        if self._visible:
            self.dataChanged.emit(self.index(0), self.index(len(self._visible) - 1), [ROLE_FINDINGS])

    def retain_thumbnails(self, pks: set[int]) -> None:
        self._loader.retain(pks)

    def covers_changed(self, pks: list[int]) -> None:
        for pk in pks:
            self._emit_row(pk)

    def _thumbnail_arrived(self, pk: int) -> None:
        self._emit_row(pk)

    def _emit_row(self, pk: int) -> None:
        row = self.row_of_pk(pk)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)
