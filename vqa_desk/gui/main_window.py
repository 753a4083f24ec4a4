"""The main window. For now: the open workspace's summary; the cover browser arrives with the GUI issue."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vqa_desk import __version__
from vqa_desk.core.errors import VQADeskError
from vqa_desk.core.workspace import Workspace


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("VQA Desk")
        self.workspace: Workspace | None = None
        self._heading = QLabel("No workspace open")
        self._heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._heading.setWordWrap(True)
        self._splits = _table(["Split", "Covers", "QA pairs"])
        self._types = _table(["Question type", "QA pairs"])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self._heading)
        layout.addWidget(self._splits)
        layout.addWidget(self._types)
        self.setCentralWidget(central)
        self._build_menus()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._ask_open)
        file_menu.addAction(open_action)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About VQA Desk", self)
        about.triggered.connect(lambda: QMessageBox.about(self, "VQA Desk", f"VQA Desk {__version__}"))
        help_menu.addAction(about)

    def _ask_open(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open workspace", "", "VQA Desk workspace (*.vqadesk)")
        if name:
            try:
                self.open_workspace(Path(name))
            except VQADeskError as exc:
                QMessageBox.warning(self, "Cannot open workspace", str(exc))

    def open_workspace(self, path: Path) -> None:
        ws = Workspace.open(path)
        if self.workspace is not None:
            self.workspace.close()
        self.workspace = ws
        summary = ws.summary()
        self.setWindowTitle(f"{path.name} — VQA Desk")
        source = summary.get("source") or {}
        self._heading.setText(
            f"<b>{path.name}</b> — source {source.get('kind', '?')} ({source.get('location', '?')}); "
            f"{summary['invalid_images']} invalid images, {summary['edits']} edits"
        )
        rows = [(s, n, summary["qa_pairs"].get(s, 0)) for s, n in summary["images"].items()]
        _fill(self._splits, rows)
        _fill(self._types, list(summary["question_types"].items()))

    def closeEvent(self, event: object) -> None:
        if self.workspace is not None:
            self.workspace.close()
            self.workspace = None
        super().closeEvent(event)  # type: ignore[arg-type]


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    return table


def _fill(table: QTableWidget, rows: list[tuple[object, ...]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem(str(value))
            if isinstance(value, int):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)
