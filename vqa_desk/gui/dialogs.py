"""Dialogs: new workspace, bulk answer, keyboard shortcuts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vqa_desk.core.questions import QuestionType

# (keys, what they do): the one list both the Help dialog and the README draw from.
SHORTCUTS: list[tuple[str, str]] = [
    ("Arrows, PageUp, PageDown, Home, End", "move in the cover grid"),
    ("J / K", "next / previous cover"),
    ("Enter", "edit the answer of the current QA pair"),
    ("Esc", "leave the answer editor without saving"),
    ("Ctrl+F", "search titles, authors and answers"),
    ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo (both are recorded in the edit history)"),
    ("Ctrl+B", "set one answer for all selected covers"),
    ("Ctrl+R", "revert the selected answers to the original"),
    ("+ / - / 0 / F", "zoom the cover in / out / 1:1 / fit (when the cover has focus; also the mouse wheel)"),
    ("Ctrl+N / Ctrl+O", "new workspace / open workspace"),
]

_SOURCES = [
    ("Demo data (bundled)", "demo"),
    ("Folder of OCR-VQA parquet files", "parquet-dir"),
    ("One parquet file", "parquet-file"),
    ("save_to_disk folder", "disk"),
    ("OpenAI chat-format JSONL", "jsonl"),
    ("Hugging Face dataset id", "hf"),
]


class NewWorkspaceDialog(QDialog):
    def __init__(self, default_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New workspace")
        self.kind = QComboBox()
        for label, value in _SOURCES:
            self.kind.addItem(label, value)
        self.location = QLineEdit()
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse_source)
        row = QHBoxLayout()
        row.addWidget(self.location, 1)
        row.addWidget(self.browse)
        size_rule = QRegularExpressionValidator(QRegularExpression(r"^(all|\d{1,7})$"), self)
        self.sizes = [QLineEdit(v) for v in ("150", "50", "100")]
        for edit in self.sizes:
            edit.setValidator(size_rule)
            edit.setMaximumWidth(80)
        sizes_row = QHBoxLayout()
        for label, edit in zip(("train", "validation", "test"), self.sizes, strict=True):
            sizes_row.addWidget(QLabel(label))
            sizes_row.addWidget(edit)
        sizes_row.addStretch(1)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(42)
        self.target = QLineEdit(str(default_folder / "books.vqadesk"))
        target_browse = QPushButton("…")
        target_browse.clicked.connect(self._browse_target)
        target_row = QHBoxLayout()
        target_row.addWidget(self.target, 1)
        target_row.addWidget(target_browse)
        form = QFormLayout()
        form.addRow("Source:", self.kind)
        form.addRow("Location:", row)
        form.addRow("Covers per split:", sizes_row)
        form.addRow("Seed:", self.seed)
        form.addRow("Save as:", target_row)
        hint = QLabel("Sizes are numbers or 'all'; sampling follows datasets' shuffle(seed).select(range(n)).")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.location.setEnabled(kind != "demo")
        self.browse.setEnabled(kind not in ("demo", "hf"))
        self.location.setPlaceholderText("howard-hou/OCR-VQA" if kind == "hf" else "")
        whole = kind in ("demo", "jsonl")
        for edit, default in zip(self.sizes, ("150", "50", "100"), strict=True):
            edit.setText("all" if whole else default)

    def _browse_source(self) -> None:
        kind = self.kind.currentData()
        if kind in ("parquet-dir", "disk"):
            name = QFileDialog.getExistingDirectory(self, "Choose a folder")
        else:
            pattern = "Parquet (*.parquet)" if kind == "parquet-file" else "JSONL (*.jsonl)"
            name, _ = QFileDialog.getOpenFileName(self, "Choose a file", "", pattern)
        if name:
            self.location.setText(name)

    def _browse_target(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save workspace as", self.target.text(),
                                              "VQA Desk workspace (*.vqadesk)")
        if name:
            self.target.setText(name if name.endswith(".vqadesk") else name + ".vqadesk")

    def spec(self) -> str:
        kind = self.kind.currentData()
        if kind == "demo":
            return "demo"
        text = self.location.text().strip()
        return f"hf:{text}" if kind == "hf" else text

    def sizes_text(self) -> str:
        return ",".join(edit.text().strip() or "0" for edit in self.sizes)


class BulkAnswerDialog(QDialog):
    """Choose a question type and one answer to give every selected cover's question of that type."""

    def __init__(self, n_covers: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Set answer for selected covers")
        self.qtype = QComboBox()
        for qtype in QuestionType:
            self.qtype.addItem(qtype.value.replace("_", "/"), qtype.value)
        self.qtype.setCurrentIndex(list(QuestionType).index(QuestionType.GENRE))
        self.answer = QLineEdit()
        form = QFormLayout()
        form.addRow(QLabel(f"{n_covers} cover(s) selected. One undo step reverts all of them."))
        form.addRow("Question type:", self.qtype)
        form.addRow("New answer:", self.answer)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(SHORTCUTS), 2)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        for r, (keys, action) in enumerate(SHORTCUTS):
            table.setItem(r, 0, QTableWidgetItem(keys))
            table.setItem(r, 1, QTableWidgetItem(action))
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.table = table
        self.resize(620, 380)
