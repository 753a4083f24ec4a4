"""Paints one grid cell: the cover (or a placeholder saying why there is none), its label, and badges."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from vqa_desk.gui.cover_model import ROLE_EDITED, ROLE_ERROR, ROLE_FINDINGS, ROLE_THUMBNAIL

THUMB_SIDE = 150  # longest side of a grid thumbnail, in pixels
CELL = QSize(124, 200)
_TEXT_H = 34
EDITED_COLOR = QColor("#e08a00")
FINDINGS_COLOR = QColor("#c62828")
INVALID_COLOR = QColor("#757575")


class CoverDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        rect = option.rect.adjusted(3, 3, -3, -3)
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(option.rect, palette.color(QPalette.ColorRole.Highlight))
        image_box = QRect(rect.left(), rect.top(), rect.width(), rect.height() - _TEXT_H)
        image: QImage | None = index.data(ROLE_THUMBNAIL)
        error: str | None = index.data(ROLE_ERROR)
        if image is not None and not image.isNull():
            scaled = image.size().scaled(image_box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(image_box.center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, image)
        else:
            _placeholder(painter, image_box, error)
        text_rect = QRect(rect.left(), image_box.bottom() + 2, rect.width(), _TEXT_H - 2)
        painter.setPen(palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        font = QFont(option.font)
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        painter.setFont(font)
        label = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        line_h = painter.fontMetrics().height()
        for i, line in enumerate(_two_lines(label, painter.fontMetrics(), text_rect.width() - 4)):
            painter.drawText(QRect(text_rect.left(), text_rect.top() + i * line_h, text_rect.width(), line_h),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, line)
        badges = []
        if index.data(ROLE_EDITED):
            badges.append((EDITED_COLOR, "✎"))
        findings = index.data(ROLE_FINDINGS) or 0
        if findings:
            badges.append((FINDINGS_COLOR, str(findings)))
        if error:
            badges.append((INVALID_COLOR, "!"))
        x = image_box.right() - 18
        for color, text in badges:
            _badge(painter, QRect(x, image_box.top() + 2, 18, 18), color, text)
            x -= 20
        painter.restore()


def _two_lines(text: str, metrics: QFontMetrics, width: int) -> list[str]:
    """Fill the first line with whole words, elide whatever does not fit on the second."""
    words = text.split()
    first = ""
    while words and metrics.horizontalAdvance(f"{first} {words[0]}".strip()) <= width:
        first = f"{first} {words.pop(0)}".strip()
    if not first:  # one very long word
        return [metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)]
    rest = " ".join(words)
    return [first, metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width)] if rest else [first]


def _placeholder(painter: QPainter, box: QRect, error: str | None) -> None:
    painter.fillRect(box, QColor("#eeeeee") if error is None else QColor("#f3e5e5"))
    painter.setPen(QPen(QColor("#bdbdbd"), 1, Qt.PenStyle.DashLine))
    painter.drawRect(box.adjusted(0, 0, -1, -1))
    painter.setPen(QColor("#616161"))
    text = "loading…" if error is None else f"Invalid image\n{error}"
    painter.drawText(box.adjusted(6, 6, -6, -6), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)


def _badge(painter: QPainter, rect: QRect, color: QColor, text: str) -> None:
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(rect)
    painter.setPen(QColor("white"))
    font = painter.font()
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
