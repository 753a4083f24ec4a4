"""Cover images for the grid and the detail pane, decoded on worker threads and cached in memory.

Requests are served last-in first-out (what the user scrolled to most recently is wanted first), at most
``max_threads`` at a time; ``retain`` drops queued requests for covers that scrolled out of view, and a
generation number drops results that arrive after the workspace changed.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from vqa_desk.core.images import make_thumbnail
from vqa_desk.core.workspace import Workspace
from vqa_desk.gui.workers import Worker, WorkerPool

_local = threading.local()
log = logging.getLogger(__name__)


def load_image(path: Path, pk: int, max_side: int) -> QImage:
    """Decode one cover to a QImage (safe off the GUI thread). One read connection per worker thread."""
    readers: dict[Path, Workspace] = getattr(_local, "readers", None) or {}
    _local.readers = readers
    ws = readers.get(path)
    if ws is None:
        ws = readers[path] = Workspace.open(path, allow_incomplete=True)
    thumb = make_thumbnail(ws.image_bytes(pk), max_side)
    fmt = QImage.Format.Format_RGBA8888 if thumb.mode == "RGBA" else QImage.Format.Format_RGB888
    image = QImage(thumb.pixels, thumb.width, thumb.height, thumb.width * len(thumb.mode), fmt)
    return image.copy()  # detach from the Python buffer before it is freed


class ThumbnailLoader(QObject):
    ready = Signal(int)  # pk: its image is now in the cache
    failed = Signal(int, str)  # pk, reason

    def __init__(self, pool: WorkerPool, max_side: int, *, cache_size: int = 1500, max_in_flight: int = 2,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self.max_side = max_side
        self._cache: OrderedDict[int, QImage] = OrderedDict()
        self._cache_size = cache_size
        self._errors: dict[int, str] = {}
        self._queue: list[int] = []  # a stack: the newest request is served first
        self._queued: set[int] = set()
        self._in_flight: set[int] = set()
        self._max_in_flight = max_in_flight
        self._path: Path | None = None
        self._generation = 0

    def set_workspace(self, path: Path | None) -> None:
        self._path = path
        self._generation += 1
        self._cache.clear()
        self._errors.clear()
        self._queue.clear()
        self._queued.clear()
        self._in_flight.clear()

    def image(self, pk: int) -> QImage | None:
        """The cached image, or None after queueing a request for it."""
        image = self._cache.get(pk)
        if image is not None:
            self._cache.move_to_end(pk)
            return image
        if pk not in self._errors:
            self.request(pk)
        return None

    def error(self, pk: int) -> str | None:
        return self._errors.get(pk)

    def request(self, pk: int) -> None:
        if pk in self._in_flight or self._path is None:
            return
        if pk in self._queued:
            self._queue.remove(pk)
        self._queue.append(pk)
        self._queued.add(pk)
        self._pump()

    def retain(self, wanted: set[int]) -> None:
        """Forget queued requests for covers no longer on screen."""
        self._queue = [pk for pk in self._queue if pk in wanted]
        self._queued = set(self._queue)

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._in_flight)

    def _pump(self) -> None:
        while self._queue and len(self._in_flight) < self._max_in_flight and self._path is not None:
            pk = self._queue.pop()
            self._queued.discard(pk)
            self._in_flight.add(pk)
            worker = Worker(load_image, self._path, pk, self.max_side)
            generation = self._generation
            worker.signals.finished.connect(lambda img, pk=pk, g=generation: self._done(g, pk, img, None))
            worker.signals.failed.connect(lambda msg, user, pk=pk, g=generation: self._failed(g, pk, msg, user))
            self._pool.start(worker)

    def _failed(self, generation: int, pk: int, message: str, user_error: bool) -> None:
        if not user_error:
            log.error("loading cover %s failed:\n%s", pk, message)  # a bug: keep the traceback in the log
        self._done(generation, pk, None, message if user_error else "could not load this image (see the log)")

    def _done(self, generation: int, pk: int, image: QImage | None, error: str | None) -> None:
        if generation != self._generation:
            return  # a result for a workspace that is no longer open
        self._in_flight.discard(pk)
        if image is not None:
            self._cache[pk] = image
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            self.ready.emit(pk)
        else:
            self._errors[pk] = error or "could not load this image"
            self.failed.emit(pk, self._errors[pk])
        self._pump()
