"""Undoable user actions. Each calls core through the session, so doing, undoing and redoing are all audited."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from vqa_desk.core.errors import VQADeskError
from vqa_desk.gui.session import Session


class SetAnswersCommand(QUndoCommand):
    """Set one or many answers as one undo step. ``changes`` are (qa_id, old, new)."""

    def __init__(self, session: Session, changes: list[tuple[int, str, str]], text: str, *, reason: str = "",
                 on_error: Callable[[str], None] | None = None) -> None:
        super().__init__(text)
        self._session = session
        self._changes = [c for c in changes if c[1] != c[2]]
        self._reason = reason or text
        self._on_error = on_error
        self._done_once = False

    def redo(self) -> None:
        source = "user:redo" if self._done_once else "user"
        self._run([(qa, new) for qa, _, new in self._changes], self._reason, source)
        self._done_once = True

    def undo(self) -> None:
        self._run([(qa, old) for qa, old, _ in self._changes], f"undo: {self._reason}", "user:undo")

    def _run(self, changes: list[tuple[int, str]], reason: str, source: str) -> None:
        try:
            self._session.apply(changes, reason=reason, source=source)
        except VQADeskError as exc:
            # Nothing was written (one transaction); drop the command rather than leave the stack lying.
            self.setObsolete(True)
            if self._on_error is not None:
                self._on_error(str(exc))
