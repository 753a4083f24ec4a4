"""The background worker both fine-tuning jobs and batches run on: one thread serving a queue of ids."""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vqa_desk.sandbox.engine import Engine


class QueueRunner(ABC):
    """Runs ``_loop`` on a daemon thread; ids arrive on ``_queue``; each id may have a cancel event.

    ``stop`` sets every cancel event and the stop flag, wakes the loop with ``None`` and waits for it.
    """

    thread_name = "sandbox-runner"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._cancel: dict[str, threading.Event] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        for event in list(self._cancel.values()):
            event.set()
        self._queue.put(None)
        self._thread.join(timeout=30)

    @abstractmethod
    def _loop(self) -> None:
        """Serve ids from the queue until ``None`` arrives or the stop flag is set."""
