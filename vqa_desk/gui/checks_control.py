"""The Checks panel's work in the main window: running the checks, applying and dismissing findings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vqa_desk.core import findings as findings_store
from vqa_desk.gui.commands import ApplyFindingsCommand, DismissFindingsCommand
from vqa_desk.gui.session import Session
from vqa_desk.gui.workers import Worker

if TYPE_CHECKING:
    from vqa_desk.gui.main_window import MainWindow


class ChecksControl:
    """Part of MainWindow: the findings go through the window's undo stack, and a cover is shown in the browser."""

    def run_checks(self: MainWindow, use_ocr: bool, policy: str) -> Worker | None:
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

    def _checks_finished(self: MainWindow) -> None:
        self._check_worker = None
        self.checks.set_running(False)

    def _checks_done(self: MainWindow, session: Session, report: findings_store.CheckReport) -> None:
        if session is not self.session:
            return
        session.findings_changed.emit()
        failed = f", OCR failed on {len(report.ocr_failed)} covers" if report.ocr_failed else ""
        self.statusBar().showMessage(
            f"Checks done: {sum(report.counts.values())} open findings ({report.stored.new} new){failed}", 10_000)

    def apply_findings(self: MainWindow, ids: list[int], text: str) -> None:
        if self.session is not None and ids:
            self.undo_stack.push(ApplyFindingsCommand(self.session, ids, text,
                                                      on_error=lambda msg: self.show_error("Not applied", msg)))

    def dismiss_findings(self: MainWindow, ids: list[int], reason: str) -> None:
        if self.session is not None and ids:
            self.undo_stack.push(DismissFindingsCommand(self.session, ids, reason))

    def show_cover(self: MainWindow, pk: int, switch: bool) -> None:
        if self.model is None:
            return
        if self.model.row_of_pk(pk) is None:  # hidden by the browser's filter: show everything again
            self.browser.clear_filters()
        self.browser.select_pk(pk)
        if switch:
            self.nav.setCurrentRow(0)

    def _findings_changed(self: MainWindow) -> None:
        if self.model is not None and self.session is not None:
            self.model.set_findings(findings_store.counts_by_image(self.session.ws))
