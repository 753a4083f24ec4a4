"""The progress and cancel conventions every long core operation follows.

A core function that takes time accepts ``progress(done, total, message)`` and a ``threading.Event`` as cancel
token. The GUI wraps it in a worker, the CLI in a progress bar; core itself never prints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from vqa_desk.core.errors import Cancelled

ProgressFn = Callable[[int, int, str], None]


def report(progress: ProgressFn | None, done: int, total: int, message: str = "") -> None:
    if progress is not None:
        progress(done, total, message)


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("Cancelled by the user; nothing was written.")
