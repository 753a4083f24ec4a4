"""Undoable user actions. Each calls core through the session, so doing, undoing and redoing are all audited."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from vqa_desk.core.errors import VQADeskError
from vqa_desk.gui.session import Session


class ApplyFindingsCommand(QUndoCommand):
    """Apply the suggestions of some findings as one undo step; undo restores the answers and reopens them."""

    def __init__(self, session: Session, ids: list[int], text: str,
                 on_error: Callable[[str], None] | None = None) -> None:
        super().__init__(text)
        self._session, self._ids, self._on_error = session, ids, on_error

    def redo(self) -> None:
        self._guard(lambda: self._session.apply_findings(self._ids))

    def undo(self) -> None:
        self._guard(lambda: self._session.revert_findings(self._ids))

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except VQADeskError as exc:
            self.setObsolete(True)
            if self._on_error is not None:
                self._on_error(str(exc))


class DismissFindingsCommand(QUndoCommand):
    def __init__(self, session: Session, ids: list[int], reason: str) -> None:
        super().__init__(f"Dismiss {len(ids)} finding(s)")
        self._session, self._ids, self._reason = session, ids, reason

    def redo(self) -> None:
        self._guarded(self._reason)

    def undo(self) -> None:
        self._guarded(None)

    def _guarded(self, reason: str | None) -> None:
        try:
            self._session.set_dismissed(self._ids, reason)
        except VQADeskError:
            self.setObsolete(True)


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
        # Another writer (the CLI, a check) may have changed these answers since: never overwrite its work.
        changed = [qa for qa, _, new in self._changes if self._session.ws.qa(qa).answer != new]
        if changed:
            self.setObsolete(True)
            if self._on_error is not None:
                self._on_error(f"{len(changed)} of these answers changed since this edit (another program wrote "
                               "them); nothing was undone. Edit them directly instead.")
            return
        self._run([(qa, old) for qa, old, _ in self._changes], f"undo: {self._reason}", "user:undo")

    def _run(self, changes: list[tuple[int, str]], reason: str, source: str) -> None:
        try:
            self._session.apply(changes, reason=reason, source=source)
        except VQADeskError as exc:
            # Nothing was written (one transaction); drop the command rather than leave the stack lying.
            self.setObsolete(True)
            if self._on_error is not None:
                self._on_error(str(exc))
