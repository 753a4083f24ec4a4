"""The main window's menu bar, its actions and shortcuts, and the keys that step through covers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QMessageBox

from vqa_desk import __version__
from vqa_desk.gui.dialogs import ShortcutsDialog

if TYPE_CHECKING:
    from vqa_desk.gui.main_window import MainWindow


class WindowMenus:
    """Part of MainWindow (a mixin, so that the actions' slots stay the window's own methods)."""

    def _build_menus(self: MainWindow) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&New workspace from source…", self.ask_new, QKeySequence.StandardKey.New)
        self._action(file_menu, "&Open…", self.ask_open, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit_menu = self.menuBar().addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence.StandardKey.Redo])
        edit_menu.addAction(undo)
        edit_menu.addAction(redo)
        edit_menu.addSeparator()
        self._action(edit_menu, "Set answer for selected covers…", self.bulk_set_answer, QKeySequence("Ctrl+B"))
        self._action(edit_menu, "Revert answer to original", self.detail.revert_current, QKeySequence("Ctrl+R"))
        self._action(edit_menu, "Find…", self.focus_search, QKeySequence.StandardKey.Find)

        view_menu = self.menuBar().addMenu("&View")
        for i in range(self.nav.count()):
            self._action(view_menu, self.nav.item(i).text(), lambda i=i: self.nav.setCurrentRow(i))
        view_menu.addSeparator()
        self._action(view_menu, "Zoom in", lambda: self.detail.cover.zoom_by(1.25))
        self._action(view_menu, "Zoom out", lambda: self.detail.cover.zoom_by(0.8))
        self._action(view_menu, "Actual size (1:1)", self.detail.cover.actual_size)
        self._action(view_menu, "Fit cover to view", self.detail.cover.fit)

        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", lambda: ShortcutsDialog(self).open())
        self._action(help_menu, "&About VQA Desk", lambda: QMessageBox.about(
            self, "VQA Desk", f"VQA Desk {__version__}\nCurate, export, fine-tune and review VQA data."))

    def _action(self: MainWindow, menu: object, text: str, slot: object, shortcut: object = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)  # type: ignore[arg-type]
        action.triggered.connect(slot)  # type: ignore[arg-type]
        menu.addAction(action)  # type: ignore[attr-defined]
        return action

    def _build_shortcuts(self: MainWindow) -> None:
        # J / K only when typing is not going on: the shortcut context stays with the grid and cover view.
        for key, delta in (("J", 1), ("K", -1)):
            for widget in (self.browser.grid, self.detail.cover, self.detail.qa_table):
                sc = QShortcut(QKeySequence(key), widget, context=Qt.ShortcutContext.WidgetShortcut)
                sc.activated.connect(lambda d=delta: self.browser.step(d))
        for key in ("Return", "Enter"):
            sc = QShortcut(QKeySequence(key), self.browser.grid, context=Qt.ShortcutContext.WidgetShortcut)
            sc.activated.connect(self.detail.edit_current_answer)

    def focus_search(self: MainWindow) -> None:
        self.nav.setCurrentRow(0)
        self.browser.search.setFocus()
        self.browser.search.selectAll()
