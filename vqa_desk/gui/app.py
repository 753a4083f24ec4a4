"""Application start-up and offscreen rendering. The only place a QApplication is created."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from vqa_desk.core.errors import VQADeskError

PANELS = ("main", "browser")


def application() -> object:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        _quiet_offscreen_warnings()
        app = QApplication(sys.argv[:1])
        app.setApplicationName("VQA Desk")
        app.setOrganizationName("vqa-desk")
    return app


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


def screenshot(panel: str, workspace: Path, out: Path) -> Path:
    """Render ``panel`` of ``workspace`` offscreen (first cover selected, images loaded) to a PNG."""
    if panel not in PANELS:
        raise VQADeskError(f"Unknown panel {panel!r}; this version can render: {', '.join(PANELS)}.")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication

    from vqa_desk.gui.main_window import MainWindow

    application()
    window = MainWindow(persist=False)
    window.resize(1400, 860)
    window.show()
    window.open_workspace(workspace)
    deadline = time.monotonic() + 15
    # Let the worker threads deliver the visible thumbnails and the cover before grabbing.
    while time.monotonic() < deadline:
        QCoreApplication.processEvents()
        if window.grid_loader.pending == 0 and window.detail_loader.pending == 0 and window.pool.active_count == 0:
            break
        time.sleep(0.02)
    QCoreApplication.processEvents()
    widget = window if panel == "main" else window.browse_page
    pixmap = widget.grab()
    ok = out.parent.is_dir() and pixmap.save(str(out), "PNG")
    window.close()
    if not ok:
        raise VQADeskError(f"Could not write {out}; check that the folder {out.parent} exists and is writable.")
    return out
