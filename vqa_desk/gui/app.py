"""Application start-up and offscreen rendering. The only place a QApplication is created."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vqa_desk.core.errors import VQADeskError

PANELS = ("main",)


def _application() -> object:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("VQA Desk")
        app.setOrganizationName("vqa-desk")
    return app


def run_app(workspace: Path) -> int:
    from vqa_desk.core.settings import load_settings, save_settings
    from vqa_desk.gui.main_window import MainWindow

    app = _application()
    window = MainWindow()
    window.open_workspace(workspace)
    settings = load_settings()
    settings.remember(workspace)
    save_settings(settings)
    window.show()
    return int(app.exec())  # type: ignore[attr-defined]


def screenshot(panel: str, workspace: Path, out: Path) -> Path:
    """Render ``panel`` of ``workspace`` offscreen and save it as a PNG."""
    if panel not in PANELS:
        raise VQADeskError(f"Unknown panel {panel!r}; this version can render: {', '.join(PANELS)}.")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from vqa_desk.gui.main_window import MainWindow

    _application()
    window = MainWindow()
    window.resize(1100, 720)
    window.open_workspace(workspace)
    window.show()
    pixmap = window.grab()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(out), "PNG"):
        raise VQADeskError(f"Could not write {out}; check that the folder is writable.")
    window.close()
    return out
