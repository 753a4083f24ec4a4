"""The sandbox's behaviour, without HTTP: files, fine-tuning jobs, models, chat answers, batches.

``app.py`` maps requests onto these methods; they raise ``APIError`` with OpenAI's status, message and code,
and return the JSON objects OpenAI returns (validated against its OpenAPI schemas in the tests).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vqa_desk.core.ocr import OcrLine
from vqa_desk.core.validate import PROVIDERS, ValidateError, validate_file
from vqa_desk.local.protocol import LOCAL_HYPERPARAMETERS
from vqa_desk.sandbox import chat
from vqa_desk.sandbox.batches import BatchRunner
from vqa_desk.sandbox.errors import APIError, bad_request, model_not_found, not_found
from vqa_desk.sandbox.local_jobs import LocalJobRunner
from vqa_desk.sandbox.reader import CoverReader
from vqa_desk.sandbox.store import Store, new_id
from vqa_desk.sandbox.training import TERMINAL, JobRunner, checkpoint_metrics
from vqa_desk.sandbox.vqa_model import BASE_MODEL, OcrVqaModel, StepMetrics

log = logging.getLogger("vqa_desk.sandbox")

ORGANIZATION = "org-sandbox"
FILE_PURPOSES = ("fine-tune", "batch")
_SUFFIX = re.compile(r"^[A-Za-z0-9_.-]*$")
_CREATED = 1_767_225_600  # 2026-01-01: when the base models "appeared"
_MODEL_CACHE = 16


@dataclass
class SandboxSettings:
    """Knobs a test or the GUI turns. The three delays can also be changed while the server runs (attribute or
    ``PATCH /_sandbox/settings``)."""

    step_delay: float = 0.05  # seconds per training step (and per job phase); 0 in tests
    latency: float = 0.0  # seconds added to every API request (benchmarks of concurrent clients)
    batch_delay: float = 0.0  # seconds per request of a batch
    validate_provider: str = "openai"  # core.validate rules uploaded training files must pass
    ocr_workers: int = 2  # threads reading covers (each holds an OCR engine)
    max_upload_bytes: int = 512 * 1024 * 1024  # OpenAI's Files API limit
    local: bool = False  # also fine-tune and serve open vision-language models (the 'local' provider)
    local_models_loaded: int = 1  # local models kept in memory for chat (each may take GBs)


class Engine:
    def __init__(self, state_dir: Path, settings: SandboxSettings | None = None) -> None:
        self.settings = settings or SandboxSettings()
        if self.settings.validate_provider not in PROVIDERS:
            raise ValueError(f"unknown validation provider {self.settings.validate_provider!r}")
        self.store = Store(state_dir)
        self.reader = CoverReader(self.settings.ocr_workers)
        self._models: OrderedDict[str, OcrVqaModel] = OrderedDict()
        self._models_lock = threading.Lock()
        self._base = {BASE_MODEL: OcrVqaModel()}
        self.jobs = JobRunner(self)
        self.local_jobs: LocalJobRunner | None = LocalJobRunner(self) if self.settings.local else None
        self._local_models: OrderedDict[str, Any] = OrderedDict()
        self._local_lock = threading.Lock()
        self.batches = BatchRunner(self)
        self._resume()

    def close(self) -> None:
        self.jobs.stop()
        if self.local_jobs is not None:
            self.local_jobs.stop()
        self.batches.stop()
        self.reader.close()
        self.store.close()

    def _resume(self) -> None:
        """Jobs and batches a previous server left unfinished start again from the beginning."""
        for job_id in self.store.ids("job"):
            job = self.store.get("job", job_id)
            if job is not None and job["status"] not in TERMINAL and self._is_local_job(job_id):
                if self.local_jobs is not None:
                    self.local_jobs.resume(job_id)
            elif job is not None and job["status"] not in TERMINAL:
                self.event(job_id, "The sandbox restarted; the job starts again from the beginning", level="warn")
                self.update_job(job_id, lambda d: d.update(status="validating_files"))
                self.jobs.submit(job_id)
        self.batches.resume()

    # ----- models -------------------------------------------------------------------------------------
    def base_of(self, name: str) -> str:
        if name in self._base:
            return name
        extra = self.store.extra("model", name) or self.store.extra("checkpoint_model", name) or {}
        return str(extra.get("base", BASE_MODEL))

    def model(self, name: str) -> OcrVqaModel:
        if name in self._base:
            return self._base[name]
        with self._models_lock:
            cached = self._models.get(name)
            if cached is not None:
                self._models.move_to_end(name)
                return cached
        extra = self.store.extra("model", name) or self.store.extra("checkpoint_model", name)
        if extra is None or "state" not in extra:
            raise model_not_found(name)
        model = OcrVqaModel.from_json(extra["state"])
        with self._models_lock:
            self._models[name] = model
            while len(self._models) > _MODEL_CACHE:
                self._models.popitem(last=False)
        return model

    def model_object(self, name: str) -> dict[str, Any]:
        if name in self._base:
            return {"id": name, "object": "model", "created": _CREATED, "owned_by": "sandbox"}
        obj = self.store.get("model", name)
        if obj is None:
            raise model_not_found(name)
        return obj

    def list_models(self) -> dict[str, Any]:
        data = [self.model_object(name) for name in self._base]
        data += self.store.page("model", limit=10_000, newest_first=False)[0]
        return {"object": "list", "data": data}

    def delete_model(self, name: str) -> dict[str, Any]:
        if name in self._base:
            raise APIError(403, "You cannot delete a base model.", type="invalid_request_error", param="model",
                           code="model_not_deletable")
        if not self.store.delete("model", name):
            raise model_not_found(name)
        with self._models_lock:
            self._models.pop(name, None)
        return {"id": name, "object": "model", "deleted": True}

    def save_model(self, name: str, state: dict[str, Any], job_id: str) -> None:
        obj = {"id": name, "object": "model", "created": int(time.time()), "owned_by": ORGANIZATION}
        self.store.put("model", obj, parent=job_id, extra={"state": state, "job": job_id, "base": state["base"]})

    # ----- files --------------------------------------------------------------------------------------
    def add_file(self, tmp: Path, filename: str, purpose: str) -> dict[str, Any]:
        """Take an uploaded file (already written under the state folder) into the store, validating training
        files first. ``tmp`` is consumed: moved into place or removed."""
        try:
            if purpose not in FILE_PURPOSES:
                raise bad_request(f"'{purpose}' is not one of {list(FILE_PURPOSES)} - 'purpose'. The sandbox takes "
                                  "training files (fine-tune) and batch inputs (batch).", param="purpose",
                                  code="invalid_value")
            size = tmp.stat().st_size
            if size == 0:
                raise bad_request("The file is empty.", param="file", code="invalid_file")
            extra: dict[str, Any] = {}
            if purpose == "fine-tune":
                extra["validation"] = self._validate_upload(tmp)
            file_id = new_id("file-")
            os.replace(tmp, self.store.file_path(file_id))
        finally:
            tmp.unlink(missing_ok=True)
        obj = {"id": file_id, "object": "file", "bytes": size, "created_at": int(time.time()),
               "filename": filename or "upload", "purpose": purpose, "status": "processed"}
        return self.store.put("file", obj, extra=extra)

    def _validate_upload(self, path: Path) -> dict[str, Any]:
        provider = self.settings.validate_provider
        try:
            report = validate_file(path, provider)
        except ValidateError as exc:
            raise bad_request(str(exc), param="file", code="invalid_file") from exc
        errors = [issue.message for issue in report.errors]
        if errors:
            raise APIError(400, f"The training file does not pass {PROVIDERS[provider].label}'s checks: "
                           + " ".join(errors), param="file", code="invalid_training_file")
        return {"ok": True, "errors": [], "warnings": [issue.message for issue in report.warnings],
                "examples": report.stats.examples, "tokens": report.stats.tokens.charged_tokens,
                "provider": provider}

    def file_object(self, file_id: str) -> dict[str, Any]:
        obj = self.store.get("file", file_id)
        if obj is None:
            raise not_found(f"No such File object: {file_id}", param="id")
        return obj

    def file_path(self, file_id: str) -> Path:
        self.file_object(file_id)
        return self.store.file_path(file_id)

    def list_files(self, *, purpose: str | None, after: str | None, limit: int, order: str) -> dict[str, Any]:
        items, more = self.store.page("file", after=after, limit=limit, newest_first=order != "asc",
                                      where=(lambda o: o["purpose"] == purpose) if purpose else None)
        return {"object": "list", "data": items, "first_id": items[0]["id"] if items else "",
                "last_id": items[-1]["id"] if items else "", "has_more": more}

    def delete_file(self, file_id: str) -> dict[str, Any]:
        self.file_object(file_id)
        self.store.delete("file", file_id)
        self.store.file_path(file_id).unlink(missing_ok=True)
        return {"id": file_id, "object": "file", "deleted": True}

    def save_result_file(self, job_id: str, content: bytes, *, purpose: str = "fine-tune-results",
                         filename: str = "step_metrics.csv") -> str:
        file_id = new_id("file-")
        path = self.store.file_path(file_id)
        tmp = path.with_name(path.name + ".partial")
        tmp.write_bytes(content)
        os.replace(tmp, path)
        self.store.put("file", {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                                "filename": filename, "purpose": purpose, "status": "processed"}, parent=job_id)
        return file_id

    # ----- fine-tuning jobs ---------------------------------------------------------------------------
    def create_job(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise bad_request("Missing required parameter: 'model'.", param="model",
                              code="missing_required_parameter")
        local = self._local_base(model)
        if local is None and model not in self._base and self.store.get("model", model) is None:
            raise APIError(400, f"Model {model} is not available for fine-tuning or does not exist.", param="model",
                           code="model_not_available")
        training = body.get("training_file")
        if not isinstance(training, str) or not training:
            raise bad_request("Missing required parameter: 'training_file'.", param="training_file",
                              code="missing_required_parameter")
        self._training_file(training, "training_file")
        validation = body.get("validation_file")
        if validation is not None:
            if not isinstance(validation, str):
                raise bad_request("Invalid 'validation_file': expected a file id.", param="validation_file",
                                  code="invalid_type")
            self._training_file(validation, "validation_file")
        suffix = body.get("suffix")
        if suffix is not None:
            if not isinstance(suffix, str) or len(suffix) > 64:
                raise bad_request("Invalid 'suffix': a string of at most 64 characters.", param="suffix",
                                  code="invalid_value")
            if not _SUFFIX.match(suffix):
                raise bad_request("Invalid 'suffix': use letters, digits, '-', '_' and '.'.", param="suffix",
                                  code="invalid_value")
        seed = body.get("seed")
        if seed is None:
            seed = secrets.randbelow(2**31)
        elif not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= 2**31 - 1:
            raise bad_request("Invalid 'seed': an integer from 0 to 2147483647.", param="seed", code="invalid_value")
        metadata = _metadata(body.get("metadata"))
        requested = _hyperparameters(body, local=local is not None)
        if requested.get("qlora"):
            _check_qlora()
        integrations = body.get("integrations")
        if integrations:
            raise bad_request("The sandbox does not support integrations.", param="integrations",
                              code="invalid_value")
        job_id = new_id("ftjob-")
        shown = {k: requested.get(k, "auto") for k in ("n_epochs", "batch_size", "learning_rate_multiplier")}
        job = {
            "id": job_id, "object": "fine_tuning.job", "created_at": int(time.time()), "error": None,
            "fine_tuned_model": None, "finished_at": None, "hyperparameters": shown, "model": model,
            "organization_id": ORGANIZATION, "result_files": [], "status": "validating_files",
            "trained_tokens": None, "training_file": training, "validation_file": validation,
            "integrations": [], "seed": seed, "estimated_finish": None,
            "method": {"type": "supervised", "supervised": {"hyperparameters": shown}},
            "metadata": metadata, "user_provided_suffix": suffix,
        }
        extra: dict[str, Any] = {"requested_hyperparameters": requested, "suffix": suffix}
        if local is not None:
            extra["local"] = {"base_model_path": str(local)}
        self.store.put("job", job, extra=extra)
        self.event(job_id, f"Created fine-tuning job: {job_id}")
        self._runner(job_id).submit(job_id)
        return job

    def _is_local_job(self, job_id: str) -> bool:
        return "local" in (self.store.extra("job", job_id) or {})

    def _runner(self, job_id: str) -> Any:
        if self._is_local_job(job_id):
            assert self.local_jobs is not None
            return self.local_jobs
        return self.jobs

    def _local_base(self, model: str) -> Path | None:
        """The folder of a local base model this server may fine-tune (None: not a local model).

        Raises 400 with what to do when it names one that cannot be used here (extra missing, weights absent)."""
        from vqa_desk.local import environment

        if not self.settings.local or model in self._base:
            return None
        registered = self.store.extra("model", model)
        if registered is not None and "local" not in registered:
            return None  # a sandbox fine-tune: the sandbox trains it further
        if registered is not None or model.startswith("ft:"):
            raise APIError(400, f"Model {model} cannot be fine-tuned again here; start a new job from its base model.",
                           param="model", code="model_not_available")
        if not environment.looks_like_base_model(model):
            return None
        try:
            environment.require()
            return environment.resolve_base_model(model)
        except environment.LocalUnavailable as exc:
            raise APIError(400, str(exc), param="model", code="model_not_available") from None

    def _training_file(self, file_id: str, param: str) -> None:
        obj = self.store.get("file", file_id)
        if obj is None:
            raise bad_request(f"Invalid file ID {file_id} for '{param}': no such file.", param=param,
                              code="invalid_file_id")
        if obj["purpose"] != "fine-tune":
            raise bad_request(f"File {file_id} has purpose '{obj['purpose']}'; '{param}' needs a file uploaded with "
                              "purpose 'fine-tune'.", param=param, code="invalid_file_purpose")

    def job(self, job_id: str) -> dict[str, Any]:
        job = self.store.get("job", job_id)
        if job is None:
            raise not_found(f"No fine-tuning job found with id {job_id}.", param="fine_tuning_job_id")
        return job

    def list_jobs(self, *, after: str | None, limit: int, metadata: Mapping[str, str]) -> dict[str, Any]:
        def match(job: dict[str, Any]) -> bool:
            return all((job.get("metadata") or {}).get(k) == v for k, v in metadata.items())

        items, more = self.store.page("job", after=after, limit=limit, where=match if metadata else None)
        return {"object": "list", "data": items, "has_more": more}

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        job = self.job(job_id)
        if job["status"] in TERMINAL:
            raise bad_request(f"Job {job_id} has already {job['status']} and cannot be cancelled.",
                              param="fine_tuning_job_id", code="job_already_finished")
        self.update_job(job_id, lambda d: d.update(status="cancelled", finished_at=int(time.time()),
                                                   estimated_finish=None))
        self._runner(job_id).cancel(job_id)
        return self.job(job_id)

    def list_events(self, job_id: str, *, after: str | None, limit: int) -> dict[str, Any]:
        self.job(job_id)
        items, more = self.store.page("event", parent=job_id, after=after, limit=limit)
        return {"object": "list", "data": items, "has_more": more}

    def list_checkpoints(self, job_id: str, *, after: str | None, limit: int) -> dict[str, Any]:
        self.job(job_id)
        items, more = self.store.page("checkpoint", parent=job_id, after=after, limit=limit)
        return {"object": "list", "data": items, "has_more": more, "first_id": items[0]["id"] if items else None,
                "last_id": items[-1]["id"] if items else None}

    # called by the runner
    def event(self, job_id: str, message: str, *, level: str = "info", type: str = "message",
              data: dict[str, Any] | None = None) -> None:
        self.store.put("event", {"object": "fine_tuning.job.event", "id": new_id("ftevent-"),
                                 "created_at": int(time.time()), "level": level, "message": message, "type": type,
                                 "data": data or {}}, parent=job_id)

    def update_job(self, job_id: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any] | None:
        return self.store.update("job", job_id, lambda data, _extra: change(data))

    def set_job_status(self, job_id: str, status: str, *, only_from: tuple[str, ...]) -> bool:
        """Move a job on unless it was cancelled (or failed) meanwhile."""
        moved = []

        def change(data: dict[str, Any]) -> None:
            if data["status"] in only_from:
                data["status"] = status
                moved.append(True)

        self.update_job(job_id, change)
        return bool(moved)

    def fail_job(self, job_id: str, code: str, message: str, param: str | None = None) -> None:
        def change(data: dict[str, Any]) -> None:
            if data["status"] not in TERMINAL:
                data.update(status="failed", finished_at=int(time.time()), estimated_finish=None,
                            error={"code": code, "message": message, "param": param})

        self.update_job(job_id, change)
        self.event(job_id, f"Fine-tuning job failed: {message}", level="error")

    def finish_job(self, job_id: str, model: str, result_file: str, trained_tokens: int) -> None:
        def change(data: dict[str, Any]) -> None:
            if data["status"] == "running":
                data.update(status="succeeded", finished_at=int(time.time()), fine_tuned_model=model,
                            result_files=[result_file], trained_tokens=trained_tokens, estimated_finish=None)

        self.update_job(job_id, change)

    def add_checkpoint(self, job_id: str, name: str, metrics: StepMetrics, state: dict[str, Any]) -> None:
        self.store.put("checkpoint", {
            "object": "fine_tuning.job.checkpoint", "id": new_id("ftckpt_"), "created_at": int(time.time()),
            "fine_tuned_model_checkpoint": name, "fine_tuning_job_id": job_id,
            "metrics": checkpoint_metrics(metrics), "step_number": metrics.step}, parent=job_id)
        self.store.put("checkpoint_model", {"id": name}, parent=job_id,
                       extra={"state": state, "job": job_id, "base": state["base"]})
        self.event(job_id, f"Checkpoint created at step {metrics.step}")

    # ----- chat -------------------------------------------------------------------------------------------
    def chat_request(self, body: Any) -> tuple[chat.ChatRequest, OcrVqaModel]:
        request = chat.parse_chat_request(body)
        return request, self.model(request.model)

    def chat_response(self, request: chat.ChatRequest, model: OcrVqaModel,
                      lines: list[OcrLine] | None) -> dict[str, Any]:
        fill = chat.Fill(model.answer(request.question, lines))
        if request.response_format is not None and request.response_format.get("type") != "text":
            pair = chat.judge_pair(request.prompt_text)
            if pair is not None:
                rating, reason, similarity = chat.judge(*pair)
                fill = chat.Fill(rating, rating=rating, reason=reason, similarity=similarity)
        content = chat.structured_content(request.response_format, fill)
        return chat.completion(request.model, content, prompt_tokens=chat.prompt_tokens(request), n=request.n)

    # ----- local models -------------------------------------------------------------------------------
    def is_local_model(self, name: Any) -> bool:
        """A model the local backend answers: a local fine-tune (or checkpoint), or a local base model."""
        if not self.settings.local or not isinstance(name, str) or name in self._base:
            return False
        for kind in ("model", "checkpoint_model"):
            extra = self.store.extra(kind, name)
            if extra is not None:
                return "local" in extra
        from vqa_desk.local.environment import looks_like_base_model

        return looks_like_base_model(name)

    def _local_model(self, name: str) -> Any:
        from vqa_desk.local.environment import LocalUnavailable
        from vqa_desk.local.inference import LocalVLM

        with self._local_lock:
            loaded = self._local_models.get(name)
            if loaded is not None:
                self._local_models.move_to_end(name)
                return loaded
            extra = self.store.extra("model", name) or self.store.extra("checkpoint_model", name) or {}
            adapter = (extra.get("local") or {}).get("adapter")
            try:
                if adapter is not None and not Path(adapter).is_dir():
                    raise LocalUnavailable(f"The adapter of {name} is gone from {adapter}.")
                if len(self._local_models) >= max(1, self.settings.local_models_loaded):
                    while len(self._local_models) >= max(1, self.settings.local_models_loaded):
                        self._local_models.popitem(last=False)  # free the device first: models may take GBs
                    _free_device_memory()
                model = LocalVLM(None, Path(adapter)) if adapter else LocalVLM(name)
            except LocalUnavailable as exc:
                raise APIError(404, str(exc), param="model", code="model_not_found") from None
            self._local_models[name] = model
            return model

    def local_chat(self, body: Any) -> dict[str, Any]:
        """A chat completion from a local model (blocking: call it off the event loop)."""
        from vqa_desk.local.messages import MessageError

        request = chat.parse_chat_request(body)
        if request.response_format is not None and request.response_format.get("type") != "text":
            raise bad_request("Local models answer in plain text; structured output (a JSON judge) is not supported. "
                              "Use sandbox-ocr or an LLM provider as the judge.", param="response_format",
                              code="invalid_value")
        model = self._local_model(request.model)
        limit = body.get("max_completion_tokens") or body.get("max_tokens") or 64
        try:
            generated = model.generate(body["messages"], max_new_tokens=max(1, min(int(limit), 1024)))
        except MessageError as exc:
            raise bad_request(f"Invalid 'messages': {exc}.", param="messages", code="invalid_value") from None
        content = chat.structured_content(request.response_format, chat.Fill(generated.text))
        return chat.completion(request.model, content, prompt_tokens=generated.prompt_tokens, n=request.n)

    def chat_sync(self, body: Any) -> dict[str, Any]:
        """A whole chat completion on the calling thread (OCR on the reader's pool): batches use it."""
        if isinstance(body, dict) and self.is_local_model(body.get("model")):
            return self.local_chat(body)
        request, model = self.chat_request(body)
        lines = None
        if request.image is not None:
            lines = self.reader.submit(request.image).result()
        return self.chat_response(request, model, lines)


def _metadata(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 16:
        raise bad_request("Invalid 'metadata': an object of at most 16 string pairs.", param="metadata",
                          code="invalid_value")
    for k, v in value.items():
        if not isinstance(v, str) or len(k) > 64 or len(v) > 512:
            raise bad_request("Invalid 'metadata': keys up to 64 characters, string values up to 512.",
                              param="metadata", code="invalid_value")
    return dict(value)


def _hyperparameters(body: dict[str, Any], *, local: bool = False) -> dict[str, Any]:
    """The requested hyperparameters from ``method`` (or the deprecated top-level ``hyperparameters``)."""
    method = body.get("method")
    hp: Any = None
    where = "hyperparameters"
    if method is not None:
        if not isinstance(method, dict) or method.get("type") not in ("supervised", "dpo", "reinforcement"):
            raise bad_request("Invalid 'method.type': use 'supervised'.", param="method.type", code="invalid_value")
        if method["type"] != "supervised":
            raise bad_request(f"The sandbox trains with the supervised method only, not '{method['type']}'.",
                              param="method.type", code="invalid_value")
        hp = (method.get("supervised") or {}).get("hyperparameters")
        where = "method.supervised.hyperparameters"
        if body.get("hyperparameters") is not None and hp is not None:
            raise bad_request("Give hyperparameters in 'method' only; the top-level 'hyperparameters' is "
                              "deprecated.", param="hyperparameters", code="invalid_value")
    if hp is None:
        hp = body.get("hyperparameters")
        where = "hyperparameters"
    if hp is None:
        return {}
    if not isinstance(hp, dict):
        raise bad_request(f"Invalid '{where}': expected an object.", param=where, code="invalid_type")
    out: dict[str, Any] = {}
    for key, lo, hi, kind in (("n_epochs", 1, 50, int), ("batch_size", 1, 256, int),
                              ("learning_rate_multiplier", 0.0, 10.0, float)):
        value = hp.get(key, "auto")
        if value == "auto" or value is None:
            continue
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and kind is int:
            ok = float(value).is_integer()
        if not ok or not (lo <= value <= hi) or (kind is float and value <= 0):
            bound = f"greater than 0 and at most {hi:g}" if kind is float else f"from {lo} to {hi}"
            raise bad_request(f"Invalid '{where}.{key}': 'auto' or a number {bound}.", param=f"{where}.{key}",
                              code="invalid_value")
        out[key] = kind(value)
    if local:
        out.update(_local_hyperparameters(hp, where))
    unknown = sorted(set(hp) - {"n_epochs", "batch_size", "learning_rate_multiplier"}
                     - (set(LOCAL_HYPERPARAMETERS) if local else set()))
    if unknown:
        raise bad_request(f"Unknown hyperparameter(s) {', '.join(unknown)} in '{where}'.", param=where,
                          code="invalid_value")
    return out



def _local_hyperparameters(hp: dict[str, Any], where: str) -> dict[str, Any]:
    """LoRA and image settings a local job takes besides OpenAI's three (``protocol.LOCAL_HYPERPARAMETERS``)."""
    out: dict[str, Any] = {}
    for key, (kind, lo, hi) in LOCAL_HYPERPARAMETERS.items():
        value = hp.get(key)
        if value is None or value == "auto":
            continue
        if kind is bool:
            if not isinstance(value, bool):
                raise bad_request(f"Invalid '{where}.{key}': true or false.", param=f"{where}.{key}",
                                  code="invalid_value")
            out[key] = value
            continue
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and lo <= value <= hi
        if ok and kind is int:
            ok = float(value).is_integer()
        if not ok:
            raise bad_request(f"Invalid '{where}.{key}': 'auto' or a number from {lo:g} to {hi:g}.",
                              param=f"{where}.{key}", code="invalid_value")
        out[key] = kind(value)
    return out


def _check_qlora() -> None:
    """QLoRA needs an NVIDIA GPU and bitsandbytes: say so when the job is created, not after it was queued."""
    import importlib.util

    from vqa_desk.local.environment import detect_device

    if detect_device().kind != "cuda":
        raise bad_request("QLoRA (4-bit base weights) needs an NVIDIA GPU (CUDA); turn it off to train here.",
                          param="method.supervised.hyperparameters.qlora", code="invalid_value")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise bad_request("QLoRA needs bitsandbytes: pip install 'vqa-desk[local,qlora]'.",
                          param="method.supervised.hyperparameters.qlora", code="invalid_value")


def _free_device_memory() -> None:
    """Give an evicted model's GPU memory back now, not whenever the allocator gets to it."""
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
