"""What the Review pane shows, read in one snapshot of the workspace: the function the pane runs on a worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vqa_desk.core import grading
from vqa_desk.core.workspace import Workspace


@dataclass
class Evaluation:
    """Everything the pane shows, read in one go."""

    judge: str = grading.HEURISTIC
    graded: list[grading.GradedRow] = field(default_factory=list)
    flipset: grading.FlipSet | None = None
    suspects: set[int] = field(default_factory=set)


def read_evaluation(path: Path) -> Evaluation:
    """Runs on a worker, with its own connection (SQLite connections stay on their thread)."""
    with Workspace.open(path) as ws:
        ws.connection.execute("BEGIN")  # one snapshot: a commit elsewhere cannot land between the queries
        try:
            judge = grading.judges(ws)[-1]
            graded = grading.graded_rows(ws, judge=judge)
            if not graded:
                return Evaluation(judge)
            return Evaluation(judge, graded, grading.flips_for(graded),
                              {s.qa_id for s in grading.label_suspects(ws, graded)})
        finally:
            ws.connection.rollback()
