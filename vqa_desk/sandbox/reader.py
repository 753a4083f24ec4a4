"""Reading covers for the sandbox models: OCR on a small thread pool, cached by the image's sha256.

The cache is shared by every sandbox server in the process (a GUI that restarts its sandbox, a test session
with several servers): the same cover is read once. OCR engines are per thread (``core.ocr``), so the pool is
kept small — two engines use both cores of a typical laptop without holding a gigabyte of models.
Without the OCR engine the models still answer (from no text at all) and the server logs it once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from vqa_desk.core.ocr import OcrLine, engine_available, read_cover

log = logging.getLogger("vqa_desk.sandbox")

_CACHE_SIZE = 20_000  # covers; a cover's lines are a few hundred bytes


class _Cache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[str, list[OcrLine]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> list[OcrLine] | None:
        with self._lock:
            lines = self._data.get(key)
            if lines is not None:
                self._data.move_to_end(key)
            return lines

    def put(self, key: str, lines: list[OcrLine]) -> None:
        with self._lock:
            self._data[key] = lines
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


_CACHE = _Cache(_CACHE_SIZE)


def image_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CoverReader:
    def __init__(self, workers: int = 2) -> None:
        self.available = engine_available()
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sandbox-ocr")
        self._warned = False
        self._lock = threading.Lock()
        self._inflight: dict[str, Future[list[OcrLine]]] = {}
        self.reads = 0  # covers actually OCR-ed by this reader (not from the cache)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def cached(self, key: str) -> list[OcrLine] | None:
        return _CACHE.get(key)

    def submit(self, data: bytes, key: str | None = None) -> Future[list[OcrLine]]:
        """Read a cover on the pool. Concurrent requests for one cover (several questions about it arrive
        together) share one read."""
        key = key or image_key(data)
        with self._lock:
            future = self._inflight.get(key)
            if future is None:
                future = self._inflight[key] = self.pool.submit(self._read_once, data, key)
        return future

    def _read_once(self, data: bytes, key: str) -> list[OcrLine]:
        try:
            return self.read(data, key)
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def read(self, data: bytes, key: str | None = None) -> list[OcrLine]:
        """The cover's lines; [] when it cannot be read (no engine, undecodable image)."""
        key = key or image_key(data)
        lines = _CACHE.get(key)
        if lines is not None:
            return lines
        if not self.available:
            if not self._warned:
                self._warned = True
                log.warning("The OCR engine (rapidocr) is not installed: sandbox-ocr answers without reading the "
                            "covers (Unknown / No).")
            return []
        try:
            lines = read_cover(data)
        except Exception as exc:  # one bad image must not fail a whole training run or request
            log.info("cover %s could not be read: %s", key[:12], exc)
            lines = []
        self.reads += 1
        _CACHE.put(key, lines)
        return lines

    def read_many(self, images: dict[str, bytes], progress: Callable[[int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> dict[str, list[OcrLine]]:
        """Read covers in parallel (cached ones first, free); ``progress(done, total)`` as they finish."""
        out: dict[str, list[OcrLine]] = {}
        todo: list[tuple[str, bytes]] = []
        for key, data in images.items():
            lines = _CACHE.get(key)
            if lines is not None:
                out[key] = lines
            else:
                todo.append((key, data))
        total = len(images)
        if progress is not None:
            progress(len(out), total)
        futures = [(key, self.submit(data, key)) for key, data in todo]
        try:
            for key, future in futures:
                if cancelled is not None and cancelled():
                    break
                out[key] = future.result()
                if progress is not None:
                    progress(len(out), total)
        finally:
            for _, future in futures:
                future.cancel()
        return out

