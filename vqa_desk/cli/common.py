"""What every command uses: the exit codes, the exception -> exit code rule, --json output, progress bars."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import traceback
from typing import Any

from vqa_desk.core.errors import Cancelled, VQADeskError

EXIT_OK, EXIT_BUG, EXIT_USER = 0, 1, 2


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; an error it raises becomes an exit code and one line on stderr."""
    try:
        return int(args.func(args) or 0)
    except Cancelled as exc:
        print(f"vqa-desk: {exc}", file=sys.stderr)
        return 130
    except VQADeskError as exc:
        print(f"vqa-desk: {exc}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("vqa-desk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`vqa-desk info --json | head`): not an error of ours, and nothing left to say.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return EXIT_OK
    except Exception:
        traceback.print_exc()
        print("vqa-desk: this is a bug in VQA Desk; please report it with the text above.", file=sys.stderr)
        return EXIT_BUG


class ProgressBar:
    """tqdm on stderr for a core progress callback; Ctrl+C sets the cancel token."""

    def __init__(self, desc: str, *, quiet: bool) -> None:
        self._desc = desc
        self._quiet = quiet
        self._bar: Any = None
        self.cancel = threading.Event()

    def __enter__(self) -> ProgressBar:
        import signal

        self._previous = None
        if threading.current_thread() is threading.main_thread():
            def on_sigint(signum: int, frame: object) -> None:
                if self.cancel.is_set():
                    raise KeyboardInterrupt  # a second Ctrl+C: stop now
                print("\nvqa-desk: stopping (Ctrl+C again to force) ...", file=sys.stderr)
                self.cancel.set()

            self._previous = signal.signal(signal.SIGINT, on_sigint)
        return self

    def update(self, done: int, total: int, message: str) -> None:
        if self._quiet:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=self._desc, unit="cover", file=sys.stderr, leave=False,
                             disable=None)  # None: no bar when stderr is not a terminal
        self._bar.set_postfix_str(message, refresh=False)
        self._bar.update(done - self._bar.n)

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._bar is not None:
            self._bar.close()
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def print_json(obj: dict[str, Any]) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
