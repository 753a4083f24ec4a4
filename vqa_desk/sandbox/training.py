"""Fine-tuning jobs: read the uploaded chat-format files, train ``sandbox-ocr`` on them, report as OpenAI does.

A job moves validating_files -> queued -> running -> succeeded | failed | cancelled on a background thread,
writing ``message`` and ``metrics`` events, a result CSV (``step,train_loss,train_accuracy,valid_loss,
valid_mean_token_accuracy``) listed in ``result_files``, checkpoints for the last three epochs (each usable as
a model) and the model ``ft:<base>:sandbox:<suffix>:<id>``. ``settings.step_delay`` paces the steps so a GUI
can watch a job; tests set it to 0.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
import logging
import math
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vqa_desk.core.tokens import default_epochs
from vqa_desk.sandbox.reader import image_key
from vqa_desk.sandbox.runner import QueueRunner
from vqa_desk.sandbox.vqa_model import (
    Example,
    StepMetrics,
    Trainer,
    TrainingData,
    auto_batch_size,
    strip_question,
)

if TYPE_CHECKING:
    from vqa_desk.sandbox.engine import Engine

log = logging.getLogger("vqa_desk.sandbox")

TERMINAL = ("succeeded", "failed", "cancelled")
CHECKPOINT_EPOCHS = 3
RESULT_COLUMNS = ("step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy")


class JobFailed(Exception):
    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


class JobCancelled(Exception):
    pass


# ----- reading a training file ----------------------------------------------------------------------------

def read_examples(path: Path) -> tuple[list[Example], dict[str, bytes]]:
    """Every (question, cover, answer) in a chat JSONL file — few-shot pairs included, each once — and the
    covers' bytes by sha256. A user message followed by an assistant message is one example; an assistant
    message with ``weight: 0`` teaches nothing and is skipped, as OpenAI does."""
    examples: dict[tuple[str, str, str], Example] = {}
    images: dict[str, bytes] = {}
    url_keys: dict[bytes, str] = {}
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                messages = json.loads(raw).get("messages") or []
            except (ValueError, AttributeError):
                continue  # the validator refused such files at upload; nothing to learn from the line
            for i, message in enumerate(messages[:-1]):
                if not isinstance(message, dict) or message.get("role") != "user":
                    continue
                reply = messages[i + 1]
                if not isinstance(reply, dict) or reply.get("role") != "assistant" or reply.get("weight") == 0:
                    continue
                answer = _text_of(reply.get("content"))
                question, url = _question_and_image(message.get("content"))
                key = ""
                if url is not None:
                    digest = hashlib.blake2b(url.encode("ascii", "replace"), digest_size=16).digest()
                    key = url_keys.get(digest, "")
                    if not key:
                        data = _data_url_bytes(url)
                        if data is not None:
                            key = image_key(data)
                            images[key] = data
                        url_keys[digest] = key
                if answer is None or not question:
                    continue
                ex = Example(question, key, answer)
                examples.setdefault((strip_question(question), key, answer), ex)
    return list(examples.values()), images


def _text_of(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return " ".join(t for t in texts if isinstance(t, str)) or None
    return None


def _question_and_image(content: Any) -> tuple[str, str | None]:
    if isinstance(content, str):
        return content, None
    question, url = "", None
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            question = part["text"]
        elif part.get("type") == "image_url" and isinstance(part.get("image_url"), dict):
            url = part["image_url"].get("url")
    return question, url if isinstance(url, str) else None


def _data_url_bytes(url: str) -> bytes | None:
    head, _, payload = url.partition(",")
    if not head.startswith("data:") or ";base64" not in head:
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


# ----- hyperparameters -------------------------------------------------------------------------------------

def resolve_hyperparameters(requested: dict[str, Any], n_examples: int) -> dict[str, Any]:
    """'auto' (or absent) becomes the number the job uses."""
    n_epochs = requested.get("n_epochs", "auto")
    batch_size = requested.get("batch_size", "auto")
    lr = requested.get("learning_rate_multiplier", "auto")
    return {
        "n_epochs": default_epochs(n_examples) if n_epochs in ("auto", None) else int(n_epochs),
        "batch_size": auto_batch_size(n_examples) if batch_size in ("auto", None) else int(batch_size),
        "learning_rate_multiplier": 1.0 if lr in ("auto", None) else float(lr),
    }


# ----- the runner ------------------------------------------------------------------------------------------

class JobRunner(QueueRunner):
    """One training thread (jobs run one at a time, later ones wait ``queued``), validation on short threads."""

    thread_name = "sandbox-jobs"

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._helpers: list[threading.Thread] = []
        self.start()

    def stop(self) -> None:
        super().stop()
        for t in self._helpers:
            t.join(timeout=5)

    def submit(self, job_id: str) -> None:
        self._cancel[job_id] = threading.Event()
        t = threading.Thread(target=self._validate, args=(job_id,), name=f"sandbox-validate-{job_id}", daemon=True)
        self._helpers = [h for h in self._helpers if h.is_alive()] + [t]
        t.start()

    def cancel(self, job_id: str) -> None:
        event = self._cancel.get(job_id)
        if event is not None:
            event.set()

    def _cancelled(self, job_id: str) -> bool:
        event = self._cancel.get(job_id)
        return self._stop.is_set() or (event is not None and event.is_set())

    def _sleep(self, job_id: str, seconds: float) -> None:
        event = self._cancel.get(job_id)
        if seconds > 0 and event is not None:
            event.wait(seconds)
        if self._cancelled(job_id):
            raise JobCancelled

    # ----- phases ------------------------------------------------------------------------------------
    def _validate(self, job_id: str) -> None:
        engine = self.engine
        try:
            job = engine.store.get("job", job_id)
            if job is None or job["status"] in TERMINAL:
                return
            self._sleep(job_id, engine.settings.step_delay)
            for param in ("training_file", "validation_file"):
                file_id = job.get(param)
                if not file_id:
                    continue
                engine.event(job_id, f"Validating {param.replace('_', ' ')}: {file_id}")
                report = (engine.store.extra("file", file_id) or {}).get("validation")
                if report is None:
                    raise JobFailed("invalid_file", f"The {param.replace('_', ' ')} {file_id} no longer exists.",
                                    param)
                if not report.get("ok"):
                    raise JobFailed("invalid_file", " ".join(report.get("errors", [])), param)
                for warning in report.get("warnings", []):
                    engine.event(job_id, f"{param.replace('_', ' ').capitalize()}: {warning}", level="warn")
            engine.event(job_id, "Files validated, moving job to queued state")
            if not engine.set_job_status(job_id, "queued", only_from=("validating_files",)):
                return
            self._queue.put(job_id)
        except JobCancelled:
            return
        except JobFailed as exc:
            engine.fail_job(job_id, exc.code, exc.message, exc.param)
        except Exception as exc:  # a bug: the job fails with its reason, the server goes on
            log.exception("validating job %s failed", job_id)
            engine.fail_job(job_id, "server_error", f"The sandbox failed to validate the files ({exc}).")

    def _loop(self) -> None:
        while not self._stop.is_set():
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                self._run(job_id)
            except JobCancelled:
                if not self._stop.is_set():
                    self.engine.event(job_id, "Fine-tuning job cancelled")
            except JobFailed as exc:
                self.engine.fail_job(job_id, exc.code, exc.message, exc.param)
            except Exception as exc:
                log.exception("fine-tuning job %s failed", job_id)
                self.engine.fail_job(job_id, "server_error", f"The sandbox failed while training ({exc}).")

    def _run(self, job_id: str) -> None:
        engine = self.engine
        job = engine.store.get("job", job_id)
        if job is None or job["status"] != "queued" or self._cancelled(job_id):
            return
        started = time.time()
        engine.set_job_status(job_id, "running", only_from=("queued",))
        engine.event(job_id, "Fine-tuning job started")
        train, train_images = read_examples(engine.store.file_path(job["training_file"]))
        if not train:
            raise JobFailed("invalid_training_file", "The training file has no question/answer pairs to learn from "
                            "(a user message followed by an assistant answer).", "training_file")
        valid: list[Example] = []
        valid_images: dict[str, bytes] = {}
        if job.get("validation_file"):
            valid, valid_images = read_examples(engine.store.file_path(job["validation_file"]))
        hp = resolve_hyperparameters(engine.store.extra("job", job_id).get("requested_hyperparameters", {}),
                                     len(train))
        steps_per_epoch = max(1, math.ceil(len(train) / hp["batch_size"]))
        total_steps = steps_per_epoch * hp["n_epochs"]
        engine.update_job(job_id, lambda d: d.update(
            hyperparameters=hp, estimated_finish=int(started + 5 + total_steps * engine.settings.step_delay),
            method={"type": "supervised", "supervised": {"hyperparameters": hp}}))
        images = {**train_images, **valid_images}
        engine.event(job_id, f"Reading {len(images)} covers ({len(train)} training examples"
                     + (f", {len(valid)} validation examples)" if valid else ")"))
        last_report = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done == total or now - last_report[0] >= 2.0:
                last_report[0] = now
                engine.event(job_id, f"Read {done} of {total} covers")

        lines = engine.reader.read_many(images, progress, lambda: self._cancelled(job_id))
        self._sleep(job_id, 0)
        if not engine.reader.available:
            engine.event(job_id, "The OCR engine is not installed: the model learns only the answer conventions",
                         level="warn")
        init = engine.model(job["model"]) if job["model"] != engine.base_of(job["model"]) else None
        trainer = Trainer(TrainingData(train, lines), TrainingData(valid, lines) if valid else None,
                          n_epochs=hp["n_epochs"], batch_size=hp["batch_size"],
                          learning_rate_multiplier=hp["learning_rate_multiplier"], seed=int(job["seed"]), init=init)
        name = model_name(engine.base_of(job["model"]), engine.store.extra("job", job_id).get("suffix"), job_id)
        rows: list[StepMetrics] = []
        for m in trainer.steps():
            self._sleep(job_id, engine.settings.step_delay)
            rows.append(m)
            engine.event(job_id, _step_message(m), type="metrics", data=_metrics(m))
            if m.epoch_end and m.epoch > hp["n_epochs"] - CHECKPOINT_EPOCHS:
                engine.add_checkpoint(job_id, f"{name}:ckpt-step-{m.step}", m, trainer.model.to_json())
        self._sleep(job_id, 0)
        engine.save_model(name, trainer.model.to_json(), job_id)
        result = engine.save_result_file(job_id, result_csv(rows))
        report = (engine.store.extra("file", job["training_file"]) or {}).get("validation") or {}
        trained_tokens = int(report.get("tokens", 0)) * hp["n_epochs"]
        engine.event(job_id, f"New fine-tuned model created: {name}")
        engine.event(job_id, "Evaluating model against our usage policies")
        engine.finish_job(job_id, name, result, trained_tokens)
        engine.event(job_id, "The job has successfully completed")


def model_name(base: str, suffix: str | None, job_id: str) -> str:
    return f"ft:{base}:sandbox:{suffix or ''}:{job_id.removeprefix('ftjob-')}"


def _step_message(m: StepMetrics) -> str:
    text = f"Step {m.step}/{m.total_steps}: training loss={m.train_loss:.4f}"
    if m.valid_loss is not None:
        text += f", validation loss={m.valid_loss:.4f}"
    if m.full_valid_loss is not None:
        text += f", full validation loss={m.full_valid_loss:.4f}"
    return text


def _metrics(m: StepMetrics) -> dict[str, Any]:
    data: dict[str, Any] = {"step": m.step, "total_steps": m.total_steps, "train_loss": round(m.train_loss, 6),
                            "train_mean_token_accuracy": round(m.train_accuracy, 6)}
    if m.valid_loss is not None and m.valid_accuracy is not None:
        data.update(valid_loss=round(m.valid_loss, 6), valid_mean_token_accuracy=round(m.valid_accuracy, 6))
    if m.full_valid_loss is not None and m.full_valid_accuracy is not None:
        data.update(full_valid_loss=round(m.full_valid_loss, 6),
                    full_valid_mean_token_accuracy=round(m.full_valid_accuracy, 6))
    return data


def checkpoint_metrics(m: StepMetrics) -> dict[str, Any]:
    data = _metrics(m)
    data.pop("total_steps")
    return data


def result_csv(rows: list[StepMetrics]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for m in rows:
        writer.writerow([m.step, f"{m.train_loss:.6f}", f"{m.train_accuracy:.6f}",
                         "" if m.valid_loss is None else f"{m.valid_loss:.6f}",
                         "" if m.valid_accuracy is None else f"{m.valid_accuracy:.6f}"])
    return out.getvalue().encode("utf-8")
