"""Label suspects: the models agree with each other and with the cover's OCR text, but not with the label."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vqa_desk.core import evaluation
from vqa_desk.core.checks import normalize as cover_normalize
from vqa_desk.core.checks import shows
from vqa_desk.core.evaluation import PredictionRow
from vqa_desk.core.grading.graded import GradedRow
from vqa_desk.core.grading.graders import extract_answer
from vqa_desk.core.ocr import lines_for
from vqa_desk.core.questions import QuestionType, is_closed_answer
from vqa_desk.core.workspace import Workspace


@dataclass(frozen=True)
class LabelSuspect:
    """The models agree with each other and with the cover's text, but not with the label."""

    qa_id: int
    image_pk: int
    image_id: str
    question: str
    label: str
    answer: str  # what the models said (as the first run wrote it)
    runs: tuple[str, ...]
    cover_text: str  # the cover lines that show the answer
    label_on_cover: bool  # the label's text is printed too (then the label likely adds catalogue text)


def label_suspects(ws: Workspace, rows: Sequence[GradedRow | PredictionRow] | None = None, *,
                   run_ids: Iterable[int] | None = None, min_models: int = 2) -> list[LabelSuspect]:
    """Open questions where at least ``min_models`` runs give the same answer (normalised, verbose replies cut
    to their answer), the label says something else, and the cover's OCR text shows the models' answer."""
    preds = [r.prediction if isinstance(r, GradedRow) else r for r in rows] if rows is not None else \
        evaluation.prediction_rows(ws, run_ids)
    by_qa: dict[int, list[PredictionRow]] = {}
    for p in preds:
        by_qa.setdefault(p.qa_id, []).append(p)
    out: list[LabelSuspect] = []
    for qa_id, group in sorted(by_qa.items()):
        first = group[0]
        if len({p.run_id for p in group}) < min_models or is_closed_answer(first.truth) \
                or first.qtype == QuestionType.YES_NO:
            continue
        answers = {cover_normalize(extract_answer(p.answer)) for p in group}
        if len(answers) != 1:
            continue
        answer = answers.pop()
        if not answer or answer in ("yes", "no") or answer == cover_normalize(first.truth):
            continue
        lines = lines_for(ws, first.image_pk)
        cover = cover_normalize(" ".join(line.text for line in lines))
        if not shows(cover, answer):
            continue
        evidence = [line.text for line in lines
                    if (n := cover_normalize(line.text)) and (n in answer or answer in n)]
        out.append(LabelSuspect(qa_id, first.image_pk, first.image_id, first.question, first.truth,
                                extract_answer(first.answer), tuple(sorted({p.run_name for p in group})),
                                " / ".join(evidence) or " ".join(line.text for line in lines)[:200],
                                bool(first.truth.strip()) and shows(cover, first.truth)))
    return out


def suspect_ids(ws: Workspace, rows: Sequence[GradedRow | PredictionRow] | None = None) -> set[int]:
    """The QA ids of ``label_suspects`` (the review pane's filter)."""
    return {s.qa_id for s in label_suspects(ws, rows)}
