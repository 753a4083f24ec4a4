from pathlib import Path

import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from vqa_desk.core.errors import VQADeskError


@pytest.mark.parametrize(("panel", "size", "colors"), [
    ("main", (1400, 860), 1000), ("browser", None, 1000), ("checks", None, 1000), ("export", None, 1000),
    ("finetune", None, 200),  # no job yet: a form, an empty chart and text
])
def test_screenshot_renders_a_real_png(qtbot: QtBot, demo_ws: Path, tmp_path: Path, panel: str, size,
                                       colors: int) -> None:
    from vqa_desk.gui.app import screenshot

    out = screenshot(panel, demo_ws, tmp_path / "shot.png")
    with Image.open(out) as img:
        if size:
            assert img.size == size
        # Covers, text, tables and charts: many colours, not a blank or flat window.
        assert len(img.convert("RGB").getcolors(maxcolors=1_000_000) or []) > colors


def test_screenshot_of_an_unknown_panel(qtbot: QtBot, demo_ws: Path, tmp_path: Path) -> None:
    from vqa_desk.gui.app import screenshot

    with pytest.raises(VQADeskError, match="Unknown panel 'nope'"):
        screenshot("nope", demo_ws, tmp_path / "x.png")


def test_screenshot_leaves_settings_alone(qtbot: QtBot, demo_ws: Path, tmp_path: Path) -> None:
    from vqa_desk.core.paths import config_dir
    from vqa_desk.gui.app import screenshot

    screenshot("browser", demo_ws, tmp_path / "x.png")
    assert not (config_dir() / "settings.json").exists()
    assert not (config_dir() / "window.ini").exists()


def test_checks_screenshot_does_not_write_into_the_workspace(qtbot: QtBot, demo_ws: Path, tmp_path: Path) -> None:
    from vqa_desk.core.workspace import Workspace
    from vqa_desk.gui.app import screenshot

    screenshot("checks", demo_ws, tmp_path / "c.png")
    with Workspace.open(demo_ws) as ws:
        assert ws.connection.execute("SELECT count(*) FROM findings").fetchone()[0] == 0
