"""Application start-up and offscreen rendering. The only place a QApplication is created."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from vqa_desk.core.errors import VQADeskError

PANELS = ("main", "browser", "checks", "export", "finetune", "review")


def application() -> object:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        _quiet_offscreen_warnings()
        app = QApplication(sys.argv[:1])
        app.setApplicationName("VQA Desk")
        app.setOrganizationName("vqa-desk")
    return app


def _settle(window: object, timeout: float = 15.0) -> None:
    """Process events until the workers are idle for a moment: thumbnails and covers have arrived."""
    from PySide6.QtCore import QCoreApplication

    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline and quiet < 5:
        QCoreApplication.processEvents()
        idle = (window.grid_loader.pending == 0 and window.detail_loader.pending == 0  # type: ignore[attr-defined]
                and window.pool.active_count == 0)  # type: ignore[attr-defined]
        quiet = quiet + 1 if idle else 0
        time.sleep(0.04)
    QCoreApplication.processEvents()


def _has_findings(path: Path) -> bool:
    from vqa_desk.core.workspace import Workspace

    with Workspace.open(path) as ws:
        return ws.connection.execute("SELECT count(*) FROM findings").fetchone()[0] > 0


def _show_checks(window: object) -> None:
    """The Checks panel with findings to show: stored ones, or a run on cover text already at hand."""
    from vqa_desk.core import findings

    assert window.session is not None  # type: ignore[attr-defined]
    ws = window.session.ws  # type: ignore[attr-defined]
    if not findings.load(ws):
        # Never run the OCR engine for a screenshot: cached OCR or the dataset's own OCR words serve.
        from vqa_desk.core.checks import run_checks

        findings.store_run(ws, run_checks(ws, use_ocr=True))
        window.session.findings_changed.emit()  # type: ignore[attr-defined]
    window.nav.setCurrentRow(1)  # type: ignore[attr-defined]
    panel = window.checks  # type: ignore[attr-defined]
    group = panel.model.item(0)
    if group is not None and group.rowCount():
        panel.tree.setCurrentIndex(group.child(0).index())


def _quiet_offscreen_warnings() -> None:
    """The offscreen platform (screenshots, headless tests) warns about window hints it cannot honour; those
    lines would bury real messages on stderr. Everything else still goes to Qt's default handler."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    previous = None

    def handler(kind: QtMsgType, context: object, message: str) -> None:
        if "propagateSizeHints" in message:
            return
        if previous is not None:
            previous(kind, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = qInstallMessageHandler(handler)


def run_app(workspace: Path) -> int:
    from vqa_desk.gui.main_window import MainWindow

    app = application()
    window = MainWindow()
    window.show()
    window.try_open(workspace)
    return int(app.exec())  # type: ignore[attr-defined]


def smoke(workspace: Path) -> int:
    """Open the main window offscreen, show every panel once, close: proves a build can start its GUI."""
    from PySide6.QtCore import QCoreApplication

    from vqa_desk.gui.main_window import MainWindow

    application()
    window = MainWindow(persist=False)
    window.show()
    window.open_workspace(workspace)
    for row in range(window.nav.count()):
        window.nav.setCurrentRow(row)
        QCoreApplication.processEvents()
        if not window.pages.currentWidget().isVisible():
            raise VQADeskError(f"Panel {window.nav.item(row).text()} did not show.")
    names = [window.nav.item(r).text() for r in range(window.nav.count())]
    window.close()
    print(f"smoke: opened {workspace.name}, showed {', '.join(names)}", file=sys.stderr)
    return 0


def screenshot(panel: str, workspace: Path, out: Path) -> Path:
    """Render ``panel`` of ``workspace`` offscreen (first cover selected, images loaded) to a PNG."""
    if panel not in PANELS:
        raise VQADeskError(f"Unknown panel {panel!r}; this version can render: {', '.join(PANELS)}.")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from vqa_desk.gui.main_window import MainWindow

    application()
    window = MainWindow(persist=False)
    window.resize(1400, 860)
    if panel == "checks" and not _has_findings(workspace):
        # Rendering must not write into the user's workspace: run the checks on a copy.
        scratch = Path(tempfile.mkdtemp(prefix="vqa-desk-shot-"))
        shutil.copy(workspace, scratch / workspace.name)
        workspace = scratch / workspace.name
    window.show()
    window.open_workspace(workspace)
    if panel == "checks":
        _show_checks(window)
    _settle(window)
    if panel in ("export", "finetune", "review"):
        window.nav.setCurrentRow({"export": 2, "finetune": 3, "review": 4}[panel])
        _settle(window)  # the Review pane reads its evaluation when first shown
    if panel == "review" and window.review.model.rowCount():
        window.review.table.selectRow(0)
    if panel == "finetune" and window.finetune_panel.jobs.rowCount():
        window.finetune_panel.jobs.selectRow(0)
    _settle(window)  # the panel just shown may have asked for more images
    widget = {"main": window, "browser": window.browse_page, "checks": window.checks,
              "export": window.export_panel, "finetune": window.finetune_panel, "review": window.review}[panel]
    pixmap = widget.grab()
    ok = out.parent.is_dir() and pixmap.save(str(out), "PNG")
    window.close()
    if not ok:
        raise VQADeskError(f"Could not write {out}; check that the folder {out.parent} exists and is writable.")
    return out
