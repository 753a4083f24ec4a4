"""The export run in the main window, for the Export panel and the Fine-tune panel alike."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vqa_desk.core.export import ExportOptions, export_workspace
from vqa_desk.gui.workers import Worker

if TYPE_CHECKING:
    from vqa_desk.gui.main_window import MainWindow


class ExportControl:
    """Part of MainWindow: one export at a time, whichever panel asks."""

    def run_export(self: MainWindow, options: ExportOptions, out_dir: Path) -> Worker | None:
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

    def _export_finished(self: MainWindow) -> None:
        self._export_worker = None
        self.export_panel.set_running(False)
