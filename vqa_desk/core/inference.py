"""Evaluation runs: every test question to a model, with bounded concurrency, retries and a request cache.

Requests are the exported ``test.jsonl`` lines (the cookbook's few-shot layout, no answer) sent as chat
completions at temperature 0. Each response is cached under a hash of provider, model and request body, and
stored as a prediction as soon as it arrives, so a re-run never pays twice and a cancelled or crashed run
resumes where it stopped. The Batch API path (``use_batch``) sends the same requests as one JSONL file —
half the price, and how tens of thousands of questions are run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vqa_desk.core import evaluation
from vqa_desk.core.errors import Cancelled
from vqa_desk.core.evaluation import EvalRun, EvaluationError
from vqa_desk.core.progress import ProgressFn, check_cancel, report
from vqa_desk.core.providers import ProviderError, ProviderProfile, call_with_retries
from vqa_desk.core.workspace import Workspace

MAX_TOKENS = 64  # answers are a title, a name, a genre or Yes/No
_STORE_EVERY = 20


@dataclass
class RunSummary:
    run: EvalRun
    questions: int = 0
    requested: int = 0  # requests actually sent
    cached: int = 0  # answered from the cache, nothing sent
    failed: dict[int, str] = field(default_factory=dict)  # qa id -> why

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.name, "model": self.run.model, "questions": self.questions,
                "requested": self.requested, "cached": self.cached, "failed": len(self.failed)}


def request_key(provider: str, model: str, body: dict[str, Any]) -> str:
    blob = json.dumps({"provider": provider, "model": model, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def test_requests(export_dir: Path, model: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(qa id, chat request body) for every line of the export's test file, read one line at a time."""
    test_file, lines_csv = export_dir / "test.jsonl", export_dir / "lines.csv"
    if not test_file.exists() or not lines_csv.exists():
        raise EvaluationError(f"{export_dir} has no test.jsonl and lines.csv: export the workspace (openai format) "
                              "first, or give --export the folder of an export.")
    qa_of_line = {}
    with lines_csv.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["split"] == "test":
                qa_of_line[int(row["line"])] = int(row["qa_id"])
    with test_file.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            if number not in qa_of_line:
                raise EvaluationError(f"{test_file} line {number} is not in lines.csv: the two files are from "
                                      "different exports. Export again.")
            messages = json.loads(raw)["messages"]
            yield qa_of_line[number], {"model": model, "messages": messages, "temperature": 0,
                                       "max_tokens": MAX_TOKENS}


def evaluate(ws_path: Path, profile: ProviderProfile, client: Any, model: str, export_dir: Path, *,
             concurrency: int = 8, use_batch: bool = False, progress: ProgressFn | None = None,
             cancel: threading.Event | None = None) -> RunSummary:
    """Answer every test question with ``model``; predictions land in the workspace as they arrive."""
    with Workspace.open(ws_path) as ws:
        run = evaluation.get_or_create_run(ws, provider=profile.name, model=model,
                                           source="batch" if use_batch else "api",
                                           test_file=str(export_dir / "test.jsonl"),
                                           settings={"concurrency": concurrency, "max_tokens": MAX_TOKENS})
        summary = RunSummary(run)
        todo: list[tuple[int, dict[str, Any], str]] = []
        ready: list[tuple[int, str, str]] = []
        for qa_id, body in test_requests(export_dir, model):
            summary.questions += 1
            key = request_key(profile.name, model, body)
            hit = evaluation.cached(ws, key)
            if hit is not None:
                ready.append((qa_id, hit, key))
                summary.cached += 1
            else:
                todo.append((qa_id, body, key))
        evaluation.add_predictions(ws, run.id, ready)
        report(progress, summary.cached, summary.questions, f"{model}: {summary.cached} cached")
        try:
            if use_batch:
                _run_batch(ws, profile, client, run, todo, summary, progress, cancel)
            else:
                _run_concurrent(ws, profile, client, run, todo, summary, concurrency, progress, cancel)
        except Cancelled:
            evaluation.set_run_status(ws, run.id, "cancelled")
            raise
        except ProviderError:
            evaluation.set_run_status(ws, run.id, "failed")
            raise
        evaluation.set_run_status(ws, run.id, "complete" if not summary.failed else "incomplete")
        summary.run = next(r for r in evaluation.runs(ws) if r.id == run.id)
        return summary


def _answer(response: Any) -> str:
    choices = getattr(response, "choices", None) or []
    content = choices[0].message.content if choices else None
    return (content or "").strip()


