"""Fine-tuning jobs: validate, upload, create, follow, cancel — and never lose a job id.

Every step is recorded in the workspace before the next starts: the local record exists before anything is
sent, file ids are stored as soon as the uploads return, and the job is created with our ``launch_id`` in its
metadata, so that if the reply to "create" is lost (timeout, dropped connection) the job is found again by
listing jobs. A restarted app or CLI re-attaches to every job that has not finished (``unfinished``).

Following polls the job and its events with backoff; 429 and 5xx are retried (honouring Retry-After),
anything else is reported as the provider said it plus what to do (``providers.explain``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from vqa_desk.core.errors import Cancelled
from vqa_desk.core.progress import ProgressFn, check_cancel, report
from vqa_desk.core.providers import ProviderError, ProviderKind, ProviderProfile, call_with_retries, explain
from vqa_desk.core.timeutil import utc_now
from vqa_desk.core.workspace import Workspace

_call = call_with_retries  # the name the fine-tuning code grew up with

TERMINAL = {"succeeded", "failed", "cancelled", "failed_local"}


class FineTuneError(ProviderError):
    """The job could not be launched or followed; the message says why and what to do."""


@dataclass(frozen=True)
class LaunchRequest:
    train_path: Path
    validation_path: Path | None
    model: str
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate_multiplier: float | None = None
    suffix: str | None = None
    seed: int | None = None
    manifest: Path | None = None
    # Provider-specific settings sent beside OpenAI's three: for local models, the LoRA and image settings
    # (learning_rate, lora_r, lora_alpha, lora_dropout, max_image_side, gradient_accumulation_steps, qlora).
    extra_hyperparameters: dict[str, Any] | None = None

    def hyperparameters(self) -> dict[str, Any]:
        values = {"n_epochs": self.epochs, "batch_size": self.batch_size,
                  "learning_rate_multiplier": self.learning_rate_multiplier, **(self.extra_hyperparameters or {})}
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class JobRecord:
    id: int
    launch_id: str
    provider: str
    status: str
    base_model: str
    suffix: str | None
    hyperparameters: dict[str, Any]
    export_manifest: str | None
    training_file: str | None
    validation_file: str | None
    job_id: str | None
    fine_tuned_model: str | None
    trained_tokens: int | None
    error: str | None
    created_at: str
    updated_at: str

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class JobEvent:
    event_id: str
    created_at: int
    level: str
    type: str
    message: str
    data: dict[str, Any] | None


_COLUMNS = ("id, launch_id, provider, status, base_model, suffix, hyperparameters, export_manifest, training_file, "
            "validation_file, job_id, fine_tuned_model, trained_tokens, error, created_at, updated_at")


def _record(row: tuple[Any, ...]) -> JobRecord:
    values = list(row)
    values[6] = json.loads(values[6] or "{}")
    return JobRecord(*values)


def jobs(ws: Workspace) -> list[JobRecord]:
    return [_record(r) for r in ws.connection.execute(f"SELECT {_COLUMNS} FROM finetune_jobs ORDER BY id DESC")]


def job(ws: Workspace, record_id: int) -> JobRecord:
    row = ws.connection.execute(f"SELECT {_COLUMNS} FROM finetune_jobs WHERE id = ?", (record_id,)).fetchone()
    if row is None:
        raise FineTuneError(f"No fine-tuning job {record_id} in this workspace.")
    return _record(row)


def unfinished(ws: Workspace) -> list[JobRecord]:
    """Jobs a restarted app or CLI should re-attach to: created at the provider, or maybe created (a lost reply)."""
    return [j for j in jobs(ws) if not j.finished and (j.job_id is not None or j.status == "creating")]


def _status(ws: Workspace, record_id: int) -> str:
    return str(ws.connection.execute("SELECT status FROM finetune_jobs WHERE id = ?", (record_id,)).fetchone()[0])


def events(ws: Workspace, record_id: int) -> list[JobEvent]:
    rows = ws.connection.execute("SELECT event_id, created_at, level, type, message, data FROM finetune_events "
                                 "WHERE job = ? ORDER BY created_at, rowid", (record_id,))
    return [JobEvent(e, c, lv, t, m, json.loads(d) if d else None) for e, c, lv, t, m, d in rows]


def metrics(ws: Workspace, record_id: int) -> list[tuple[int, float | None, float | None]]:
    """(step, train_loss, valid_loss) from the job's metrics events, for the loss chart."""
    by_step: dict[int, tuple[float | None, float | None]] = {}
    for e in events(ws, record_id):
        if e.type == "metrics" and e.data and "step" in e.data:
            # A step may be reported in two events (local trainers log training and validation loss apart).
            train, valid = by_step.get(int(e.data["step"]), (None, None))
            new_train, new_valid = _num(e.data.get("train_loss")), _num(e.data.get("valid_loss"))
            by_step[int(e.data["step"])] = (train if new_train is None else new_train,
                                            valid if new_valid is None else new_valid)
    return [(step, train, valid) for step, (train, valid) in sorted(by_step.items())]


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _update(ws: Workspace, record_id: int, **fields: Any) -> None:
    if "hyperparameters" in fields:
        fields["hyperparameters"] = json.dumps(fields["hyperparameters"])
    fields["updated_at"] = utc_now()
    with ws.transaction() as c:
        c.execute(f"UPDATE finetune_jobs SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                  (*fields.values(), record_id))


# ----- launching ---------------------------------------------------------------------------------------

class _ProgressReader:
    """A file object that reports how much of itself has been read (the upload's progress)."""

    def __init__(self, fh: BinaryIO, total: int, progress: ProgressFn | None, label: str,
                 cancel: threading.Event | None) -> None:
        self._fh, self._total, self._progress, self._label, self._cancel = fh, total, progress, label, cancel
        self._done = 0
        self.name = Path(getattr(fh, "name", "file.jsonl")).name

    def read(self, size: int = -1) -> bytes:
        check_cancel(self._cancel)
        chunk = self._fh.read(size)
        self._done += len(chunk)
        report(self._progress, self._done, self._total, self._label)
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def launch(ws_path: Path, profile: ProviderProfile, request: LaunchRequest, client: Any, *,
           progress: ProgressFn | None = None, cancel: threading.Event | None = None) -> JobRecord:
    """Validate, upload and create the job; returns its record (status as the provider reports it)."""
    from vqa_desk.core.validate import validate_file

    launch_id = uuid.uuid4().hex
    now = utc_now()
    with Workspace.open(ws_path) as ws:
        with ws.transaction() as c:
            cur = c.execute(
                "INSERT INTO finetune_jobs(launch_id, provider, status, base_model, suffix, hyperparameters, "
                "export_manifest, created_at, updated_at) VALUES (?, ?, 'preparing', ?, ?, ?, ?, ?, ?)",
                (launch_id, profile.name, request.model, request.suffix, json.dumps(request.hyperparameters()),
                 str(request.manifest) if request.manifest else None, now, now))
        record_id = int(cur.lastrowid or 0)
        try:
            rules = "azure" if profile.kind == ProviderKind.AZURE else "openai"
            for path in (request.train_path, request.validation_path):
                if path is None:
                    continue
                result = validate_file(path, provider=rules)
                if not result.ok:
                    lines = "; ".join(issue.message.rstrip(".") for issue in result.errors[:5])
                    raise FineTuneError(f"{path.name} would be rejected by {profile.name}, so nothing was uploaded: "
                                        f"{lines}. Fix the labels or the export options and export again.")
            _update(ws, record_id, status="uploading")
            training_file = _upload(client, profile, request.train_path, progress, cancel)
            _update(ws, record_id, training_file=training_file)
            validation_file = None
            if request.validation_path is not None:
                validation_file = _upload(client, profile, request.validation_path, progress, cancel)
                _update(ws, record_id, validation_file=validation_file)
            _update(ws, record_id, status="creating")
            created = _create(client, profile, request, training_file, validation_file, launch_id, cancel)
            _store_job(ws, record_id, created)
        except (FineTuneError, Cancelled) as exc:
            _update(ws, record_id, status="failed_local", error=str(exc))
            raise
        except ProviderError as exc:
            _update(ws, record_id, status="failed_local", error=str(exc))
            raise FineTuneError(str(exc), status=exc.status, code=exc.code) from None
        except BaseException as exc:  # Ctrl+C, a crash: leave an honest record, never one stuck "uploading"
            if ws.connection.execute("SELECT job_id FROM finetune_jobs WHERE id = ?", (record_id,)).fetchone()[0] \
                    is None:
                _update(ws, record_id, status="creating" if _status(ws, record_id) == "creating" else "failed_local",
                        error=f"The launch was interrupted ({type(exc).__name__}).")
            raise
        return job(ws, record_id)


def _upload(client: Any, profile: ProviderProfile, path: Path, progress: ProgressFn | None,
            cancel: threading.Event | None) -> str:
    size = path.stat().st_size
    with path.open("rb") as fh:
        reader = _ProgressReader(fh, size, progress, f"uploading {path.name}", cancel)
        uploaded = _call(lambda: client.files.create(file=(path.name, reader, "application/jsonl"),
                                                     purpose="fine-tune"), profile, cancel,
                         before_retry=lambda: fh.seek(0))
    return str(uploaded.id)


def _create(client: Any, profile: ProviderProfile, request: LaunchRequest, training_file: str,
            validation_file: str | None, launch_id: str, cancel: threading.Event | None) -> Any:
    kwargs: dict[str, Any] = {"model": request.model, "training_file": training_file,
                              "metadata": {"vqa_desk_launch": launch_id}}
    if validation_file:
        kwargs["validation_file"] = validation_file
    if request.suffix:
        kwargs["suffix"] = request.suffix[:64]
    if request.seed is not None:
        kwargs["seed"] = request.seed
    if request.hyperparameters():
        kwargs["method"] = {"type": "supervised", "supervised": {"hyperparameters": request.hyperparameters()}}
    try:
        return client.fine_tuning.jobs.create(**kwargs)
    except Exception as exc:
        error = explain(exc, profile)
        if error.status not in (0, None) and not error.retryable:
            raise error from None
        # The request may have reached the provider even though the reply did not reach us: look first.
        found = _find_launched(client, profile, launch_id, cancel)
        if found is not None:
            return found
        return _call(lambda: client.fine_tuning.jobs.create(**kwargs), profile, cancel)


def _find_launched(client: Any, profile: ProviderProfile, launch_id: str, cancel: threading.Event | None) -> Any:
    page = _call(lambda: client.fine_tuning.jobs.list(limit=50), profile, cancel)
    for j in page.data:
        if (getattr(j, "metadata", None) or {}).get("vqa_desk_launch") == launch_id:
            return j
    return None


def _store_job(ws: Workspace, record_id: int, remote: Any) -> None:
    error = getattr(remote, "error", None)
    message = None
    if error is not None and getattr(error, "message", None):
        message = f"{error.message} ({getattr(error, 'code', '') or 'error'})"
    _update(ws, record_id, job_id=remote.id, status=remote.status, fine_tuned_model=remote.fine_tuned_model,
            trained_tokens=getattr(remote, "trained_tokens", None), error=message)


# ----- following ---------------------------------------------------------------------------------------

def follow(ws_path: Path, record_id: int, profile: ProviderProfile, client: Any, *,
           on_update: Callable[[JobRecord, list[JobEvent]], None] | None = None,
           cancel: threading.Event | None = None, poll_seconds: float = 5.0, timeout: float | None = None) -> JobRecord:
    """Poll until the job finishes (or ``cancel`` is set / ``timeout`` passes); events are stored as they come."""
    started = time.monotonic()
    with Workspace.open(ws_path) as ws:
        record = job(ws, record_id)
        if record.job_id is None:
            if record.status != "creating":
                if not record.finished:  # preparing / uploading from a launch that never got to "create"
                    _update(ws, record_id, status="failed_local", error=record.error or
                            "The launch stopped before the job was created; nothing runs at the provider.")
                return job(ws, record_id)
            found = _find_launched(client, profile, record.launch_id, cancel)
            if found is None:
                _update(ws, record_id, status="failed_local",
                        error="The job was never created (the launch was interrupted before the provider saw it).")
                return job(ws, record_id)
            _store_job(ws, record_id, found)
            record = job(ws, record_id)
        job_id = record.job_id
        assert job_id is not None
        while True:
            remote = _call(lambda: client.fine_tuning.jobs.retrieve(job_id), profile, cancel)
            _store_job(ws, record_id, remote)
            new_events = _pull_events(ws, record_id, job_id, client, profile, cancel)
            record = job(ws, record_id)
            if on_update is not None:
                on_update(record, new_events)
            if record.finished:
                return record
            if timeout is not None and time.monotonic() - started > timeout:
                return record
            if cancel is not None and cancel.wait(poll_seconds):
                raise Cancelled("Stopped following the job; it keeps running at the provider and is re-attached "
                                "next time.")
            if cancel is None:
                time.sleep(poll_seconds)


def _pull_events(ws: Workspace, record_id: int, job_id: str, client: Any, profile: ProviderProfile,
                 cancel: threading.Event | None) -> list[JobEvent]:
    """New events since the last poll. Providers list newest first; page back until a known event."""
    known = {e for (e,) in ws.connection.execute("SELECT event_id FROM finetune_events WHERE job = ?", (record_id,))}
    fresh: list[Any] = []
    after: str | None = None
    for _ in range(50):
        extra = {"after": after} if after else {}
        page = _call(lambda e=extra: client.fine_tuning.jobs.list_events(job_id, limit=100, **e), profile, cancel)
        items = list(page.data)
        stop = False
        for e in items:
            if e.id in known:
                stop = True
                break
            fresh.append(e)
        if stop or not items or not getattr(page, "has_more", False):
            break
        after = items[-1].id
    fresh.reverse()
    out = [JobEvent(e.id, int(e.created_at), str(e.level), str(getattr(e, "type", None) or "message"), str(e.message),
                    _as_dict(getattr(e, "data", None))) for e in fresh]
    with ws.transaction() as c:
        c.executemany("INSERT OR IGNORE INTO finetune_events(job, event_id, created_at, level, type, message, data) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                      [(record_id, e.event_id, e.created_at, e.level, e.type, e.message,
                        json.dumps(e.data) if e.data is not None else None) for e in out])
    return out


