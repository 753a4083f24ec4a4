"""The Batch API: a JSONL file of ``/v1/chat/completions`` requests answered in the background.

Statuses validating -> in_progress -> finalizing -> completed (or failed when the input is not a batch file,
cancelling -> cancelled). Each input line ``{"custom_id", "method": "POST", "url": "/v1/chat/completions",
"body": {...}}`` gives one output line ``{"id", "custom_id", "response": {"status_code", "request_id",
"body"}, "error"}``; requests that fail (an unknown model, a bad image) go to the error file with their
OpenAI error body, as OpenAI does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from vqa_desk.sandbox.errors import APIError, bad_request, not_found
from vqa_desk.sandbox.runner import QueueRunner
from vqa_desk.sandbox.store import new_id

if TYPE_CHECKING:
    from vqa_desk.sandbox.engine import Engine

log = logging.getLogger("vqa_desk.sandbox")

ENDPOINTS = ("/v1/chat/completions",)
WINDOWS = ("24h",)
_ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")
_MAX_ERRORS = 100


class BatchRunner(QueueRunner):
    thread_name = "sandbox-batches"

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.start()

    def resume(self) -> None:
        store = self.engine.store
        for batch_id in store.ids("batch"):
            batch = store.get("batch", batch_id)
            if batch is None or batch["status"] not in _ACTIVE:
                continue
            if batch["status"] == "cancelling":
                self._set(batch_id, status="cancelled", cancelled_at=int(time.time()))
            else:
                self._set(batch_id, status="validating")
                self._submit(batch_id)

    # ----- API ----------------------------------------------------------------------------------------
    def create(self, body: Any) -> dict[str, Any]:
        engine = self.engine
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        file_id = body.get("input_file_id")
        if not isinstance(file_id, str) or not file_id:
            raise bad_request("Missing required parameter: 'input_file_id'.", param="input_file_id",
                              code="missing_required_parameter")
        source = engine.store.get("file", file_id)
        if source is None:
            raise not_found(f"No such File object: {file_id}", param="input_file_id")
        if source["purpose"] != "batch":
            raise bad_request(f"File {file_id} has purpose '{source['purpose']}'; a batch input needs purpose "
                              "'batch'.", param="input_file_id", code="invalid_file_purpose")
        endpoint = body.get("endpoint")
        if endpoint not in ENDPOINTS:
            raise bad_request(f"Invalid 'endpoint': the sandbox batches {', '.join(ENDPOINTS)} only.",
                              param="endpoint", code="invalid_value")
        window = body.get("completion_window", "24h")
        if window not in WINDOWS:
            raise bad_request("Invalid 'completion_window': use '24h'.", param="completion_window",
                              code="invalid_value")
        metadata = body.get("metadata")
        if metadata is not None and not (isinstance(metadata, dict) and len(metadata) <= 16
                                         and all(isinstance(v, str) for v in metadata.values())):
            raise bad_request("Invalid 'metadata': an object of at most 16 string pairs.", param="metadata",
                              code="invalid_value")
        now = int(time.time())
        batch = {
            "id": new_id("batch_"), "object": "batch", "endpoint": endpoint, "errors": None,
            "input_file_id": file_id, "completion_window": window, "status": "validating",
            "output_file_id": None, "error_file_id": None, "created_at": now, "in_progress_at": None,
            "expires_at": now + 24 * 3600, "finalizing_at": None, "completed_at": None, "failed_at": None,
            "expired_at": None, "cancelling_at": None, "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0}, "metadata": metadata,
            "model": None,
        }
        engine.store.put("batch", batch)
        self._submit(batch["id"])
        return public(batch)

    def get(self, batch_id: str) -> dict[str, Any]:
        batch = self.engine.store.get("batch", batch_id)
        if batch is None:
            raise not_found(f"No batch found with id '{batch_id}'.", param="batch_id")
        return public(batch)

    def list(self, *, after: str | None, limit: int) -> dict[str, Any]:
        items, more = self.engine.store.page("batch", after=after, limit=limit)
        data = [public(b) for b in items]
        page: dict[str, Any] = {"object": "list", "data": data, "has_more": more}
        if data:
            page.update(first_id=data[0]["id"], last_id=data[-1]["id"])
        return page

    def cancel(self, batch_id: str) -> dict[str, Any]:
        batch = self.get(batch_id)
        if batch["status"] not in ("validating", "in_progress", "finalizing"):
            raise APIError(409, f"Cannot cancel a batch with status '{batch['status']}'.", param="batch_id",
                           code="batch_not_cancellable")
        self._set(batch_id, status="cancelling", cancelling_at=int(time.time()))
        event = self._cancel.get(batch_id)
        if event is not None:
            event.set()
        return self.get(batch_id)

    # ----- work ---------------------------------------------------------------------------------------
    def _submit(self, batch_id: str) -> None:
        self._cancel[batch_id] = threading.Event()
        self._queue.put(batch_id)

    def _set(self, batch_id: str, **fields: Any) -> None:
        self.engine.store.update("batch", batch_id, lambda data, _extra: data.update(fields))

    def _loop(self) -> None:
        while not self._stop.is_set():
            batch_id = self._queue.get()
            if batch_id is None:
                return
            try:
                self._run(batch_id)
            except Exception as exc:
                log.exception("batch %s failed", batch_id)
                self._set(batch_id, status="failed", failed_at=int(time.time()),
                          errors={"object": "list", "data": [{"code": "server_error", "message": str(exc),
                                                              "param": None, "line": None}]})

    def _run(self, batch_id: str) -> None:
        engine = self.engine
        batch = engine.store.get("batch", batch_id)
        cancel = self._cancel.setdefault(batch_id, threading.Event())
        if batch is None or batch["status"] != "validating":
            return
        requests, errors = _read_input(engine.store.file_path(batch["input_file_id"]), batch["endpoint"])
        if errors:
            self._set(batch_id, status="failed", failed_at=int(time.time()),
                      errors={"object": "list", "data": errors[:_MAX_ERRORS]})
            return
        models = {r["body"].get("model") for r in requests if isinstance(r.get("body"), dict)}
        self._set(batch_id, status="in_progress", in_progress_at=int(time.time()),
                  model=next(iter(models)) if len(models) == 1 else None,
                  request_counts={"total": len(requests), "completed": 0, "failed": 0})
        out_lines: list[str] = []
        err_lines: list[str] = []
        usage = {"input_tokens": 0, "output_tokens": 0}
        for n, request in enumerate(requests, start=1):
            if cancel.is_set() or self._stop.is_set():
                break
            if engine.settings.batch_delay:
                cancel.wait(engine.settings.batch_delay)
            line = {"id": new_id("batch_req_"), "custom_id": request["custom_id"]}
            try:
                body = engine.chat_sync(request["body"])
                usage["input_tokens"] += body["usage"]["prompt_tokens"]
                usage["output_tokens"] += body["usage"]["completion_tokens"]
                out_lines.append(json.dumps({**line, "response": {"status_code": 200, "request_id": new_id("req_"),
                                                                   "body": body}, "error": None}))
            except APIError as exc:
                err_lines.append(json.dumps({**line, "response": {"status_code": exc.status,
                                                                   "request_id": new_id("req_"),
                                                                   "body": exc.body()}, "error": None}))
            if n % 20 == 0 or n == len(requests):
                self._set(batch_id, request_counts={"total": len(requests), "completed": len(out_lines),
                                                    "failed": len(err_lines)})
        if self._stop.is_set() and not cancel.is_set():
            return  # the server stops: the batch runs again when it starts
        cancelled = cancel.is_set()
        if not cancelled:
            self._set(batch_id, status="finalizing", finalizing_at=int(time.time()))
        fields: dict[str, Any] = {"request_counts": {"total": len(requests), "completed": len(out_lines),
                                                     "failed": len(err_lines)},
                                  "usage": {"input_tokens": usage["input_tokens"],
                                            "input_tokens_details": {"cached_tokens": 0},
                                            "output_tokens": usage["output_tokens"],
                                            "output_tokens_details": {"reasoning_tokens": 0},
                                            "total_tokens": usage["input_tokens"] + usage["output_tokens"]}}
        if out_lines:
            fields["output_file_id"] = engine.save_result_file(batch_id, _jsonl(out_lines), purpose="batch_output",
                                                               filename=f"{batch_id}_output.jsonl")
        if err_lines:
            fields["error_file_id"] = engine.save_result_file(batch_id, _jsonl(err_lines), purpose="batch_output",
                                                              filename=f"{batch_id}_error.jsonl")
        now = int(time.time())
        fields.update({"status": "cancelled", "cancelled_at": now} if cancelled else
                      {"status": "completed", "completed_at": now})
        self._set(batch_id, **fields)


def _jsonl(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _read_input(path: Any, endpoint: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The requests of a batch input file, or the errors that make it unusable (with line numbers)."""
    requests: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                errors.append(_error("invalid_json_line", f"Line {lineno} is not valid JSON.", lineno))
                continue
            if not isinstance(obj, dict):
                errors.append(_error("invalid_request", f"Line {lineno} is not a JSON object.", lineno))
                continue
            custom_id = obj.get("custom_id")
            if not isinstance(custom_id, str) or not custom_id:
                errors.append(_error("missing_required_parameter", f"Line {lineno} has no 'custom_id'.", lineno,
                                     "custom_id"))
            elif custom_id in seen:
                errors.append(_error("duplicate_custom_id", f"The custom_id '{custom_id}' on line {lineno} is used "
                                     "before; each request needs its own.", lineno, "custom_id"))
            seen.add(custom_id if isinstance(custom_id, str) else "")
            if obj.get("method") != "POST":
                errors.append(_error("invalid_method", f"Line {lineno}: the method must be POST.", lineno, "method"))
            if obj.get("url") != endpoint:
                errors.append(_error("mismatched_endpoint", f"Line {lineno}: the url must be {endpoint}, the batch's "
                                     "endpoint.", lineno, "url"))
            if not isinstance(obj.get("body"), dict):
                errors.append(_error("invalid_request", f"Line {lineno} has no request 'body' object.", lineno,
                                     "body"))
            requests.append(obj)
    if not requests and not errors:
        errors.append(_error("empty_file", "The batch input file has no requests.", None))
    return requests, errors


def _error(code: str, message: str, line: int | None, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}


def public(batch: dict[str, Any]) -> dict[str, Any]:
    """The batch as the API shows it: fields not set yet are left out (the schema has them non-nullable)."""
    return {k: v for k, v in batch.items() if v is not None}