def _run_concurrent(ws: Workspace, profile: ProviderProfile, client: Any, run: EvalRun,
                    todo: list[tuple[int, dict[str, Any], str]], summary: RunSummary, concurrency: int,
                    progress: ProgressFn | None, cancel: threading.Event | None) -> None:
    """Up to ``concurrency`` requests in flight; results are written from this thread only (SQLite)."""
    done_count = summary.cached
    buffer: list[tuple[int, str, str]] = []

    def flush() -> None:
        if buffer:
            evaluation.cache_many(ws, [(key, profile.name, run.model, answer) for _, answer, key in buffer])
            evaluation.add_predictions(ws, run.id, buffer)
            buffer.clear()

    def ask(body: dict[str, Any]) -> str:
        return _answer(call_with_retries(lambda: client.chat.completions.create(**body), profile, cancel))

    items = iter(todo)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        pending: dict[Future[str], tuple[int, str]] = {}
        try:
            while True:
                while len(pending) < concurrency * 2:
                    item = next(items, None)
                    if item is None:
                        break
                    qa_id, body, key = item
                    pending[pool.submit(ask, body)] = (qa_id, key)
                    summary.requested += 1
                if not pending:
                    break
                finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                check_cancel(cancel)
                for fut in finished:
                    qa_id, key = pending.pop(fut)
                    try:
                        buffer.append((qa_id, fut.result(), key))
                    except ProviderError as exc:
                        if exc.status in (401, 403, 404):
                            raise  # every other request would fail the same way
                        summary.failed[qa_id] = str(exc)
                    done_count += 1
                if len(buffer) >= _STORE_EVERY:
                    flush()
                report(progress, done_count, summary.questions, f"{run.model}: {done_count} answered")
        finally:
            if cancel is not None and cancel.is_set():
                for fut in pending:
                    fut.cancel()
            flush()  # whatever arrived is kept: a resumed run starts after it


def _run_batch(ws: Workspace, profile: ProviderProfile, client: Any, run: EvalRun,
               todo: list[tuple[int, dict[str, Any], str]], summary: RunSummary, progress: ProgressFn | None,
               cancel: threading.Event | None) -> None:
    """The Batch API: one JSONL of requests, uploaded, run by the provider, results downloaded.

    The batch id is stored before waiting; a run that was cancelled or cut off while the provider worked
    re-attaches to that batch instead of paying for the same requests again. Custom ids carry the request key,
    so only results for identical requests are taken from it.
    """
    if not todo:
        return
    wanted = {f"{qa_id}:{key[:16]}": (qa_id, key) for qa_id, _, key in todo}
    meta_key = f"batch:{run.name}"
    batch = _reattach_batch(ws, profile, client, meta_key, cancel)
    if batch is None:
        payload = io.BytesIO()
        for qa_id, body, key in todo:
            payload.write(json.dumps({"custom_id": f"{qa_id}:{key[:16]}", "method": "POST",
                                      "url": "/v1/chat/completions", "body": body}).encode() + b"\n")
        payload.seek(0)
        uploaded = call_with_retries(
            lambda: client.files.create(file=("requests.jsonl", payload, "application/jsonl"), purpose="batch"),
            profile, cancel, before_retry=lambda: payload.seek(0))
        batch = call_with_retries(lambda: client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"), profile, cancel)
        summary.requested += len(todo)
        ws.meta.set(meta_key, {"batch_id": batch.id, "input_file": uploaded.id})
    batch = _wait_for_batch(batch, profile, client, summary, progress, cancel)
    ws.meta.set(meta_key, None)  # finished one way or the other: the next run starts a new batch
    if batch.status != "completed" or not batch.output_file_id:
        raise EvaluationError(f"The batch ended {batch.status}; nothing from it was stored. Run again, or without "
                              "--batch.")
    output_id = batch.output_file_id
    content = call_with_retries(lambda: client.files.content(output_id).read(), profile, cancel)
    results: list[tuple[int, str, str]] = []
    for line in content.decode("utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        match = wanted.get(str(item.get("custom_id")))
        if match is None:
            continue  # a request of an earlier batch that this run no longer needs
        qa_id, key = match
        response = item.get("response") or {}
        if response.get("status_code") != 200:
            summary.failed[qa_id] = json.dumps(item.get("error") or response.get("body"))[:300]
            continue
        choices = (response.get("body") or {}).get("choices") or [{}]
        results.append((qa_id, ((choices[0].get("message") or {}).get("content") or "").strip(), key))
    evaluation.cache_many(ws, [(key, profile.name, run.model, answer) for _, answer, key in results])
    evaluation.add_predictions(ws, run.id, results)
    answered = {q for q, _, _ in results} | set(summary.failed)
    rest = [item for item in todo if item[0] not in answered]
    if rest and summary.requested == 0:
        _run_batch(ws, profile, client, run, rest, summary, progress, cancel)  # the re-attached batch was partial
    else:
        for qa_id, _, _ in rest:
            summary.failed[qa_id] = "no result for this request in the batch output"


def _reattach_batch(ws: Workspace, profile: ProviderProfile, client: Any, meta_key: str,
                    cancel: threading.Event | None) -> Any:
    stored = ws.meta.get(meta_key)
    if not stored:
        return None
    try:
        batch = call_with_retries(lambda: client.batches.retrieve(stored["batch_id"]), profile, cancel)
    except ProviderError:
        return None  # gone at the provider: start a new one
    return None if batch.status in ("failed", "expired", "cancelled", "cancelling") else batch


def _wait_for_batch(batch: Any, profile: ProviderProfile, client: Any, summary: RunSummary,
                    progress: ProgressFn | None, cancel: threading.Event | None) -> Any:
    import time

    delay = 1.0
    while batch.status not in ("completed", "failed", "expired", "cancelled"):
        if cancel is not None and cancel.wait(delay):
            raise Cancelled("Stopped waiting for the batch; it keeps running at the provider, and the next run "
                            "picks it up.")
        if cancel is None:
            time.sleep(delay)
        delay = min(delay * 1.5, 30.0)
        batch = call_with_retries(lambda b=batch.id: client.batches.retrieve(b), profile, cancel)
        counts = getattr(batch, "request_counts", None)
        if counts is not None:
            report(progress, summary.cached + int(counts.completed or 0), summary.questions, f"batch {batch.status}")
    return batch
