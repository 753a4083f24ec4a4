"""Command line: argument parsing and output only; the work happens in core (and gui for the window)."""

from vqa_desk.cli.parser import main

__all__ = ["main"]
