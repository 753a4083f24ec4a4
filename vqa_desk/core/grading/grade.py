"""Grading a workspace: every prediction through the exact graders and one judge, stored in ``grades``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vqa_desk.core import evaluation
from vqa_desk.core.errors import Cancelled
from vqa_desk.core.evaluation import EvaluationError
from vqa_desk.core.grading.graded import opened
from vqa_desk.core.grading.graders import HEURISTIC, judge_name, lenient_correct, normalized_correct, strict_correct
from vqa_desk.core.grading.heuristic_judge import heuristic_rating
from vqa_desk.core.grading.llm_judge import JudgeStats, LLMJudge
from vqa_desk.core.grading.run_metrics import metrics
from vqa_desk.core.progress import ProgressFn, check_cancel, report
from vqa_desk.core.providers import ProviderKind, ProviderProfile, make_client
from vqa_desk.core.timeutil import utc_now
from vqa_desk.core.workspace import Workspace

# A grader's version is stored with each grade: bump it when the grader's rule changes.
_VERSIONS = {"strict": "1", "lenient": "1-cookbook", "normalized": "1", HEURISTIC: "1"}
_EXACT = {"strict": strict_correct, "lenient": lenient_correct, "normalized": normalized_correct}


@dataclass
class GradeSummary:
    runs: list[str]
    predictions: int
    judge: str
    judge_version: str
    stats: JudgeStats
    metrics: dict[str, dict[str, Any]]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"runs": self.runs, "predictions": self.predictions, "judge": self.judge,
                "judge_version": self.judge_version, "requests_sent": self.stats.sent,
                "cached": self.stats.cached, "decided_locally": self.stats.local, "refused": self.stats.refused,
                "failed": len(self.stats.failed), "seconds": round(self.seconds, 2), "metrics": self.metrics}


def grade_workspace(ws_or_path: Workspace | str | Path, *, judge: str = "heuristic",
                    profile: ProviderProfile | None = None, client: Any = None,
                    run_ids: Iterable[int] | None = None, concurrency: int = 8, progress: ProgressFn | None = None,
                    cancel: threading.Event | None = None) -> GradeSummary:
    """Grade every prediction (of ``run_ids``, default all runs) with strict, lenient, normalized and a judge.

    ``judge`` is "heuristic" (offline) or a model name for the LLM judge, called through ``client`` (or a
    client made from ``profile``). Grades replace earlier ones of the same grader (one row per prediction and
    grader) and record the label they were made against.
    """
    started = time.monotonic()
    grader = judge_name(judge)
    with opened(ws_or_path) as ws:
        rows = evaluation.prediction_rows(ws, run_ids)
        if not rows:
            raise EvaluationError("There are no predictions to grade. Run 'vqa-desk evaluate' first, or import "
                                  "predictions with 'vqa-desk grade --predictions FILE.jsonl'.")
        stats = JudgeStats()
        verdicts: dict[tuple[str, str, str], tuple[str | None, str]] = {}
        version = _VERSIONS[HEURISTIC]
        if grader == HEURISTIC:
            for i, row in enumerate(rows):
                if i % 500 == 0:
                    check_cancel(cancel)
                    report(progress, i, len(rows), f"{grader}: {i} of {len(rows)}")
                verdicts[(row.question, row.truth, row.answer)] = heuristic_rating(row.truth, row.answer)
            stats.local = len(verdicts)
        else:
            model = grader.removeprefix("judge:")
            if profile is None and client is None:
                raise EvaluationError(f"The LLM judge {model!r} needs a provider: choose a provider profile (for "
                                      "example --provider sandbox), or use --judge heuristic to grade offline.")
            if profile is None:
                profile = ProviderProfile("client", ProviderKind.COMPATIBLE)
            if client is None:
                client = make_client(profile, max_retries=0)  # our retry policy, not the client's
            llm = LLMJudge(model, client, profile, concurrency=concurrency)
            version = llm.version
            try:
                verdicts, stats = llm.rate(ws, [(r.question, r.truth, r.answer) for r in rows], progress=progress,
                                           cancel=cancel)
            except Cancelled:
                raise Cancelled("Grading stopped; no grades were changed. The judgements already received are "
                                "cached, so grading again continues where it stopped.") from None
        check_cancel(cancel)
        now = utc_now()
        records: list[tuple[int, str, str, str, int | None, str | None, str, str]] = []
        for row in rows:
            for name, fn in _EXACT.items():
                records.append((row.id, name, _VERSIONS[name], row.truth, int(fn(row.truth, row.answer)), None, "",
                                now))
            rating, reason = verdicts[(row.question, row.truth, row.answer)]
            records.append((row.id, grader, version, row.truth, None, rating, reason, now))
        with ws.transaction() as c:
            c.executemany(
                "INSERT INTO grades(prediction, grader, grader_version, truth, correct, rating, reason, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(prediction, grader) DO UPDATE SET "
                "grader_version = excluded.grader_version, truth = excluded.truth, correct = excluded.correct, "
                "rating = excluded.rating, reason = excluded.reason, created_at = excluded.created_at", records)
        report(progress, len(rows), len(rows), f"{len(rows)} predictions graded")
        return GradeSummary(runs=sorted({r.run_name for r in rows}), predictions=len(rows), judge=grader,
                            judge_version=version, stats=stats, metrics=metrics(ws, judge=grader, run_ids=run_ids),
                            seconds=time.monotonic() - started)
