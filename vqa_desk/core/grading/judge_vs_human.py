"""Human vs judge: the confusion matrix of judge ratings against overrides, and Cohen's kappa."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vqa_desk.core.grading.graded import GradedRow, graded_rows
from vqa_desk.core.grading.graders import HEURISTIC, RATINGS
from vqa_desk.core.workspace import Workspace


def cohen_kappa(pairs: Sequence[tuple[str, str]], labels: Sequence[str] = RATINGS) -> float | None:
    """Cohen's kappa of two raters' labels; None when undefined (no pairs, or chance agreement is 1)."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(1 for a, b in pairs if a == b) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[k] * second[k] for k in set(labels) | set(first) | set(second)) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


@dataclass(frozen=True)
class Agreement:
    """Judge rating (rows) against the newest human override (columns), over overridden predictions."""

    judge: str
    matrix: dict[str, dict[str, int]]
    n: int
    observed: float | None  # share of predictions where the human kept the judge's rating
    kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"judge": self.judge, "labels": list(RATINGS), "matrix": self.matrix, "n": self.n,
                "observed": None if self.observed is None else round(self.observed, 4),
                "kappa": None if self.kappa is None else round(self.kappa, 4)}


def agreement_for(rows: Iterable[GradedRow]) -> Agreement:
    rows = list(rows)
    pairs: list[tuple[str, str]] = []
    for r in rows:
        if r.override is not None and r.judge_rating is not None:
            pairs.append((r.judge_rating, r.override.rating))
    matrix = {j: {h: 0 for h in RATINGS} for j in RATINGS}
    for j, h in pairs:
        matrix[j][h] += 1
    n = len(pairs)
    observed = sum(1 for j, h in pairs if j == h) / n if n else None
    return Agreement(rows[0].judge if rows else HEURISTIC, matrix, n, observed, cohen_kappa(pairs))


def agreement(ws: Workspace, *, judge: str = "heuristic", run_ids: Iterable[int] | None = None) -> Agreement:
    return agreement_for(graded_rows(ws, judge=judge, run_ids=run_ids))
