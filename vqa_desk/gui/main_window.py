"""The main window: menus, panel navigation, the undo stack, and the wiring between panels and core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from vqa_desk import __version__
from vqa_desk.core import findings as findings_store
from vqa_desk.core import finetune
from vqa_desk.core.browse import build_search_index
from vqa_desk.core.errors import VQADeskError
from vqa_desk.core.export import ExportOptions, export_workspace
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.paths import config_dir, data_dir
from vqa_desk.core.providers import (
    ProviderProfile,
    get_key,
    get_profile,
    make_client,
    set_key,
    test_connection,
)
from vqa_desk.core.sampling import parse_sizes
from vqa_desk.core.settings import load_settings, save_settings
from vqa_desk.core.workspace import Workspace
from vqa_desk.gui.browser_panel import BrowserPanel
from vqa_desk.gui.checks_panel import ChecksPanel
from vqa_desk.gui.commands import ApplyFindingsCommand, DismissFindingsCommand, SetAnswersCommand
from vqa_desk.gui.cover_delegate import THUMB_SIDE
from vqa_desk.gui.cover_model import CoverListModel
from vqa_desk.gui.detail_panel import DetailPanel
from vqa_desk.gui.dialogs import BulkAnswerDialog, NewWorkspaceDialog, ShortcutsDialog
from vqa_desk.gui.export_panel import ExportPanel
from vqa_desk.gui.finetune_panel import FineTunePanel
from vqa_desk.gui.review_panel import ReviewPanel
from vqa_desk.gui.sandbox_host import SandboxHost
from vqa_desk.gui.session import Session, settle_heap
from vqa_desk.gui.thumbnails import ThumbnailLoader
from vqa_desk.gui.workers import Worker, WorkerPool

LAYOUT_VERSION = 1  # bump when panels change so an old saved layout is not restored onto a new one
DETAIL_SIDE = 1600


def window_settings() -> QSettings:
    """Window geometry and state, in our config folder (tests point it at a temporary one)."""
    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
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

    # ----- menus and keys ------------------------------------------------------------------------------
    def _build_menus(self) -> None:
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

    def _action(self, menu: object, text: str, slot: object, shortcut: object = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)  # type: ignore[arg-type]
        action.triggered.connect(slot)  # type: ignore[arg-type]
        menu.addAction(action)  # type: ignore[attr-defined]
        return action

    def _build_shortcuts(self) -> None:
        # J / K only when typing is not going on: the shortcut context stays with the grid and cover view.
        for key, delta in (("J", 1), ("K", -1)):
            for widget in (self.browser.grid, self.detail.cover, self.detail.qa_table):
                sc = QShortcut(QKeySequence(key), widget, context=Qt.ShortcutContext.WidgetShortcut)
                sc.activated.connect(lambda d=delta: self.browser.step(d))
        for key in ("Return", "Enter"):
            sc = QShortcut(QKeySequence(key), self.browser.grid, context=Qt.ShortcutContext.WidgetShortcut)
            sc.activated.connect(self.detail.edit_current_answer)

    def focus_search(self) -> None:
        self.nav.setCurrentRow(0)
        self.browser.search.setFocus()
        self.browser.search.selectAll()

    # ----- workspaces ----------------------------------------------------------------------------------
    def open_workspace(self, path: Path) -> None:
        """Open ``path`` for editing; raises VQADeskError (nothing changes) if it cannot be opened."""
        if self.session is not None and Path(path).resolve() == self.session.path.resolve():
            self.nav.setCurrentRow(0)  # already open here: its own lock is not "another window"
            return
        ws = Workspace.open(path, exclusive=self._persist)
        self.close_workspace()
        self.session = Session(ws, parent=self)
        self.session.answers_changed.connect(self._answers_changed)
        self.session.findings_changed.connect(self._findings_changed)
        self.grid_loader.set_workspace(ws.path)
        self.detail_loader.set_workspace(ws.path)
        self.model = CoverListModel(self.session.index, self.grid_loader)
        self.browser.set_model(self.model)
        self.detail.set_session(self.session)
        self.checks.set_session(self.session)
        self.export_panel.set_session(self.session)
        self.finetune_panel.set_session(self.session)
        self.review.set_session(self.session)
        self.model.set_findings(findings_store.counts_by_image(ws))
        self.browser.apply_filter()
        self.setWindowTitle(f"{path.name} — VQA Desk")
        if self._persist:
            settings = load_settings()
            settings.remember(path)
            save_settings(settings)
        self._start_search_index()
        self._reattach_jobs()
        if self.model.rowCount():
            self.browser.select_row(0)

    def close_workspace(self) -> None:
        if self._search_worker is not None:
            self._search_worker.cancel()
            self._search_worker = None
        self.undo_stack.clear()  # commands refer to the session being closed
        if self._check_worker is not None:
            self._check_worker.cancel()
            self._check_worker = None
        self.browser.set_model(None)
        self.detail.set_session(None)
        self.checks.set_session(None)
        self.export_panel.set_session(None)
        self.finetune_panel.set_session(None)
        self.review.set_session(None)
        for worker in self._job_workers.values():
            worker.cancel()  # the jobs keep running at the provider; they are re-attached next time
        self._job_workers.clear()
        if self._export_worker is not None:
            self._export_worker.cancel()
            self._export_worker = None
        self.grid_loader.set_workspace(None)
        self.detail_loader.set_workspace(None)
        self.model = None
        if self.session is not None:
            self.session.close()
            self.session = None

    def _start_search_index(self) -> None:
        assert self.session is not None
        session = self.session
        worker = Worker(build_search_index, session.path, list(session.index.rows))
        worker.signals.finished.connect(lambda search, s=session: self._search_ready(s, search))
        worker.signals.failed.connect(lambda msg, user: self.show_error("Search index", msg))
        self._search_worker = worker
        self.pool.start(worker)

    def _search_ready(self, session: Session, search: object) -> None:
        if session is not self.session:
            return  # built for a workspace that has since been closed
        session.index.search = search  # type: ignore[assignment]
        settle_heap()
        self._search_worker = None
        f = self.browser.current_filter()
        if f.text or f.qtype:
            self.browser.apply_filter()
        self.statusBar().showMessage("Search index ready", 3000)

    def ask_open(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open workspace", str(data_dir()), "VQA Desk workspace (*.vqadesk)")
        if name:
            self.try_open(Path(name))

    def try_open(self, path: Path) -> bool:
        try:
            self.open_workspace(path)
        except VQADeskError as exc:
            self.show_error("Cannot open workspace", str(exc))
            return False
        return True

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = [Path(p) for p in load_settings().recent_workspaces]
        for path in recent:
            action = self.recent_menu.addAction(str(path))
            action.triggered.connect(lambda _=False, p=path: self.try_open(p))
            action.setEnabled(path.exists())
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def ask_new(self) -> None:
        dialog = NewWorkspaceDialog(data_dir(), self)
        dialog.accepted.connect(lambda: self.create_workspace(dialog.spec(), Path(dialog.target.text()),
                                                              dialog.sizes_text(), dialog.seed.value()))
        dialog.open()

    def create_workspace(self, spec: str, target: Path, sizes: str, seed: int) -> Worker | None:
        """Import in a worker with a progress dialog; the new workspace opens when the import succeeds."""
        try:
            parsed = parse_sizes(sizes)
        except VQADeskError as exc:
            self.show_error("New workspace", str(exc))
            return None
        progress = QProgressDialog("Importing…", "Cancel", 0, 0, self)
        progress.setWindowTitle("New workspace")
        progress.setMinimumDuration(300)
        worker = Worker(lambda progress, cancel: import_dataset(spec, target, sizes=parsed, seed=seed,
                                                               progress=progress, cancel=cancel),
                        with_progress=True)
        worker.signals.progress.connect(lambda done, total, msg: (progress.setMaximum(total),
                                                                  progress.setValue(done),
                                                                  progress.setLabelText(msg)))
        progress.canceled.connect(worker.cancel)
        worker.signals.finished.connect(lambda result: self.try_open(result.path))
        worker.signals.failed.connect(lambda msg, user: self.show_error("New workspace", msg))
        worker.signals.done.connect(progress.reset)
        self.pool.start(worker)
        return worker

    # ----- checks --------------------------------------------------------------------------------------
    def run_checks(self, use_ocr: bool, policy: str) -> Worker | None:
        """OCR (when asked) and all checks on a worker; the findings list reloads when they are stored."""
        if self.session is None or self._check_worker is not None:
            return None
        session = self.session
        worker = Worker(lambda progress, cancel: findings_store.check_and_store(
            session.path, use_ocr=use_ocr, policy=policy, progress=progress, cancel=cancel), with_progress=True)
        worker.signals.progress.connect(self.checks.show_progress)
        worker.signals.finished.connect(lambda report, s=session: self._checks_done(s, report))
        worker.signals.failed.connect(lambda msg, user: self.show_error("Checks", msg))
        worker.signals.cancelled.connect(lambda: self.statusBar().showMessage("Checks cancelled", 5000))
        worker.signals.done.connect(self._checks_finished)
        self._check_worker = worker
        self.checks.set_running(True)
        self.pool.start(worker)
        return worker

    def _checks_finished(self) -> None:
        self._check_worker = None
        self.checks.set_running(False)

    def _checks_done(self, session: Session, report: findings_store.CheckReport) -> None:
        if session is not self.session:
            return
        session.findings_changed.emit()
        failed = f", OCR failed on {len(report.ocr_failed)} covers" if report.ocr_failed else ""
        self.statusBar().showMessage(
            f"Checks done: {sum(report.counts.values())} open findings ({report.stored.new} new){failed}", 10_000)

    # ----- export --------------------------------------------------------------------------------------
    def run_export(self, options: ExportOptions, out_dir: Path) -> Worker | None:
        if self.session is None or self._export_worker is not None:
            return None
        path = self.session.path
        worker = Worker(lambda progress, cancel: export_workspace(path, out_dir, options=options, progress=progress,
                                                                  cancel=cancel), with_progress=True)
        worker.signals.progress.connect(self.export_panel.show_progress)
        worker.signals.finished.connect(self.export_panel.show_result)
        worker.signals.failed.connect(lambda msg, user: self.show_error("Export", msg))
        worker.signals.cancelled.connect(lambda: self.statusBar().showMessage("Export cancelled; nothing written",
                                                                              5000))
        worker.signals.done.connect(self._export_finished)
        self._export_worker = worker
        self.export_panel.set_running(True)
        self.pool.start(worker)
        return worker

    # ----- fine-tuning ---------------------------------------------------------------------------------
    def _provider_client(self, name: str) -> tuple[ProviderProfile, Any]:
        """The profile (with its server's URL) and one openai client per provider, reused by every job and
        closed with the window; a changed profile or key gets a new client."""
        profile, key = self.sandbox.resolve(get_profile(name))
        made_for = (profile, key or get_key(profile))
        cached = self._clients.get(name)
        if cached is not None and cached[0] == made_for:
            return profile, cached[1]
        client = make_client(profile, key=key)
        if cached is not None:
            self._retired_clients.append(cached[1])  # a worker may still be using it: closed with the window
        self._clients[name] = (made_for, client)
        return profile, client

    def launch_finetune(self, provider: str, request: finetune.LaunchRequest) -> Worker | None:
        """Validate, upload and create the job, then follow it, all on a worker; the panel updates live."""
        if self.session is None:
            return None
        try:
            profile, client = self._provider_client(provider)
        except VQADeskError as exc:
            self.show_error("Fine-tune", str(exc))
            return None
        path, bridge, poll = self.session.path, self.finetune_panel.bridge, self.poll_seconds

        def run(progress: Any, cancel: Any) -> finetune.JobRecord:
            record = finetune.launch(path, profile, request, client, progress=progress, cancel=cancel)
            bridge.changed.emit(record.id)
            return finetune.follow(path, record.id, profile, client, cancel=cancel, poll_seconds=poll,
                                   on_update=lambda r, _events: bridge.changed.emit(r.id))

        worker = Worker(run, with_progress=True)
        worker.signals.progress.connect(self.finetune_panel.show_progress)
        worker.signals.failed.connect(lambda msg, user: (self.show_error("Fine-tune", msg),
                                                         self.finetune_panel.refresh_jobs()))
        worker.signals.finished.connect(lambda record: self.statusBar().showMessage(
            f"Fine-tuning {record.status}" + (f": {record.fine_tuned_model}" if record.fine_tuned_model else ""),
            10_000))
        worker.signals.done.connect(lambda: self.finetune_panel.set_running(False))
        self.finetune_panel.set_running(True)
        self.pool.start(worker)
        return worker

    def _reattach_jobs(self) -> None:
        """Follow every job a previous run left unfinished."""
        assert self.session is not None
        for record in finetune.unfinished(self.session.ws):
            self.follow_job(record.id, record.provider)

    def follow_job(self, record_id: int, provider: str) -> Worker | None:
        if self.session is None or record_id in self._job_workers:
            return None
        try:
            profile, client = self._provider_client(provider)
        except VQADeskError as exc:
            self.statusBar().showMessage(f"Cannot follow job {record_id}: {exc}", 10_000)
            return None
        path, bridge, poll = self.session.path, self.finetune_panel.bridge, self.poll_seconds
        worker = Worker(lambda: finetune.follow(path, record_id, profile, client, poll_seconds=poll,
                                                cancel=worker.cancel_event,
                                                on_update=lambda r, _e: bridge.changed.emit(r.id)))
        worker.signals.failed.connect(lambda msg, user: self.statusBar().showMessage(msg.splitlines()[-1], 10_000))
        worker.signals.done.connect(lambda: self._job_workers.pop(record_id, None))
        self._job_workers[record_id] = worker
        self.pool.start(worker)
        return worker

    def cancel_finetune(self, record_id: int) -> Worker | None:
        if self.session is None:
            return None
        record = finetune.job(self.session.ws, record_id)
        try:
            profile, client = self._provider_client(record.provider)
        except VQADeskError as exc:
            self.show_error("Cancel job", str(exc))
            return None
        path, bridge = self.session.path, self.finetune_panel.bridge
        worker = Worker(lambda: finetune.cancel_job(path, record_id, profile, client))
        worker.signals.finished.connect(lambda r: bridge.changed.emit(r.id))
        worker.signals.failed.connect(lambda msg, user: self.show_error("Cancel job", msg))
        self.pool.start(worker)
        return worker

    def test_provider(self, name: str) -> Worker | None:
        try:
            profile, key = self.sandbox.resolve(get_profile(name))
        except VQADeskError as exc:
            self.finetune_panel.connection.setText(str(exc))
            return None
        worker = Worker(lambda: test_connection(profile, key=key))
        worker.signals.finished.connect(lambda models: self.finetune_panel.connection.setText(
            f"Connected: {len(models)} models ({', '.join(models[:6])}{'…' if len(models) > 6 else ''})"))
        worker.signals.failed.connect(lambda msg, user: self.finetune_panel.connection.setText(msg))
        self.pool.start(worker)
        return worker

    def check_local_device(self) -> Worker:
        """Which device local training would use (imports torch: on a worker, once)."""
        from vqa_desk.local.environment import detect_device

        worker = Worker(detect_device)
        worker.signals.finished.connect(lambda info: self.finetune_panel.show_device(info.describe(), info.warning))
        worker.signals.failed.connect(lambda msg, user: self.finetune_panel.show_device(msg.splitlines()[-1]))
        self.pool.start(worker)
        return worker

    def _ask_merge(self, model: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Empty folder for the merged model")
        if folder:
            self.merge_local_model(model, Path(folder) / model.replace(":", "_"))

    def merge_local_model(self, model: str, out: Path) -> Worker:
        """Base model + the fine-tune's adapter as one standalone model folder (for any OpenAI-style server)."""
        from vqa_desk.core.paths import data_dir
        from vqa_desk.local.inference import merge_adapter
        from vqa_desk.local.protocol import find_adapter

        def run() -> Path:
            from vqa_desk.local.environment import LocalUnavailable

            try:
                adapter = find_adapter(model, data_dir() / "local")
            except FileNotFoundError as exc:
                raise LocalUnavailable(str(exc)) from None
            return merge_adapter(adapter, out)

        worker = Worker(run)
        worker.signals.finished.connect(lambda path: self.statusBar().showMessage(f"Merged model written to {path}",
                                                                                  15_000))
        worker.signals.failed.connect(lambda msg, user: self.show_error("Merge adapter", msg))
        self.statusBar().showMessage(f"Merging {model} …")
        self.pool.start(worker)
        return worker

    def serve_with_vllm(self, model: str) -> bool:
        """Start vLLM serving a local fine-tune (one base model + its adapter) on port 8000."""
        from vqa_desk.core.errors import VQADeskError
        from vqa_desk.core.paths import data_dir
        from vqa_desk.local import vllm
        from vqa_desk.local.inference import adapter_manifest
        from vqa_desk.local.protocol import find_adapter

        try:
            adapter = find_adapter(model, data_dir() / "local")
            manifest = adapter_manifest(adapter)
            cmd = vllm.serve_command(str(manifest.get("base_model_path") or manifest["base_model"]), {model: adapter})
            proc = vllm.start(cmd, data_dir() / "local" / "vllm.log")
        except (VQADeskError, FileNotFoundError, KeyError) as exc:
            self.show_error("Serve with vLLM", str(exc))
            return False
        self.statusBar().showMessage(f"vLLM started (pid {proc.pid}) on http://127.0.0.1:8000/v1 — add it as a "
                                     "'compatible' provider profile to evaluate through it.", 30_000)
        return True

    def _store_key(self, name: str, key: str) -> None:
        try:
            set_key(get_profile(name), key)
            self.finetune_panel.connection.setText(f"Key stored in the OS keyring for {name}.")
        except VQADeskError as exc:
            self.show_error("API key", str(exc))

    def _export_finished(self) -> None:
        self._export_worker = None
        self.export_panel.set_running(False)

    def apply_findings(self, ids: list[int], text: str) -> None:
        if self.session is not None and ids:
            self.undo_stack.push(ApplyFindingsCommand(self.session, ids, text,
                                                      on_error=lambda msg: self.show_error("Not applied", msg)))

    def dismiss_findings(self, ids: list[int], reason: str) -> None:
        if self.session is not None and ids:
            self.undo_stack.push(DismissFindingsCommand(self.session, ids, reason))

    def show_cover(self, pk: int, switch: bool) -> None:
        if self.model is None:
            return
        if self.model.row_of_pk(pk) is None:  # hidden by the browser's filter: show everything again
            self.browser.clear_filters()
        self.browser.select_pk(pk)
        if switch:
            self.nav.setCurrentRow(0)

    def _findings_changed(self) -> None:
        if self.model is not None and self.session is not None:
            self.model.set_findings(findings_store.counts_by_image(self.session.ws))

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
