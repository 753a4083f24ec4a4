"""Accuracy per run: strict, lenient and normalized by closed/open questions, judge accuracy by question type."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from vqa_desk.core.evaluation import PredictionRow
from vqa_desk.core.grading.graded import GradedRow, graded_rows, opened
from vqa_desk.core.grading.graders import RATINGS, UNGRADED
from vqa_desk.core.questions import QuestionType
from vqa_desk.core.workspace import Workspace

COOKBOOK_TYPES = ("Title", "Genre", "Author", "Other")


def _pct(k: int, n: int) -> float | None:
    return round(100.0 * k / n, 2) if n else None


def _accuracy_by(rows: Sequence[GradedRow], key: Callable[[GradedRow], str], order: Sequence[str]
                 ) -> tuple[dict[str, float | None], dict[str, int]]:
    """Judge accuracy and row count per group, known groups in ``order`` first."""
    groups: dict[str, list[GradedRow]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    accuracy: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for name in [*order, *sorted(set(groups) - set(order))]:
        if name in groups:
            members = [r for r in groups[name] if r.rating is not None]
            accuracy[name] = _pct(sum(1 for r in members if r.acceptable), len(members))
            counts[name] = len(groups[name])
    return accuracy, counts


def _metrics_of(rows: Sequence[GradedRow]) -> dict[str, Any]:
    closed = [r for r in rows if r.closed]
    open_ = [r for r in rows if not r.closed]
    graded = [r for r in rows if r.rating is not None]
    ratings = Counter(r.rating or UNGRADED for r in rows)
    # The cookbook's buckets (by exact question text) and VQA Desk's finer question types, kept apart.
    by_type, by_type_n = _accuracy_by(rows, lambda r: r.cookbook_type, COOKBOOK_TYPES)
    by_qtype, by_qtype_n = _accuracy_by(rows, lambda r: r.prediction.qtype, [t.value for t in QuestionType])
    first = rows[0].prediction
    return {
        "run": first.run_name, "model": first.model, "judge": rows[0].judge,
        "n": len(rows), "n_closed": len(closed), "n_open": len(open_),
        "closed_strict": _pct(sum(r.strict for r in closed), len(closed)),
        "closed_lenient": _pct(sum(r.lenient for r in closed), len(closed)),
        "open_strict": _pct(sum(r.strict for r in open_), len(open_)),
        "open_lenient": _pct(sum(r.lenient for r in open_), len(open_)),
        "closed_normalized": _pct(sum(r.normalized for r in closed), len(closed)),
        "open_normalized": _pct(sum(r.normalized for r in open_), len(open_)),
        "judge_accuracy": _pct(sum(1 for r in graded if r.acceptable), len(graded)),
        "by_type": by_type, "by_type_n": by_type_n, "by_question_type": by_qtype, "by_question_type_n": by_qtype_n,
        "ratings": {k: ratings[k] for k in (*RATINGS, UNGRADED) if k in RATINGS or ratings[k]},
        "overridden": sum(1 for r in rows if r.override is not None),
    }


def metrics_for(items: Iterable[GradedRow | PredictionRow | int], *, ws: Workspace | None = None,
                judge: str = "heuristic") -> dict[str, dict[str, Any]]:
    """Metrics per run (keyed by run name, in run order) over any subset of predictions.

    ``items`` are GradedRows (no workspace needed: the review pane passes its filtered rows), or prediction ids
    / PredictionRows together with ``ws``. Percentages are 0..100 rounded to 2 decimals, None for an empty set.
    """
    items = list(items)
    rows = [i for i in items if isinstance(i, GradedRow)]
    other = [i for i in items if not isinstance(i, GradedRow)]
    if other:
        if ws is None:
            raise ValueError("metrics_for needs ws= for prediction ids or PredictionRows")
        ids = {i.id if isinstance(i, PredictionRow) else int(i) for i in other}
        rows += graded_rows(ws, judge=judge, prediction_ids=ids)
    by_run: dict[int, list[GradedRow]] = {}
    for r in sorted(rows, key=lambda r: (r.prediction.run_id, r.prediction.qa_id)):
        by_run.setdefault(r.prediction.run_id, []).append(r)
    return {group[0].run_name: _metrics_of(group) for group in by_run.values()}


def metrics(ws_or_path: Workspace | str | Path, *, judge: str = "heuristic", run_ids: Iterable[int] | None = None
            ) -> dict[str, dict[str, Any]]:
    """``metrics_for`` over every prediction (of ``run_ids``): what ``grade --json`` and ``demo --json`` print."""
    with opened(ws_or_path) as ws:
        return metrics_for(graded_rows(ws, judge=judge, run_ids=run_ids))
