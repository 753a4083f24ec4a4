"""Opening, creating and closing workspaces in the main window: the lock, recent files, the search index."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QProgressDialog

from vqa_desk.core import findings as findings_store
from vqa_desk.core.browse import build_search_index
from vqa_desk.core.errors import VQADeskError
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.paths import data_dir
from vqa_desk.core.sampling import parse_sizes
from vqa_desk.core.settings import load_settings, save_settings
from vqa_desk.core.workspace import Workspace
from vqa_desk.gui.cover_model import CoverListModel
from vqa_desk.gui.dialogs import NewWorkspaceDialog
from vqa_desk.gui.session import Session, settle_heap
from vqa_desk.gui.workers import Worker

if TYPE_CHECKING:
    from vqa_desk.gui.main_window import MainWindow


class WorkspaceControl:
    """Part of MainWindow: every panel gets the session from here and lets go of it here."""

    def open_workspace(self: MainWindow, path: Path) -> None:
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

    def close_workspace(self: MainWindow) -> None:
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

    def _start_search_index(self: MainWindow) -> None:
        assert self.session is not None
        session = self.session
        worker = Worker(build_search_index, session.path, list(session.index.rows))
        worker.signals.finished.connect(lambda search, s=session: self._search_ready(s, search))
        worker.signals.failed.connect(lambda msg, user: self.show_error("Search index", msg))
        self._search_worker = worker
        self.pool.start(worker)

    def _search_ready(self: MainWindow, session: Session, search: object) -> None:
        if session is not self.session:
            return  # built for a workspace that has since been closed
        session.index.search = search  # type: ignore[assignment]
        settle_heap()
        self._search_worker = None
        f = self.browser.current_filter()
        if f.text or f.qtype:
            self.browser.apply_filter()
        self.statusBar().showMessage("Search index ready", 3000)

    def ask_open(self: MainWindow) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open workspace", str(data_dir()), "VQA Desk workspace (*.vqadesk)")
        if name:
            self.try_open(Path(name))

    def try_open(self: MainWindow, path: Path) -> bool:
        try:
            self.open_workspace(path)
        except VQADeskError as exc:
            self.show_error("Cannot open workspace", str(exc))
            return False
        return True

    def _fill_recent(self: MainWindow) -> None:
        self.recent_menu.clear()
        recent = [Path(p) for p in load_settings().recent_workspaces]
        for path in recent:
            action = self.recent_menu.addAction(str(path))
            action.triggered.connect(lambda _=False, p=path: self.try_open(p))
            action.setEnabled(path.exists())
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def ask_new(self: MainWindow) -> None:
        dialog = NewWorkspaceDialog(data_dir(), self)
        dialog.accepted.connect(lambda: self.create_workspace(dialog.spec(), Path(dialog.target.text()),
                                                              dialog.sizes_text(), dialog.seed.value()))
        dialog.open()

    def create_workspace(self: MainWindow, spec: str, target: Path, sizes: str, seed: int) -> Worker | None:
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
