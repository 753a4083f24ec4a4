"""Typed errors a curator can act on.

Core raises these with a message that says what happened and what to do. The CLI prints the message and
exits with code 2; the GUI shows it without blocking. Anything else escaping core is a bug (exit code 1).
"""


class VQADeskError(Exception):
    """Base class for errors caused by input or environment, not by a bug."""


class WorkspaceError(VQADeskError):
    """The workspace file is missing, unreadable, from a newer version, or not a workspace at all."""


class SourceError(VQADeskError):
    """A dataset source cannot be read or does not have the OCR-VQA layout."""


class SamplingError(VQADeskError):
    """Requested sample sizes or seed do not fit the source."""


class Cancelled(VQADeskError):
    """A long operation was stopped by the user; nothing half-done was kept."""
