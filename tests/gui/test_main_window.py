from pathlib import Path

import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from tools.synthetic_ocrvqa import write_parquet
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.sampling import parse_sizes


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_parquet(tmp_path / "src" / "train.parquet", 12)
    write_parquet(tmp_path / "src" / "test.parquet", 8, start=100)
    path = tmp_path / "ws.vqadesk"
    import_dataset(str(tmp_path / "src"), path, sizes=parse_sizes("10,0,all"))
    return path


def test_main_window_shows_the_workspace_summary(qtbot: QtBot, workspace: Path) -> None:
    from vqa_desk.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.open_workspace(workspace)
    assert window.windowTitle() == "ws.vqadesk — VQA Desk"
    splits = window._splits
    rows = {splits.item(r, 0).text(): (splits.item(r, 1).text(), splits.item(r, 2).text())
            for r in range(splits.rowCount())}
    assert rows == {"train": ("10", "50"), "test": ("8", "40")}


def test_screenshot_renders_a_real_png(qtbot: QtBot, workspace: Path, tmp_path: Path) -> None:
    from vqa_desk.gui.app import screenshot

    out = screenshot("main", workspace, tmp_path / "shot.png")
    with Image.open(out) as img:
        assert img.size == (1100, 720)
        # A rendered window has text and table lines, not one flat colour.
        assert len(img.convert("L").getcolors(maxcolors=100_000) or []) > 10