def _as_dict(data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    if isinstance(data, dict):
        return data
    dump = getattr(data, "model_dump", None)
    return dump() if callable(dump) else None


def cancel_job(ws_path: Path, record_id: int, profile: ProviderProfile, client: Any) -> JobRecord:
    with Workspace.open(ws_path) as ws:
        record = job(ws, record_id)
        if record.job_id is None or record.finished:
            return record
        remote = _call(lambda: client.fine_tuning.jobs.cancel(record.job_id), profile, None)
        _store_job(ws, record_id, remote)
        return job(ws, record_id)


# ----- results -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    id: str
    step: int
    model: str
    metrics: dict[str, Any]


def checkpoints(record: JobRecord, profile: ProviderProfile, client: Any) -> list[Checkpoint]:
    """The job's checkpoints (providers keep the last few epochs), oldest first."""
    if record.job_id is None:
        return []
    job_id = record.job_id
    page = _call(lambda: client.fine_tuning.jobs.checkpoints.list(job_id, limit=20), profile, None)
    out = [Checkpoint(str(c.id), int(c.step_number), str(c.fine_tuned_model_checkpoint), _as_dict(c.metrics) or {})
           for c in page.data]
    return sorted(out, key=lambda c: c.step)


def result_metrics(record: JobRecord, profile: ProviderProfile, client: Any) -> list[dict[str, float]]:
    """Rows of the job's result file (step, train_loss, train_accuracy, valid_loss, ...), as numbers.

    OpenAI has served this CSV both as text and base64-encoded; both are accepted.
    """
    import base64
    import binascii
    import csv
    import io

    if record.job_id is None:
        return []
    job_id = record.job_id
    remote = _call(lambda: client.fine_tuning.jobs.retrieve(job_id), profile, None)
    files = list(getattr(remote, "result_files", None) or [])
    if not files:
        return []
    raw = _call(lambda: client.files.content(files[0]).read(), profile, None)
    text = raw.decode("utf-8", errors="replace")
    first_line = text.splitlines()[0] if text else ""
    if "," not in first_line:  # not a CSV header: the base64 form
        try:
            text = base64.b64decode(text, validate=False).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return []
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        parsed = {k.strip(): _num(v) for k, v in row.items() if k}
        rows.append({k: v for k, v in parsed.items() if v is not None})
    return rows
