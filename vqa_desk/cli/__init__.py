"""Command line: argument parsing and output only; the work happens in core (and gui for the window).

``--json`` prints exactly one JSON object on stdout; progress and notes go to stderr. Exit codes: 0 success,
2 a user error (with a message saying what to do), 1 a bug.
"""

from __future__ import annotations

from collections.abc import Sequence

from vqa_desk.cli.common import run
from vqa_desk.cli.parser import parse

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse(argv))
