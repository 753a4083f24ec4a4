from pathlib import Path

from pytestqt.qtbot import QtBot

from vqa_desk.core.browse import CoverIndex
from vqa_desk.core.workspace import Workspace
from vqa_desk.gui.thumbnails import ThumbnailLoader
from vqa_desk.gui.workers import WorkerPool


def _valid_pks(path: Path, n: int) -> list[int]:
    with Workspace.open(path) as ws:
        return [r.pk for r in CoverIndex.load(ws).rows if r.valid][:n]


def test_requests_are_served_newest_first_and_cached(qtbot: QtBot, demo_ws: Path) -> None:
    pool = WorkerPool(max_threads=1)
    loader = ThumbnailLoader(pool, 64, max_in_flight=1)
    loader.set_workspace(demo_ws)
    pks = _valid_pks(demo_ws, 4)
    arrived: list[int] = []
    loader.ready.connect(arrived.append)
    for pk in pks:
        assert loader.image(pk) is None  # queued
    qtbot.waitUntil(lambda: len(arrived) == 4, timeout=10_000)
    # the first request went out at once; the rest came newest first
    assert arrived == [pks[0], pks[3], pks[2], pks[1]]
    image = loader.image(pks[2])
    assert image is not None and max(image.width(), image.height()) == 64
    assert loader.pending == 0
    pool.shutdown()


def test_scrolled_away_requests_are_dropped(qtbot: QtBot, demo_ws: Path) -> None:
    pool = WorkerPool(max_threads=1)
    loader = ThumbnailLoader(pool, 64, max_in_flight=1)
    loader.set_workspace(demo_ws)
    pks = _valid_pks(demo_ws, 6)
    arrived: list[int] = []
    loader.ready.connect(arrived.append)
    for pk in pks:
        loader.image(pk)
    loader.retain({pks[5]})  # only the last one is still on screen
    qtbot.waitUntil(lambda: loader.pending == 0, timeout=10_000)
    assert arrived == [pks[0], pks[5]]  # pks[0] was already being decoded
    pool.shutdown()


def test_results_for_a_closed_workspace_are_dropped(qtbot: QtBot, demo_ws: Path) -> None:
    pool = WorkerPool(max_threads=1)
    loader = ThumbnailLoader(pool, 64)
    loader.set_workspace(demo_ws)
    arrived: list[int] = []
    loader.ready.connect(arrived.append)
    pk = _valid_pks(demo_ws, 1)[0]
    loader.image(pk)
    loader.set_workspace(None)  # the workspace closed while the image was being decoded
    assert pool.shutdown()
    qtbot.wait(50)  # let the queued result signal arrive
    assert arrived == [] and loader.image(pk) is None


def test_an_undecodable_image_reports_a_reason(qtbot: QtBot, demo_ws: Path) -> None:
    with Workspace.open(demo_ws) as ws:
        pk = ws.connection.execute(
            "SELECT id FROM images WHERE valid = 0 AND invalid_reason LIKE '%damaged%'").fetchone()[0]
    pool = WorkerPool(max_threads=1)
    loader = ThumbnailLoader(pool, 64)
    loader.set_workspace(demo_ws)
    with qtbot.waitSignal(loader.failed, timeout=10_000) as blocker:
        loader.image(pk)
    assert blocker.args[0] == pk and "cannot decode image" in blocker.args[1]
    assert loader.error(pk) == blocker.args[1]
    pool.shutdown()
