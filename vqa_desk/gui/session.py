"""The open workspace as the GUI sees it: the core objects plus a signal when answers change."""

from __future__ import annotations

import gc
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from vqa_desk.core import findings
from vqa_desk.core.browse import CoverIndex
from vqa_desk.core.workspace import AnswerChange, Edit, Workspace


def settle_heap() -> None:
    """Move the long-lived objects just loaded out of the garbage collector's sight.

    The index of a full OCR-VQA workspace is ~1M objects; a full collection walking them takes ~100 ms, and
    Python runs it on whichever thread allocates next, often the GUI thread in the middle of a scroll.
    """
    gc.collect()
    gc.freeze()


class Session(QObject):
    answers_changed = Signal(list)  # image pks whose answers changed
    findings_changed = Signal()

    def __init__(self, ws: Workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.index = CoverIndex.load(ws)
        settle_heap()


    @property
    def path(self) -> Path:
        return self.ws.path

    def apply(self, changes: list[tuple[int, str]], *, reason: str, source: str) -> list[Edit]:
        """Write answers through core (one transaction, audited) and refresh what depends on them."""
        made = self.ws.set_answers([AnswerChange(qa, new) for qa, new in changes], reason=reason, source=source)
        images = sorted({self.ws.qa(qa).image_pk for qa, _ in changes})
        for pk in images:
            self.index.update_cover(self.ws, pk)
        self.answers_changed.emit(images)
        return made

    def apply_findings(self, ids: list[int]) -> None:
        edits = findings.apply(self.ws, ids, source="check")
        self._after_findings(edits)

    def revert_findings(self, ids: list[int]) -> None:
        edits = findings.revert(self.ws, ids)
        self._after_findings(edits)

    def set_dismissed(self, ids: list[int], reason: str | None) -> None:
        """Dismiss with a reason, or (reason None) open the findings again."""
        if reason is None:
            findings.reopen(self.ws, ids)
        else:
            findings.dismiss(self.ws, ids, reason)
        self.findings_changed.emit()

    def _after_findings(self, edits: list[Edit]) -> None:
        images = sorted({self.ws.qa(e.qa_id).image_pk for e in edits})
        for pk in images:
            self.index.update_cover(self.ws, pk)
        self.answers_changed.emit(images)
        self.findings_changed.emit()

    def close(self) -> None:
        self.ws.close()
        gc.unfreeze()  # let cyclic garbage from this workspace be collected again
