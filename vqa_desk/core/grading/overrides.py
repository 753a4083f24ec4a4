"""Human overrides of a judge's rating: append-only, the newest counts, an empty rating withdraws it."""

from __future__ import annotations

from dataclasses import dataclass

from vqa_desk.core.evaluation import EvaluationError
from vqa_desk.core.grading.graders import RATINGS
from vqa_desk.core.timeutil import utc_now
from vqa_desk.core.workspace import Workspace


@dataclass(frozen=True)
class Override:
    id: int
    prediction_id: int
    rating: str  # "" withdraws earlier overrides: the judge's rating counts again
    who: str
    reason: str
    created_at: str


def _check_rating(rating: str | None) -> str:
    if rating is None or rating == "":
        return ""
    for known in RATINGS:
        if rating.strip().casefold() == known.casefold():
            return known
    raise EvaluationError(f"{rating!r} is not a rating; use one of: {', '.join(RATINGS)}.")


def override(ws: Workspace, prediction_id: int, rating: str | None, who: str, reason: str = "") -> Override:
    """Record a human rating for a prediction (append-only; the newest counts). ``None``/"" withdraws it."""
    value = _check_rating(rating)
    if not who.strip():
        raise EvaluationError("An override needs the name of who made it.")
    if ws.connection.execute("SELECT 1 FROM predictions WHERE id = ?", (prediction_id,)).fetchone() is None:
        raise EvaluationError(f"No prediction with id {prediction_id} in {ws.path.name}.")
    now = utc_now()
    with ws.transaction() as c:
        cur = c.execute("INSERT INTO grade_overrides(prediction, rating, who, reason, created_at) "
                        "VALUES (?, ?, ?, ?, ?)", (prediction_id, value, who.strip(), reason, now))
    return Override(int(cur.lastrowid or 0), prediction_id, value, who.strip(), reason, now)


def override_history(ws: Workspace, prediction_id: int) -> list[Override]:
    rows = ws.connection.execute("SELECT id, prediction, rating, who, reason, created_at FROM grade_overrides "
                                 "WHERE prediction = ? ORDER BY id", (prediction_id,))
    return [Override(*r) for r in rows]


def current_overrides(ws: Workspace) -> dict[int, Override]:
    rows = ws.connection.execute(
        "SELECT id, prediction, rating, who, reason, created_at FROM grade_overrides WHERE id IN "
        "(SELECT max(id) FROM grade_overrides GROUP BY prediction)")
    return {r[1]: Override(*r) for r in rows if r[2]}
