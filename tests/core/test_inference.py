"""Evaluation runs against the sandbox: predictions stored, the cache, faults, resume, the Batch API."""

import shutil
from pathlib import Path

import pytest

from vqa_desk.core import evaluation, inference
from vqa_desk.core.errors import Cancelled
from vqa_desk.core.export import ExportOptions, export_workspace
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.providers import ProviderError
from vqa_desk.core.sampling import parse_sizes
from vqa_desk.core.workspace import Workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("eval")
    ws = root / "small.vqadesk"
    import_dataset("demo", ws, sizes=parse_sizes("10,0,8"))
    export_workspace(ws, root / "export", options=ExportOptions(few_shot=1, quality=60, max_side=320,
                                                                 estimate=False))
    return ws, root / "export"


@pytest.fixture
def ws(built: tuple[Path, Path], tmp_path: Path) -> Path:
    path = tmp_path / "ws.vqadesk"
    shutil.copy(built[0], path)
    return path


def _n_test_lines(export: Path) -> int:
    return sum(1 for line in (export / "test.jsonl").open("rb") if line.strip())


def test_every_question_answered_once_and_cached(ws, built, profile, client) -> None:
    export = built[1]
    first = inference.evaluate(ws, profile, client, "sandbox-ocr", export, concurrency=4)
    n = _n_test_lines(export)
    assert (first.questions, first.requested, first.cached, first.failed) == (n, n, 0, {})
    with Workspace.open(ws) as opened:
        rows = evaluation.prediction_rows(opened)
        assert len(rows) == n and all(r.answer for r in rows)
        assert evaluation.runs(opened)[0].status == "complete"
    again = inference.evaluate(ws, profile, client, "sandbox-ocr", export, concurrency=4)
    assert (again.requested, again.cached) == (0, n)  # a re-run never pays twice


def test_rate_limits_and_server_errors_are_retried_and_nothing_is_lost(ws, built, profile, client, server) -> None:
    server.faults.add("error", "/v1/chat/completions", status=429, retry_after=0.1, count=3)
    server.faults.add("error", "/v1/chat/completions", status=503, count=2)
    summary = inference.evaluate(ws, profile, client, "sandbox-ocr", built[1], concurrency=4)
    assert summary.failed == {} and summary.requested == summary.questions


def test_a_cancelled_run_resumes_where_it_stopped(ws, built, profile, client, server) -> None:
    import threading

    server.settings.latency = 0.05
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int, message: str) -> None:
        seen.append(done)
        if done >= 4:
            cancel.set()

    with pytest.raises(Cancelled):
        inference.evaluate(ws, profile, client, "sandbox-ocr", built[1], concurrency=2, progress=progress,
                           cancel=cancel)
    with Workspace.open(ws) as opened:
        kept = len(evaluation.prediction_rows(opened))
        assert evaluation.runs(opened)[0].status == "cancelled"
    assert kept >= 4
    server.settings.latency = 0
    resumed = inference.evaluate(ws, profile, client, "sandbox-ocr", built[1], concurrency=2)
    assert resumed.cached == kept and resumed.requested == resumed.questions - kept


def test_an_auth_error_stops_the_run_with_an_explanation(ws, built, profile, client, server) -> None:
    server.faults.add("error", "/v1/chat/completions", status=401, count=None)
    with pytest.raises(ProviderError, match="API key was refused"):
        inference.evaluate(ws, profile, client, "sandbox-ocr", built[1], concurrency=2)
    server.faults.clear()


def test_the_batch_api_path(ws, built, profile, client) -> None:
    summary = inference.evaluate(ws, profile, client, "sandbox-ocr", built[1], use_batch=True)
    assert summary.failed == {} and summary.requested == summary.questions
    with Workspace.open(ws) as opened:
        assert len(evaluation.prediction_rows(opened)) == summary.questions
        assert evaluation.runs(opened)[0].source == "batch"
    again = inference.evaluate(ws, profile, client, "sandbox-ocr", built[1], use_batch=True)
    assert again.requested == 0  # the batch results filled the same cache


def test_a_missing_export_is_a_clear_error(ws, profile, client, tmp_path) -> None:
    with pytest.raises(evaluation.EvaluationError, match="export the workspace"):
        inference.evaluate(ws, profile, client, "sandbox-ocr", tmp_path)


def test_an_interrupted_batch_is_picked_up_not_paid_twice(ws, built, profile, client, server) -> None:
    import threading

    server.settings.batch_delay = 0.05
    cancel = threading.Event()
    before = len(client.batches.list().data)

    def progress(done: int, total: int, message: str) -> None:
        if message.startswith("batch"):
            cancel.set()  # the batch exists at the provider; we stop waiting for it

    with pytest.raises(Cancelled):
        inference.evaluate(ws, profile, client, "sandbox-ocr", built[1], use_batch=True, progress=progress,
                           cancel=cancel)
    server.settings.batch_delay = 0
    resumed = inference.evaluate(ws, profile, client, "sandbox-ocr", built[1], use_batch=True)
    assert resumed.requested == 0 and resumed.failed == {}
    assert len(client.batches.list().data) == before + 1  # the same batch, not a second one
    with Workspace.open(ws) as opened:
        assert len(evaluation.prediction_rows(opened)) == resumed.questions
