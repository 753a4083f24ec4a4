"""All GUI threading lives here: run a core callable on the thread pool and report back through signals.

Core functions take ``progress(done, total, message)`` and a ``threading.Event`` cancel token; ``Worker`` wires
both to Qt signals. Results cross threads only through queued signals, so widgets are touched on the GUI
thread alone. Workers build ``QImage`` (thread-safe), never ``QPixmap``.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from vqa_desk.core.errors import Cancelled, VQADeskError


class WorkerSignals(QObject):
    progress = Signal(int, int, str)
    finished = Signal(object)  # the callable's return value
    failed = Signal(str, bool)  # message, is_user_error (False: a bug, message has the traceback)
    cancelled = Signal()
    done = Signal()  # always last, whatever the outcome


class Worker(QRunnable):
    """Runs ``fn(*args, progress=..., cancel=...)`` (or plain ``fn(*args)``) off the GUI thread."""

    def __init__(self, fn: Callable[..., Any], *args: Any, with_progress: bool = False) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the pool must not delete it while Python still holds a reference
        self.signals = WorkerSignals()
        self.cancel_event = threading.Event()
        self._fn = fn
        self._args = args
        self._with_progress = with_progress

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        signals = self.signals
        try:
            if self._with_progress:
                result = self._fn(*self._args, progress=signals.progress.emit, cancel=self.cancel_event)
            else:
                result = self._fn(*self._args)
        except Cancelled:
            signals.cancelled.emit()
        except VQADeskError as exc:
            signals.failed.emit(str(exc), True)
        except Exception:
            signals.failed.emit(traceback.format_exc(), False)
        else:
            if self.cancel_event.is_set():
                signals.cancelled.emit()
            else:
                signals.finished.emit(result)
        finally:
            signals.done.emit()


class WorkerPool(QObject):
    """A thread pool that remembers its running workers, so they can be cancelled and awaited on close."""

    def __init__(self, max_threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._active: set[Worker] = set()

    def start(self, worker: Worker) -> Worker:
        self._active.add(worker)
        worker.signals.done.connect(lambda w=worker: self._active.discard(w))
        self._pool.start(worker)
        return worker

    @property
    def active_count(self) -> int:
        return len(self._active)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel everything, drop queued work, and wait for running work to end."""
        for worker in list(self._active):
            worker.cancel()
        self._pool.clear()
        finished = self._pool.waitForDone(timeout_ms)
        if finished:
            self._active.clear()  # workers removed from the queue by clear() never report done
        return finished
