"""The cover at full size: fit to view by default, zoom with the wheel or + / -, 0 for 1:1, F to fit."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsTextItem, QGraphicsView, QWidget

_STEP = 1.25


class CoverView(QGraphicsView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setBackgroundBrush(QColor("#2b2b2b"))
        self._item: QGraphicsPixmapItem | None = None
        self.fit_mode = True

    def show_image(self, image: QImage) -> None:
        self.scene().clear()
        self._item = self.scene().addPixmap(QPixmap.fromImage(image))  # on the GUI thread: QPixmap is allowed
        self.scene().setSceneRect(self._item.boundingRect())
        self.fit()

    def show_message(self, text: str) -> None:
        self.scene().clear()
        self._item = None
        label: QGraphicsTextItem = self.scene().addText(text)
        label.setDefaultTextColor(QColor("#eeeeee"))
        label.setTextWidth(max(120, self.viewport().width() - 24))
        self.scene().setSceneRect(label.boundingRect())
        self.resetTransform()
        self.centerOn(label)

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self.fit_mode = True
        if self._item is not None:
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)

    def actual_size(self) -> None:
        self.fit_mode = False
        self.resetTransform()

    def zoom_by(self, factor: float) -> None:
        if self._item is None:
            return
        self.fit_mode = False
        new = self.zoom * factor
        if 0.05 <= new <= 16:
            self.scale(factor, factor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(_STEP if delta > 0 else 1 / _STEP)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(1 / _STEP)
        elif key == Qt.Key.Key_0:
            self.actual_size()
        elif key == Qt.Key.Key_F:
            self.fit()
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()
