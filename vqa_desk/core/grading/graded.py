"""Predictions read back with their grades against the current label: ``GradedRow`` and the stored judges.

Deterministic graders (strict, lenient, normalized, heuristic) are recomputed from the current label when rows
are read, so metrics always follow label fixes; their stored rows are the record (and the CSV source). LLM
judge ratings are read from the store and count as ungraded ("stale") once the label or the prediction
changed after grading. A human override (append-only; the newest counts, an empty rating withdraws it) beats
the judge.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vqa_desk.core import evaluation
from vqa_desk.core.evaluation import PredictionRow
from vqa_desk.core.grading.graders import (
    ACCEPTABLE,
    HEURISTIC,
    judge_name,
    lenient_correct,
    normalized_correct,
    strict_correct,
)
from vqa_desk.core.grading.heuristic_judge import heuristic_rating
from vqa_desk.core.grading.overrides import Override, current_overrides
from vqa_desk.core.questions import cookbook_type, is_closed_answer
from vqa_desk.core.workspace import Workspace


@contextmanager
def opened(ws_or_path: Workspace | str | Path) -> Iterator[Workspace]:
    """The workspace given, or one opened (and closed again) from a path."""
    if isinstance(ws_or_path, Workspace):
        yield ws_or_path
        return
    ws = Workspace.open(ws_or_path)
    try:
        yield ws
    finally:
        ws.close()


def judges(ws: Workspace) -> list[str]:
    """The judges with stored grades (the heuristic first: it is always available)."""
    stored = [g for (g,) in ws.connection.execute(
        "SELECT DISTINCT grader FROM grades WHERE grader LIKE 'judge:%' ORDER BY grader")]
    return [HEURISTIC, *[g for g in stored if g != HEURISTIC]]


@dataclass(frozen=True)
class GradedRow:
    """One prediction with its grades, as the review pane and the report show it."""

    prediction: PredictionRow
    judge: str
    strict: bool
    lenient: bool
    normalized: bool
    judge_rating: str | None  # None: not graded by this judge yet, or stale
    judge_reason: str
    stale: bool  # an LLM grade made against another label or answer (re-grade to refresh)
    override: Override | None

    @property
    def id(self) -> int:
        return self.prediction.id

    @property
    def qa_id(self) -> int:
        return self.prediction.qa_id

    @property
    def run_name(self) -> str:
        return self.prediction.run_name

    @property
    def closed(self) -> bool:
        return is_closed_answer(self.prediction.truth)

    @property
    def cookbook_type(self) -> str:
        return cookbook_type(self.prediction.question)

    @property
    def rating(self) -> str | None:
        """The effective rating: the newest human override, else the judge's."""
        return self.override.rating if self.override is not None else self.judge_rating

    @property
    def acceptable(self) -> bool | None:
        rating = self.rating
        return None if rating is None else rating in ACCEPTABLE


def graded_rows(ws: Workspace, *, judge: str = "heuristic", run_ids: Iterable[int] | None = None,
                prediction_ids: Iterable[int] | None = None) -> list[GradedRow]:
    """Every prediction (of ``run_ids``, or just ``prediction_ids``) with its grades against the current label."""
    grader = judge_name(judge)
    wanted = list(prediction_ids) if prediction_ids is not None else None
    rows = evaluation.prediction_rows(ws, run_ids, prediction_ids=wanted)  # a few: no full scan (Review's keys)
    stored: dict[int, tuple[str | None, str, str, bool]] = {}  # rating, reason, truth, answer newer than grade
    if grader != HEURISTIC:
        sql = ("SELECT g.prediction, g.rating, g.reason, g.truth, g.created_at, p.created_at FROM grades g "
               "JOIN predictions p ON p.id = g.prediction WHERE g.grader = ?")
        args: list[Any] = [grader]
        if wanted is not None:
            sql += f" AND g.prediction IN ({','.join('?' * len(wanted))})"
            args += wanted
        for pid, rating, reason, truth, graded_at, predicted_at in ws.connection.execute(sql, args):
            stored[pid] = (rating, reason or "", truth, predicted_at > graded_at)
    overrides = current_overrides(ws)
    out = []
    for row in rows:
        stale = False
        if grader == HEURISTIC:
            rating, reason = heuristic_rating(row.truth, row.answer)
        elif row.id in stored:
            rating, reason, truth, newer = stored[row.id]
            stale = truth != row.truth or newer
            if stale:
                rating = None
                reason = "Graded against another label or answer; grade again."
        else:
            rating, reason = None, ""
        out.append(GradedRow(row, grader, strict_correct(row.truth, row.answer),
                             lenient_correct(row.truth, row.answer), normalized_correct(row.truth, row.answer),
                             rating, reason, stale, overrides.get(row.id)))
    return out
