import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from pytestqt.qtbot import QtBot

from vqa_desk.core.importer import import_dataset


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.vqadesk"
    import_dataset("demo", path)
    return path


@pytest.fixture
def demo_ws(demo_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo.vqadesk"
    shutil.copy(demo_template, path)
    return path


@pytest.fixture
def window(qtbot: QtBot, demo_ws: Path) -> Iterator[object]:
    from vqa_desk.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.open_workspace(demo_ws)
    # The search index is built on a worker; most tests want it.
    qtbot.waitUntil(lambda: win.session is not None and win.session.index.search is not None, timeout=10_000)
    yield win
    win.close()
    # Nothing may outlive the window: its pool has no running thread, and nothing used the global pool.
    assert win.pool._pool.activeThreadCount() == 0
    assert QThreadPool.globalInstance().activeThreadCount() == 0
