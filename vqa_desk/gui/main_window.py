"""The main window: its panels, layout and saved geometry, the undo stack, and the wiring between the panels.

What the window does for each feature is in a part of its own, mixed into MainWindow: menus (menu bar, actions,
shortcuts), workspace_control (open, create, close, recent), checks_control, export_control, finetune_control.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QCloseEvent, QUndoStack
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from vqa_desk.core.paths import config_dir
from vqa_desk.gui.browser_panel import BrowserPanel
from vqa_desk.gui.checks_control import ChecksControl
from vqa_desk.gui.checks_panel import ChecksPanel
from vqa_desk.gui.commands import SetAnswersCommand
from vqa_desk.gui.cover_delegate import THUMB_SIDE
from vqa_desk.gui.cover_model import CoverListModel
from vqa_desk.gui.detail_panel import DetailPanel
from vqa_desk.gui.dialogs import BulkAnswerDialog
from vqa_desk.gui.export_control import ExportControl
from vqa_desk.gui.export_panel import ExportPanel
from vqa_desk.gui.finetune_control import FineTuneControl
from vqa_desk.gui.finetune_panel import FineTunePanel
from vqa_desk.gui.menus import WindowMenus
from vqa_desk.gui.review_panel import ReviewPanel
from vqa_desk.gui.sandbox_host import SandboxHost
from vqa_desk.gui.session import Session
from vqa_desk.gui.thumbnails import ThumbnailLoader
from vqa_desk.gui.workers import Worker, WorkerPool
from vqa_desk.gui.workspace_control import WorkspaceControl

LAYOUT_VERSION = 1  # bump when panels change so an old saved layout is not restored onto a new one
DETAIL_SIDE = 1600


def window_settings() -> QSettings:
    """Window geometry and state, in our config folder (tests point it at a temporary one)."""
    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)


class MainWindow(WindowMenus, WorkspaceControl, ChecksControl, ExportControl, FineTuneControl, QMainWindow):
    recent_menu: QMenu  # made by WindowMenus, filled by WorkspaceControl

    def __init__(self, *, persist: bool = True) -> None:
        """``persist=False`` (screenshots) leaves settings, recent files and locks alone."""
        super().__init__()
        self._persist = persist
        self.setWindowTitle("VQA Desk")
        self.session: Session | None = None
        self.pool = WorkerPool(max_threads=2, parent=self)
        self.grid_loader = ThumbnailLoader(self.pool, THUMB_SIDE, parent=self)
        self.detail_loader = ThumbnailLoader(self.pool, DETAIL_SIDE, cache_size=24, max_in_flight=1, parent=self)
        self.undo_stack = QUndoStack(self)
        self.model: CoverListModel | None = None
        self._search_worker: Worker | None = None
        self._errors: list[QMessageBox] = []

        self.browser = BrowserPanel()
        self.detail = DetailPanel(self.detail_loader)
        self.browse_page = QSplitter(Qt.Orientation.Horizontal)
        self.browse_page.addWidget(self.browser)
        self.browse_page.addWidget(self.detail)
        self.browse_page.setStretchFactor(0, 3)
        self.browse_page.setStretchFactor(1, 2)
        self.nav = QListWidget()
        self.nav.setFixedWidth(110)
        self.pages = QStackedWidget()
        self.add_panel("Browse", self.browse_page)
        self.checks = ChecksPanel(self.detail_loader)
        self.add_panel("Checks", self.checks)
        self._check_worker: Worker | None = None
        self.export_panel = ExportPanel(self.grid_loader, self.pool)
        self.add_panel("Export", self.export_panel)
        self._export_worker: Worker | None = None
        self.finetune_panel = FineTunePanel()
        self.add_panel("Fine-tune", self.finetune_panel)
        self.review = ReviewPanel(self.grid_loader, self.detail_loader, self.pool)
        self.add_panel("Review", self.review)
        self.sandbox = SandboxHost()
        self.poll_seconds = 3.0  # how often a followed job is asked for news
        self._job_workers: dict[int, Worker] = {}
        self._clients: dict[str, tuple[tuple[Any, ...], Any]] = {}  # provider -> (what it was made for, client)
        self._retired_clients: list[Any] = []
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.nav.setCurrentRow(0)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(4, 4, 4, 0)
        row.addWidget(self.nav)
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.browser.cover_selected.connect(self._cover_selected)
        self.detail.edit_requested.connect(self.push_answers)
        self.detail.bulk_requested.connect(self.bulk_set_answer)
        self.checks.run_requested.connect(self.run_checks)
        self.checks.cancel_requested.connect(lambda: self._check_worker.cancel() if self._check_worker else None)
        self.checks.apply_requested.connect(self.apply_findings)
        self.checks.dismiss_requested.connect(self.dismiss_findings)
        self.checks.reopen_requested.connect(lambda ids: self.session and self.session.set_dismissed(ids, None))
        self.checks.cover_requested.connect(self.show_cover)
        self.export_panel.export_requested.connect(self.run_export)
        self.finetune_panel.launch_requested.connect(self.launch_finetune)
        self.review.fix_requested.connect(
            lambda qa, old, new: self.push_answers([(qa, old, new)], "Fix label in review"))
        self.finetune_panel.cancel_requested.connect(self.cancel_finetune)
        self.finetune_panel.test_requested.connect(self.test_provider)
        self.finetune_panel.key_entered.connect(self._store_key)
        self.finetune_panel.device_check_requested.connect(self.check_local_device)
        self.finetune_panel.merge_requested.connect(self._ask_merge)
        self.finetune_panel.vllm_requested.connect(self.serve_with_vllm)
        self.finetune_panel.export_requested.connect(
            lambda folder: self.run_export(self.export_panel.options(), folder))
        self.export_panel.cancel_requested.connect(
            lambda: self._export_worker.cancel() if self._export_worker else None)
        self._build_menus()
        self._build_shortcuts()
        self.statusBar()
        self._restore_layout()

    # ----- panels --------------------------------------------------------------------------------------
    def add_panel(self, name: str, widget: QWidget) -> None:
        """Later features (checks, export, fine-tune, review) add their panels here; nothing shows before."""
        self.nav.addItem(name)
        self.pages.addWidget(widget)

    # ----- edits ---------------------------------------------------------------------------------------
    def push_answers(self, changes: list[tuple[int, str, str]], text: str) -> None:
        if self.session is None or not changes:
            return
        self.undo_stack.push(SetAnswersCommand(self.session, changes, text,
                                               on_error=lambda msg: self.show_error("Edit not saved", msg)))

    def bulk_set_answer(self) -> None:
        if self.session is None:
            return
        pks = self.browser.selected_pks()
        if not pks:
            self.show_error("Set answer", "Select one or more covers in the grid first (Ctrl+click, Shift+click).")
            return
        dialog = BulkAnswerDialog(len(pks), self)
        dialog.accepted.connect(lambda: self.set_answer_for_covers(pks, dialog.qtype.currentData(),
                                                                   dialog.answer.text()))
        dialog.open()

    def set_answer_for_covers(self, pks: list[int], qtype: str, answer: str) -> int:
        """One undo step that sets ``answer`` on every ``qtype`` question of the given covers."""
        assert self.session is not None
        ws = self.session.ws
        changes = [(qa.id, qa.answer, answer) for pk in pks for qa in ws.qa_for_image(pk)
                   if qa.qtype == qtype and qa.answer != answer]
        if changes:
            self.push_answers(changes, f"Set {qtype} answer on {len(pks)} covers")
        return len(changes)

    def _answers_changed(self, pks: list[int]) -> None:
        if self.model is not None:
            self.model.covers_changed(pks)
        self.review.refresh_covers(pks)  # labels changed: grades are against the current label
        if self.detail.pk in pks:
            self.detail.refresh_answers()

    def _cover_selected(self, pk: int) -> None:
        if pk < 0 or self.model is None:
            self.detail.show_cover(None, None)
            return
        row = self.model.row_of_pk(pk)
        self.detail.show_cover(pk, self.model.cover(row) if row is not None else None)

    # ----- errors and closing --------------------------------------------------------------------------
    def show_error(self, title: str, message: str) -> QMessageBox:
        """A non-blocking message: the window stays usable while it is shown."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.finished.connect(lambda _: self._errors.remove(box) if box in self._errors else None)
        self._errors.append(box)
        box.show()
        self.statusBar().showMessage(f"{title}: {message.splitlines()[0]}", 10_000)
        return box

    def _restore_layout(self) -> None:
        settings = window_settings()
        if settings.value("layout_version", 0, type=int) != LAYOUT_VERSION:
            self.resize(1280, 800)
            return
        geometry = settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = settings.value("state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        for key, splitter in (("browse_splitter", self.browse_page), ("detail_splitter", self.detail.splitter)):
            value = settings.value(key)
            if isinstance(value, QByteArray):
                splitter.restoreState(value)

    def save_layout(self) -> None:
        settings = window_settings()
        settings.setValue("layout_version", LAYOUT_VERSION)
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("state", self.saveState())
        settings.setValue("browse_splitter", self.browse_page.saveState())
        settings.setValue("detail_splitter", self.detail.splitter.saveState())
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._persist:
            self.save_layout()
        self.pool.shutdown()
        self.close_workspace()
        for client in [c for _, c in self._clients.values()] + self._retired_clients:
            client.close()
        self._clients.clear()
        self._retired_clients.clear()
        self.sandbox.stop()
        super().closeEvent(event)
