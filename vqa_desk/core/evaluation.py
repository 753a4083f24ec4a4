"""Evaluation runs and their predictions, as stored in the workspace (schema 4).

A run is one model answering the test questions (through the API, the Batch API, or imported from a file).
Predictions are keyed by (run, QA pair); grading (``core/grading/``) reads them joined with the QA pairs'
*current* answers, so fixing a label and grading again is all it takes to see the effect.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vqa_desk.core.errors import VQADeskError
from vqa_desk.core.timeutil import utc_now
from vqa_desk.core.workspace import Workspace


class EvaluationError(VQADeskError):
    """An evaluation cannot run or its inputs do not fit the workspace."""


@dataclass(frozen=True)
class EvalRun:
    id: int
    name: str
    provider: str
    model: str
    source: str
    test_file: str | None
    settings: dict[str, Any]
    status: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class PredictionRow:
    id: int
    run_id: int
    run_name: str
    model: str
    qa_id: int
    image_pk: int
    image_id: str
    question: str
    qtype: str
    truth: str  # the QA pair's current answer
    original: str  # its answer at import
    answer: str  # what the model said


_RUN_COLUMNS = "id, name, provider, model, source, test_file, settings, status, created_at, updated_at"


def _run(row: tuple[Any, ...]) -> EvalRun:
    values = list(row)
    values[6] = json.loads(values[6] or "{}")
    return EvalRun(*values)


def run_name(provider: str, model: str) -> str:
    return f"{provider}:{model}"


def get_or_create_run(ws: Workspace, *, provider: str, model: str, source: str = "api", name: str | None = None,
                      test_file: str | None = None, settings: dict[str, Any] | None = None) -> EvalRun:
    """The run for this provider and model (re-running resumes it; the request cache avoids paying twice)."""
    name = name or run_name(provider, model)
    now = utc_now()
    with ws.transaction() as c:
        c.execute("INSERT INTO eval_runs(name, provider, model, source, test_file, settings, status, created_at, "
                  "updated_at) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?) ON CONFLICT(name) DO UPDATE SET "
                  "status = 'running', test_file = excluded.test_file, settings = excluded.settings, "
                  "updated_at = excluded.updated_at",
                  (name, provider, model, source, test_file, json.dumps(settings or {}), now, now))
    row = ws.connection.execute(f"SELECT {_RUN_COLUMNS} FROM eval_runs WHERE name = ?", (name,)).fetchone()
    return _run(row)


def set_run_status(ws: Workspace, run_id: int, status: str) -> None:
    with ws.transaction() as c:
        c.execute("UPDATE eval_runs SET status = ?, updated_at = ? WHERE id = ?", (status, utc_now(), run_id))


def runs(ws: Workspace) -> list[EvalRun]:
    return [_run(r) for r in ws.connection.execute(f"SELECT {_RUN_COLUMNS} FROM eval_runs ORDER BY id")]


def add_predictions(ws: Workspace, run_id: int, items: Iterable[tuple[int, str, str | None]]) -> int:
    """Store (qa id, answer, request key) triples; a QA pair answered again replaces its prediction."""
    now = utc_now()
    rows = [(run_id, qa, answer, key, now) for qa, answer, key in items]
    with ws.transaction() as c:
        c.executemany("INSERT INTO predictions(run, qa, answer, request_key, created_at) VALUES (?, ?, ?, ?, ?) "
                      "ON CONFLICT(run, qa) DO UPDATE SET answer = excluded.answer, "
                      "request_key = excluded.request_key, created_at = excluded.created_at", rows)
    return len(rows)


def answered(ws: Workspace, run_id: int) -> set[int]:
    return {qa for (qa,) in ws.connection.execute("SELECT qa FROM predictions WHERE run = ?", (run_id,))}


def prediction_rows(ws: Workspace, run_ids: Iterable[int] | None = None, *,
                    prediction_ids: Iterable[int] | None = None) -> list[PredictionRow]:
    """Predictions with their question and current label: of ``run_ids`` (default all), or just ``prediction_ids``."""
    sql = ("SELECT p.id, r.id, r.name, r.model, q.id, q.image, i.image_id, q.question, q.qtype, q.answer, "
           "q.original_answer, p.answer FROM predictions p JOIN eval_runs r ON r.id = p.run "
           "JOIN qa q ON q.id = p.qa JOIN images i ON i.id = q.image")
    where: list[str] = []
    args: list[Any] = []
    for column, values in (("r.id", run_ids), ("p.id", prediction_ids)):
        if values is not None:
            wanted = list(values)
            where.append(f"{column} IN ({','.join('?' * len(wanted))})")
            args += wanted
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [PredictionRow(*row) for row in ws.connection.execute(sql + " ORDER BY r.id, q.id", args)]


# ----- the request cache ---------------------------------------------------------------------------------

def cached(ws: Workspace, key: str) -> str | None:
    row = ws.connection.execute("SELECT response FROM request_cache WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def cache_many(ws: Workspace, items: Iterable[tuple[str, str, str, str]]) -> None:
    """Store (key, provider, model, response) tuples."""
    now = utc_now()
    with ws.transaction() as c:
        c.executemany("INSERT OR REPLACE INTO request_cache(key, provider, model, response, created_at) "
                      "VALUES (?, ?, ?, ?, ?)", [(*item, now) for item in items])
